#include "storage/pg_registry_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "portcullis/auth/audit.h"
#include "portcullis/pg/fields.h"

namespace portcullis::registry {
namespace {

// The prepared statement of the heartbeat, the hot path.
constexpr const char* kHeartbeat = "registry_heartbeat";

// Columns of an API key row, in the order ApiKeyFromRow reads them.
constexpr const char* kApiKeyColumns =
    "id, name, role, portcullis_rfc3339(created_at), created_by, "
    "portcullis_rfc3339(last_used_at), portcullis_rfc3339(revoked_at)";

constexpr const char* kTokenColumns =
    "id, name, portcullis_rfc3339(created_at), created_by, portcullis_rfc3339(expires_at), "
    "max_uses, uses, portcullis_rfc3339(last_used_at), portcullis_rfc3339(revoked_at)";

// $1 online seconds, $2 stale seconds in every query that computes a status.
constexpr const char* kAgentColumns =
    "id, container_id, image_name, image_digest, hostname, labels::text, agent_version, "
    "kernel_version, portcullis_rfc3339(registered_at), portcullis_rfc3339(last_seen_at), "
    "portcullis_rfc3339(revoked_at), "
    "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
    "     WHEN last_seen_at > now() - make_interval(secs => $1) THEN 'online' "
    "     WHEN last_seen_at > now() - make_interval(secs => $2) THEN 'stale' "
    "     ELSE 'offline' END, "
    "events_sent, events_dropped, events_spooled, policy_version";

using pg::OptText;
using pg::UuidOf;

ApiKey ApiKeyFromRow(const pqxx::row& r) {
  ApiKey k;
  k.id = UuidOf(r[0]);
  k.name = r[1].as<std::string>();
  k.role = r[2].as<std::string>();
  k.created_at = r[3].as<std::string>();
  k.created_by = r[4].as<std::string>();
  k.last_used_at = OptText(r[5]);
  k.revoked_at = OptText(r[6]);
  return k;
}

EnrollmentToken TokenFromRow(const pqxx::row& r) {
  EnrollmentToken t;
  t.id = UuidOf(r[0]);
  t.name = r[1].as<std::string>();
  t.created_at = r[2].as<std::string>();
  t.created_by = r[3].as<std::string>();
  t.expires_at = OptText(r[4]);
  if (!r[5].is_null()) t.max_uses = r[5].as<std::int64_t>();
  t.uses = r[6].as<std::int64_t>();
  t.last_used_at = OptText(r[7]);
  t.revoked_at = OptText(r[8]);
  return t;
}

Agent AgentFromRow(const pqxx::row& r) {
  Agent a;
  a.id = AgentId(UuidOf(r[0]));
  a.facts.container_id = r[1].as<std::string>();
  a.facts.image_name = r[2].as<std::string>();
  a.facts.image_digest = r[3].as<std::string>();
  a.facts.hostname = r[4].as<std::string>();
  a.facts.labels = pg::StringMapOf(r[5]);
  a.facts.agent_version = r[6].as<std::string>();
  a.facts.kernel_version = r[7].as<std::string>();
  a.registered_at = r[8].as<std::string>();
  a.last_seen_at = r[9].as<std::string>();
  a.revoked_at = OptText(r[10]);
  a.status = ParseAgentStatus(r[11].as<std::string>()).value_or(AgentStatus::kOffline);
  a.events_sent = r[12].as<std::int64_t>();
  a.events_dropped = r[13].as<std::int64_t>();
  a.events_spooled = r[14].as<std::int64_t>();
  a.policy_version = r[15].as<std::int64_t>();
  return a;
}

pqxx::binarystring Bytes(const std::string& s) {
  return pqxx::binarystring(s);
}

void Audit(pqxx::work& tx, const TenantId& tenant, const Actor& actor, const std::string& action,
           const std::string& target, const nlohmann::json& details = nlohmann::json::object()) {
  auth::WriteAudit(tx, tenant, actor, action, target, details);
}

using auth::ActorName;

}  // namespace

Status PgRegistryStore::CreateTenant(const TenantId& tenant, const std::string& name,
                                     const Issued& admin_key, const std::string& key_digest,
                                     const Actor& actor) {
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant.ToString(), name);
    tx.exec_params(
        "INSERT INTO api_keys (id, tenant_id, name, role, secret_sha256, created_by) "
        "VALUES ($1, $2, 'initial admin', 'admin', $3, $4)",
        admin_key.id.ToString(), tenant.ToString(), Bytes(key_digest), ActorName(actor));
    Audit(tx, tenant, actor, "tenant.create", tenant.ToString(), {{"name", name}});
    return OkStatus();
  });
  if (s.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("a tenant named '" + name + "' already exists");
  }
  return s;
}

StatusOr<ApiKey> PgRegistryStore::CreateApiKey(const TenantId& tenant, const std::string& name,
                                               const std::string& role, const Uuid& id,
                                               const std::string& digest, const Actor& actor) {
  ApiKey out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::row r = tx.exec_params1(
        std::string("INSERT INTO api_keys (id, tenant_id, name, role, secret_sha256, created_by) "
                    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ") +
            kApiKeyColumns,
        id.ToString(), tenant.ToString(), name, role, Bytes(digest), ActorName(actor));
    out = ApiKeyFromRow(r);
    Audit(tx, tenant, actor, "api_key.create", id.ToString(), {{"name", name}, {"role", role}});
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<ApiKey>> PgRegistryStore::ListApiKeys(const TenantId& tenant) {
  std::vector<ApiKey> out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    for (const auto& r : tx.exec(std::string("SELECT ") + kApiKeyColumns +
                                 " FROM api_keys ORDER BY created_at, id LIMIT 10000")) {
      out.push_back(ApiKeyFromRow(r));
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

Status PgRegistryStore::RevokeApiKey(const TenantId& tenant, const Uuid& id, const Actor& actor) {
  return pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        id.ToString());
    if (r.empty()) return NotFoundError("no active API key " + id.ToString());
    Audit(tx, tenant, actor, "api_key.revoke", id.ToString());
    return OkStatus();
  });
}

StatusOr<EnrollmentToken> PgRegistryStore::CreateEnrollmentToken(
    const TenantId& tenant, const std::string& name, std::optional<std::int64_t> ttl_seconds,
    std::optional<std::int64_t> max_uses, const Uuid& id, const std::string& digest,
    const Actor& actor) {
  EnrollmentToken out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::row r = tx.exec_params1(
        std::string("INSERT INTO enrollment_tokens (id, tenant_id, name, secret_sha256, "
                    "created_by, expires_at, max_uses) VALUES ($1, $2, $3, $4, $5, "
                    "now() + make_interval(secs => $6::bigint), $7::integer) RETURNING ") +
            kTokenColumns,
        id.ToString(), tenant.ToString(), name, Bytes(digest), ActorName(actor), ttl_seconds,
        max_uses);
    out = TokenFromRow(r);
    Audit(tx, tenant, actor, "enrollment_token.create", id.ToString(),
          {{"name", name},
           {"ttl_seconds", ttl_seconds ? nlohmann::json(*ttl_seconds) : nlohmann::json()},
           {"max_uses", max_uses ? nlohmann::json(*max_uses) : nlohmann::json()}});
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<EnrollmentToken>> PgRegistryStore::ListEnrollmentTokens(
    const TenantId& tenant) {
  std::vector<EnrollmentToken> out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    for (const auto& r : tx.exec(std::string("SELECT ") + kTokenColumns +
                                 " FROM enrollment_tokens ORDER BY created_at, id LIMIT 10000")) {
      out.push_back(TokenFromRow(r));
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

Status PgRegistryStore::RevokeEnrollmentToken(const TenantId& tenant, const Uuid& id,
                                              const Actor& actor) {
  return pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE enrollment_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL "
        "RETURNING id",
        id.ToString());
    if (r.empty()) return NotFoundError("no active enrollment token " + id.ToString());
    Audit(tx, tenant, actor, "enrollment_token.revoke", id.ToString());
    return OkStatus();
  });
}

StatusOr<Registration> PgRegistryStore::RegisterAgent(
    const TenantId& tenant, const Uuid& token_id, const AgentFacts& facts,
    const std::function<std::pair<Issued, std::string>(const AgentId&)>& issue,
    const Actor& actor) {
  Registration out;
  std::string labels = nlohmann::json(facts.labels).dump();
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) -> Status {
    // Serialises registrations per token, so max_uses holds under concurrency.
    pqxx::result tok = tx.exec_params(
        "SELECT max_uses, uses FROM enrollment_tokens WHERE id = $1 AND revoked_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE",
        token_id.ToString());
    if (tok.empty()) return UnauthenticatedError("invalid or revoked credential");
    pqxx::result existing = tx.exec_params(
        "SELECT id, revoked_at IS NOT NULL, enrollment_token_id = $2 FROM agents "
        "WHERE container_id = $1 FOR UPDATE",
        facts.container_id, token_id.ToString());
    if (!existing.empty()) {
      if (existing[0][1].as<bool>()) {
        return PermissionDeniedError("the agent of this container was revoked");
      }
      // Only the token that enrolled the container may re-register it:
      // another token of the tenant must not take over an agent's identity.
      if (!existing[0][2].as<bool>()) {
        return PermissionDeniedError(
            "this container is registered through another enrollment token");
      }
      out.agent_id = AgentId(UuidOf(existing[0][0]));
      auto [cred, digest] = issue(out.agent_id);
      tx.exec_params(
          "UPDATE agents SET image_name = $2, image_digest = $3, hostname = $4, labels = "
          "$5::jsonb, agent_version = $6, kernel_version = $7, secret_sha256 = $8, "
          "last_seen_at = now() WHERE id = $1",
          out.agent_id.ToString(), facts.image_name, facts.image_digest, facts.hostname, labels,
          facts.agent_version, facts.kernel_version, Bytes(digest));
      out.credential = cred.token;
      out.created = false;
      Audit(tx, tenant, actor, "agent.reregister", out.agent_id.ToString(),
            {{"container_id", facts.container_id}, {"enrollment_token", token_id.ToString()}});
      return OkStatus();
    }
    if (!tok[0][0].is_null() && tok[0][1].as<std::int64_t>() >= tok[0][0].as<std::int64_t>()) {
      return PermissionDeniedError("the enrollment token has reached its maximum number of uses");
    }
    out.agent_id = AgentId::Generate();
    auto [cred, digest] = issue(out.agent_id);
    tx.exec_params(
        "INSERT INTO agents (id, tenant_id, container_id, image_name, image_digest, hostname, "
        "labels, agent_version, kernel_version, secret_sha256, enrollment_token_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11)",
        out.agent_id.ToString(), tenant.ToString(), facts.container_id, facts.image_name,
        facts.image_digest, facts.hostname, labels, facts.agent_version, facts.kernel_version,
        Bytes(digest), token_id.ToString());
    tx.exec_params(
        "UPDATE enrollment_tokens SET uses = uses + 1, last_used_at = now() WHERE id = $1",
        token_id.ToString());
    out.credential = cred.token;
    out.created = true;
    Audit(tx, tenant, actor, "agent.register", out.agent_id.ToString(),
          {{"container_id", facts.container_id}, {"image", facts.image_name}});
    return OkStatus();
  });
  if (s.code() == StatusCode::kAlreadyExists) {
    // A concurrent registration of the same container through another token
    // won the insert: it is now an existing agent.
    return RegisterAgent(tenant, token_id, facts, issue, actor);
  }
  if (!s.ok()) return s;
  return out;
}

PgRegistryStore::PgRegistryStore(pg::Pool& pool) : pool_(pool) {
  pool_.Prepare(kHeartbeat, "SELECT portcullis_agent_heartbeat($1, $2, $3, $4, $5, $6, $7)");
}

Status PgRegistryStore::Heartbeat(const TenantId& tenant, const AgentId& agent,
                                  const std::string& secret_digest, const AgentCounters& c) {
  // The hot path of the registry (every agent, every 30 s): one round trip to
  // a SECURITY INVOKER function that sets the tenant for RLS, checks the
  // credential and writes (schema/migrations/0002_identity.sql).
  return pool_.RunAutocommit([&](pqxx::nontransaction& tx) {
    pqxx::row r =
        tx.exec_prepared1(kHeartbeat, tenant.ToString(), agent.ToString(), Bytes(secret_digest),
                          c.events_sent, c.events_dropped, c.events_spooled, c.policy_version);
    if (!r[0].as<bool>()) return UnauthenticatedError("invalid or revoked credential");
    return OkStatus();
  });
}

StatusOr<Page> PgRegistryStore::ListAgents(const TenantId& tenant, const AgentFilter& f,
                                           const StatusWindows& w) {
  Page page;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    std::string status = f.status ? std::string(AgentStatusName(*f.status)) : std::string();
    pqxx::result rows = tx.exec_params(
        std::string("SELECT ") + kAgentColumns +
            " FROM agents WHERE id > COALESCE(NULLIF($3, '')::uuid, "
            "'00000000-0000-0000-0000-000000000000') "
            "AND ($4 = '' OR image_name LIKE $4) "
            "AND ($5 = '' OR hostname LIKE $5) "
            "AND ($6 = '' OR container_id = $6) "
            "AND ($7 = '' OR labels @> jsonb_build_object($7::text, $8::text)) "
            "AND (CASE $9 WHEN '' THEN true "
            "  WHEN 'revoked' THEN revoked_at IS NOT NULL "
            "  WHEN 'online' THEN revoked_at IS NULL AND last_seen_at > now() - "
            "    make_interval(secs => $1) "
            "  WHEN 'stale' THEN revoked_at IS NULL AND last_seen_at <= now() - "
            "    make_interval(secs => $1) AND last_seen_at > now() - make_interval(secs => $2) "
            "  ELSE revoked_at IS NULL AND last_seen_at <= now() - make_interval(secs => $2) END) "
            "ORDER BY id LIMIT $10",
        w.online_within.count(), w.stale_within.count(),
        f.after ? f.after->ToString() : std::string(), f.image_like, f.hostname_like,
        f.container_id, f.label ? f.label->first : std::string(),
        f.label ? f.label->second : std::string(), status, f.limit + 1);
    for (const auto& r : rows) {
      if (static_cast<int>(page.agents.size()) == f.limit) {
        page.next = page.agents.back().id;
        break;
      }
      page.agents.push_back(AgentFromRow(r));
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return page;
}

StatusOr<Agent> PgRegistryStore::GetAgent(const TenantId& tenant, const AgentId& id,
                                          const StatusWindows& w) {
  std::optional<Agent> out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::result r =
        tx.exec_params(std::string("SELECT ") + kAgentColumns + " FROM agents WHERE id = $3",
                       w.online_within.count(), w.stale_within.count(), id.ToString());
    if (!r.empty()) out = AgentFromRow(r[0]);
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return NotFoundError("no agent " + id.ToString());
  return *out;
}

Status PgRegistryStore::RevokeAgent(const TenantId& tenant, const AgentId& id, const Actor& actor) {
  return pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE agents SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        id.ToString());
    if (r.empty()) return NotFoundError("no active agent " + id.ToString());
    Audit(tx, tenant, actor, "agent.revoke", id.ToString());
    return OkStatus();
  });
}

StatusOr<std::vector<ImageSummary>> PgRegistryStore::ListImages(const TenantId& tenant,
                                                                const StatusWindows& w) {
  std::vector<ImageSummary> out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::result rows = tx.exec_params(
        "SELECT image_name, image_digest, count(*), count(*) FILTER (WHERE revoked_at IS NULL "
        "AND last_seen_at > now() - make_interval(secs => $1)) FROM agents "
        "GROUP BY image_name, image_digest ORDER BY image_name, image_digest LIMIT 10000",
        w.online_within.count());
    for (const auto& r : rows) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::int64_t>(),
                     r[3].as<std::int64_t>()});
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<AuditEntry>> PgRegistryStore::ListAudit(
    const TenantId& tenant, int limit, std::optional<std::int64_t> before_id) {
  std::vector<AuditEntry> out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) {
    pqxx::result rows = tx.exec_params(
        "SELECT id, portcullis_rfc3339(at), actor_kind, actor_id, action, target, remote_addr, "
        "details::text FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        before_id.value_or(INT64_MAX), limit);
    for (const auto& r : rows) {
      out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                     r[6].as<std::string>(), r[7].as<std::string>()});
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace portcullis::registry
