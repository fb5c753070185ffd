// RegistryStore on PostgreSQL: every call is one transaction scoped to its
// tenant (row-level security), admin mutations write their audit row in it.
#pragma once

#include "domain/registry.h"
#include "portcullis/pg/pool.h"

namespace portcullis::registry {

class PgRegistryStore final : public RegistryStore {
 public:
  explicit PgRegistryStore(pg::Pool& pool);

  Status CreateTenant(const TenantId& tenant, const std::string& name, const Issued& admin_key,
                      const std::string& key_digest, const Actor& actor) override;
  StatusOr<ApiKey> CreateApiKey(const TenantId& tenant, const std::string& name,
                                const std::string& role, const Uuid& id, const std::string& digest,
                                const Actor& actor) override;
  StatusOr<std::vector<ApiKey>> ListApiKeys(const TenantId& tenant) override;
  Status RevokeApiKey(const TenantId& tenant, const Uuid& id, const Actor& actor) override;
  StatusOr<EnrollmentToken> CreateEnrollmentToken(const TenantId& tenant, const std::string& name,
                                                  std::optional<std::int64_t> ttl_seconds,
                                                  std::optional<std::int64_t> max_uses,
                                                  const Uuid& id, const std::string& digest,
                                                  const Actor& actor) override;
  StatusOr<std::vector<EnrollmentToken>> ListEnrollmentTokens(const TenantId& tenant) override;
  Status RevokeEnrollmentToken(const TenantId& tenant, const Uuid& id, const Actor& actor) override;
  StatusOr<Registration> RegisterAgent(
      const TenantId& tenant, const Uuid& token_id, const AgentFacts& facts,
      const std::function<std::pair<Issued, std::string>(const AgentId&)>& issue,
      const Actor& actor) override;
  Status Heartbeat(const TenantId& tenant, const AgentId& agent, const std::string& secret_digest,
                   const AgentCounters& counters) override;
  StatusOr<Page> ListAgents(const TenantId& tenant, const AgentFilter& filter,
                            const StatusWindows& windows) override;
  StatusOr<Agent> GetAgent(const TenantId& tenant, const AgentId& id,
                           const StatusWindows& windows) override;
  Status RevokeAgent(const TenantId& tenant, const AgentId& id, const Actor& actor) override;
  StatusOr<std::vector<ImageSummary>> ListImages(const TenantId& tenant,
                                                 const StatusWindows& windows) override;
  StatusOr<std::vector<AuditEntry>> ListAudit(const TenantId& tenant, int limit,
                                              std::optional<std::int64_t> before_id) override;

 private:
  pg::Pool& pool_;
};

}  // namespace portcullis::registry
