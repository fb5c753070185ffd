// Helpers for the agent's tests: run real programs (the agent binary, the small
// C workloads in tests/programs) with a deadline, capture their output.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace portcullis::agent::test {

std::string AgentBin();                         // build/bin/portcullis-agent
std::string TestProgram(const std::string& n);  // build/tests/agent/<n>

struct Spawned {
  pid_t pid = -1;
  int out_fd = -1;  // the child's stdout (read end)
};
// fork + execve with the test's environment overridden by `env`; stdout piped.
Spawned Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
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

}  // namespace portcullis::agent::test
