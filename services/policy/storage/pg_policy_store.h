// PolicyStore on PostgreSQL: every call is one transaction scoped to its
// tenant (row-level security). Mutations write their audit row and a
// NOTIFY on kChangeChannel (delivered at commit) in the same transaction, so
// every instance's distributor hears of every committed change.
#pragma once

#include "domain/policy_service.h"
#include "portcullis/pg/pool.h"

namespace portcullis::policy_service {

// The NOTIFY channel; the payload is the tenant id.
inline constexpr const char* kChangeChannel = "portcullis_policy_change";

class PgPolicyStore final : public PolicyStore {
 public:
  explicit PgPolicyStore(pg::Pool& pool) : pool_(pool) {}

  StatusOr<PolicyInfo> CreatePolicy(const TenantId& t, const Uuid& id, const std::string& document,
                                    const std::string& comment, const PublishFn& publish,
                                    const Actor& actor) override;
  StatusOr<PolicyInfo> UpdatePolicy(const TenantId& t, const Uuid& id, const std::string& document,
                                    const std::string& comment,
                                    std::optional<std::int64_t> if_version,
                                    const PublishFn& publish, const Actor& actor) override;
  StatusOr<PolicyInfo> Rollback(const TenantId& t, const Uuid& id, std::int64_t version,
                                const std::string& comment, const PublishFn& publish,
                                const Actor& actor) override;
  Status DeletePolicy(const TenantId& t, const Uuid& id, const Actor& actor) override;
  StatusOr<std::vector<PolicyInfo>> ListPolicies(const TenantId& t) override;
  StatusOr<PolicyVersion> GetPolicy(const TenantId& t, const Uuid& id,
                                    std::optional<std::int64_t> version) override;
  StatusOr<std::vector<VersionInfo>> ListVersions(const TenantId& t, const Uuid& id) override;
  StatusOr<Assignment> CreateAssignment(const TenantId& t, const Assignment& a,
                                        const Actor& actor) override;
  StatusOr<std::vector<Assignment>> ListAssignments(const TenantId& t) override;
  Status DeleteAssignment(const TenantId& t, const Uuid& id, const Actor& actor) override;
  StatusOr<AgentFacts> GetAgentFacts(const TenantId& t, const AgentId& agent) override;
  StatusOr<TenantState> LoadTenantState(const TenantId& t) override;

 private:
  StatusOr<PolicyInfo> Change(const TenantId& t, const Uuid& id,
                              const std::function<Status(pqxx::work&)>& change);

  pg::Pool& pool_;
};

}  // namespace portcullis::policy_service
