// The supervisor with real workloads under the built agent: file opens
// (injected descriptors, symlinks, creates, credentials, /proc/self), exec,
// network (a loopback listener of this test), events in both sink formats,
// permissive mode, and the race a second thread runs against an unlink (the
// open race and the other bypass attempts: bypass_test.cc).
#include <arpa/inet.h>
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "portcullis/v1/event.pb.h"
#include "test_util.h"

namespace portcullis::agent {
namespace {

namespace fs = std::filesystem;
using test::AgentBin;
using test::CountLines;
using test::ReadFile;
using test::RunProgram;
using test::TestProgram;

std::string Probe() {
  return TestProgram("workload_probe");
}

std::vector<v1::Event> ReadDelimited(const fs::path& p) {
  std::string bytes = ReadFile(p);
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream in(&raw);
  std::vector<v1::Event> out;
  std::uint32_t size;
  while (in.ReadVarint32(&size)) {
    auto limit = in.PushLimit(static_cast<int>(size));
    v1::Event e;
    if (!e.ParseFromCodedStream(&in)) {
      ADD_FAILURE() << "bad event in " << p;
      break;
    }
    in.PopLimit(limit);
    out.push_back(std::move(e));
  }
  return out;
}

class SupervisorTest : public test::AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    fs::create_directories(dir_ / "nocreate");
    Write("allowed", "allowed\n");
    Write("denied", "denied\n");
    Write("watched", "watched\n");
    fs::create_symlink(dir_ / "denied", dir_ / "link-to-denied");
  }
};

TEST_F(SupervisorTest, FileAllowDenyMonitor) {
  std::string policy = Policy(R"({"name": "files", "rules": [
      {"id": "no-denied", "type": "file", "action": "deny", "paths": [")" +
                              P("denied") + R"("]},
      {"id": "no-create", "type": "file", "action": "deny", "paths": [")" +
                              P("nocreate") + R"(/"],
       "operations": ["create"]},
      {"id": "watch", "type": "file", "action": "monitor", "paths": [")" +
                              P("watched") + R"("]}]})");
  auto r = Agent(policy, {Probe(), "open", P("allowed")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "allowed\n");
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("denied")}).code, EACCES);
  // Through a symlink: the agent decides on what it really opened.
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("link-to-denied")}).code, EACCES);
  r = Agent(policy, {Probe(), "open", P("watched")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "watched\n");
  // A denied create leaves nothing behind; an allowed one works.
  EXPECT_EQ(Agent(policy, {Probe(), "create", P("nocreate/new")}).code, EACCES);
  EXPECT_FALSE(fs::exists(dir_ / "nocreate" / "new"));
  EXPECT_EQ(Agent(policy, {Probe(), "create", P("new")}).code, 0);
  EXPECT_EQ(ReadFile(dir_ / "new"), "created\n");
  EXPECT_EQ(Agent(policy, {Probe(), "create", P("new")}).code, EEXIST);  // O_EXCL kept
  // /proc/self is the workload's, not the agent's, also through symlinks
  // (/dev/fd -> /proc/self/fd) and magic links (/proc/self/fd/N).
  EXPECT_EQ(Agent(policy, {Probe(), "selfstatus"}).code, 0);
  r = Agent(policy, {Probe(), "fdlink", P("allowed")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "allowed\n");
  // O_PATH: decided as a read, then made by the kernel (ADDFD cannot carry
  // an O_PATH descriptor).
  EXPECT_EQ(Agent(policy, {Probe(), "opath", P("allowed")}).code, 0);
  EXPECT_EQ(Agent(policy, {Probe(), "opath", P("denied")}).code, EACCES);

  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-denied\""), 3) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-create\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"watch\""), 1) << events;
  EXPECT_EQ(CountLines(events, "ACTION_ALLOW"), 0) << events;  // allows are not recorded
  EXPECT_EQ(CountLines(events, "\"path\":\"" + P("denied") + "\""), 3) << events;
  EXPECT_EQ(CountLines(events, "\"result\":-13"), 4) << events;
  EXPECT_EQ(CountLines(events, "\"executable\":\"" + Probe() + "\""), 5) << events;
  EXPECT_EQ(CountLines(events, "\"syscall\":\"openat\""), 5) << events;
}

TEST_F(SupervisorTest, SampledAllowsAreRecorded) {
  // --sample-allows N: one intercepted call in every N is sampled and, when
  // allowed, recorded as an ACTION_ALLOW event; denies are recorded as ever.
  std::string policy = Policy(R"({"rules": [{"id": "no-denied", "type": "file",
      "action": "deny", "paths": [")" +
                              P("denied") + R"("]}]})");
  const std::string allowed_path = "\"path\":\"" + P("allowed") + "\"";
  auto r = Agent(policy, {Probe(), "loop", P("allowed"), "8"}, {"--sample-allows", "1"});
  EXPECT_EQ(r.code, 0);
  std::string events = Events();
  EXPECT_EQ(CountLines(events, allowed_path), 8) << events;
  EXPECT_EQ(CountLines(events, "ACTION_ALLOW"), CountLines(events, "\"action\""))
      << events;  // (every event of that run is an allow)
  std::filesystem::remove(dir_ / "events.json");
  // One in four: 40 opens in a row are 10 samples, whatever came before.
  EXPECT_EQ(Agent(policy, {Probe(), "loop", P("allowed"), "40"}, {"--sample-allows", "4"}).code, 0);
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("denied")}, {"--sample-allows", "4"}).code, EACCES);
  events = Events();
  EXPECT_EQ(CountLines(events, allowed_path), 10) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-denied\""), 1) << events;
  std::filesystem::remove(dir_ / "events.json");
  // None by default.
  EXPECT_EQ(Agent(policy, {Probe(), "loop", P("allowed"), "8"}).code, 0);
  EXPECT_EQ(CountLines(Events(), "ACTION_ALLOW"), 0) << Events();
}

TEST_F(SupervisorTest, NothingHappensToAFileBeforeTheDecision) {
  // The agent looks the file up without opening it (O_PATH): a denied
  // O_TRUNC must not truncate, an allowed one must.
  std::string policy = Policy(R"({"rules": [{"id": "ro", "type": "file", "action": "deny",
      "paths": [")" + P("denied") +
                              R"("], "operations": ["write"]}]})");
  EXPECT_EQ(Agent(policy, {Probe(), "truncate", P("denied")}).code, EACCES);
  EXPECT_EQ(ReadFile(dir_ / "denied"), "denied\n");
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("denied")}).code, 0);  // reading is fine
  EXPECT_EQ(Agent(policy, {Probe(), "truncate", P("allowed")}).code, 0);
  EXPECT_EQ(ReadFile(dir_ / "allowed"), "");
  // The workload's own flags keep their meaning.
  EXPECT_EQ(Agent(policy, {Probe(), "nofollow", P("link-to-denied")}).code, ELOOP);
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("nonexistent")}).code, ENOENT);
  auto r = Agent(policy, {Probe(), "tmpfile", dir_.string()});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "640\n");  // the workload's mode and umask
  EXPECT_EQ(Agent(policy, {Probe(), "openat2", P("via-openat2")}).code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "via-openat2"));
  EXPECT_EQ(Agent(policy, {Probe(), "openat2", P("link-to-denied")}).code, ELOOP);
}

TEST_F(SupervisorTest, PathOperationsAreDecidedAndCarriedOutByTheAgent) {
  fs::create_directories(dir_ / "protected");
  Write("protected/keep", "keep\n");
  std::string policy = Policy(R"({"rules": [
      {"id": "protect", "type": "file", "action": "deny", "paths": [")" +
                              P("protected") + R"(/"],
       "operations": ["delete", "rename", "create", "chmod", "write"]}]})");
  auto op = [&](std::vector<std::string> args) {
    args.insert(args.begin(), Probe());
    return Agent(policy, args).code;
  };
  EXPECT_EQ(op({"unlink", P("protected/keep")}), EACCES);
  EXPECT_EQ(op({"rename", P("protected/keep"), P("moved")}), EACCES);
  EXPECT_EQ(op({"rename", P("allowed"), P("protected/new")}), EACCES);
  EXPECT_EQ(op({"mkdir", P("protected/d")}), EACCES);
  EXPECT_EQ(op({"symlink", "/etc/passwd", P("protected/l")}), EACCES);
  EXPECT_EQ(op({"link", P("allowed"), P("protected/h")}), EACCES);
  EXPECT_EQ(op({"chmod", P("protected/keep"), "777"}), EACCES);
  const bool chmod2 = RunProgram({Probe(), "chmod2", P("allowed"), "644"}).code == 0;
  if (chmod2) {
    EXPECT_EQ(op({"chmod2", P("protected/keep"), "777"}), EACCES);  // fchmodat2
  }
  EXPECT_EQ(op({"truncate-to", P("protected/keep"), "0"}), EACCES);
  // A symlink outside pointing in: chmod and truncate follow it.
  fs::create_symlink(dir_ / "protected" / "keep", dir_ / "way-in");
  EXPECT_EQ(op({"chmod", P("way-in"), "777"}), EACCES);
  EXPECT_EQ(ReadFile(dir_ / "protected" / "keep"), "keep\n");
  EXPECT_EQ(fs::directory_iterator(dir_ / "protected")->path().filename(), "keep");
  // Allowed: each one really happens, with the workload's umask.
  EXPECT_EQ(op({"mkdir", P("d")}), 0);
  EXPECT_TRUE(fs::is_directory(dir_ / "d"));
  EXPECT_EQ(op({"rmdir", P("d")}), 0);
  EXPECT_FALSE(fs::exists(dir_ / "d"));
  EXPECT_EQ(op({"rename", P("watched"), P("renamed")}), 0);
  EXPECT_EQ(ReadFile(dir_ / "renamed"), "watched\n");
  EXPECT_EQ(op({"link", P("renamed"), P("hard")}), 0);
  EXPECT_EQ(fs::hard_link_count(dir_ / "hard"), 2u);
  EXPECT_EQ(op({"symlink", "renamed", P("soft")}), 0);
  EXPECT_EQ(fs::read_symlink(dir_ / "soft"), "renamed");
  if (chmod2) {
    EXPECT_EQ(op({"chmod2", P("soft"), "640"}), 0);  // follows to "renamed"
    EXPECT_EQ(fs::status(dir_ / "renamed").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  }
  EXPECT_EQ(op({"chmod", P("soft"), "600"}), 0);  // follows to "renamed"
  EXPECT_EQ(fs::status(dir_ / "renamed").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(op({"truncate-to", P("renamed"), "3"}), 0);
  EXPECT_EQ(ReadFile(dir_ / "renamed"), "wat");
  EXPECT_EQ(op({"unlink", P("hard")}), 0);
  EXPECT_FALSE(fs::exists(dir_ / "hard"));
  // Errors are the kernel's.
  EXPECT_EQ(op({"unlink", P("nonexistent")}), ENOENT);
  EXPECT_EQ(op({"rmdir", P("allowed")}), ENOTDIR);
  EXPECT_EQ(op({"mkdir", P("allowed")}), EEXIST);
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"protect\""), chmod2 ? 10 : 9) << events;
  EXPECT_EQ(CountLines(events, "\"new_path\":\"" + P("protected/new") + "\""), 1) << events;
}

TEST_F(SupervisorTest, RacingThreadNeverDeletesTheProtectedFile) {
  Write("protected", "protected\n");
  std::string policy = Policy(R"({"rules": [{"id": "keep", "type": "file", "action": "deny",
      "paths": [")" + P("protected") +
                              R"("], "operations": ["delete"]}]})");
  auto r = RunProgram({AgentBin(), "--policy", policy, "--", Probe(), "unlinkrace", P("victim"),
                       P("protected"), "20000"},
                      {}, 60000);
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "protected_gone=0\n");
  EXPECT_TRUE(fs::exists(dir_ / "protected"));
  // Without the agent the race does delete it: the test can tell.
  auto bare = RunProgram({Probe(), "unlinkrace", P("victim"), P("protected"), "20000"});
  EXPECT_EQ(bare.out, "protected_gone=1\n");
}

TEST_F(SupervisorTest, NoDescriptorOfTheAgentReachesTheWorkload) {
  // Not the listener, the signalfd, the event sink, nor anything the
  // supervisor opened while the workload still shared its descriptor table
  // (its own execve is decided by the agent).
  std::string policy = Policy(R"({"rules": [
      {"id": "watch-exec", "type": "file", "action": "monitor", "paths": [")" +
                              Probe() + R"("],
       "operations": ["exec"]},
      {"id": "no-denied", "type": "file", "action": "deny", "paths": [")" +
                              P("denied") + R"("]}]})");
  auto bare = RunProgram({Probe(), "fds"});
  auto agent = Agent(policy, {Probe(), "fds"});
  EXPECT_EQ(agent.code, 0);
  EXPECT_EQ(agent.out, bare.out);
  EXPECT_EQ(CountLines(Events(), "\"rule_id\":\"watch-exec\""), 1) << Events();
}

TEST_F(SupervisorTest, FileAllowlist) {
  std::string policy = Policy(R"({"defaults": {"file": "deny"}, "rules": [
      {"id": "only-allowed", "type": "file", "action": "allow", "paths": [")" +
                              P("allowed") + R"("]}]})");
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("allowed")}).code, 0);
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("watched")}).code, EACCES);
  std::string events = Events();
  // One deny, by the category default (no rule id), for the file not listed.
  EXPECT_EQ(CountLines(events, "ACTION_DENY"), 1) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\""), 0) << events;
  EXPECT_EQ(CountLines(events, "\"path\":\"" + P("watched") + "\""), 1) << events;
}

TEST_F(SupervisorTest, OpensWithTheWorkloadsCredentials) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change the workload's user";
  Write("rootonly", "secret\n");
  fs::permissions(dir_ / "rootonly", fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(dir_, fs::perms::all);  // searchable by nobody
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  // Root reads it; nobody (65534) must not, although the agent opening the
  // file is root.
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("rootonly")}).code, 0);
  EXPECT_EQ(Agent(policy, {Probe(), "asuser", "65534", "open", P("rootonly")}).code, EACCES);
  EXPECT_EQ(Agent(policy, {Probe(), "asuser", "65534", "open", P("allowed")}).code, 0);
  // Still root, but without the capabilities that bypass file permissions:
  // a file of another user with no permission bits stays closed to it.
  fs::permissions(dir_ / "rootonly", fs::perms::none);
  ASSERT_EQ(chown(P("rootonly").c_str(), 65534, 65534), 0);
  EXPECT_EQ(RunProgram({Probe(), "nodac", "open", P("rootonly")}).code, EACCES);  // the kernel
  EXPECT_EQ(Agent(policy, {Probe(), "nodac", "open", P("rootonly")}).code, EACCES);
  EXPECT_EQ(Agent(policy, {Probe(), "open", P("rootonly")}).code, 0);  // with them it can
}

TEST_F(SupervisorTest, BindsWithTheWorkloadsCapabilities) {
  // The agent binds the workload's socket itself (the address it decided
  // on): a port below 1024 needs the workload's CAP_NET_BIND_SERVICE, not
  // the agent's.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change the workload's user";
  std::string policy = Policy(R"({"rules": [{"type": "network", "action": "deny",
      "direction": "listen", "addresses": ["192.0.2.0/24"]}]})");
  EXPECT_EQ(RunProgram({Probe(), "bindport", "1023", "65534"}).code, EACCES);  // the kernel
  EXPECT_EQ(Agent(policy, {Probe(), "bindport", "1023", "65534"}).code, EACCES);
  EXPECT_EQ(Agent(policy, {Probe(), "bindport", "1023"}).code, 0);
  EXPECT_EQ(Agent(policy, {Probe(), "bindport", "0", "65534"}).code, 0);
}

TEST_F(SupervisorTest, OpenedDescriptorsCarryTheWorkloadsFlags) {
  // An allowed open of a plain file is opened directly with O_NONBLOCK
  // (so it can never wait) and O_NONBLOCK is taken off again; a create of
  // an existing name (O_CREAT without O_EXCL) opens what is there.
  Write("plain", "plain\n");
  Write("log", "a\n");
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  auto blocking = Agent(policy, {Probe(), "flags", P("plain")});
  EXPECT_EQ(blocking.code, 0);
  EXPECT_EQ(blocking.out, "nonblock=0\n");
  EXPECT_EQ(Agent(policy, {Probe(), "flags", P("plain"), "nonblock"}).out, "nonblock=1\n");
  EXPECT_EQ(Agent(policy, {Probe(), "flags", dir_.string()}).out, "nonblock=0\n");
  auto existing = Agent(policy, {Probe(), "append", P("log"), "b\n"});
  EXPECT_EQ(existing.code, 0);
  EXPECT_EQ(existing.out, "append=1\n");
  EXPECT_EQ(ReadFile(dir_ / "log"), "a\nb\n");
  EXPECT_EQ(Agent(policy, {Probe(), "append", P("new-log"), "c\n"}).out, "append=1\n");
  EXPECT_EQ(ReadFile(dir_ / "new-log"), "c\n");
  const mode_t umask = ::umask(0);
  ::umask(umask);
  EXPECT_EQ(fs::status(dir_ / "new-log").permissions() & fs::perms::all,
            static_cast<fs::perms>(0644 & ~umask));
}

TEST_F(SupervisorTest, OpenArgumentsAreTakenAsTheKernelTakesThem) {
  // open/openat ignore unknown flag bits and a mode's file type bits;
  // openat2, which the agent opens with, would refuse them (EINVAL).
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  auto native = RunProgram({Probe(), "rawcreate", P("native")});
  ASSERT_EQ(native.code, 0);
  auto agent = Agent(policy, {Probe(), "rawcreate", P("agent")});
  EXPECT_EQ(agent.code, 0);
  EXPECT_EQ(agent.out, native.out);
  // O_CREAT|O_EXCL fails on a symlink, even a dangling one, and creates
  // nothing where it points.
  ASSERT_EQ(symlink(P("nowhere").c_str(), P("dangling").c_str()), 0);
  EXPECT_EQ(RunProgram({Probe(), "create", P("dangling")}).code, EEXIST);  // the kernel
  EXPECT_EQ(Agent(policy, {Probe(), "create", P("dangling")}).code, EEXIST);
  EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
}

TEST_F(SupervisorTest, TheAgentsThreadsAreNotTheWorkloads) {
  // /proc/TID of any thread of the agent (the event writer's too) would be
  // opened as the agent: refused like /proc/<agent pid>. (The agent runs
  // with an events file, so it has at least that second thread: at least one
  // refusal, and no status of an agent thread read.)
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  auto r = Agent(policy, {Probe(), "agentproc"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.find("agent "), std::string::npos) << r.out;
  int refused = 0;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "refused %d", &refused), 1) << r.out;
  EXPECT_GE(refused, 1);
}

TEST_F(SupervisorTest, OpensWithTheGroupsTheWorkloadSetItself) {
  // The supervisor takes the workload's groups to be its own until the
  // workload calls setgroups (which the filter sends to it): a file only a
  // group may read opens for a member of that group, not for anyone else.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change the workload's user and groups";
  Write("grouponly", "group\n");
  ASSERT_EQ(chown(P("grouponly").c_str(), 0, 4242), 0);
  fs::permissions(dir_ / "grouponly", fs::perms::group_read);
  fs::permissions(dir_, fs::perms::all);
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  auto member = Agent(policy, {Probe(), "ingroup", "4242", "65534", "open", P("grouponly")});
  EXPECT_EQ(member.code, 0);
  EXPECT_EQ(member.out, "group\n");
  EXPECT_EQ(Agent(policy, {Probe(), "ingroup", "4243", "65534", "open", P("grouponly")}).code,
            EACCES);
}

TEST_F(SupervisorTest, CreatesWithTheUmaskAnotherThreadSet) {
  // The umask is taken to be the agent's until a umask call is seen; then
  // it is read for each create. Set by another thread, it applies all the
  // same (threads share it).
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  const mode_t agents = ::umask(022);
  ::umask(agents);
  for (const auto& [mask, want] : {std::pair{"077", "600\n"}, std::pair{"002", "664\n"}}) {
    std::string path = P(std::string("umask-") + mask);
    auto r = Agent(policy, {Probe(), "umask", mask, path});
    EXPECT_EQ(r.code, 0) << mask;
    EXPECT_EQ(r.out, want) << mask << " (the agent's umask is " << std::oct << agents << ")";
  }
}

TEST_F(SupervisorTest, ResolvesInTheRootTheWorkloadChrootedTo) {
  // The workload's root is taken to be the agent's until a chroot (or a
  // namespace change) is seen: after it, "/marker" is the file in the new
  // root, which does not exist in the agent's.
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  fs::create_directories(dir_ / "jail");
  Write("jail/portcullis-chroot-marker", "inside\n");
  ASSERT_FALSE(fs::exists("/portcullis-chroot-marker"));
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  auto r = Agent(policy, {Probe(), "chroot", P("jail"), "open", "/portcullis-chroot-marker"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "inside\n");
}

TEST_F(SupervisorTest, ResolvesInTheMountNamespaceTheWorkloadMade) {
  // A new mount namespace (unshare, or clone with CLONE_NEWNS) is seen too:
  // the workload's empty tmpfs over a directory hides the file the agent's
  // own view of the directory still has.
  if (geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  fs::create_directories(dir_ / "covered");
  Write("covered/outside", "outside\n");
  // (A file policy denies mounts unless it decides about them: this one
  // allows them.)
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}, {"type": "syscall", "action": "allow", "syscall": "mount"}]})");
  for (const char* how : {"unshare", "clone"}) {
    EXPECT_EQ(RunProgram({Probe(), "mountns", how, P("covered"), "outside"}).code, ENOENT)
        << how << " (the kernel)";
    EXPECT_EQ(Agent(policy, {Probe(), "mountns", how, P("covered"), "outside"}).code, ENOENT)
        << how;
  }
  EXPECT_EQ(ReadFile(dir_ / "covered" / "outside"), "outside\n");
}

TEST_F(SupervisorTest, AnOpenWaitingForALeaseDoesNotStallTheSupervisor) {
  // This process holds a read lease on a file; the workload's open for
  // writing waits until the lease is given up (here after 1.5 s). Meanwhile
  // the agent answers the workload's other opens.
  Write("leased", "leased\n");
  // (A lease break is signalled with SIGIO, whose default ends a process.)
  struct sigaction ignore {
  }, before{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGIO, &ignore, &before);
  int holder = ::open(P("leased").c_str(), O_RDONLY);
  ASSERT_GE(holder, 0);
  if (fcntl(holder, F_SETLEASE, F_RDLCK) != 0) {
    ::close(holder);
    GTEST_SKIP() << "no leases here: " << std::strerror(errno);
  }
  std::string policy = Policy(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/nonexistent/"]}]})");
  std::thread release([holder] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    fcntl(holder, F_SETLEASE, F_UNLCK);
  });
  auto r = Agent(policy, {Probe(), "leaseopen", P("leased"), P("allowed")});
  release.join();
  ::close(holder);
  sigaction(SIGIO, &before, nullptr);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "other_waited=0\nheld opened\n");
}

TEST_F(SupervisorTest, BlockingOpensDoNotStallTheSupervisor) {
  // Reader and writer of a FIFO each block in open until the other arrives:
  // both opens go through the agent, which must not wait on the first.
  std::string policy = Policy(R"({"rules": [
      {"id": "watch-fifo", "type": "file", "action": "monitor", "paths": [")" +
                              P("fifo") + R"("]}]})");
  auto r = Agent(policy, {Probe(), "fifo", P("fifo")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "through the fifo\n");
  // mkfifo (a create) and the two opens.
  EXPECT_EQ(CountLines(Events(), "\"rule_id\":\"watch-fifo\""), 3) << Events();
  EXPECT_EQ(CountLines(Events(), "\"syscall\":\"mknodat\""), 1) << Events();
}

TEST_F(SupervisorTest, AsPid1OfAPidNamespace) {
  // As in a container: the agent is PID 1 and /proc is the namespace's.
  if (geteuid() != 0 ||
      RunProgram({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "true"}).code != 0) {
    GTEST_SKIP() << "needs root and PID namespaces";
  }
  std::string policy = Policy(R"({"rules": [
      {"id": "no-denied", "type": "file", "action": "deny", "paths": [")" +
                              P("denied") + R"("]}]})");
  auto in_ns = [&](std::vector<std::string> workload) {
    std::vector<std::string> argv = {
        "/usr/bin/unshare", "--pid",           "--fork", "--mount-proc",
        AgentBin(),         "--policy",        policy,   "--events",
        P("events.json"),   "--events-format", "json",   "--"};
    argv.insert(argv.end(), workload.begin(), workload.end());
    return RunProgram(argv);
  };
  EXPECT_EQ(in_ns({Probe(), "open", P("allowed")}).code, 0);
  EXPECT_EQ(in_ns({Probe(), "open", P("denied")}).code, EACCES);
  EXPECT_EQ(in_ns({Probe(), "selfstatus"}).code, 0);
  EXPECT_EQ(CountLines(Events(), "\"ppid\":1,"), 1) << Events();  // the workload, child of PID 1
}

TEST_F(SupervisorTest, RunsWithoutAnyPrivilege) {
  // The agent itself as nobody with no capability at all (as in a container
  // run with --user and --cap-drop ALL), its workload likewise.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to set up the unprivileged user";
  fs::permissions(dir_, fs::perms::all);
  std::string policy = Policy(R"({"rules": [
      {"id": "no-denied", "type": "file", "action": "deny", "paths": [")" +
                              P("denied") + R"("]},
      {"id": "watch", "type": "file", "action": "monitor", "paths": [")" +
                              P("allowed") + R"("]}]})");
  auto unprivileged = [&](std::vector<std::string> workload) {
    std::vector<std::string> argv = {"/usr/bin/setpriv",
                                     "--reuid",
                                     "65534",
                                     "--regid",
                                     "65534",
                                     "--clear-groups",
                                     "--inh-caps=-all",
                                     "--bounding-set=-all",
                                     "--",
                                     AgentBin(),
                                     "--policy",
                                     policy,
                                     "--events",
                                     P("events.json"),
                                     "--events-format",
                                     "json",
                                     "--"};
    argv.insert(argv.end(), workload.begin(), workload.end());
    return RunProgram(argv);
  };
  auto r = unprivileged({Probe(), "open", P("allowed")});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "allowed\n");
  EXPECT_EQ(unprivileged({Probe(), "open", P("denied")}).code, EACCES);
  EXPECT_EQ(unprivileged({Probe(), "open", "/etc/shadow"}).code, EACCES);  // the kernel's no
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-denied\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"watch\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"uid\":65534"), 2) << events;
}

TEST_F(SupervisorTest, Exec) {
  std::string hello = TestProgram("hello_static");
  std::string policy = Policy(R"({"rules": [
      {"id": "no-hello", "type": "file", "action": "deny", "paths": [")" +
                              hello + R"("],
       "operations": ["exec"]},
      {"id": "watch-signal-probe", "type": "file", "action": "monitor",
       "paths": [")" + TestProgram("signal_probe") +
                              R"("], "operations": ["exec"]}]})");
  EXPECT_EQ(Agent(policy, {Probe(), "exec", hello, "0"}).code, EACCES);
  EXPECT_EQ(Agent(policy, {Probe(), "exec", TestProgram("signal_probe"), "exit", "5"}).code, 5);
  EXPECT_EQ(Agent(policy, {Probe(), "exec", TestProgram("syscall_probe"), "39"}).code, 0);
  // Through a descriptor (/proc/self/fd/N): decided on what it is.
  EXPECT_EQ(Agent(policy, {Probe(), "fdexec", hello, "0"}).code, EACCES);
  EXPECT_EQ(Agent(policy, {Probe(), "fdexec", TestProgram("signal_probe"), "exit", "4"}).code, 4);
  // The workload itself is started by an execve the policy also sees.
  EXPECT_EQ(Agent(policy, {hello, "0"}).code, 126);
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-hello\""), 3) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"watch-signal-probe\""), 2) << events;
  EXPECT_EQ(CountLines(events, "\"category\":\"CATEGORY_PROCESS\""), 5) << events;
}

TEST_F(SupervisorTest, SendmmsgIsDecidedOnEveryAddress) {
  // One sendmmsg carries a message to each of several addresses: every one
  // is decided, a denied one refuses the call (an event names it).
  std::string policy = Policy(R"({"defaults": {"network": "deny"}, "rules": [
      {"id": "dns", "type": "network", "action": "allow", "direction": "outbound",
       "addresses": ["127.0.0.1/32"], "ports": ["5353"], "protocol": "udp"}]})");
  EXPECT_EQ(RunProgram({Probe(), "udpmulti", "5353", "5354"}).code, 0);  // the kernel
  EXPECT_EQ(Agent(policy, {Probe(), "udpmulti", "5353", "5353"}).code, 0);
  EXPECT_EQ(Agent(policy, {Probe(), "udpmulti", "5353", "5354"}).code, EPERM);
  EXPECT_EQ(Agent(policy, {Probe(), "udpmulti", "5354", "5353"}).code, EPERM);
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"syscall\":\"sendmmsg\""), 2) << events;
  EXPECT_EQ(CountLines(events, "\"remote_port\":5354"), 2) << events;
}

TEST_F(SupervisorTest, InboundRulesOnBlockingListeners) {
  // A blocking accept with nothing to take waits, parked, while the agent
  // answers the workload's other calls (here the very connects it waits for);
  // a signal interrupts it as in the kernel. Connections from a denied peer
  // are closed and the accept goes on waiting for the next one.
  auto policy = [&](const char* action) {
    return Policy(std::string(R"({"rules": [{"id": "no-two", "type": "network", "action": ")") +
                  action +
                  R"(", "direction": "inbound", "addresses": ["127.0.0.2/32"]},
          {"id": "watch-out", "type": "network", "action": "monitor", "direction": "outbound",
           "addresses": ["127.0.0.1/32"]}]})");
  };
  auto native = RunProgram({Probe(), "acceptblock"});
  EXPECT_EQ(native.code, 0);
  EXPECT_EQ(native.out, "interrupted 1 peer 127.0.0.2\n");
  auto watched = Agent(policy("monitor"), {Probe(), "acceptblock"});
  EXPECT_EQ(watched.code, 0);
  EXPECT_EQ(watched.out, "interrupted 1 peer 127.0.0.2\n");
  auto denied = Agent(policy("deny"), {Probe(), "acceptblock"});
  EXPECT_EQ(denied.code, 0);
  EXPECT_EQ(denied.out, "interrupted 1 peer 127.0.0.3\n");
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"remote_ip\":\"fwAAAg==\""), 2) << events;
  EXPECT_EQ(CountLines(events, "\"action\":\"ACTION_DENY\""), 1) << events;
  // The clients' connects were decided by the agent while the accept waited.
  EXPECT_EQ(CountLines(events, "\"direction\":\"DIRECTION_OUTBOUND\""), 4) << events;
  EXPECT_EQ(CountLines(events, "\"action\":\"ACTION_MONITOR\""), 5) << events;
}

TEST_F(SupervisorTest, InboundRulesOnNonBlockingListeners) {
  // accept on a non-blocking socket: the agent takes the connection from a
  // duplicate of the socket, decides on the peer, and hands over exactly that
  // connection (its peer address and accept4 flags as the kernel gives
  // them), or closes it: the workload's accept then finds nothing (EAGAIN).
  auto policy = [&](const char* action) {
    return Policy(std::string(R"({"rules": [{"id": "local-in", "type": "network", "action": ")") +
                  action + R"(", "direction": "inbound", "addresses": ["127.0.0.0/8"]}]})");
  };
  auto native = RunProgram({Probe(), "acceptnb"});
  EXPECT_EQ(native.code, 0);
  EXPECT_EQ(native.out, "accepted 1\n");
  auto watched = Agent(policy("monitor"), {Probe(), "acceptnb"});
  EXPECT_EQ(watched.code, 0);
  EXPECT_EQ(watched.out, "accepted 1\n");
  EXPECT_EQ(Agent(policy("deny"), {Probe(), "acceptnb"}).code, EAGAIN);
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"direction\":\"DIRECTION_INBOUND\""), 2) << events;
  EXPECT_EQ(CountLines(events, "\"action\":\"ACTION_MONITOR\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"action\":\"ACTION_DENY\""), 1) << events;
}

int Listener(int* port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(s, 16) != 0) return -1;
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

TEST_F(SupervisorTest, Network) {
  int allowed_port = 0, watched_port = 0, other_port = 0;
  int s1 = Listener(&allowed_port), s2 = Listener(&watched_port), s3 = Listener(&other_port);
  ASSERT_GE(s1, 0);
  ASSERT_GE(s2, 0);
  ASSERT_GE(s3, 0);
  std::string policy = Policy(R"({"defaults": {"network": "deny"}, "rules": [
      {"id": "allow-one", "type": "network", "action": "allow", "direction": "outbound",
       "addresses": ["127.0.0.0/8"], "ports": [")" +
                              std::to_string(allowed_port) + R"("]},
      {"id": "watch-one", "type": "network", "action": "monitor", "direction": "outbound",
       "ports": [")" + std::to_string(watched_port) +
                              R"("], "protocol": "tcp"}]})");
  auto run = [&](const std::string& mode, int port) {
    return RunProgram({AgentBin(), "--policy", policy, "--events", P("events.bin"), "--", Probe(),
                       mode, std::to_string(port)})
        .code;
  };
  EXPECT_EQ(run("connect", allowed_port), 0);
  EXPECT_EQ(run("connect", watched_port), 0);
  EXPECT_EQ(run("connect", other_port), EPERM);
  EXPECT_EQ(run("udp", allowed_port), 0);      // the allow rule is for any protocol
  EXPECT_EQ(run("udp", watched_port), EPERM);  // the monitor rule is tcp only: default deny
  close(s1);
  close(s2);
  close(s3);

  std::vector<v1::Event> events = ReadDelimited(dir_ / "events.bin");
  ASSERT_EQ(events.size(), 3u);
  const v1::Event& watched = events[0];
  EXPECT_EQ(watched.action(), v1::ACTION_MONITOR);
  EXPECT_EQ(watched.rule_id(), "watch-one");
  EXPECT_EQ(watched.syscall(), "connect");
  EXPECT_EQ(watched.category(), v1::CATEGORY_NETWORK);
  EXPECT_EQ(watched.network().direction(), v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(watched.network().remote_port(), static_cast<std::uint32_t>(watched_port));
  EXPECT_EQ(watched.network().remote_ip(), std::string("\x7f\0\0\x01", 4));
  EXPECT_EQ(watched.process().executable(), Probe());
  EXPECT_EQ(watched.result(), 0);
  EXPECT_EQ(watched.event_id().size(), 16u);
  EXPECT_GT(watched.time_unix_nano(), 0);
  const v1::Event& denied = events[1];
  EXPECT_EQ(denied.action(), v1::ACTION_DENY);
  EXPECT_TRUE(denied.enforced());
  EXPECT_EQ(denied.rule_id(), "");  // the category default
  EXPECT_EQ(denied.result(), -EPERM);
  EXPECT_EQ(denied.network().remote_port(), static_cast<std::uint32_t>(other_port));
  EXPECT_EQ(events[2].syscall(), "sendto");
  EXPECT_EQ(events[2].network().protocol(), v1::PROTOCOL_UDP);
}

TEST_F(SupervisorTest, PermissiveRecordsButDoesNotEnforce) {
  std::string policy = Policy(R"({"rules": [
      {"id": "no-denied", "type": "file", "action": "deny", "paths": [")" +
                              P("denied") + R"("]},
      {"id": "no-persona", "type": "syscall", "action": "deny", "syscall": "personality"}]})");
  auto r = Agent(policy, {Probe(), "open", P("denied")}, {"--permissive"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "denied\n");
  // A syscall the kernel would deny goes to the agent instead.
  EXPECT_EQ(Agent(policy, {TestProgram("syscall_probe"), "135", "8"}, {"--permissive"}).code, 0);
  std::string events = Events();
  EXPECT_EQ(CountLines(events, "\"enforced\":true"), 0) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-denied\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"rule_id\":\"no-persona\""), 1) << events;
  EXPECT_EQ(CountLines(events, "\"args\":[\"8\""), 1) << events;  // scalar args recorded
}

// The race of a second thread against the path buffer of an open (100,000
// opens) is in bypass_test.cc with the other bypass attempts.

}  // namespace
}  // namespace portcullis::agent
