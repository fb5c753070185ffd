// The policy service's domain: policies as histories of immutable versions,
// assignments of policies to agents, which policy an agent gets and why, and
// the differences between two versions. Storage is behind PolicyStore
// (storage/pg_policy_store.h); long-poll delivery is in distributor.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "portcullis/auth/audit.h"
#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"

namespace portcullis::policy_service {

using auth::Actor;

struct PolicyInfo {
  Uuid id;
  std::string name;
  std::int64_t current_version = 0;
  std::string created_at;
  std::string updated_at;
  std::int64_t assignments = 0;
};

struct VersionInfo {
  std::int64_t version = 0;
  std::string created_at;
  std::string created_by;
  std::string comment;
  std::string sha256;                          // of the rule table
  std::optional<std::int64_t> source_version;  // a rollback's origin
};

// One version with its document (JSON text as stored).
struct PolicyVersion {
  PolicyInfo policy;
  VersionInfo version;
  std::string document;
};

// What an agent downloads: the current version of its policy, compiled.
struct CompiledVersion {
  Uuid policy_id;
  std::string policy_name;
  std::int64_t version = 0;
  std::string rule_table;  // serialized portcullis.v1.RuleTable
  std::string sha256;
};

struct Selector {
  enum class Kind { kImage, kLabels, kDefault };
  Kind kind = Kind::kDefault;
  std::string image_glob;                     // kImage
  std::map<std::string, std::string> labels;  // kLabels: all must match
};

struct Assignment {
  Uuid id;
  Uuid policy_id;
  std::string policy_name;
  int priority = 0;
  Selector selector;
  std::string created_at;
  std::string created_by;
};

struct AgentFacts {
  std::string image_name;
  std::map<std::string, std::string> labels;
};

// The publication of one version: its number is only known inside the
// store's transaction, and the rule table embeds it, so the store calls this
// to compile the document for that number (InvalidArgument if it does not
// compile: an old version's document under today's rules, on rollback).
struct Published {
  std::string name;  // the document's name: the policy's name from then on
  std::string rule_table;
  std::string sha256;
};
using PublishFn = std::function<StatusOr<Published>(const Uuid& policy, std::int64_t version,
                                                    const std::string& document)>;

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;
  // AlreadyExists when the tenant has a policy of that name.
  virtual StatusOr<PolicyInfo> CreatePolicy(const TenantId& t, const Uuid& id,
                                            const std::string& document, const std::string& comment,
                                            const PublishFn& publish, const Actor& actor) = 0;
  // A new version. FailedPrecondition when `if_version` is set and is not the
  // current version (someone else published meanwhile).
  virtual StatusOr<PolicyInfo> UpdatePolicy(const TenantId& t, const Uuid& id,
                                            const std::string& document, const std::string& comment,
                                            std::optional<std::int64_t> if_version,
                                            const PublishFn& publish, const Actor& actor) = 0;
  // Publishes `version`'s document again as a new version.
  virtual StatusOr<PolicyInfo> Rollback(const TenantId& t, const Uuid& id, std::int64_t version,
                                        const std::string& comment, const PublishFn& publish,
                                        const Actor& actor) = 0;
  // FailedPrecondition while the policy is assigned.
  virtual Status DeletePolicy(const TenantId& t, const Uuid& id, const Actor& actor) = 0;
  virtual StatusOr<std::vector<PolicyInfo>> ListPolicies(const TenantId& t) = 0;
  // The current version when `version` is unset.
  virtual StatusOr<PolicyVersion> GetPolicy(const TenantId& t, const Uuid& id,
                                            std::optional<std::int64_t> version) = 0;
  virtual StatusOr<std::vector<VersionInfo>> ListVersions(const TenantId& t, const Uuid& id) = 0;

  virtual StatusOr<Assignment> CreateAssignment(const TenantId& t, const Assignment& a,
                                                const Actor& actor) = 0;
  virtual StatusOr<std::vector<Assignment>> ListAssignments(const TenantId& t) = 0;
  virtual Status DeleteAssignment(const TenantId& t, const Uuid& id, const Actor& actor) = 0;

  // NotFound for an unknown or revoked agent.
  virtual StatusOr<AgentFacts> GetAgentFacts(const TenantId& t, const AgentId& agent) = 0;
  // Every assignment and the current compiled version of each assigned
  // policy: all a resolution needs, in one transaction.
  struct TenantState {
    std::vector<Assignment> assignments;
    std::map<Uuid, CompiledVersion> current;
  };
  virtual StatusOr<TenantState> LoadTenantState(const TenantId& t) = 0;
};

// Which assignment applies to an agent, and why. Assignments are considered
// by priority (highest first), then image and label selectors before the
// tenant default, then oldest first; the first whose selector matches wins.
struct Resolution {
  struct Considered {
    const Assignment* assignment;
    bool matched;
    std::string why;
  };
  const Assignment* chosen = nullptr;
  std::string reason;
  std::vector<Considered> considered;
};
Resolution Resolve(const std::vector<Assignment>& assignments, const AgentFacts& agent);

// Image selectors: '*' any run of characters (also '/' and ':'), '?' one,
// everything else literal. At most 512 bytes and 16 wildcards.
Status ValidateImageGlob(std::string_view glob);
bool ImageMatches(std::string_view glob, std::string_view image);

// The ETag of what an agent gets: the policy, its version and the table
// format, or "none" when no policy applies.
std::string ETagFor(const CompiledVersion* version);

// Differences between two policy documents, by rule id where rules have one.
struct Change {
  std::string path;  // "/defaults/file", "/rules/no-shadow", "/rules/no-shadow/action"
  std::string kind;  // added, removed, changed, moved
  nlohmann::json before;
  nlohmann::json after;
};
std::vector<Change> DiffDocuments(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace portcullis::policy_service
