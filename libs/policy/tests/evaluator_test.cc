// Semantic tests: a policy and behaviours in, decisions out. Covers first
// match order, defaults (allowlist and blocklist), globs, subtrees, programs,
// CIDR v4/v6, port ranges, protocols, syscall argument conditions and
// permissive mode.
#include "portcullis/policy/evaluator.h"

#include <gtest/gtest.h>

#include "portcullis/policy/compiler.h"
#include "portcullis/policy/document.h"

namespace portcullis::policy {
namespace {

std::shared_ptr<const CompiledPolicy> CompileDoc(const std::string& json) {
  ParseResult r = ParsePolicyDocument(json);
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty()
                              ? ""
                              : r.diagnostics[0].location + ": " + r.diagnostics[0].message);
  if (!r.ok()) return nullptr;
  auto c = CompiledPolicy::Compile(*r.policy);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : nullptr;
}

IpAddress Ip(const char* text) {
  return *IpAddress::Parse(text);
}

// A policy's rule `i` in its table: a policy with file or network rules gets
// the implied deny-io-uring rules first, one with file rules the implied
// deny-file-handles and deny-mount rules too (compiler.h, EffectiveHardening).
int TableRule(int i, bool files) {
  static const int kIoUring = static_cast<int>(HardeningRules(kImpliedIoUringSet)->size());
  static const int kFiles = static_cast<int>(HardeningRules(kImpliedFileHandlesSet)->size() +
                                             HardeningRules(kImpliedMountSet)->size());
  return i < 0 ? i : i + kIoUring + (files ? kFiles : 0);
}

const char* kFilePolicy = R"({
  "defaults": {"file": "allow", "process": "deny"},
  "rules": [
    {"id": "cat-may-read-shadow", "type": "file", "action": "allow",
     "paths": ["/etc/shadow"], "operations": ["read"], "programs": ["/usr/bin/cat"]},
    {"id": "no-shadow", "type": "file", "action": "deny", "paths": ["/etc/shadow", "/etc/gshadow"]},
    {"id": "watch-etc", "type": "file", "action": "monitor", "paths": ["/etc/"],
     "operations": ["write", "create", "delete", "rename", "chmod"]},
    {"id": "no-ssh-keys", "type": "file", "action": "deny", "paths": ["/home/*/.ssh/**"]},
    {"id": "run-app", "type": "file", "action": "allow", "paths": ["/app/bin/"], "operations": ["exec"]},
    {"id": "run-busybox", "type": "file", "action": "allow", "paths": ["/bin/*"], "operations": ["exec"],
     "programs": ["/app/bin/**"]}
  ]})";

struct FileCase {
  FileOp op;
  const char* program;
  const char* path;
  Action action;
  int rule;
};

TEST(EvaluatorTest, FileRulesFirstMatchDefaultsGlobsSubtreesPrograms) {
  auto p = CompileDoc(kFilePolicy);
  ASSERT_TRUE(p);
  const FileCase cases[] = {
      {FileOp::kRead, "/usr/bin/cat", "/etc/shadow", Action::kAllow, 0},  // earlier rule wins
      {FileOp::kRead, "/usr/bin/less", "/etc/shadow", Action::kDeny, 1},
      {FileOp::kWrite, "/usr/bin/cat", "/etc/shadow", Action::kDeny, 1},  // op not in rule 0
      {FileOp::kRead, "/bin/sh", "/etc/gshadow", Action::kDeny, 1},
      {FileOp::kWrite, "/bin/sh", "/etc/passwd", Action::kMonitor, 2},  // subtree
      {FileOp::kRead, "/bin/sh", "/etc/passwd", Action::kAllow, -1},    // op outside: default
      {FileOp::kWrite, "/bin/sh", "/etcetera/x", Action::kAllow, -1},   // not under /etc
      {FileOp::kRead, "/bin/sh", "/home/ana/.ssh/id_ed25519", Action::kDeny, 3},
      {FileOp::kRead, "/bin/sh", "/home/ana/.ssh/keys/a", Action::kDeny, 3},
      {FileOp::kRead, "/bin/sh", "/home/ana/notes", Action::kAllow, -1},
      {FileOp::kExec, "/bin/sh", "/app/bin/server", Action::kAllow, 4},  // process category
      {FileOp::kExec, "/bin/sh", "/usr/bin/curl", Action::kDeny, -1},    // process default
      {FileOp::kExec, "/app/bin/server", "/bin/ls", Action::kAllow, 5},  // program glob
      {FileOp::kExec, "/usr/bin/env", "/bin/ls", Action::kDeny, -1},
  };
  for (const FileCase& c : cases) {
    Decision d = p->DecideFile({.op = c.op, .program = c.program, .path = c.path});
    EXPECT_EQ(d.action, c.action) << c.program << " " << c.path;
    EXPECT_EQ(d.rule, TableRule(c.rule, true)) << c.program << " " << c.path;
    EXPECT_TRUE(d.enforced);
    EXPECT_EQ(d.category, c.op == FileOp::kExec ? Category::kProcess : Category::kFile);
  }
}

TEST(EvaluatorTest, NetworkAllowlistWithCidrsPortsProtocols) {
  auto p = CompileDoc(R"({
    "defaults": {"network": "deny"},
    "rules": [
      {"id": "metadata", "type": "network", "action": "deny", "direction": "outbound",
       "addresses": ["169.254.169.254"]},
      {"id": "internal-https", "type": "network", "action": "allow", "direction": "outbound",
       "addresses": ["10.0.0.0/8", "2001:db8::/32"], "ports": ["443", "8000-8999"], "protocol": "tcp"},
      {"id": "dns", "type": "network", "action": "allow", "direction": "outbound",
       "ports": ["53"], "protocol": "udp"},
      {"id": "serve", "type": "network", "action": "allow", "direction": "listen",
       "ports": ["8080"], "programs": ["/app/bin/server"]},
      {"id": "watch-inbound", "type": "network", "action": "monitor", "direction": "inbound"}
    ]})");
  ASSERT_TRUE(p);
  struct Case {
    Direction dir;
    Protocol proto;
    const char* ip;
    std::uint16_t port;
    const char* program;
    Action action;
    int rule;
  } cases[] = {
      {Direction::kOutbound, Protocol::kTcp, "169.254.169.254", 80, "/x", Action::kDeny, 0},
      {Direction::kOutbound, Protocol::kTcp, "10.1.2.3", 443, "/x", Action::kAllow, 1},
      {Direction::kOutbound, Protocol::kTcp, "10.1.2.3", 8500, "/x", Action::kAllow, 1},
      {Direction::kOutbound, Protocol::kTcp, "10.1.2.3", 9000, "/x", Action::kDeny, -1},
      {Direction::kOutbound, Protocol::kUdp, "10.1.2.3", 443, "/x", Action::kDeny, -1},
      {Direction::kOutbound, Protocol::kTcp, "::ffff:10.9.9.9", 443, "/x", Action::kAllow, 1},
      {Direction::kOutbound, Protocol::kTcp, "2001:db8:1::5", 443, "/x", Action::kAllow, 1},
      {Direction::kOutbound, Protocol::kTcp, "2001:db9::5", 443, "/x", Action::kDeny, -1},
      {Direction::kOutbound, Protocol::kTcp, "11.0.0.1", 443, "/x", Action::kDeny, -1},
      {Direction::kOutbound, Protocol::kUdp, "8.8.8.8", 53, "/x", Action::kAllow, 2},
      {Direction::kListen, Protocol::kTcp, "0.0.0.0", 8080, "/app/bin/server", Action::kAllow, 3},
      {Direction::kListen, Protocol::kTcp, "0.0.0.0", 8080, "/bin/nc", Action::kDeny, -1},
      {Direction::kInbound, Protocol::kTcp, "192.0.2.1", 5555, "/x", Action::kMonitor, 4},
  };
  for (const Case& c : cases) {
    Decision d = p->DecideNetwork({.direction = c.dir,
                                   .protocol = c.proto,
                                   .address = Ip(c.ip),
                                   .port = c.port,
                                   .program = c.program});
    EXPECT_EQ(d.action, c.action) << c.ip << ":" << c.port;
    EXPECT_EQ(d.rule, TableRule(c.rule, false)) << c.ip << ":" << c.port;
    EXPECT_EQ(d.category, Category::kNetwork);
  }
}

TEST(EvaluatorTest, SyscallRulesWithArgumentConditions) {
  auto p = CompileDoc(R"({"rules": [
    {"id": "persona-ok", "type": "syscall", "action": "allow", "syscall": "personality",
     "args": [{"index": 0, "op": "eq", "value": 0}]},
    {"id": "persona", "type": "syscall", "action": "deny", "syscall": "personality"},
    {"id": "setuid-root", "type": "syscall", "action": "deny", "syscall": "setuid",
     "args": [{"index": 0, "op": "range", "min": 0, "max": 999}]},
    {"id": "mprotect-exec", "type": "syscall", "action": "monitor", "syscall": "mprotect",
     "args": [{"index": 2, "op": "mask", "mask": 4, "value": 4}]}
  ]})");
  ASSERT_TRUE(p);
  auto d = p->DecideSyscall({.number = 135, .args = {0}, .program = "/x"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, 0);
  d = p->DecideSyscall({.number = 135, .args = {8}, .program = "/x"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, Action::kDeny);
  EXPECT_EQ(d->rule, 1);
  EXPECT_EQ(p->DecideSyscall({.number = 105, .args = {0}, .program = "/x"})->rule, 2);
  EXPECT_FALSE(p->DecideSyscall({.number = 105, .args = {1000}, .program = "/x"}));
  EXPECT_EQ(p->DecideSyscall({.number = 10, .args = {0, 0, 7}, .program = "/x"})->action,
            Action::kMonitor);
  EXPECT_FALSE(p->DecideSyscall({.number = 10, .args = {0, 0, 3}, .program = "/x"}));
  EXPECT_FALSE(p->DecideSyscall({.number = 0, .args = {}, .program = "/x"})) << "no rule: no say";
}

TEST(EvaluatorTest, PermissiveModeRecordsButDoesNotEnforce) {
  auto p = CompileDoc(R"({"mode": "permissive", "defaults": {"file": "deny"}, "rules": []})");
  ASSERT_TRUE(p);
  Decision d = p->DecideFile({.op = FileOp::kRead, .program = "/bin/sh", .path = "/x"});
  EXPECT_EQ(d.action, Action::kDeny);
  EXPECT_FALSE(d.enforced);
}

TEST(EvaluatorTest, BlocklistAndAllowlistAreTheSameMachinery) {
  auto block = CompileDoc(R"({"defaults": {"file": "allow"}, "rules": [
    {"type": "file", "action": "deny", "paths": ["/secret/"]}]})");
  auto allow = CompileDoc(R"({"defaults": {"file": "deny"}, "rules": [
    {"type": "file", "action": "allow", "paths": ["/app/", "/lib/", "/etc/hosts"]}]})");
  ASSERT_TRUE(block && allow);
  EXPECT_EQ(block->DecideFile({.path = "/secret/k"}).action, Action::kDeny);
  EXPECT_EQ(block->DecideFile({.path = "/tmp/k"}).action, Action::kAllow);
  EXPECT_EQ(allow->DecideFile({.path = "/app/x"}).action, Action::kAllow);
  EXPECT_EQ(allow->DecideFile({.path = "/etc/hosts"}).action, Action::kAllow);
  EXPECT_EQ(allow->DecideFile({.path = "/etc/passwd"}).action, Action::kDeny);
}

}  // namespace
}  // namespace portcullis::policy
