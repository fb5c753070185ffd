#include "test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

extern char** environ;

namespace portcullis::agent::test {
namespace {

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string AgentBin() {
  return PORTCULLIS_AGENT_BIN;
}
std::string TestProgram(const std::string& n) {
  return std::string(PORTCULLIS_AGENT_TEST_BIN) + "/" + n;
}

Spawned Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              bool merge_stderr) {
  std::vector<std::string> all_env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var = *e;
    bool replaced = false;
    for (const std::string& x : env)
      replaced = replaced || var.substr(0, var.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!replaced) all_env.emplace_back(var);
  }
  all_env.insert(all_env.end(), env.begin(), env.end());
  std::vector<char*> a, e;
  for (const auto& s : argv)
    a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  for (const auto& s : all_env)
    e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    if (merge_stderr) dup2(fds[1], 2);
    execve(a[0], a.data(), e.data());
    _exit(120);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

std::string ReadLine(int fd, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string line;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) return "";
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r <= 0) return line;
    if (c == '\n') return line;
    line += c;
  }
}

std::string ReadAll(int fd, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string out;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) return out;
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r <= 0) return out;
    out.append(buf, static_cast<std::size_t>(r));
  }
}

int WaitExit(pid_t pid, int timeout_ms) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int n = poll(&p, 1, timeout_ms);
    close(pidfd);
    if (n == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return -1;
    }
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

RunResult RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     int timeout_ms) {
  Spawned s = Spawn(argv, env);
  RunResult r;
  r.out = ReadAll(s.out_fd, timeout_ms);
  close(s.out_fd);
  r.code = WaitExit(s.pid, timeout_ms);
  return r;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    n += line.find(needle) != std::string::npos;
  return n;
}

void AgentTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = std::filesystem::temp_directory_path() /
         ("agent-" + std::string(info->test_suite_name()) + "-" + std::to_string(getpid()) + "-" +
          info->name());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

void AgentTest::TearDown() {
  std::filesystem::remove_all(dir_);
}

void AgentTest::Write(const std::string& name, const std::string& content) {
  std::ofstream(dir_ / name) << content;
}

std::string AgentTest::Policy(const std::string& json) {
  std::string path = P("policy.json");
  std::ofstream(path) << json;
  return path;
}

RunResult AgentTest::Agent(const std::string& policy, std::vector<std::string> workload,
                           std::vector<std::string> extra, int timeout_ms) {
  std::vector<std::string> argv = {AgentBin(),       "--policy",        policy, "--events",
                                   P("events.json"), "--events-format", "json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--");
  argv.insert(argv.end(), workload.begin(), workload.end());
  return RunProgram(argv, {}, timeout_ms);
}

RaceCounts RunOpenRace(const std::vector<std::string>& prefix, const std::string& allowed,
                       const std::string& denied, long n, int timeout_ms) {
  std::vector<std::string> argv = prefix;
  for (const std::string& a :
       {TestProgram("workload_probe"), std::string("race"), allowed, denied, std::to_string(n)})
    argv.push_back(a);
  RunResult r = RunProgram(argv, {}, timeout_ms);
  RaceCounts c;
  c.out = r.out;
  c.parsed =
      r.code == 0 && std::sscanf(r.out.c_str(), "allowed=%ld denied=%ld refused=%ld other=%ld",
                                 &c.allowed, &c.denied, &c.refused, &c.other) == 4;
  return c;
}

}  // namespace portcullis::agent::test
