// The agent's process model with real programs: exit status, signals,
// reaping, the workload's starting state. Runs the built portcullis-agent.
#include "portcullis/agent/init.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "test_util.h"

namespace portcullis::agent {
namespace {

using test::AgentBin;
using test::RunProgram;
using test::TestProgram;

std::string Probe() {
  return TestProgram("signal_probe");
}

TEST(ExitCodeOf, CodeOrSignal) {
  EXPECT_EQ(ExitCodeOf(0), 0);
  EXPECT_EQ(ExitCodeOf(42 << 8), 42);
  EXPECT_EQ(ExitCodeOf(SIGTERM), 128 + SIGTERM);
  EXPECT_EQ(ExitCodeOf(SIGKILL | 0x80), 128 + SIGKILL);  // core dumped
}

TEST(ResolveExecutable, SearchesPath) {
  auto r =
      ResolveExecutable("signal_probe", "/nonexistent:" + std::string(PORTCULLIS_AGENT_TEST_BIN));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, Probe());
  EXPECT_FALSE(ResolveExecutable("no-such-program-xyz", "/bin:/usr/bin").ok());
  EXPECT_EQ(*ResolveExecutable("./x", ""), "./x");  // a path is taken as is
}

TEST(Init, ExitCodePassesThrough) {
  EXPECT_EQ(RunProgram({AgentBin(), "--", Probe(), "exit", "42"}).code, 42);
  EXPECT_EQ(RunProgram({AgentBin(), "--", Probe(), "exit", "0"}).code, 0);
}

TEST(Init, DeathBySignalIs128PlusSignal) {
  EXPECT_EQ(RunProgram({AgentBin(), "--", Probe(), "die", "15"}).code, 128 + SIGTERM);
  EXPECT_EQ(RunProgram({AgentBin(), "--", Probe(), "die", "9"}).code, 128 + SIGKILL);
  EXPECT_EQ(RunProgram({AgentBin(), "--", Probe(), "die", "6"}).code, 128 + SIGABRT);
}

TEST(Init, MissingProgramIs127) {
  EXPECT_EQ(RunProgram({AgentBin(), "--", "/nonexistent/program"}).code, 127);
  EXPECT_EQ(RunProgram({AgentBin(), "--", "no-such-program-xyz"}).code, 127);
}

TEST(Init, FindsTheProgramInPath) {
  auto r = RunProgram({AgentBin(), "--", "signal_probe", "exit", "3"},
                      {"PATH=/nonexistent:" + std::string(PORTCULLIS_AGENT_TEST_BIN)});
  EXPECT_EQ(r.code, 3);
}

TEST(Init, UsageErrorIs2) {
  EXPECT_EQ(RunProgram({AgentBin()}).code, 2);
  EXPECT_EQ(RunProgram({AgentBin(), "--bogus", "--", Probe()}).code, 2);
}

TEST(Init, ForwardsSignals) {
  test::Spawned s = test::Spawn({AgentBin(), "--", Probe(), "catch"});
  ASSERT_EQ(test::ReadLine(s.out_fd, 10000), "ready");
  for (int sig : {SIGHUP, SIGINT, SIGUSR1, SIGUSR2}) {
    ASSERT_EQ(kill(s.pid, sig), 0);
    EXPECT_EQ(test::ReadLine(s.out_fd, 10000), "got " + std::to_string(sig));
  }
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  EXPECT_EQ(test::ReadLine(s.out_fd, 10000), "got 15");
  EXPECT_EQ(test::WaitExit(s.pid, 10000), 7);
  close(s.out_fd);
}

TEST(Init, SignalToTheAgentFromInsideReachesTheWorkload) {
  EXPECT_EQ(RunProgram({AgentBin(), "--", Probe(), "viaparent"}).code, 0);
}

TEST(Init, WorkloadStartsWithCleanSignalsAndWithoutAgentVariables) {
  // The test's own signal state must not leak in either: block one here.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, &old);
  auto r =
      RunProgram({AgentBin(), "--", Probe(), "clean"},
                 {"PORTCULLIS_AGENT_ENROLLMENT_TOKEN=secret", "PORTCULLIS_AGENT_LOG_LEVEL=warn"});
  sigprocmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(r.code, 0);
  // And the probe can tell: the same check fails with a variable set.
  EXPECT_EQ(RunProgram({Probe(), "clean"}, {"PORTCULLIS_AGENT_X=1"}).code, 1);
}

TEST(Init, WorkloadLeadsItsOwnProcessGroup) {
  auto r = RunProgram({AgentBin(), "--", Probe(), "pgrp"});
  ASSERT_EQ(r.code, 0);
  int pid = 0, pgrp = 0;
  ASSERT_EQ(sscanf(r.out.c_str(), "pgrp %d %d", &pid, &pgrp), 2) << r.out;
  EXPECT_EQ(pid, pgrp);
  EXPECT_NE(pgrp, getpgrp());
}

TEST(Init, ReapsOrphansAsSubreaper) {
  auto r = RunProgram({AgentBin(), "--", TestProgram("reaper_probe")});
  EXPECT_EQ(r.code, 0) << r.out;
  // Without the agent, the orphan goes to whoever reaps for this test: the
  // probe notices (exit 1), so the check above is meaningful.
  EXPECT_EQ(RunProgram({TestProgram("reaper_probe")}).code, 1);
}

bool CanUnsharePid() {
  return geteuid() == 0 &&
         RunProgram({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "true"}).code == 0;
}

TEST(Init, ReapsOrphansAndForwardsSignalsAsPid1) {
  if (!CanUnsharePid()) GTEST_SKIP() << "needs root and PID namespaces";
  auto r = RunProgram({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", AgentBin(), "--",
                       TestProgram("reaper_probe")});
  EXPECT_EQ(r.code, 0) << r.out;
  // As PID 1, a signal sent to it from inside the namespace is delivered only
  // because the agent blocks it (the kernel drops default-action signals to
  // a namespace init).
  EXPECT_EQ(RunProgram({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", AgentBin(), "--",
                        Probe(), "viaparent"})
                .code,
            0);
  EXPECT_EQ(RunProgram({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", AgentBin(), "--",
                        Probe(), "exit", "9"})
                .code,
            9);
}

}  // namespace
}  // namespace portcullis::agent
