#include "portcullis/auth/audit.h"

namespace portcullis::auth {

Actor ActorOf(const http::Request& r) {
  if (!r.principal) return {"anonymous", "", r.remote_address};
  return {r.principal->kind, r.principal->subject, r.remote_address};
}

std::string ActorName(const Actor& a) {
  return a.kind + ":" + a.id;
}

void WriteAudit(pqxx::work& tx, const TenantId& tenant, const Actor& actor,
                const std::string& action, const std::string& target,
                const nlohmann::json& details) {
  tx.exec_params(
      "INSERT INTO audit_log (tenant_id, actor_kind, actor_id, action, target, remote_addr, "
      "details) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
      tenant.ToString(), actor.kind, actor.id, action, target, actor.remote_address,
      details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace portcullis::auth
