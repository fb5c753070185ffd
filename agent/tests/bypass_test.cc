// Ways around the agent's file and exec decisions, each tried by a real
// workload under the built agent: the protected file's content must never
// reach the workload (nor be changed), the denied program must never run.
// Each attempt is also made without the agent (or without the protection),
// where it does succeed: the test can tell.
//
// Protected here: dir/box/secret (rule "secret": read and write denied, so
// rename and link are not denied by the rule itself) and dir/tool, a copy of
// hello_static (rule "no-tool": exec denied).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace portcullis::agent {
namespace {

namespace fs = std::filesystem;
using test::AgentBin;
using test::CountLines;
using test::ReadFile;
using test::RunProgram;
using test::TestProgram;

constexpr char kSecret[] = "denied: the secret\n";
constexpr int kKilledBySigsys = 128 + SIGSYS;

std::string Bypass() {
  return TestProgram("bypass_probe");
}
std::string Probe() {
  return TestProgram("workload_probe");
}

class BypassTest : public test::AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    fs::create_directories(dir_ / "box");
    Write("box/secret", kSecret);
    Write("allowed", "allowed\n");
    fs::copy_file(TestProgram("hello_static"), dir_ / "tool");
    fs::permissions(dir_ / "tool", fs::perms::owner_all);
    policy_ = Policy(R"({"name": "bypass", "rules": [
        {"id": "secret", "type": "file", "action": "deny", "paths": [")" +
                     P("box/secret") + R"("],
         "operations": ["read", "write"]},
        {"id": "no-tool", "type": "file", "action": "deny", "paths": [")" +
                     P("tool") + R"("],
         "operations": ["exec"]}]})");
  }
  // The attempt under the agent: refused with `expect`, the secret unseen.
  void ExpectStopped(std::vector<std::string> workload, int expect) {
    test::RunResult r = Agent(policy_, workload);
    EXPECT_EQ(r.code, expect) << Describe(workload) << "\n" << r.out;
    EXPECT_EQ(r.out.find("the secret"), std::string::npos) << Describe(workload);
  }
  // The same attempt without the agent reads the secret.
  void ExpectWorksBare(std::vector<std::string> workload) {
    test::RunResult r = RunProgram(workload);
    EXPECT_EQ(r.code, 0) << Describe(workload) << "\n" << r.out;
    EXPECT_EQ(r.out, "denied: the secret\n") << Describe(workload);
  }
  static std::string Describe(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& a : v)
      s += a + " ";
    return s;
  }
  int SecretDenies() { return CountLines(Events(), "\"rule_id\":\"secret\""); }

  std::string policy_;
};

TEST_F(BypassTest, RacingThreadNeverOpensTheDeniedFile) {
  // A second thread flips the path buffer between an allowed and the
  // protected file while the first opens it: the agent decides on the object
  // it looked up and injects exactly that one.
  test::RaceCounts r = test::RunOpenRace({AgentBin(), "--policy", policy_, "--"}, P("allowed"),
                                         P("box/secret"), 100000, 170000);
  ASSERT_TRUE(r.parsed) << r.out;
  EXPECT_EQ(r.denied, 0) << r.out;
  EXPECT_EQ(r.allowed + r.refused + r.other, 100000) << r.out;
  EXPECT_GT(r.allowed, 0) << r.out;  // both paths were really in play
  EXPECT_GT(r.refused, 0) << r.out;
  // Without the agent the same race opens the protected file.
  test::RaceCounts bare = test::RunOpenRace({}, P("allowed"), P("box/secret"), 20000, 60000);
  ASSERT_TRUE(bare.parsed) << bare.out;
  EXPECT_GT(bare.denied, 0) << bare.out;
}

// "allowed=A denied=D refused=R other=O" of workload_probe's races.
std::array<long, 4> RaceCountsOf(const std::string& out) {
  std::array<long, 4> n{-1, -1, -1, -1};
  std::sscanf(out.c_str(), "allowed=%ld denied=%ld refused=%ld other=%ld", &n[0], &n[1], &n[2],
              &n[3]);
  return n;
}

TEST_F(BypassTest, RacingThreadNeverConnectsToTheDeniedAddress) {
  // A second thread flips the address between 127.0.0.1 (allowed) and
  // 127.0.0.2 (denied) while the first connects: blocking, non-blocking, and
  // by TCP Fast Open (a sendto that connects). The agent connects the
  // workload's socket itself, to the address it decided on.
  std::string policy = Policy(R"({"rules": [{"id": "no-two", "type": "network",
      "action": "deny", "direction": "outbound", "addresses": ["127.0.0.2/32"]}]})");
  for (const char* how : {"block", "nonblock", "fastopen"}) {
    // Without the agent the same race reaches the denied address.
    test::RunResult bare = RunProgram({Probe(), "connectrace", "2000", how});
    auto native = RaceCountsOf(bare.out);
    if (std::string(how) == "fastopen" && native[3] == 2000) {
      GTEST_SKIP() << "no TCP Fast Open here (net.ipv4.tcp_fastopen)";
    }
    EXPECT_GT(native[1], 0) << how << " " << bare.out;
    test::RunResult r = Agent(policy, {Probe(), "connectrace", "5000", how});
    ASSERT_EQ(r.code, 0) << how << " " << r.out;
    auto [allowed, denied, refused, other] = RaceCountsOf(r.out);
    EXPECT_EQ(denied, 0) << how << " " << r.out;
    EXPECT_EQ(allowed + refused, 5000) << how << " " << r.out;
    EXPECT_GT(allowed, 0) << how << " " << r.out;  // both addresses were really in play
    EXPECT_GT(refused, 0) << how << " " << r.out;
    EXPECT_EQ(other, 0) << how << " " << r.out;
  }
}

TEST_F(BypassTest, RacingThreadNeverSendsToTheDeniedAddress) {
  // The same race on unconnected UDP, through each call that carries an
  // address: the agent sends the datagram itself, to the address it decided
  // on.
  std::string policy = Policy(R"({"rules": [{"id": "no-two", "type": "network",
      "action": "deny", "direction": "outbound", "addresses": ["127.0.0.2/32"]}]})");
  for (const char* call : {"sendto", "sendmsg", "sendmmsg"}) {
    test::RunResult r = Agent(policy, {Probe(), "udprace", "5000", call});
    ASSERT_EQ(r.code, 0) << call << " " << r.out;
    auto [allowed, denied, refused, other] = RaceCountsOf(r.out);
    EXPECT_EQ(denied, 0) << call << " " << r.out;
    EXPECT_EQ(allowed + refused, 5000) << call << " " << r.out;
    EXPECT_GT(allowed, 0) << call << " " << r.out;
    EXPECT_GT(refused, 0) << call << " " << r.out;
    EXPECT_EQ(other, 0) << call << " " << r.out;
  }
  test::RunResult bare = RunProgram({Probe(), "udprace", "2000", "sendto"});
  EXPECT_GT(RaceCountsOf(bare.out)[1], 0) << bare.out;
}

TEST_F(BypassTest, X32AndI386SyscallsAreKilled) {
  // The filter kills any other ABI before looking at the number: an open
  // through int 0x80 (i386 numbering) or the x32 bit never reaches a rule
  // table written for x86-64.
  ExpectStopped({Bypass(), "int80open", P("box/secret")}, kKilledBySigsys);
  ExpectStopped({Bypass(), "int80open", P("allowed")}, kKilledBySigsys);
  ExpectStopped({Bypass(), "x32open", P("box/secret")}, kKilledBySigsys);
  EXPECT_EQ(SecretDenies(), 0);  // killed by the kernel: no notification, no event
  // Without the agent int 0x80 opens the file (this kernel has IA32
  // emulation); x32 is not compiled into it (ENOSYS), but is not killed.
  ExpectWorksBare({Bypass(), "int80open", P("box/secret")});
  EXPECT_NE(RunProgram({Bypass(), "x32open", P("box/secret")}).code, kKilledBySigsys);
}

TEST_F(BypassTest, Openat2WithAndWithoutResolveFlags) {
  constexpr int kNoXdev = 0x01, kNoMagiclinks = 0x02, kNoSymlinks = 0x04, kBeneath = 0x08,
                kInRoot = 0x10;
  const std::vector<std::vector<std::string>> attempts = {
      {Bypass(), "openat2", "-", P("box/secret"), "0"},
      {Bypass(), "openat2", "-", P("box/secret"), std::to_string(kNoXdev)},
      {Bypass(), "openat2", "-", P("box/secret"), std::to_string(kNoMagiclinks)},
      {Bypass(), "openat2", "-", P("box/secret"), std::to_string(kNoSymlinks)},
      {Bypass(), "openat2", P("box"), "secret", std::to_string(kBeneath)},
      {Bypass(), "openat2", P("box"), "secret", std::to_string(kBeneath | kNoSymlinks)},
      {Bypass(), "openat2", dir_.string(), "box/secret", std::to_string(kInRoot)},
      // An absolute path under RESOLVE_IN_ROOT starts at the dirfd.
      {Bypass(), "openat2", dir_.string(), "/box/secret", std::to_string(kInRoot)},
      {Bypass(), "openat2", dir_.string(), "/../box/secret", std::to_string(kInRoot)},
  };
  for (const auto& a : attempts) {
    ExpectStopped(a, EACCES);
    ExpectWorksBare(a);
  }
  EXPECT_EQ(SecretDenies(), static_cast<int>(attempts.size())) << Events();
  // The same answers as the kernel's for what the policy allows: an
  // absolute path in the dirfd's root opens (the agent used to start it at
  // the workload's root: ENOENT), one under RESOLVE_BENEATH is refused with
  // EXDEV (it used to be EINVAL).
  const std::vector<std::string> in_root = {Bypass(), "openat2", dir_.string(), "/allowed",
                                            std::to_string(kInRoot)};
  test::RunResult r = Agent(policy_, in_root);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "allowed\n");
  const std::vector<std::string> beneath = {Bypass(), "openat2", dir_.string(), P("allowed"),
                                            std::to_string(kBeneath)};
  EXPECT_EQ(RunProgram(beneath).code, EXDEV);
  EXPECT_EQ(Agent(policy_, beneath).code, EXDEV);
  // ".." stops at the dirfd under RESOLVE_IN_ROOT: from box, "/../box/secret"
  // is box/box/secret, which does not exist; not the secret (no deny).
  const int denies = SecretDenies();
  const std::vector<std::string> clamped = {Bypass(), "openat2", P("box"), "/../box/secret",
                                            std::to_string(kInRoot)};
  EXPECT_EQ(RunProgram(clamped).code, ENOENT);
  EXPECT_EQ(Agent(policy_, clamped).code, ENOENT);
  EXPECT_EQ(SecretDenies(), denies) << Events();
}

TEST_F(BypassTest, IoUringOpenatIsRefused) {
  // IORING_OP_OPENAT opens in the kernel's io worker: no openat for the
  // filter to see. The compiler denies io_uring for any policy with a file
  // or network rule (implied deny-io-uring), so the ring is never set up.
  ExpectStopped({Bypass(), "uring", P("box/secret")}, EPERM);
  ExpectStopped({Bypass(), "uring", P("allowed")}, EPERM);
  ExpectWorksBare({Bypass(), "uring", P("box/secret")});
  // A policy that decides nothing about files or network leaves it alone.
  std::string neutral = Policy(R"({"rules": [
      {"id": "no-keyctl", "type": "syscall", "action": "deny", "syscall": "keyctl"}]})");
  test::RunResult r = Agent(neutral, {Bypass(), "uring", P("allowed")});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "allowed\n");
}

TEST_F(BypassTest, OpenByHandleIsRefused) {
  // A file handle names no path: the compiler denies open_by_handle_at for
  // any policy with a file rule (implied deny-file-handles).
  if (RunProgram({Bypass(), "byhandle", P("box"), "secret"}).code == EPERM) {
    GTEST_SKIP() << "needs CAP_DAC_READ_SEARCH";
  }
  ExpectWorksBare({Bypass(), "byhandle", P("box"), "secret"});
  ExpectStopped({Bypass(), "byhandle", P("box"), "secret"}, EPERM);
}

TEST_F(BypassTest, BindMountOfAProtectedFileIsRefused) {
  // A bind mount gives the secret a name no rule names; a new user namespace
  // gives the capability to mount. The compiler denies the mount calls for
  // any policy with a file rule (implied deny-mount).
  std::vector<std::string> attempt = {Bypass(), "bindopen", P("box/secret"), P("allowed")};
  if (int code = RunProgram(attempt).code; code == EPERM || code == ENOSPC) {
    GTEST_SKIP() << "no user namespaces here";
  }
  ExpectWorksBare(attempt);
  ExpectStopped(attempt, EPERM);
}

TEST_F(BypassTest, ExecveatOfTheDeniedProgram) {
  ExpectStopped({Bypass(), "execveat-fd", P("tool")}, EACCES);
  ExpectStopped({Bypass(), "execveat-path", P("tool")}, EACCES);
  ExpectStopped({Bypass(), "execveat-dirfd", dir_.string(), "tool"}, EACCES);
  for (const char* mode : {"execveat-fd", "execveat-path"}) {
    test::RunResult r = Agent(policy_, {Bypass(), mode, P("tool")});
    EXPECT_EQ(r.out.find("hello from"), std::string::npos) << mode << ": " << r.out;
  }
  EXPECT_EQ(CountLines(Events(), "\"rule_id\":\"no-tool\""), 5) << Events();
  // Another program through the same calls runs; the denied one runs without
  // the agent.
  test::RunResult ok = Agent(policy_, {Bypass(), "execveat-fd", TestProgram("hello_static")});
  EXPECT_EQ(ok.code, 42) << ok.out;
  test::RunResult bare = RunProgram({Bypass(), "execveat-fd", P("tool")});
  EXPECT_EQ(bare.code, 42);
  EXPECT_NE(bare.out.find("hello from"), std::string::npos);
}

TEST_F(BypassTest, SymlinksAndDotDot) {
  fs::create_directories(dir_ / "sub");
  fs::create_symlink(dir_ / "box" / "secret", dir_ / "abs-link");
  fs::create_symlink("box/secret", dir_ / "rel-link");
  fs::create_symlink("../box/secret", dir_ / "sub" / "up-link");
  fs::create_symlink(dir_ / "box", dir_ / "box-link");  // a symlinked directory
  fs::create_symlink("abs-link", dir_ / "chain");       // a symlink to a symlink
  const std::vector<std::string> paths = {
      P("abs-link"), P("rel-link"),          P("sub/up-link"),         P("box-link/secret"),
      P("chain"),    P("sub/../box/secret"), P("box/./../box/secret"), P("box-link/../box/secret"),
  };
  for (const std::string& p : paths) {
    ExpectStopped({Probe(), "open", p}, EACCES);
    ExpectWorksBare({Probe(), "open", p});
  }
  EXPECT_EQ(SecretDenies(), static_cast<int>(paths.size())) << Events();
  // Decided on the real path: every event names it.
  EXPECT_EQ(CountLines(Events(), "\"path\":\"" + P("box/secret") + "\""),
            static_cast<int>(paths.size()))
      << Events();
}

TEST_F(BypassTest, ProcSelfRootAndFdPaths) {
  const std::string rel = P("box/secret").substr(1);
  const std::vector<std::vector<std::string>> attempts = {
      {Probe(), "open", "/proc/self/root/" + rel},
      {Probe(), "open", "/proc/thread-self/root/" + rel},
      {Bypass(), "procfd", P("box"), "secret"},  // /proc/self/fd/N/secret
      {Bypass(), "procfd", "/", rel},            // from an fd of /
      // ".." right after the magic link goes up from the descriptor's
      // directory, as in the kernel.
      {Bypass(), "procfd", P("box"), "../box/secret"},
  };
  for (const auto& a : attempts) {
    ExpectStopped(a, EACCES);
    ExpectWorksBare(a);
  }
  EXPECT_EQ(SecretDenies(), static_cast<int>(attempts.size())) << Events();
  // And an allowed file that way opens (the agent used to normalize the ".."
  // away lexically: /proc/PID/fd/allowed, ENOENT).
  test::RunResult r = Agent(policy_, {Bypass(), "procfd", P("box"), "../allowed"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "allowed\n");
}

TEST_F(BypassTest, RelativePathsFromADirfdOrTheCwd) {
  const std::vector<std::vector<std::string>> attempts = {
      {Bypass(), "openat", P("box"), "secret"},
      {Bypass(), "openat", P("box"), "../box/secret"},
      {Bypass(), "chdiropen", P("box"), "secret"},
      {Bypass(), "chdiropen", P("box"), "./secret"},
  };
  for (const auto& a : attempts) {
    ExpectStopped(a, EACCES);
    ExpectWorksBare(a);
  }
  EXPECT_EQ(SecretDenies(), static_cast<int>(attempts.size())) << Events();
}

TEST_F(BypassTest, HardLinkOfAProtectedObjectIsRefused) {
  // The rule does not deny "create" (a link's operation) on the secret: the
  // link is refused because it would give a protected object a name no rule
  // covers.
  ExpectStopped({Bypass(), "linkopen", P("box/secret"), P("alias")}, EACCES);
  EXPECT_FALSE(fs::exists(dir_ / "alias"));
  ExpectStopped({Bypass(), "linkopen", P("tool"), P("tool2")}, EACCES);  // exec denied
  EXPECT_FALSE(fs::exists(dir_ / "tool2"));
  EXPECT_EQ(SecretDenies(), 1) << Events();
  EXPECT_EQ(CountLines(Events(), "\"rule_id\":\"no-tool\""), 1) << Events();
  EXPECT_EQ(CountLines(Events(), "\"new_path\":\"" + P("alias") + "\""), 1) << Events();
  // Objects no rule protects are linked as before.
  test::RunResult r = Agent(policy_, {Bypass(), "linkopen", P("allowed"), P("allowed2")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "allowed\n");
  // Without the agent the alias reads the secret.
  ExpectWorksBare({Bypass(), "linkopen", P("box/secret"), P("alias")});
}

TEST_F(BypassTest, RenameOfAProtectedObjectIsRefused) {
  // Renaming the secret away, exchanging it with an allowed name, replacing
  // it (a write), or moving its directory: each would leave the content
  // under a name no rule covers.
  Write("other", "other\n");
  ExpectStopped({Bypass(), "renameopen", P("box/secret"), P("moved")}, EACCES);
  ExpectStopped({Bypass(), "exchangeopen", P("allowed"), P("box/secret")}, EACCES);
  ExpectStopped({Bypass(), "exchangeopen", P("box/secret"), P("allowed")}, EACCES);
  ExpectStopped({Bypass(), "renameopen", P("other"), P("box/secret")}, EACCES);
  ExpectStopped({Bypass(), "renameopen", P("box"), P("box2"), "secret"}, EACCES);
  ExpectStopped({Bypass(), "renameopen", P("tool"), P("tool2")}, EACCES);
  EXPECT_EQ(ReadFile(dir_ / "box" / "secret"), kSecret);
  EXPECT_EQ(ReadFile(dir_ / "allowed"), "allowed\n");
  EXPECT_FALSE(fs::exists(dir_ / "moved"));
  EXPECT_FALSE(fs::exists(dir_ / "box2"));
  EXPECT_EQ(SecretDenies(), 5) << Events();
  EXPECT_EQ(CountLines(Events(), "\"rule_id\":\"no-tool\""), 1) << Events();
  // Unprotected objects are renamed as before.
  test::RunResult r = Agent(policy_, {Bypass(), "renameopen", P("other"), P("renamed")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "other\n");
  // Without the agent each of them reaches the secret.
  ExpectWorksBare({Bypass(), "renameopen", P("box"), P("box2"), "secret"});
  ExpectWorksBare({Bypass(), "renameopen", P("box2/secret"), P("moved")});
  ExpectWorksBare({Bypass(), "exchangeopen", P("allowed"), P("moved")});
}

TEST_F(BypassTest, MonitoredObjectsYieldToARuleOnTheOperationItself) {
  // A monitored object may not get a second name either (its reads would go
  // unrecorded), unless a rule decides that very operation on it: logs
  // rotated by rename under a rule that monitors renames.
  fs::create_directories(dir_ / "logs");
  Write("logs/app.log", "log\n");
  Write("watched", "watched\n");
  std::string policy = Policy(R"({"rules": [
      {"id": "watch", "type": "file", "action": "monitor", "paths": [")" +
                              P("watched") + R"("], "operations": ["read"]},
      {"id": "logs", "type": "file", "action": "monitor", "paths": [")" +
                              P("logs") + R"(/"],
       "operations": ["write", "rename"]}]})");
  EXPECT_EQ(Agent(policy, {Bypass(), "renameopen", P("watched"), P("unwatched")}).code, EACCES);
  EXPECT_EQ(Agent(policy, {Bypass(), "linkopen", P("watched"), P("unwatched")}).code, EACCES);
  EXPECT_FALSE(fs::exists(dir_ / "unwatched"));
  test::RunResult r =
      Agent(policy, {Bypass(), "renameopen", P("logs/app.log"), P("logs/app.log.1")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "log\n");
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"watch\""), 2) << events;
  EXPECT_EQ(CountLines(events, "ACTION_DENY"), 2) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"logs\""), 1) << events;  // the rotation, recorded
}

}  // namespace
}  // namespace portcullis::agent
