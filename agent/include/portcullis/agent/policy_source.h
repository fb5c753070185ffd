// Where the agent's policy comes from: a file given with --policy, holding
// either a policy document (JSON, parsed and compiled with libs/policy) or a
// compiled rule table (binary protobuf, as the policy service serves it).
//
//   StatusOr<LoadedPolicy> p = LoadPolicyFile("/etc/portcullis/policy.json", false);
//   if (!p.ok()) { refuse to start; }
//   BuildFilter(p->table); p->compiled->DecideFile(...);
//
// A document's diagnostics are all reported (one per line with its JSON
// pointer). --permissive turns the policy permissive before it is compiled
// (a document) or marks the table permissive (a compiled table: the filter
// generator then keeps every deny out of the kernel).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "portcullis/common/status.h"
#include "portcullis/policy/evaluator.h"
#include "portcullis/v1/rule_table.pb.h"

namespace portcullis::agent {

struct LoadedPolicy {
  v1::RuleTable table;
  std::shared_ptr<const policy::CompiledPolicy> compiled;
};

// Policy files larger than this are refused (a document's own limit is 4 MiB).
inline constexpr std::size_t kMaxPolicyFileBytes = 16u << 20;

StatusOr<LoadedPolicy> LoadPolicy(std::string_view bytes, std::string_view name,
                                  bool force_permissive);
StatusOr<LoadedPolicy> LoadPolicyFile(const std::string& path, bool force_permissive);

}  // namespace portcullis::agent
