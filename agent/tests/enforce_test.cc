// The agent enforcing policies whose decisions the kernel takes alone (the
// filter has no USER_NOTIF return): real workloads under the built binary,
// their children and threads included; and policies it cannot enforce, which
// stop the container (fail closed). supervisor_test.cc covers the decisions
// the agent takes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "portcullis/agent/policy_source.h"
#include "test_util.h"

namespace portcullis::agent {
namespace {

using test::AgentBin;
using test::RunProgram;
using test::TestProgram;

constexpr const char* kPersonality = "135";  // x86-64
constexpr const char* kPtrace = "101";

// Files the tests write, removed when the binary's tests are done.
std::vector<std::string>& Written() {
  static std::vector<std::string> files;
  return files;
}
class RemoveWritten : public ::testing::Environment {
 public:
  void TearDown() override {
    for (const std::string& f : Written())
      unlink(f.c_str());
  }
};
const auto* const kRemoveWritten = ::testing::AddGlobalTestEnvironment(new RemoveWritten);

std::string WriteFile(const std::string& name, const std::string& content) {
  std::string path =
      ::testing::TempDir() + "agent-enforce-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary) << content;
  Written().push_back(path);
  return path;
}

const char* kDenyPersonality = R"({"name": "t", "rules": [
    {"id": "no-persona", "type": "syscall", "action": "deny", "syscall": "personality",
     "args": [{"index": 0, "op": "ne", "value": 4294967295}]}]})";

TEST(Enforce, KernelDenyReachesWorkloadChildrenAndThreads) {
  std::string policy = WriteFile("persona.json", kDenyPersonality);
  for (const char* mode : {"", "fork", "thread"}) {
    std::vector<std::string> argv = {AgentBin(), "--policy", policy, "--",
                                     TestProgram("syscall_probe")};
    if (*mode != '\0') argv.push_back(mode);
    std::vector<std::string> set = argv, query = argv;
    set.insert(set.end(), {kPersonality, "8"});
    query.insert(query.end(), {kPersonality, "0xffffffff"});
    EXPECT_EQ(RunProgram(set).code, EPERM) << mode;
    EXPECT_EQ(RunProgram(query).code, 0) << mode;  // the rule's exception
  }
  // Without the agent's filter the same call succeeds.
  EXPECT_EQ(RunProgram({TestProgram("syscall_probe"), kPersonality, "0"}).code, 0);
}

TEST(Enforce, HardeningSet) {
  std::string policy = WriteFile("ptrace.json", R"({"hardening": ["deny-ptrace"], "rules": []})");
  // PTRACE_PEEKDATA of a process we do not trace: ESRCH normally.
  EXPECT_EQ(RunProgram({TestProgram("syscall_probe"), kPtrace, "2", "1"}).code, ESRCH);
  EXPECT_EQ(RunProgram({AgentBin(), "--policy", policy, "--", TestProgram("syscall_probe"), kPtrace,
                        "2", "1"})
                .code,
            EPERM);
}

TEST(Enforce, CompiledRuleTableFile) {
  auto loaded = LoadPolicy(kDenyPersonality, "doc", false);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::string bytes;
  ASSERT_TRUE(loaded->table.SerializeToString(&bytes));
  std::string policy = WriteFile("persona.table", bytes);
  EXPECT_EQ(RunProgram({AgentBin(), "--policy", policy, "--", TestProgram("syscall_probe"),
                        kPersonality, "8"})
                .code,
            EPERM);
  // The environment works as well as the flag.
  EXPECT_EQ(RunProgram({AgentBin(), "--", TestProgram("syscall_probe"), kPersonality, "8"},
                       {"PORTCULLIS_AGENT_POLICY=" + policy})
                .code,
            EPERM);
}

TEST(Enforce, TheTablesFallbackHoldsForCallsTheAgentWatches) {
  // umask is sent to the agent for its own sake (filter step 5) even where
  // the table decides it with argument rules in the kernel; the agent must
  // then apply the table's fallback too, not only its rules. (A compiled
  // policy's syscall rules fall back to allow: the table is edited, as one
  // made elsewhere could be.)
  auto loaded = LoadPolicy(R"({"rules": [
      {"type": "file", "action": "deny", "paths": ["/nonexistent/"]},
      {"type": "syscall", "action": "allow", "syscall": "umask",
       "args": [{"index": 0, "op": "eq", "value": 63}]}]})",
                           "doc", false);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  v1::RuleTable table = loaded->table;
  bool edited = false;
  for (v1::SyscallEntry& e : *table.mutable_syscalls()) {
    if (e.name() != "umask") continue;
    ASSERT_EQ(e.handling(), v1::SyscallEntry::KERNEL_ARGS);
    e.set_fallback(v1::ACTION_DENY);
    e.set_deny_errno(EPERM);
    edited = true;
  }
  ASSERT_TRUE(edited);
  std::string bytes;
  ASSERT_TRUE(table.SerializeToString(&bytes));
  std::string policy = WriteFile("umask.table", bytes);
  auto run = [&](const char* mask) {
    return RunProgram(
               {AgentBin(), "--policy", policy, "--", TestProgram("syscall_probe"), "95", mask})
        .code;
  };
  EXPECT_EQ(run("63"), 0);      // the rule allows 077
  EXPECT_EQ(run("18"), EPERM);  // 022: no rule, the fallback denies
  EXPECT_EQ(RunProgram({TestProgram("syscall_probe"), "95", "18"}).code, 0);  // the kernel
}

TEST(Enforce, ForeignAbiKillsTheWorkload) {
  std::string policy = WriteFile("empty.json", R"({"rules": []})");
  // getpid through the x32 ABI.
  EXPECT_EQ(
      RunProgram({AgentBin(), "--policy", policy, "--", TestProgram("syscall_probe"), "0x40000027"})
          .code,
      128 + SIGSYS);
}

TEST(Enforce, PoliciesThatCannotBeEnforcedStopTheContainer) {
  auto foreign = LoadPolicy(kDenyPersonality, "doc", false);
  ASSERT_TRUE(foreign.ok());
  foreign->table.set_arch("aarch64");
  std::string foreign_bytes;
  ASSERT_TRUE(foreign->table.SerializeToString(&foreign_bytes));
  const std::vector<std::pair<std::string, std::string>> cases = {
      // Not a policy.
      {"bad.json", R"({"rules": [{"type": "file", "action": "sometimes"}]})"},
      {"garbage.bin", std::string("\x08\xff\xff\xff", 4)},
      // A rule table for another architecture.
      {"foreign.table", foreign_bytes},
  };
  for (const auto& [name, content] : cases) {
    std::string policy = WriteFile(name, content);
    auto r = RunProgram({AgentBin(), "--policy", policy, "--", TestProgram("hello_static")});
    EXPECT_EQ(r.code, 126) << name;
    EXPECT_EQ(r.out, "") << name << ": the workload must not run";
  }
  EXPECT_EQ(
      RunProgram({AgentBin(), "--policy", "/nonexistent.json", "--", TestProgram("hello_static")})
          .code,
      126);
}

}  // namespace
}  // namespace portcullis::agent
