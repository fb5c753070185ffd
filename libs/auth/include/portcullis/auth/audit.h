// Who did something, and the audit row that records it. Every admin mutation
// of every service writes its audit row in the same transaction as the
// change, so a change is never without its record (and a record never
// without its change).
//
//   Status s = pool.RunForTenant(tenant, [&](pqxx::work& tx) -> Status {
//     tx.exec_params("UPDATE ...");
//     auth::WriteAudit(tx, tenant, auth::ActorOf(request), "policy.update", id, {{"version", 4}});
//     return OkStatus();
//   });
#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>

#include "portcullis/common/ids.h"
#include "portcullis/http/server.h"

namespace portcullis::auth {

struct Actor {
  std::string kind;  // operator, admin_key, enrollment_token, agent, ...
  std::string id;
  std::string remote_address;
};

// The authenticated caller of `request` (its principal must be set).
Actor ActorOf(const http::Request& request);
// "admin_key:<id>": how a row records who created it.
std::string ActorName(const Actor& actor);

// Appends one row to the tenant's audit_log inside `tx`.
void WriteAudit(pqxx::work& tx, const TenantId& tenant, const Actor& actor,
                const std::string& action, const std::string& target,
                const nlohmann::json& details = nlohmann::json::object());

}  // namespace portcullis::auth
