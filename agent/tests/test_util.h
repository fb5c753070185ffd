// Helpers for the agent's tests: run real programs (the agent binary, the small
// C workloads in tests/programs) with a deadline, capture their output.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace portcullis::agent::test {

std::string AgentBin();                         // build/bin/portcullis-agent
std::string TestProgram(const std::string& n);  // build/tests/agent/<n>

struct Spawned {
  pid_t pid = -1;
  int out_fd = -1;  // the child's stdout (read end)
};
// fork + execve with the test's environment overridden by `env`; stdout
// (and stderr too with `merge_stderr`) piped.
Spawned Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
              bool merge_stderr = false);
// One line from `fd` (without the newline), "" on EOF or after `timeout_ms`.
std::string ReadLine(int fd, int timeout_ms);
// Everything until EOF or the deadline.
std::string ReadAll(int fd, int timeout_ms);
// The exit code (0-255, 128+signal for a signal) or -1 after `timeout_ms`, in
// which case the process is killed.
int WaitExit(pid_t pid, int timeout_ms);

struct RunResult {
  int code = -1;
  std::string out;
};
RunResult RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                     int timeout_ms = 20000);

// The whole file ("" if it cannot be read).
std::string ReadFile(const std::filesystem::path& p);
// How many lines of `text` contain `needle`.
int CountLines(const std::string& text, const std::string& needle);

// A test with its own directory (removed afterwards) and the agent run on a
// policy written there, its events as JSON lines in dir/events.json.
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override;  // creates dir_ (named after the test)
  void TearDown() override;

  void Write(const std::string& name, const std::string& content);
  std::string P(const std::string& name) const { return (dir_ / name).string(); }
  // Writes dir/policy.json; returns its path.
  std::string Policy(const std::string& json);
  // The agent with `policy` (and `extra` options) running `workload`.
  RunResult Agent(const std::string& policy, std::vector<std::string> workload,
                  std::vector<std::string> extra = {}, int timeout_ms = 20000);
  std::string Events() const { return ReadFile(dir_ / "events.json"); }

  std::filesystem::path dir_;
};

// The race of a second thread against the path buffer (workload_probe race):
// `n` opens of one buffer flipped between `allowed` and `denied`, run as
// `prefix` + the probe's arguments (prefix empty: without the agent).
struct RaceCounts {
  bool parsed = false;
  long allowed = -1, denied = -1, refused = -1, other = -1;
  std::string out;
};
RaceCounts RunOpenRace(const std::vector<std::string>& prefix, const std::string& allowed,
                       const std::string& denied, long n, int timeout_ms);

}  // namespace portcullis::agent::test
