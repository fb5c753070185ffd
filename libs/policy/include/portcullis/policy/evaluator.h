// The evaluator: a rule table loaded for matching, and the decision for one
// behaviour. Shared by the agent (every intercepted syscall) and the policy
// service (what-if checks). Decisions allocate nothing and take no lock; a
// compiled policy is immutable, so a new one is swapped in atomically
// (std::atomic<std::shared_ptr<const CompiledPolicy>> in the caller).
//
//   auto compiled = CompiledPolicy::Load(rule_table);        // agent: once per version
//   auto compiled = CompiledPolicy::Compile(policy);         // = Load(CompileRuleTable(policy))
//   Decision d = (*compiled)->DecideFile({.op = FileOp::kRead,
//                                         .program = "/usr/bin/cat",
//                                         .path = "/etc/shadow"});
//   if (d.action == Action::kDeny && d.enforced) refuse();
//
// First match wins: the lowest-numbered rule whose every condition holds;
// otherwise the category's default (file; process for exec; network).
// Syscall rules only decide their syscall: DecideSyscall returns nullopt when
// none matches, and the syscall's own category (if any) decides. Rule numbers
// are the rule table's: the hardening rules first, then the policy's own.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/policy/address_matcher.h"
#include "portcullis/policy/model.h"
#include "portcullis/policy/path_matcher.h"
#include "portcullis/policy/rule_bits.h"
#include "portcullis/v1/rule_table.pb.h"

namespace portcullis::policy {

struct FileRequest {
  FileOp op = FileOp::kRead;
  std::string_view program;  // the workload's executable
  std::string_view path;     // absolute, normalized
};

struct NetworkRequest {
  Direction direction = Direction::kOutbound;
  Protocol protocol = Protocol::kTcp;  // kTcp or kUdp
  IpAddress address;                   // remote (outbound, inbound) or local (listen)
  std::uint16_t port = 0;
  std::string_view program;
};

struct SyscallRequest {
  int number = -1;
  std::array<std::uint64_t, 6> args{};
  std::string_view program;
};

struct Decision {
  Action action = Action::kAllow;
  // False in permissive mode: a deny is recorded but not enforced.
  bool enforced = true;
  Category category = Category::kFile;
  int rule = -1;             // number in the rule table, -1 for the category default
  std::string_view rule_id;  // "" for the default; valid while the policy lives
};

class CompiledPolicy {
 public:
  // Compiles `policy` to its rule table and loads that.
  static StatusOr<std::shared_ptr<const CompiledPolicy>> Compile(const Policy& policy);
  // Loads a rule table, checking its format and every value and index in it:
  // a table that does not hold together is InvalidArgument, never a crash.
  static StatusOr<std::shared_ptr<const CompiledPolicy>> Load(const v1::RuleTable& table);

  Decision DecideFile(const FileRequest& r) const;
  Decision DecideNetwork(const NetworkRequest& r) const;
  std::optional<Decision> DecideSyscall(const SyscallRequest& r) const;

  std::size_t rule_count() const { return rules_.size(); }
  const std::string& policy_id() const { return policy_id_; }
  std::uint64_t version() const { return version_; }

 private:
  CompiledPolicy() = default;
  class ProgramCheck;
  class Loader;
  struct RuleInfo {
    std::string id;
    Action action = Action::kDeny;
    Category category = Category::kFile;
    std::vector<PortRange> ports;    // network rules; empty: any
    std::vector<ArgCondition> args;  // syscall rules
  };
  Decision Make(Action action, Category category, int rule) const;

  std::string policy_id_;
  std::uint64_t version_ = 0;
  Mode mode_ = Mode::kEnforcing;
  Defaults defaults_;
  std::vector<RuleInfo> rules_;
  PathMatcher programs_;
  RuleBits any_program_;
  // File rules.
  std::array<RuleBits, 7> file_ops_;  // by FileOp bit position
  PathMatcher paths_;
  // Network rules.
  std::array<RuleBits, 3> directions_;
  RuleBits tcp_, udp_;  // rules admitting that protocol (any counts for both)
  AddressMatcher addresses_;
  RuleBits any_address_;
  // Syscall rules, by syscall number.
  std::vector<RuleBits> syscalls_;
};

}  // namespace portcullis::policy
