// The compiler: a validated Policy in, the rule table an agent enforces out
// (schema/proto/portcullis/v1/rule_table.proto).
//
//   ParseResult doc = ParsePolicyDocument(text);            // document.h
//   StatusOr<v1::RuleTable> table =
//       CompileRuleTable(*doc.policy, {.policy_id = id, .version = 7});
//   std::string golden = RuleTableText(*table);              // tests, debugging
//
// What the compiler does beyond copying rules:
//   - expands the hardening sets the policy switches on into syscall rules,
//     placed before the policy's own rules (HardeningRules() lists them);
//     deny-io-uring is switched on by itself for any policy with a file or
//     network rule or default (EffectiveHardening);
//   - indexes file paths and programs (sorted prefix tree entries plus globs
//     under their literal prefix) and addresses (sorted prefix table), each
//     entry naming the rules it belongs to;
//   - lists every syscall the policy has a say on with its handling: left to
//     the kernel (allow, unconditional deny, scalar argument comparisons) or
//     sent to the agent (a path or address to look at, a program to check, an
//     event to record). See SyscallEntry in the proto.
// Deterministic: the same policy always gives the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/policy/model.h"
#include "portcullis/v1/rule_table.pb.h"

namespace portcullis::policy {

// Bumped when the table's meaning changes; agents refuse formats they do not
// know.
inline constexpr std::uint32_t kRuleTableFormat = 1;
inline constexpr std::string_view kRuleTableArch = "x86_64";

struct TableIdentity {
  std::string policy_id;
  std::uint64_t version = 0;
};

StatusOr<v1::RuleTable> CompileRuleTable(const Policy& policy, const TableIdentity& identity = {});

// The model's enums as the wire's (rule tables and events share them).
v1::Action ToProto(Action a);
v1::Category ToProto(Category c);

// The table as protobuf text format, for golden tests and people.
std::string RuleTableText(const v1::RuleTable& table);

// A syscall of a behaviour category and the file operations (or network
// direction) it can carry out.
struct CategorySyscall {
  std::string_view name;
  Category category;
  std::uint32_t file_ops = 0;                  // kFile / kProcess
  Direction direction = Direction::kOutbound;  // kNetwork
};
const std::vector<CategorySyscall>& CategorySyscalls();

// The rules one hardening set contributes (syscall rules, action deny).
struct HardeningRule {
  std::string_view syscall;
  std::vector<ArgCondition> args;
  int deny_errno = 1;  // EPERM; ENOSYS where callers fall back (clone3)
};
StatusOr<std::vector<HardeningRule>> HardeningRules(std::string_view set);

// The hardening sets a policy's table enforces: the policy's own, plus
// kImpliedIoUringSet whenever the policy decides anything about files or
// network (a file or network rule, or a non-allow file or network default):
// an io_uring ring would bypass every per-syscall decision. The table's
// `hardening` field lists them all.
inline constexpr std::string_view kImpliedIoUringSet = "deny-io-uring";
// And "deny-file-handles" for every policy that decides files:
// open_by_handle_at opens a file without a path to decide on.
inline constexpr std::string_view kImpliedFileHandlesSet = "deny-file-handles";
// And "deny-mount" for every policy that decides files, unless one of its
// own syscall rules allows or monitors a mount call: a bind mount (or an
// overlay) gives a file a name no file rule names.
inline constexpr std::string_view kImpliedMountSet = "deny-mount";
std::vector<std::string> EffectiveHardening(const Policy& policy);

// x86-64 syscall numbers and names (libseccomp, and a table of the ones newer
// than its version); -1 / "" when unknown.
int SyscallNumber(std::string_view name);
std::string SyscallName(int number);

}  // namespace portcullis::policy
