// The agent's init: it starts the workload as its child, forwards signals to
// it, reaps every child that ends up with the agent (as PID 1 of a container,
// or as a child subreaper when it is not), and reports the workload's exit
// status the way a shell does (the code, or 128 + the signal).
//
//   StatusOr<std::unique_ptr<Init>> init = Init::Create();   // before any thread
//   WorkloadSpec spec{.path = "/bin/app", .argv = {"app"}, .env = env};
//   if (Status s = (*init)->Start(spec); !s.ok()) ...
//   int code = (*init)->Run();                               // until the workload exits
//   return code;
//
// Signals: every catchable signal except the synchronous ones (SIGSEGV,
// SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT) and SIGPIPE, SIGTTIN,
// SIGTTOU (ignored by the agent) is blocked and read from a signalfd: SIGCHLD
// reaps, every other one is sent to the workload. The workload starts with an
// empty mask and default dispositions. A blocked signal is queued even for
// PID 1, so `kill 1` from inside the container reaches the workload.
//
// Owns the signalfd, the workload's pid and the seccomp listener of its
// filter; single-threaded: Create, Start, Watch and Run are called by the
// agent's main thread.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::agent {

class FilterProgram;

struct WorkloadSpec {
  std::string path;  // the executable (ResolveExecutable)
  std::vector<std::string> argv;
  std::vector<std::string> env;
  // Installed by the child right before execve (NO_NEW_PRIVS, no capability
  // needed). When it sends syscalls to the agent (notifies()), the child
  // installs it with SECCOMP_FILTER_FLAG_NEW_LISTENER and the listener
  // reaches the agent (listener_fd()) before the child makes another call.
  const FilterProgram* filter = nullptr;
  // The workload gets its own process group and, when stdin is a terminal,
  // the terminal's foreground: ^C goes to it, not to the agent.
  bool own_process_group = true;
};

// `name` as execvp would find it: as given if it holds a '/', else the first
// executable regular file in the colon-separated `path_var` (a default when
// empty).
StatusOr<std::string> ResolveExecutable(const std::string& name, const std::string& path_var);

// 0-255 from a wait status: the exit code, or 128 + the terminating signal.
int ExitCodeOf(int wait_status);

class Init {
 public:
  static StatusOr<std::unique_ptr<Init>> Create();
  ~Init();
  Init(const Init&) = delete;
  Init& operator=(const Init&) = delete;

  // Forks and execs the workload. An exec failure is reported by Run (the
  // workload then exits 127 for a missing program, 126 otherwise).
  Status Start(const WorkloadSpec& spec);
  // Forwards signals and reaps children until the workload has exited;
  // returns the agent's exit code (ExitCodeOf the workload's status).
  int Run();
  // Also waits for `fd` in Run and calls `on_readable` when it is; dropped
  // when it hangs up.
  void Watch(int fd, std::function<void()> on_readable);
  // Also waits, in Run, for the descriptors `add` appends before each wait
  // (it returns the longest wait in ms, -1 for no limit); `ready` then gets
  // them back with their revents (all 0 after a timeout), after the Watch
  // callback.
  void WatchMore(std::function<int(std::vector<pollfd>*)> add,
                 std::function<void(const std::vector<pollfd>&)> ready) {
    add_more_ = std::move(add);
    on_more_ = std::move(ready);
  }
  // Run calls `hook` with every signal it receives other than SIGCHLD (and
  // the sender's pid, ssi_pid: 0 from outside the PID namespace), on Run's
  // thread, between two calls of the Watch callback; the signal is forwarded
  // to the workload unless the hook returns true (consumed).
  void OnSignal(std::function<bool(int sig, pid_t sender)> hook) { on_signal_ = std::move(hook); }

  pid_t workload_pid() const { return workload_pid_; }
  // The seccomp listener of the workload's filter (owned by Init), -1 if none.
  int listener_fd() const { return listener_fd_; }
  // Children other than the workload reaped so far (orphans).
  std::uint64_t orphans_reaped() const { return orphans_reaped_; }

 private:
  Init() = default;
  // Reaps every exited child; true once the workload is among them.
  bool Reap();

  struct Handoff;
  Status WaitForListener();

  int signal_fd_ = -1;
  int listener_fd_ = -1;
  Handoff* handoff_ = nullptr;  // a MAP_SHARED page the child writes to
  int watch_fd_ = -1;
  std::function<void()> on_watch_;
  std::function<int(std::vector<pollfd>*)> add_more_;
  std::function<void(const std::vector<pollfd>&)> on_more_;
  std::function<bool(int, pid_t)> on_signal_;
  int exec_error_fd_ = -1;  // read end of the CLOEXEC pipe the child reports exec errors on
  pid_t workload_pid_ = -1;
  std::optional<int> workload_status_;
  std::string workload_path_;
  std::uint64_t orphans_reaped_ = 0;
};

}  // namespace portcullis::agent
