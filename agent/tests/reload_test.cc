// Policy hot swap: SyscallsNeedingRestart (which new tables the running
// seccomp filter can enforce) and SIGHUP to a running agent: an enforceable
// policy takes over while the workload runs, one that needs a new filter is
// refused (logged with the syscalls' names) and the running one stays.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "portcullis/agent/policy_source.h"
#include "portcullis/agent/policy_swap.h"
#include "test_util.h"

namespace portcullis::agent {
namespace {

namespace fs = std::filesystem;
using test::AgentBin;
using test::CountLines;
using test::TestProgram;

LoadedPolicy Load(const std::string& json, bool permissive = false) {
  auto p = LoadPolicy(json, "test", permissive);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : LoadedPolicy{};
}

std::vector<std::string> Blockers(const std::string& running, const std::string& next,
                                  bool next_permissive = false) {
  LoadedPolicy r = Load(running);
  LoadedPolicy n = Load(next, next_permissive);
  auto filter = BuildFilter(r.table);
  EXPECT_TRUE(filter.ok());
  auto b = SyscallsNeedingRestart(r.table, *filter, n.table);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : std::vector<std::string>{"<error>"};
}

bool Has(const std::vector<std::string>& v, const std::string& name) {
  return std::find(v.begin(), v.end(), name) != v.end();
}

const char* kSecretDenied = R"({"rules": [
    {"id": "v1", "type": "file", "action": "deny", "paths": ["/s"]},
    {"id": "watch-keyctl", "type": "syscall", "action": "monitor", "syscall": "keyctl"}]})";

TEST(SyscallsNeedingRestart, WhatTheRunningFilterCanEnforce) {
  // Same routing: any change of file rules, paths, actions, programs.
  EXPECT_TRUE(Blockers(kSecretDenied, R"({"rules": [
      {"id": "v2", "type": "file", "action": "monitor", "paths": ["/other", "/s"],
       "programs": ["/bin/cat"]},
      {"type": "syscall", "action": "deny", "syscall": "keyctl"}]})")
                  .empty());
  // keyctl goes to the agent already: it may now be denied, or allowed.
  EXPECT_TRUE(Blockers(kSecretDenied, R"({"rules": [
      {"id": "v2", "type": "file", "action": "deny", "paths": ["/s"]}]})")
                  .empty());
  // A network default: connect & co. are not sent to the agent today.
  auto b = Blockers(kSecretDenied, R"({"defaults": {"network": "deny"}, "rules": [
      {"id": "v2", "type": "file", "action": "deny", "paths": ["/s"]}]})");
  EXPECT_TRUE(Has(b, "connect"));
  EXPECT_TRUE(Has(b, "sendto"));
  EXPECT_FALSE(Has(b, "openat"));
  // A new kernel deny of a syscall the filter allows in the kernel.
  EXPECT_EQ(Blockers(kSecretDenied, R"({"rules": [
      {"id": "v1", "type": "file", "action": "deny", "paths": ["/s"]},
      {"id": "watch-keyctl", "type": "syscall", "action": "monitor", "syscall": "keyctl"},
      {"type": "syscall", "action": "deny", "syscall": "personality"}]})"),
            std::vector<std::string>{"personality"});
  // A kernel argument rule must stay exactly the same.
  const char* lseek5 = R"({"rules": [{"type": "syscall", "action": "deny", "syscall": "lseek",
      "args": [{"index": 1, "op": "eq", "value": 5}]}]})";
  EXPECT_TRUE(Blockers(lseek5, lseek5).empty());
  EXPECT_EQ(Blockers(lseek5, R"({"rules": [{"type": "syscall", "action": "deny",
      "syscall": "lseek", "args": [{"index": 1, "op": "eq", "value": 6}]}]})"),
            std::vector<std::string>{"lseek"});
  // Permissive: its kernel denies (io_uring) go to the agent, which this
  // filter does not do.
  b = Blockers(kSecretDenied, kSecretDenied, /*next_permissive=*/true);
  EXPECT_TRUE(Has(b, "io_uring_setup"));
  // Dropping every file rule: the agent allows what it is still sent, but
  // io_uring, file handles and mounts stay denied in the kernel unless the
  // new policy denies them too.
  b = Blockers(kSecretDenied, R"({"rules": []})");
  EXPECT_TRUE(Has(b, "io_uring_setup"));
  EXPECT_TRUE(Has(b, "open_by_handle_at"));
  EXPECT_TRUE(Has(b, "mount"));
  EXPECT_EQ(Blockers(kSecretDenied, R"({"hardening": ["deny-io-uring", "deny-file-handles",
                                                      "deny-mount"], "rules": []})"),
            std::vector<std::string>{});
}

TEST(IsSelfOrDescendant, WalksTheParentChain) {
  EXPECT_TRUE(IsSelfOrDescendant(getpid(), getpid()));
  EXPECT_FALSE(IsSelfOrDescendant(getppid(), getpid()));
  EXPECT_FALSE(IsSelfOrDescendant(0, getpid()));  // outside the PID namespace
  pid_t child = fork();
  if (child == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) _exit(IsSelfOrDescendant(getpid(), getppid()) ? 0 : 1);
    int st = 0;
    waitpid(grandchild, &st, 0);
    pause();
    _exit(0);
  }
  EXPECT_TRUE(IsSelfOrDescendant(child, getpid()));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}

class ReloadTest : public test::AgentTest {
 protected:
  // Reads the merged output of the agent (JSON log lines) and its workload
  // until a line contains `needle`; false on EOF or after 20 s.
  // With `exact`, the whole line must be `needle` (the workload's lines).
  bool WaitFor(int fd, const std::string& needle, std::string* line = nullptr, bool exact = false) {
    for (int i = 0; i < 200; ++i) {
      std::string l = test::ReadLine(fd, 20000);
      if (l.empty()) return false;
      seen_ += l + "\n";
      if (exact ? l == needle : l.find(needle) != std::string::npos) {
        if (line != nullptr) *line = l;
        return true;
      }
    }
    return false;
  }
  std::string seen_;
};

TEST_F(ReloadTest, SighupSwapsAnEnforceablePolicyAndRefusesTheRest) {
  Write("secret", "secret\n");
  const std::string v1 = R"({"rules": [{"id": "v1", "type": "file", "action": "deny",
      "paths": [")" + P("secret") +
                         R"("]}]})";
  std::string policy = Policy(v1);
  test::Spawned s =
      test::Spawn({AgentBin(), "--policy", policy, "--events", P("events.json"), "--events-format",
                   "json", "--", TestProgram("bypass_probe"), "watch", P("secret")},
                  {}, /*merge_stderr=*/true);
  ASSERT_TRUE(WaitFor(s.out_fd, "13", nullptr, true)) << seen_;  // denied (EACCES) under v1

  // Needs a new filter (network syscalls are not sent to the agent): refused,
  // logged with their names; v1 stays. It would allow the secret.
  Policy(R"({"defaults": {"network": "deny"}, "rules": [{"id": "v-net", "type": "file",
      "action": "allow", "paths": [")" +
         P("secret") + R"("]}]})");
  ASSERT_EQ(kill(s.pid, SIGHUP), 0);
  std::string refused;
  ASSERT_TRUE(WaitFor(s.out_fd, "policy reload refused", &refused)) << seen_;
  EXPECT_NE(refused.find("connect"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("openat"), std::string::npos) << refused;

  // A document that does not parse: refused, v1 stays.
  Policy("{not json");
  ASSERT_EQ(kill(s.pid, SIGHUP), 0);
  ASSERT_TRUE(WaitFor(s.out_fd, "policy reload failed")) << seen_;

  // Enforceable (same routing): v2 monitors the secret instead of denying it.
  Policy(R"({"rules": [{"id": "v2", "type": "file", "action": "monitor",
      "paths": [")" +
         P("secret") + R"("]}]})");
  ASSERT_EQ(kill(s.pid, SIGHUP), 0);
  ASSERT_TRUE(WaitFor(s.out_fd, "policy reloaded")) << seen_;
  ASSERT_TRUE(WaitFor(s.out_fd, "0", nullptr, true)) << seen_;  // the workload now opens it
  close(s.out_fd);
  EXPECT_EQ(test::WaitExit(s.pid, 20000), 0) << seen_;
  // (The three SIGHUPs came from outside the workload: consumed by the
  // agent, not forwarded; the probe would have died of the first one.)
  std::string events = Events();
  EXPECT_GE(CountLines(events, "\"rule_id\":\"v1\""), 1) << events;
  EXPECT_GE(CountLines(events, "\"rule_id\":\"v2\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"v-net\""), 0) << events;
}

TEST_F(ReloadTest, TheWorkloadCannotReloadAPolicyItRewrote) {
  // A workload that can write the policy file and SIGHUPs the agent: the
  // signal comes from the agent's own process tree, so it is forwarded (it
  // comes back to the workload) and nothing is reloaded.
  Write("secret", "secret\n");
  std::string policy = Policy(R"({"rules": [{"id": "v1", "type": "file", "action": "deny",
      "paths": [")" + P("secret") +
                              R"("]}]})");
  Write("open.json", R"({"rules": [{"id": "open", "type": "file", "action": "monitor",
      "paths": [")" + P("secret") +
                         R"("]}]})");
  test::Spawned s = test::Spawn({AgentBin(), "--policy", policy, "--", TestProgram("bypass_probe"),
                                 "selfreload", policy, P("open.json"), P("secret")},
                                {}, /*merge_stderr=*/true);
  std::string out = test::ReadAll(s.out_fd, 20000);
  close(s.out_fd);
  EXPECT_EQ(test::WaitExit(s.pid, 20000), EACCES) << out;  // still denied by v1
  EXPECT_EQ(out.find("policy reload"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret\n"), std::string::npos) << out;
  // The workload did rewrite it (an outside SIGHUP would now load it).
  EXPECT_NE(test::ReadFile(policy).find("\"open\""), std::string::npos);
}

}  // namespace
}  // namespace portcullis::agent
