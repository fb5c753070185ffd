#include "storage/pg_policy_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "portcullis/pg/fields.h"

namespace portcullis::policy_service {
namespace {

using pg::UuidOf;

// At most this many assignments per tenant: every resolution walks them.
constexpr int kMaxAssignments = 1000;

constexpr const char* kPolicyColumns =
    "p.id, p.name, p.current_version, portcullis_rfc3339(p.created_at), "
    "portcullis_rfc3339(p.updated_at), "
    "(SELECT count(*) FROM policy_assignments a WHERE a.policy_id = p.id)";

PolicyInfo PolicyFromRow(const pqxx::row& r) {
  return {UuidOf(r[0]),           r[1].as<std::string>(), r[2].as<std::int64_t>(),
          r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::int64_t>()};
}

constexpr const char* kVersionColumns =
    "v.version, portcullis_rfc3339(v.created_at), v.created_by, v.comment, v.sha256, "
    "v.source_version";

VersionInfo VersionFromRow(const pqxx::row& r, int at) {
  VersionInfo v;
  v.version = r[at].as<std::int64_t>();
  v.created_at = r[at + 1].as<std::string>();
  v.created_by = r[at + 2].as<std::string>();
  v.comment = r[at + 3].as<std::string>();
  v.sha256 = r[at + 4].as<std::string>();
  if (!r[at + 5].is_null()) v.source_version = r[at + 5].as<std::int64_t>();
  return v;
}

constexpr const char* kAssignmentQuery =
    "SELECT a.id, a.policy_id, p.name, a.priority, a.image_glob, a.labels::text, a.is_default, "
    "portcullis_rfc3339(a.created_at), a.created_by "
    "FROM policy_assignments a JOIN policies p ON p.id = a.policy_id ";

Assignment AssignmentFromRow(const pqxx::row& r) {
  Assignment a;
  a.id = UuidOf(r[0]);
  a.policy_id = UuidOf(r[1]);
  a.policy_name = r[2].as<std::string>();
  a.priority = r[3].as<int>();
  if (!r[4].is_null()) {
    a.selector.kind = Selector::Kind::kImage;
    a.selector.image_glob = r[4].as<std::string>();
  } else if (!r[5].is_null()) {
    a.selector.kind = Selector::Kind::kLabels;
    a.selector.labels = pg::StringMapOf(r[5]);
  } else {
    a.selector.kind = Selector::Kind::kDefault;
  }
  a.created_at = r[7].as<std::string>();
  a.created_by = r[8].as<std::string>();
  return a;
}

StatusOr<std::vector<Assignment>> Assignments(pqxx::work& tx) {
  std::vector<Assignment> out;
  for (const pqxx::row& r : tx.exec(std::string(kAssignmentQuery) + "ORDER BY a.created_at, a.id"))
    out.push_back(AssignmentFromRow(r));
  return out;
}

void Notify(pqxx::work& tx, const TenantId& t) {
  tx.exec_params("SELECT pg_notify($1, $2)", kChangeChannel, t.ToString());
}

StatusOr<PolicyInfo> ReadPolicy(pqxx::work& tx, const Uuid& id) {
  pqxx::result r = tx.exec_params(
      std::string("SELECT ") + kPolicyColumns + " FROM policies p WHERE p.id = $1", id.ToString());
  if (r.empty()) return NotFoundError("no policy " + id.ToString());
  return PolicyFromRow(r[0]);
}

// The policy's current version, locked against concurrent publications.
StatusOr<std::int64_t> LockPolicy(pqxx::work& tx, const Uuid& id) {
  pqxx::result r = tx.exec_params("SELECT current_version FROM policies WHERE id = $1 FOR UPDATE",
                                  id.ToString());
  if (r.empty()) return NotFoundError("no policy " + id.ToString());
  return r[0][0].as<std::int64_t>();
}

Status CheckNameFree(pqxx::work& tx, const std::string& name, const Uuid& except) {
  pqxx::result r = tx.exec_params("SELECT 1 FROM policies WHERE name = $1 AND id <> $2", name,
                                  except.ToString());
  if (!r.empty()) {
    return AlreadyExistsError("a policy named '" + name +
                              "' already exists in this tenant; choose another \"name\"");
  }
  return OkStatus();
}

// Compiles `document` as `version` of the policy and inserts it (the caller
// points the policy at it).
StatusOr<Published> Publish(pqxx::work& tx, const TenantId& t, const Uuid& id, std::int64_t version,
                            const std::string& document, const std::string& comment,
                            std::optional<std::int64_t> source, const PublishFn& publish,
                            const Actor& actor) {
  StatusOr<Published> pub = publish(id, version, document);
  if (!pub.ok()) return pub.status();
  PORTCULLIS_RETURN_IF_ERROR(CheckNameFree(tx, pub->name, id));
  if (version == 1) {
    tx.exec_params(
        "INSERT INTO policies (id, tenant_id, name, current_version) VALUES ($1, $2, $3, 1)",
        id.ToString(), t.ToString(), pub->name);
  }
  tx.exec_params(
      "INSERT INTO policy_versions (tenant_id, policy_id, version, document, rule_table, sha256, "
      "comment, source_version, created_by) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)",
      t.ToString(), id.ToString(), version, document, pqxx::binarystring(pub->rule_table),
      pub->sha256, comment, source, auth::ActorName(actor));
  return pub;
}

}  // namespace

// Runs `change` in one tenant transaction, then reads the policy back in it.
StatusOr<PolicyInfo> PgPolicyStore::Change(const TenantId& t, const Uuid& id,
                                           const std::function<Status(pqxx::work&)>& change) {
  PolicyInfo out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    PORTCULLIS_RETURN_IF_ERROR(change(tx));
    auto info = ReadPolicy(tx, id);
    if (!info.ok()) return info.status();
    out = *info;
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

// Publishes `document` as the version after `current`, points the policy at
// it, audits `action` and tells every instance.
Status PublishNext(pqxx::work& tx, const TenantId& t, const Uuid& id, std::int64_t current,
                   const std::string& document, const std::string& comment,
                   std::optional<std::int64_t> source, const PublishFn& publish, const Actor& actor,
                   const std::string& action) {
  const std::int64_t version = current + 1;
  auto pub = Publish(tx, t, id, version, document, comment, source, publish, actor);
  if (!pub.ok()) return pub.status();
  if (version > 1) {
    tx.exec_params(
        "UPDATE policies SET current_version = $2, name = $3, updated_at = now() WHERE id = $1",
        id.ToString(), version, pub->name);
  }
  nlohmann::json details = {{"name", pub->name}, {"version", version}, {"sha256", pub->sha256}};
  if (source) details["source_version"] = *source;
  auth::WriteAudit(tx, t, actor, action, id.ToString(), details);
  // A new policy is not assigned yet: nobody to tell.
  if (version > 1) Notify(tx, t);
  return OkStatus();
}

}  // namespace

StatusOr<PolicyInfo> PgPolicyStore::CreatePolicy(const TenantId& t, const Uuid& id,
                                                 const std::string& document,
                                                 const std::string& comment,
                                                 const PublishFn& publish, const Actor& actor) {
  return Change(t, id, [&](pqxx::work& tx) {
    return PublishNext(tx, t, id, 0, document, comment, std::nullopt, publish, actor,
                       "policy.create");
  });
}

StatusOr<PolicyInfo> PgPolicyStore::UpdatePolicy(const TenantId& t, const Uuid& id,
                                                 const std::string& document,
                                                 const std::string& comment,
                                                 std::optional<std::int64_t> if_version,
                                                 const PublishFn& publish, const Actor& actor) {
  return Change(t, id, [&](pqxx::work& tx) -> Status {
    StatusOr<std::int64_t> current = LockPolicy(tx, id);
    if (!current.ok()) return current.status();
    if (if_version && *if_version != *current) {
      return FailedPreconditionError("the policy is at version " + std::to_string(*current) +
                                     ", not " + std::to_string(*if_version) +
                                     ": fetch it again and reapply your change");
    }
    return PublishNext(tx, t, id, *current, document, comment, std::nullopt, publish, actor,
                       "policy.update");
  });
}

StatusOr<PolicyInfo> PgPolicyStore::Rollback(const TenantId& t, const Uuid& id,
                                             std::int64_t version, const std::string& comment,
                                             const PublishFn& publish, const Actor& actor) {
  return Change(t, id, [&](pqxx::work& tx) -> Status {
    StatusOr<std::int64_t> current = LockPolicy(tx, id);
    if (!current.ok()) return current.status();
    pqxx::result old = tx.exec_params(
        "SELECT document::text FROM policy_versions WHERE policy_id = $1 AND version = $2",
        id.ToString(), version);
    if (old.empty()) {
      return NotFoundError("policy " + id.ToString() + " has no version " +
                           std::to_string(version));
    }
    return PublishNext(tx, t, id, *current, old[0][0].as<std::string>(), comment, version, publish,
                       actor, "policy.rollback");
  });
}

Status PgPolicyStore::DeletePolicy(const TenantId& t, const Uuid& id, const Actor& actor) {
  return pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    StatusOr<std::int64_t> current = LockPolicy(tx, id);
    if (!current.ok()) return current.status();
    auto n = tx.exec_params("SELECT count(*) FROM policy_assignments WHERE policy_id = $1",
                            id.ToString())[0][0]
                 .as<std::int64_t>();
    if (n > 0) {
      return FailedPreconditionError("the policy is assigned (" + std::to_string(n) +
                                     " assignments): remove its assignments first");
    }
    tx.exec_params("DELETE FROM policy_versions WHERE policy_id = $1", id.ToString());
    tx.exec_params("DELETE FROM policies WHERE id = $1", id.ToString());
    auth::WriteAudit(tx, t, actor, "policy.delete", id.ToString(), {{"versions", *current}});
    return OkStatus();
  });
}

StatusOr<std::vector<PolicyInfo>> PgPolicyStore::ListPolicies(const TenantId& t) {
  std::vector<PolicyInfo> out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    for (const pqxx::row& r :
         tx.exec(std::string("SELECT ") + kPolicyColumns + " FROM policies p ORDER BY p.name"))
      out.push_back(PolicyFromRow(r));
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<PolicyVersion> PgPolicyStore::GetPolicy(const TenantId& t, const Uuid& id,
                                                 std::optional<std::int64_t> version) {
  PolicyVersion out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    auto info = ReadPolicy(tx, id);
    if (!info.ok()) return info.status();
    pqxx::result r = tx.exec_params(
        std::string("SELECT ") + kVersionColumns +
            ", v.document::text FROM policy_versions v WHERE v.policy_id = $1 AND v.version = $2",
        id.ToString(), version.value_or(info->current_version));
    if (r.empty()) {
      return NotFoundError("policy " + id.ToString() + " has no version " +
                           std::to_string(*version));
    }
    out.policy = *info;
    out.version = VersionFromRow(r[0], 0);
    out.document = r[0][6].as<std::string>();
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<VersionInfo>> PgPolicyStore::ListVersions(const TenantId& t, const Uuid& id) {
  std::vector<VersionInfo> out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    auto info = ReadPolicy(tx, id);
    if (!info.ok()) return info.status();
    for (const pqxx::row& r : tx.exec_params(std::string("SELECT ") + kVersionColumns +
                                                 " FROM policy_versions v WHERE v.policy_id = $1 "
                                                 "ORDER BY v.version DESC",
                                             id.ToString()))
      out.push_back(VersionFromRow(r, 0));
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<Assignment> PgPolicyStore::CreateAssignment(const TenantId& t, const Assignment& a,
                                                     const Actor& actor) {
  Assignment out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    // FOR SHARE: a concurrent delete of the policy waits for this insert.
    pqxx::result p =
        tx.exec_params("SELECT 1 FROM policies WHERE id = $1 FOR SHARE", a.policy_id.ToString());
    if (p.empty()) return NotFoundError("no policy " + a.policy_id.ToString());
    auto n = tx.exec("SELECT count(*) FROM policy_assignments")[0][0].as<int>();
    if (n >= kMaxAssignments) {
      return FailedPreconditionError("a tenant has at most " + std::to_string(kMaxAssignments) +
                                     " assignments; remove some first");
    }
    std::optional<std::string> image, labels;
    if (a.selector.kind == Selector::Kind::kImage) image = a.selector.image_glob;
    if (a.selector.kind == Selector::Kind::kLabels)
      labels = nlohmann::json(a.selector.labels).dump();
    tx.exec_params(
        "INSERT INTO policy_assignments (id, tenant_id, policy_id, priority, image_glob, labels, "
        "is_default, created_by) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)",
        a.id.ToString(), t.ToString(), a.policy_id.ToString(), a.priority, image, labels,
        a.selector.kind == Selector::Kind::kDefault, auth::ActorName(actor));
    pqxx::result r =
        tx.exec_params(std::string(kAssignmentQuery) + "WHERE a.id = $1", a.id.ToString());
    out = AssignmentFromRow(r[0]);
    auth::WriteAudit(tx, t, actor, "policy.assign", a.id.ToString(),
                     {{"policy_id", a.policy_id.ToString()}, {"priority", a.priority}});
    Notify(tx, t);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<Assignment>> PgPolicyStore::ListAssignments(const TenantId& t) {
  StatusOr<std::vector<Assignment>> out = std::vector<Assignment>();
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    out = Assignments(tx);
    return out.status();
  });
  if (!s.ok()) return s;
  return out;
}

Status PgPolicyStore::DeleteAssignment(const TenantId& t, const Uuid& id, const Actor& actor) {
  return pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    pqxx::result r = tx.exec_params(
        "DELETE FROM policy_assignments WHERE id = $1 RETURNING policy_id", id.ToString());
    if (r.empty()) return NotFoundError("no policy assignment " + id.ToString());
    auth::WriteAudit(tx, t, actor, "policy.unassign", id.ToString(),
                     {{"policy_id", r[0][0].as<std::string>()}});
    Notify(tx, t);
    return OkStatus();
  });
}

StatusOr<AgentFacts> PgPolicyStore::GetAgentFacts(const TenantId& t, const AgentId& agent) {
  AgentFacts out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    pqxx::result r = tx.exec_params(
        "SELECT image_name, labels::text FROM agents WHERE id = $1 AND revoked_at IS NULL",
        agent.ToString());
    if (r.empty()) return NotFoundError("no agent " + agent.ToString());
    out.image_name = r[0][0].as<std::string>();
    out.labels = pg::StringMapOf(r[0][1]);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<PolicyStore::TenantState> PgPolicyStore::LoadTenantState(const TenantId& t) {
  TenantState out;
  Status s = pool_.RunForTenant(t, [&](pqxx::work& tx) -> Status {
    auto assignments = Assignments(tx);
    if (!assignments.ok()) return assignments.status();
    out.assignments = std::move(*assignments);
    for (const pqxx::row& r :
         tx.exec("SELECT p.id, p.name, v.version, v.rule_table, v.sha256 FROM policies p "
                 "JOIN policy_versions v ON v.policy_id = p.id AND v.version = p.current_version "
                 "WHERE p.id IN (SELECT policy_id FROM policy_assignments)")) {
      CompiledVersion c{UuidOf(r[0]), r[1].as<std::string>(), r[2].as<std::int64_t>(),
                        pg::BytesOf(r[3]), r[4].as<std::string>()};
      out.current.emplace(c.policy_id, std::move(c));
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace portcullis::policy_service
