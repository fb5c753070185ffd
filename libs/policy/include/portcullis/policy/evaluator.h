// The evaluator: a policy compiled for matching, and the decision for one
// behaviour. Shared by the agent (every intercepted syscall) and the policy
// service (what-if checks). Decisions allocate nothing and take no lock; a
// compiled policy is immutable, so a new one is swapped in atomically
// (std::atomic<std::shared_ptr<const CompiledPolicy>> in the caller).
//
//   auto compiled = CompiledPolicy::Compile(policy);          // once
//   Decision d = (*compiled)->DecideFile({.op = FileOp::kRead,
//                                         .program = "/usr/bin/cat",
//                                         .path = "/etc/shadow"});
//   if (d.action == Action::kDeny && d.enforced) refuse();
//
// First match wins: the lowest-numbered rule whose every condition holds;
// otherwise the category's default (file; process for exec; network).
// Syscall rules only decide their syscall: DecideSyscall returns nullopt when
// none matches, and the syscall's own category (if any) decides.
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
  int rule = -1;  // index in Policy::rules, -1 for the category default
};

class CompiledPolicy {
 public:
  static StatusOr<std::shared_ptr<const CompiledPolicy>> Compile(const Policy& policy);

  Decision DecideFile(const FileRequest& r) const;
  Decision DecideNetwork(const NetworkRequest& r) const;
  std::optional<Decision> DecideSyscall(const SyscallRequest& r) const;

  const Policy& policy() const { return policy_; }

 private:
  CompiledPolicy() = default;
  class ProgramCheck;
  Decision Make(Action action, Category category, int rule) const;

  Policy policy_;
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
