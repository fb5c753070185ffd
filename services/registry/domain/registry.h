// The registry's domain: tenants, API keys, enrollment tokens, agents and the
// audit log, behind the RegistryStore boundary. No HTTP and no SQL here:
// handlers/ decodes requests into these types, storage/ implements the store.
//
//   RegistryService svc(store, {.heartbeat_interval = 30s});
//   StatusOr<Registration> r = svc.Register(tenant, token_id, facts, actor);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portcullis/auth/audit.h"
#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"

namespace portcullis::registry {

// Who did something, for the audit log.
using Actor = auth::Actor;

struct ApiKey {
  Uuid id;
  std::string name;
  std::string role;  // admin | analyst
  std::string created_at;
  std::string created_by;
  std::optional<std::string> last_used_at;
  std::optional<std::string> revoked_at;
};

struct EnrollmentToken {
  Uuid id;
  std::string name;
  std::string created_at;
  std::string created_by;
  std::optional<std::string> expires_at;
  std::optional<std::int64_t> max_uses;
  std::int64_t uses = 0;
  std::optional<std::string> last_used_at;
  std::optional<std::string> revoked_at;
};

struct AgentFacts {
  std::string container_id;
  std::string image_name;
  std::string image_digest;
  std::string hostname;
  std::map<std::string, std::string> labels;
  std::string agent_version;
  std::string kernel_version;
};

struct AgentCounters {
  std::optional<std::int64_t> events_sent;
  std::optional<std::int64_t> events_dropped;
  std::optional<std::int64_t> events_spooled;
  std::optional<std::int64_t> policy_version;
};

enum class AgentStatus { kOnline, kStale, kOffline, kRevoked };
std::string_view AgentStatusName(AgentStatus s);
std::optional<AgentStatus> ParseAgentStatus(std::string_view name);

struct Agent {
  AgentId id;
  AgentFacts facts;
  std::string registered_at;
  std::string last_seen_at;
  std::optional<std::string> revoked_at;
  AgentStatus status = AgentStatus::kOffline;
  std::int64_t events_sent = 0;
  std::int64_t events_dropped = 0;
  std::int64_t events_spooled = 0;
  std::int64_t policy_version = 0;
};

struct ImageSummary {
  std::string image_name;
  std::string image_digest;
  std::int64_t agents = 0;
  std::int64_t online = 0;
};

struct AuditEntry {
  std::int64_t id = 0;
  std::string at;
  std::string actor_kind;
  std::string actor_id;
  std::string action;
  std::string target;
  std::string remote_addr;
  std::string details_json;
};

// Agent status thresholds, from the heartbeat interval.
struct StatusWindows {
  std::chrono::seconds online_within{90};
  std::chrono::seconds stale_within{600};
};

struct AgentFilter {
  std::optional<AgentStatus> status;
  std::string image_like;     // SQL LIKE pattern (from a glob), "" = any
  std::string hostname_like;  // SQL LIKE pattern, "" = any
  std::string container_id;   // exact, "" = any
  std::optional<std::pair<std::string, std::string>> label;
  std::optional<AgentId> after;  // keyset cursor
  int limit = 50;
};

struct Page {
  std::vector<Agent> agents;
  std::optional<AgentId> next;
};

// A new credential: the row and the secret to show once.
struct Issued {
  Uuid id;
  std::string token;
};

struct Registration {
  AgentId agent_id;
  std::string credential;
  bool created = false;  // false: the same container registered again
};

// Persistence of the registry. Every method is scoped to one tenant (RLS),
// except CreateTenant. Admin mutations write their audit entry in the same
// transaction. Implementations map "no such row in this tenant" to NotFound.
class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  virtual Status CreateTenant(const TenantId& tenant, const std::string& name,
                              const Issued& admin_key, const std::string& key_digest,
                              const Actor& actor) = 0;
  virtual StatusOr<ApiKey> CreateApiKey(const TenantId& tenant, const std::string& name,
                                        const std::string& role, const Uuid& id,
                                        const std::string& digest, const Actor& actor) = 0;
  virtual StatusOr<std::vector<ApiKey>> ListApiKeys(const TenantId& tenant) = 0;
  virtual Status RevokeApiKey(const TenantId& tenant, const Uuid& id, const Actor& actor) = 0;

  virtual StatusOr<EnrollmentToken> CreateEnrollmentToken(const TenantId& tenant,
                                                          const std::string& name,
                                                          std::optional<std::int64_t> ttl_seconds,
                                                          std::optional<std::int64_t> max_uses,
                                                          const Uuid& id, const std::string& digest,
                                                          const Actor& actor) = 0;
  virtual StatusOr<std::vector<EnrollmentToken>> ListEnrollmentTokens(const TenantId& tenant) = 0;
  virtual Status RevokeEnrollmentToken(const TenantId& tenant, const Uuid& id,
                                       const Actor& actor) = 0;

  // Registers the container of `facts` with enrollment token `token_id`: a
  // new agent (consuming one use), or the existing agent of that container
  // with a new credential. `issue(agent_id)` makes the credential.
  virtual StatusOr<Registration> RegisterAgent(
      const TenantId& tenant, const Uuid& token_id, const AgentFacts& facts,
      const std::function<std::pair<Issued, std::string>(const AgentId&)>& issue,
      const Actor& actor) = 0;
  // Records a heartbeat of `agent` if `secret_digest` (SHA-256 of the
  // presented secret) is its credential's and it is not revoked; otherwise
  // Unauthenticated. One transaction: the check and the write together.
  virtual Status Heartbeat(const TenantId& tenant, const AgentId& agent,
                           const std::string& secret_digest, const AgentCounters& counters) = 0;
  virtual StatusOr<Page> ListAgents(const TenantId& tenant, const AgentFilter& filter,
                                    const StatusWindows& windows) = 0;
  virtual StatusOr<Agent> GetAgent(const TenantId& tenant, const AgentId& id,
                                   const StatusWindows& windows) = 0;
  virtual Status RevokeAgent(const TenantId& tenant, const AgentId& id, const Actor& actor) = 0;
  virtual StatusOr<std::vector<ImageSummary>> ListImages(const TenantId& tenant,
                                                         const StatusWindows& windows) = 0;
  virtual StatusOr<std::vector<AuditEntry>> ListAudit(const TenantId& tenant, int limit,
                                                      std::optional<std::int64_t> before_id) = 0;
};

struct RegistryOptions {
  std::chrono::seconds heartbeat_interval{30};
};

// The domain functions the handlers call: issue secrets, apply the rules the
// store does not know about, and delegate persistence.
class RegistryService {
 public:
  RegistryService(RegistryStore& store, RegistryOptions options);

  struct CreatedTenant {
    TenantId id;
    std::string name;
    std::string created_at;
    ApiKey admin_key;
    std::string admin_key_secret;
  };
  StatusOr<CreatedTenant> CreateTenant(const std::string& name, const Actor& actor);
  StatusOr<std::pair<ApiKey, std::string>> CreateApiKey(const TenantId& t, const std::string& name,
                                                        const std::string& role,
                                                        const Actor& actor);
  StatusOr<std::pair<EnrollmentToken, std::string>> CreateEnrollmentToken(
      const TenantId& t, const std::string& name, std::optional<std::int64_t> ttl_seconds,
      std::optional<std::int64_t> max_uses, const Actor& actor);
  StatusOr<Registration> Register(const TenantId& t, const Uuid& token_id, const AgentFacts& facts,
                                  const Actor& actor);

  RegistryStore& store() { return store_; }
  const StatusWindows& windows() const { return windows_; }
  std::chrono::seconds heartbeat_interval() const { return options_.heartbeat_interval; }

 private:
  RegistryStore& store_;
  RegistryOptions options_;
  StatusWindows windows_;
};

// "nginx:*" -> "nginx:%" with LIKE's own wildcards escaped (escape char '\').
std::string GlobToLike(std::string_view glob);

}  // namespace portcullis::registry
