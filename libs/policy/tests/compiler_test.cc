// The compiler: golden tests (document in, rule table as text out), the
// syscall handling the seccomp filter gets, hardening sets, and Load's refusal
// of tables that do not hold together.
//
// Golden files: tests/golden/<name>.json -> <name>.table.txt. After an
// intended change, regenerate them and review the diff:
//   PORTCULLIS_UPDATE_GOLDEN=1 build/tests/policy_test --gtest_filter='*Golden*'
#include "portcullis/policy/compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "portcullis/policy/document.h"
#include "portcullis/policy/evaluator.h"

namespace portcullis::policy {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(PORTCULLIS_POLICY_SOURCE_DIR) / "tests" / "golden";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Policy ParseOrDie(const std::string& text) {
  ParseResult r = ParsePolicyDocument(text);
  if (!r.ok()) {
    ADD_FAILURE() << r.diagnostics[0].location << ": " << r.diagnostics[0].message;
    return {};
  }
  return *r.policy;
}

v1::RuleTable TableOf(const std::string& doc) {
  auto t = CompileRuleTable(ParseOrDie(doc), {.policy_id = "p", .version = 1});
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : v1::RuleTable();
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, DocumentCompilesToTheGoldenTable) {
  const fs::path doc = kGoldenDir / (GetParam() + ".json");
  const fs::path golden = kGoldenDir / (GetParam() + ".table.txt");
  auto table =
      CompileRuleTable(ParseOrDie(ReadFile(doc)),
                       {.policy_id = "00000000-0000-4000-8000-000000000001", .version = 3});
  ASSERT_TRUE(table.ok()) << table.status();
  std::string text = RuleTableText(*table);
  const char* update = std::getenv("PORTCULLIS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << text;
    GTEST_SKIP() << "rewrote " << golden;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; see the comment at the top";
  EXPECT_EQ(text, ReadFile(golden)) << "the table for " << doc << " changed";
  // And the table loads into the evaluator.
  auto loaded = CompiledPolicy::Load(*table);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
}

INSTANTIATE_TEST_SUITE_P(Policies, GoldenTest,
                         ::testing::Values("file-allowlist", "network-egress", "syscalls-hardening",
                                           "permissive"));

const v1::SyscallEntry* Entry(const v1::RuleTable& t, std::string_view name) {
  for (const auto& e : t.syscalls()) {
    if (e.name() == name) return &e;
  }
  return nullptr;
}

v1::SyscallEntry::Handling HandlingOf(const v1::RuleTable& t, std::string_view name) {
  const v1::SyscallEntry* e = Entry(t, name);
  return e != nullptr ? e->handling() : v1::SyscallEntry::HANDLING_UNSPECIFIED;
}

TEST(CompilerTest, KernelDecidesWhatNeedsNoPointerNoProgramAndNoEvent) {
  using H = v1::SyscallEntry;
  // Nothing to say: every category syscall stays in the kernel.
  v1::RuleTable empty = TableOf(R"({"rules": []})");
  EXPECT_EQ(HandlingOf(empty, "openat"), H::KERNEL_ALLOW);
  EXPECT_EQ(HandlingOf(empty, "connect"), H::KERNEL_ALLOW);
  EXPECT_EQ(Entry(empty, "keyctl"), nullptr) << "a syscall nobody mentions is not listed";

  // A file rule on reads: the open family needs the path, unlink does not.
  v1::RuleTable reads = TableOf(R"({"rules": [
      {"type": "file", "action": "deny", "paths": ["/etc/shadow"], "operations": ["read"]}]})");
  EXPECT_EQ(HandlingOf(reads, "openat"), H::AGENT);
  EXPECT_EQ(HandlingOf(reads, "unlinkat"), H::KERNEL_ALLOW);
  EXPECT_EQ(HandlingOf(reads, "execve"), H::KERNEL_ALLOW);

  // Default deny with no rule: an unconditional deny, with EACCES for files.
  v1::RuleTable deny_exec = TableOf(R"({"defaults": {"process": "deny"}, "rules": []})");
  EXPECT_EQ(HandlingOf(deny_exec, "execve"), H::KERNEL_DENY);
  EXPECT_EQ(Entry(deny_exec, "execve")->deny_errno(), 13);
  // ...but a network default deny needs the agent: AF_UNIX connects are not
  // network behaviours and only the agent can see the family.
  v1::RuleTable deny_net = TableOf(R"({"defaults": {"network": "deny"}, "rules": []})");
  EXPECT_EQ(HandlingOf(deny_net, "connect"), H::AGENT);
  // A monitor default must be recorded: the agent.
  v1::RuleTable monitor = TableOf(R"({"defaults": {"file": "monitor"}, "rules": []})");
  EXPECT_EQ(HandlingOf(monitor, "openat"), H::AGENT);

  // Syscall rules: scalar arguments, no program, allow/deny -> kernel.
  v1::RuleTable sys = TableOf(R"({"rules": [
      {"id": "a", "type": "syscall", "action": "deny", "syscall": "personality",
       "args": [{"index": 0, "op": "ne", "value": 0}]},
      {"id": "b", "type": "syscall", "action": "deny", "syscall": "keyctl"},
      {"id": "c", "type": "syscall", "action": "monitor", "syscall": "setuid"},
      {"id": "d", "type": "syscall", "action": "deny", "syscall": "fchmod", "programs": ["/bin/x"]}]})");
  EXPECT_EQ(HandlingOf(sys, "personality"), H::KERNEL_ARGS);
  EXPECT_EQ(Entry(sys, "personality")->fallback(), v1::ACTION_ALLOW);
  EXPECT_EQ(HandlingOf(sys, "keyctl"), H::KERNEL_DENY);
  EXPECT_EQ(Entry(sys, "keyctl")->deny_errno(), 1);
  EXPECT_EQ(HandlingOf(sys, "setuid"), H::AGENT) << "monitor needs an event";
  EXPECT_EQ(HandlingOf(sys, "fchmod"), H::AGENT) << "programs need the agent";

  // Permissive: a deny is only recorded, so the agent must see it.
  v1::RuleTable permissive = TableOf(R"({"mode": "permissive", "defaults": {"process": "deny"},
      "rules": [{"type": "syscall", "action": "deny", "syscall": "keyctl"}]})");
  EXPECT_EQ(HandlingOf(permissive, "keyctl"), H::AGENT);
  EXPECT_EQ(HandlingOf(permissive, "execve"), H::AGENT);
}

TEST(CompilerTest, HardeningRulesComeFirstAndDeny) {
  v1::RuleTable t = TableOf(R"({"hardening": ["deny-ptrace", "deny-namespaces"], "rules": [
      {"id": "allow-ptrace", "type": "syscall", "action": "allow", "syscall": "ptrace"}]})");
  ASSERT_GT(t.rules_size(), 3);
  EXPECT_EQ(t.rules(0).id(), "deny-ptrace.ptrace");
  EXPECT_EQ(t.rules(0).hardening_set(), "deny-ptrace");
  EXPECT_EQ(t.rules(t.rules_size() - 1).id(), "allow-ptrace");
  auto p = CompiledPolicy::Load(t);
  ASSERT_TRUE(p.ok()) << p.status();
  const int ptrace = SyscallNumber("ptrace");
  constexpr std::uint64_t kAttach = 16, kTraceMe = 0;
  auto d = (*p)->DecideSyscall({.number = ptrace, .args = {kAttach, 1234}, .program = "/bin/gdb"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, Action::kDeny) << "the policy's own allow cannot override hardening";
  EXPECT_EQ(d->rule_id, "deny-ptrace.ptrace");
  d = (*p)->DecideSyscall({.number = ptrace, .args = {kTraceMe}, .program = "/bin/gdb"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule_id, "allow-ptrace");

  // clone with CLONE_NEWUSER is denied; a plain thread clone is not; clone3
  // answers ENOSYS so the C library falls back to clone.
  const int clone = SyscallNumber("clone");
  constexpr std::uint64_t kThreadFlags = 0x3d0f00, kNewUser = 0x10000000;
  EXPECT_FALSE((*p)->DecideSyscall({.number = clone, .args = {kThreadFlags}}));
  d = (*p)->DecideSyscall({.number = clone, .args = {kThreadFlags | kNewUser}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, Action::kDeny);
  EXPECT_EQ(Entry(t, "clone3")->handling(), v1::SyscallEntry::KERNEL_DENY);
  EXPECT_EQ(Entry(t, "clone3")->deny_errno(), 38);
}

TEST(CompilerTest, NewNamesOfProtectedObjectsGoToTheAgent) {
  // A rule that protects a file from reading says nothing about link or
  // rename, but a second name would dodge it: the agent checks those against
  // every deny and monitor rule. Symlinks create no alias (opens follow them).
  using H = v1::SyscallEntry;
  for (
      const char* doc : {
          R"({"rules": [{"type": "file", "action": "deny", "paths": ["/s"], "operations": ["read"]}]})",
          R"({"rules": [{"type": "file", "action": "monitor", "paths": ["/s"], "operations": ["write"]}]})",
          R"({"rules": [{"type": "file", "action": "deny", "paths": ["/bin/x"], "operations": ["exec"]}]})",
      }) {
    v1::RuleTable t = TableOf(doc);
    for (const char* name : {"link", "linkat", "rename", "renameat", "renameat2"})
      EXPECT_EQ(HandlingOf(t, name), H::AGENT) << doc << " " << name;
    EXPECT_EQ(HandlingOf(t, "symlink"), H::KERNEL_ALLOW) << doc;
    EXPECT_EQ(HandlingOf(t, "unlink"), H::KERNEL_ALLOW) << doc;
  }
  v1::RuleTable allow = TableOf(
      R"({"rules": [{"type": "file", "action": "allow", "paths": ["/s"], "operations": ["read"]}]})");
  EXPECT_EQ(HandlingOf(allow, "link"), H::KERNEL_ALLOW);
  EXPECT_EQ(HandlingOf(allow, "rename"), H::KERNEL_ALLOW);
}

TEST(CompilerTest, FileOrNetworkDecisionsImplyDenyIoUring) {
  // An io_uring ring (IORING_OP_OPENAT, _CONNECT, ...) would bypass every
  // file and network decision: any policy that makes one denies io_uring.
  using H = v1::SyscallEntry;
  const char* kDecides[] = {
      R"({"rules": [{"type": "file", "action": "deny", "paths": ["/etc/shadow"]}]})",
      R"({"rules": [{"type": "file", "action": "monitor", "paths": ["/x"], "operations": ["read"]}]})",
      R"({"rules": [{"type": "file", "action": "deny", "paths": ["/bin/sh"], "operations": ["exec"]}]})",
      R"({"rules": [{"type": "network", "action": "deny", "direction": "outbound"}]})",
      R"({"defaults": {"file": "deny"}, "rules": []})",
      R"({"defaults": {"network": "monitor"}, "rules": []})",
      R"({"mode": "permissive", "rules": [{"type": "file", "action": "deny", "paths": ["/x"]}]})",
  };
  for (const char* doc : kDecides) {
    v1::RuleTable t = TableOf(doc);
    ASSERT_GE(t.hardening_size(), 1) << doc;
    EXPECT_EQ(t.hardening(0), "deny-io-uring") << doc;
    EXPECT_EQ(t.rules(0).id(), "deny-io-uring.io_uring_setup") << doc;
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
      ASSERT_NE(Entry(t, name), nullptr) << doc << " " << name;
      EXPECT_EQ(HandlingOf(t, name), t.permissive() ? H::AGENT : H::KERNEL_DENY) << doc << name;
    }
  }
  // Switched on explicitly: listed once, its rules once.
  v1::RuleTable twice =
      TableOf(R"({"hardening": ["deny-io-uring"], "defaults": {"network": "deny"}, "rules": []})");
  EXPECT_EQ(twice.hardening_size(), 1);
  EXPECT_EQ(twice.rules_size(), 3);
  // Nothing decided about files or network: io_uring stays allowed.
  const char* kNeutral[] = {
      R"({"rules": []})",
      R"({"defaults": {"process": "deny"}, "rules": []})",
      R"({"rules": [{"type": "syscall", "action": "deny", "syscall": "keyctl"}]})",
  };
  for (const char* doc : kNeutral) {
    v1::RuleTable t = TableOf(doc);
    EXPECT_EQ(t.hardening_size(), 0) << doc;
    EXPECT_EQ(Entry(t, "io_uring_setup"), nullptr) << doc;
  }
}

TEST(CompilerTest, FileDecisionsImplyDenyFileHandles) {
  // open_by_handle_at opens a file from a handle, with no path for a file
  // rule to match: any policy that decides files denies it.
  using H = v1::SyscallEntry;
  const char* kFiles[] = {
      R"({"rules": [{"type": "file", "action": "deny", "paths": ["/etc/shadow"]}]})",
      R"({"rules": [{"type": "file", "action": "allow", "paths": ["/x"], "operations": ["read"]}]})",
      R"({"defaults": {"file": "monitor"}, "rules": []})",
      R"({"hardening": ["deny-file-handles"], "defaults": {"file": "deny"}, "rules": []})",
  };
  for (const char* doc : kFiles) {
    v1::RuleTable t = TableOf(doc);
    EXPECT_EQ(std::count(t.hardening().begin(), t.hardening().end(), "deny-file-handles"), 1)
        << doc;
    ASSERT_NE(Entry(t, "open_by_handle_at"), nullptr) << doc;
    EXPECT_EQ(HandlingOf(t, "open_by_handle_at"), H::KERNEL_DENY) << doc;
  }
  // Network decisions alone, or none: file handles stay allowed.
  for (const char* doc :
       {R"({"rules": [{"type": "network", "action": "deny", "direction": "outbound"}]})",
        R"({"rules": []})"}) {
    v1::RuleTable t = TableOf(doc);
    EXPECT_EQ(Entry(t, "open_by_handle_at"), nullptr) << doc;
  }
}

TEST(CompilerTest, FileDecisionsImplyDenyMountUnlessTheyDecideMounts) {
  // A bind mount gives a file a second name no file rule names: any policy
  // that decides files denies the mount calls, unless one of its own syscall
  // rules allows or monitors one of them.
  using H = v1::SyscallEntry;
  const char* kImplied[] = {
      R"({"rules": [{"type": "file", "action": "deny", "paths": ["/etc/shadow"]}]})",
      R"({"defaults": {"file": "monitor"}, "rules": []})",
      R"({"hardening": ["deny-mount"], "defaults": {"file": "deny"}, "rules": []})",
      // A deny rule of its own decides nothing more.
      R"({"rules": [{"type": "file", "action": "deny", "paths": ["/etc/shadow"]},
                    {"type": "syscall", "action": "deny", "syscall": "mount"}]})",
  };
  for (const char* doc : kImplied) {
    v1::RuleTable t = TableOf(doc);
    EXPECT_EQ(std::count(t.hardening().begin(), t.hardening().end(), "deny-mount"), 1) << doc;
    for (const char* call : {"mount", "umount2", "open_tree", "move_mount", "fsopen", "fsmount"}) {
      ASSERT_NE(Entry(t, call), nullptr) << doc << " " << call;
      EXPECT_EQ(HandlingOf(t, call), H::KERNEL_DENY) << doc << " " << call;
    }
  }
  for (const char* action : {"allow", "monitor"}) {
    v1::RuleTable t = TableOf(std::string(R"({"rules": [
        {"type": "file", "action": "deny", "paths": ["/etc/shadow"]},
        {"type": "syscall", "action": ")") +
                              action + R"(", "syscall": "mount"}]})");
    EXPECT_EQ(std::count(t.hardening().begin(), t.hardening().end(), "deny-mount"), 0) << action;
    EXPECT_EQ(Entry(t, "open_tree"), nullptr) << action;
  }
  // Network decisions alone, or none: mounts stay allowed.
  for (const char* doc :
       {R"({"rules": [{"type": "network", "action": "deny", "direction": "outbound"}]})",
        R"({"rules": []})"}) {
    EXPECT_EQ(Entry(TableOf(doc), "mount"), nullptr) << doc;
  }
}

TEST(CompilerTest, EveryHardeningSetResolvesOnThisArchitecture) {
  for (const HardeningSet& set : HardeningSets()) {
    auto rules = HardeningRules(set.name);
    ASSERT_TRUE(rules.ok()) << set.name;
    EXPECT_FALSE(rules->empty()) << set.name;
    for (const HardeningRule& r : *rules)
      EXPECT_GE(SyscallNumber(r.syscall), 0) << set.name << ": " << r.syscall;
  }
  EXPECT_FALSE(HardeningRules("deny-everything").ok());
}

TEST(CompilerTest, SamePolicySameBytes) {
  const std::string doc = ReadFile(kGoldenDir / "network-egress.json");
  std::string a, b;
  ASSERT_TRUE(TableOf(doc).SerializeToString(&a));
  ASSERT_TRUE(TableOf(doc).SerializeToString(&b));
  EXPECT_EQ(a, b);
}

// The policy's own first rule in `t`, after the hardening rules (the implied
// deny-io-uring ones included).
v1::Rule* FirstOwnRule(v1::RuleTable& t) {
  int i = 0;
  while (i < t.rules_size() && !t.rules(i).hardening_set().empty())
    ++i;
  return t.mutable_rules(i);
}

// The agent loads what the network gives it: a table that does not hold
// together is refused with a message, never a crash or an out-of-range read.
TEST(LoadTest, RefusesTablesThatDoNotHoldTogether) {
  const v1::RuleTable good = TableOf(ReadFile(kGoldenDir / "network-egress.json"));
  ASSERT_TRUE(CompiledPolicy::Load(good).ok());
  const v1::RuleTable files = TableOf(ReadFile(kGoldenDir / "file-allowlist.json"));
  ASSERT_TRUE(CompiledPolicy::Load(files).ok());
  struct Case {
    const char* name;
    const v1::RuleTable* base;
    std::function<void(v1::RuleTable&)> mutate;
    const char* expect;
  };
  const Case cases[] = {
      {"format", &good, [](auto& t) { t.set_format(99); }, "format 99"},
      {"arch", &good, [](auto& t) { t.set_arch("aarch64"); }, "architecture"},
      {"action", &good, [](auto& t) { FirstOwnRule(t)->set_action(v1::Action(7)); }, "action"},
      {"default", &good, [](auto& t) { t.set_default_file(v1::ACTION_UNSPECIFIED); }, "action"},
      {"address rule out of range", &good,
       [](auto& t) { t.mutable_addresses(0)->set_rules(0, 4000); }, "network rule"},
      {"address bytes", &good, [](auto& t) { t.mutable_addresses(0)->set_address("abc"); },
       "3 bytes"},
      {"prefix", &good, [](auto& t) { t.mutable_addresses(0)->set_prefix_length(33); }, "prefix"},
      {"port range", &good,
       [](auto& t) { FirstOwnRule(t)->mutable_network()->mutable_ports(0)->set_hi(70000); },
       "port range"},
      {"no match", &good, [](auto& t) { FirstOwnRule(t)->clear_match(); }, "no match"},
      {"path rule out of range", &files,
       [](auto& t) { t.mutable_paths()->mutable_entries(0)->add_rules(99); }, "out of range"},
      {"path names a non-file rule", &good,
       [](auto& t) {
         auto* e = t.mutable_paths()->add_entries();
         e->set_path("/x");
         e->add_rules(0);
       },
       "does not belong"},
      {"relative path", &files,
       [](auto& t) { t.mutable_paths()->mutable_entries(0)->set_path("x"); }, "absolute"},
      {"bad glob", &files,
       [](auto& t) { t.mutable_paths()->mutable_globs(0)->set_pattern("/a/[b"); }, "glob"},
      {"file ops", &files,
       [](auto& t) { FirstOwnRule(t)->mutable_file()->set_operations(1u << 20); }, "operations"},
      {"syscall number", &good,
       [](auto& t) {
         v1::Rule* r = t.add_rules();
         r->set_action(v1::ACTION_DENY);
         r->mutable_syscall()->set_number(100000);
       },
       "syscall number"},
  };
  for (const Case& c : cases) {
    v1::RuleTable t = *c.base;
    c.mutate(t);
    auto loaded = CompiledPolicy::Load(t);
    ASSERT_FALSE(loaded.ok()) << c.name;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(loaded.status().message(), HasSubstr(c.expect)) << c.name;
  }
}

TEST(LoadTest, DecisionsNameTheirRule) {
  auto p = CompiledPolicy::Compile(ParseOrDie(ReadFile(kGoldenDir / "file-allowlist.json")));
  ASSERT_TRUE(p.ok());
  Decision d = (*p)->DecideFile({FileOp::kRead, "/bin/cat", "/home/ann/.ssh/id_rsa"});
  EXPECT_EQ(d.action, Action::kDeny);
  EXPECT_EQ(d.rule_id, "no-secrets");
  d = (*p)->DecideFile({FileOp::kWrite, "/bin/cat", "/tmp/x"});
  EXPECT_EQ(d.rule, -1);
  EXPECT_EQ(d.rule_id, "");
  EXPECT_EQ(d.action, Action::kDeny) << "the file default";
}

}  // namespace
}  // namespace portcullis::policy
