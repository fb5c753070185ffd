#include "portcullis/agent/init.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <new>
#include <vector>

#include "portcullis/agent/agent_log.h"
#include "portcullis/agent/bpf_filter.h"

namespace portcullis::agent {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool Synchronous(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
         sig == SIGSYS || sig == SIGABRT;
}

// The signals the agent forwards (all of them arrive through the signalfd,
// SIGCHLD included, which is handled rather than forwarded).
sigset_t ForwardedSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || Synchronous(sig)) continue;
    if (sig == SIGPIPE || sig == SIGTTIN || sig == SIGTTOU) continue;
    // glibc reserves 32 and 33 for itself; sigaddset refuses them.
    sigaddset(&set, sig);
  }
  return set;
}

std::string ErrnoText(int e) {
  return std::strerror(e);
}

}  // namespace

// How the listener reaches the agent. The child is cloned with CLONE_FILES:
// it shares the agent's descriptor table until its execve (which unshares
// it; the listener is close-on-exec there), so the listener it creates is the
// agent's at once. Only its number travels, through this shared page: a plain
// store, where sending it with sendmsg(SCM_RIGHTS) could deadlock (sendmsg
// itself may be a syscall the new filter sends to the not-yet-listening
// agent).
struct Init::Handoff {
  std::atomic<std::uint32_t> state{0};  // kPending, kListening, kFailed
  int listener = -1;
  int error = 0;  // errno of a failed install or execve
};
namespace {
constexpr std::uint32_t kPending = 0, kListening = 1, kFailed = 2;

void FutexWake(std::atomic<std::uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}
}  // namespace

StatusOr<std::string> ResolveExecutable(const std::string& name, const std::string& path_var) {
  if (name.empty()) return InvalidArgumentError("empty command");
  if (name.find('/') != std::string::npos) return name;
  std::string_view rest = path_var;
  if (rest.empty()) rest = kDefaultPath;
  while (true) {
    std::size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return NotFoundError(name + ": not found in PATH");
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;  // stopped or continued: not a final status
}

StatusOr<std::unique_ptr<Init>> Init::Create() {
  std::unique_ptr<Init> init(new Init());
  sigset_t set = ForwardedSet();
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
    return InternalError("sigprocmask: " + ErrnoText(errno));
  }
  for (int sig : {SIGPIPE, SIGTTIN, SIGTTOU})
    ::signal(sig, SIG_IGN);
  init->signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (init->signal_fd_ < 0) return InternalError("signalfd: " + ErrnoText(errno));
  // Not PID 1 (tests, `docker run --init`): orphans of the workload come to us
  // anyway, so they are reaped the same way.
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return InternalError("PR_SET_CHILD_SUBREAPER: " + ErrnoText(errno));
  }
  return init;
}

Init::~Init() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (exec_error_fd_ >= 0) ::close(exec_error_fd_);
  if (listener_fd_ >= 0) ::close(listener_fd_);
  if (handoff_ != nullptr) munmap(handoff_, sizeof(Handoff));
}

void Init::Watch(int fd, std::function<void()> on_readable) {
  watch_fd_ = fd;
  on_watch_ = std::move(on_readable);
}

Status Init::Start(const WorkloadSpec& spec) {
  if (workload_pid_ > 0) return FailedPreconditionError("the workload was already started");
  if (spec.argv.empty()) return InvalidArgumentError("empty argv");
  // Everything the child needs is prepared here: it must not allocate.
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* path = spec.path.c_str();
  const FilterProgram* filter = spec.filter;
  const bool listen = filter != nullptr && filter->notifies();
  int pipe_fds[2] = {-1, -1};
  Handoff* h = nullptr;
  if (listen) {
    void* page =
        mmap(nullptr, sizeof(Handoff), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return InternalError("mmap: " + ErrnoText(errno));
    h = new (page) Handoff();
    handoff_ = h;
  } else if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return InternalError("pipe2: " + ErrnoText(errno));
  }
  const pid_t parent = getpid();
  const bool tty =
      spec.own_process_group && isatty(STDIN_FILENO) == 1 && tcgetpgrp(STDIN_FILENO) == getpgrp();

  // A fork, sharing the descriptor table when the listener must come back.
  pid_t pid =
      listen ? static_cast<pid_t>(syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0)) : fork();
  if (pid < 0) {
    int e = errno;
    if (pipe_fds[0] >= 0) {
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
    }
    return UnavailableError("fork: " + ErrnoText(e));
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only from here to execve. (With
    // CLONE_FILES, closing a descriptor would close the agent's: none is.)
    if (!listen) ::close(pipe_fds[0]);
    int err = 0;
    if (spec.own_process_group) {
      setpgid(0, 0);
      // SIGTTOU is still ignored here, so a background group may take the
      // terminal.
      if (tty) tcsetpgrp(STDIN_FILENO, getpid());
    }
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Tests run the agent as a plain process: take the workload down with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(126);
    if (filter != nullptr) {
      int r = InstallFilter(*filter, listen ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
      if (r < 0) {
        err = -r;
      } else if (listen) {
        h->listener = r;
        h->state.store(kListening, std::memory_order_release);
        FutexWake(&h->state);
      }
    }
    if (err == 0) {
      execve(path, argv.data(), envp.data());
      err = errno;
    }
    // Tell the parent why; a short write is as good as none.
    if (listen) {
      h->error = err;
      h->state.store(kFailed, std::memory_order_release);
      FutexWake(&h->state);
    } else {
      ssize_t ignored = ::write(pipe_fds[1], &err, sizeof(err));
      (void)ignored;
    }
    _exit(err == ENOENT ? 127 : 126);
  }
  if (!listen) {
    ::close(pipe_fds[1]);
    exec_error_fd_ = pipe_fds[0];
  }
  if (spec.own_process_group) setpgid(pid, pid);  // both sides, whoever runs first
  workload_pid_ = pid;
  workload_path_ = spec.path;
  log::Debug("workload started", {{"pid", std::to_string(pid)}, {"path", spec.path}});
  if (listen) return WaitForListener();
  return OkStatus();
}

Status Init::WaitForListener() {
  // Bounded: a child that dies before installing its filter is reaped by Run.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    std::uint32_t state = handoff_->state.load(std::memory_order_acquire);
    if (state == kListening || (state == kFailed && handoff_->listener >= 0)) {
      listener_fd_ = handoff_->listener;
      return OkStatus();
    }
    if (state == kFailed) return OkStatus();  // Run reports the child's error
    if (std::chrono::steady_clock::now() > deadline) {
      return DeadlineExceededError("the workload did not install its filter");
    }
    timespec wait{0, 20 * 1000 * 1000};
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&handoff_->state), FUTEX_WAIT, state, &wait,
            nullptr, 0);
  }
}

bool Init::Reap() {
  while (true) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) break;
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nobody left
    }
    if (pid == workload_pid_) {
      workload_status_ = status;
    } else {
      ++orphans_reaped_;
    }
  }
  return workload_status_.has_value();
}

int Init::Run() {
  if (workload_pid_ <= 0) Fatal("Init::Run before Start");
  bool reap = true;  // a SIGCHLD may have come before Run
  std::vector<pollfd> fds, more;
  while (!(reap && Reap())) {
    reap = false;
    fds = {{signal_fd_, POLLIN, 0}, {watch_fd_, POLLIN, 0}, {exec_error_fd_, POLLIN, 0}};
    int timeout = -1;
    if (add_more_) {
      more.clear();
      timeout = add_more_(&more);
      fds.insert(fds.end(), more.begin(), more.end());
    }
    int n = poll(fds.data(), fds.size(), timeout);  // negative descriptors are skipped
    if (n < 0) {
      if (errno == EINTR) continue;
      Fatal("poll: " + ErrnoText(errno));
    }
    if (watch_fd_ >= 0 && fds[1].revents != 0) {
      if (fds[1].revents & POLLIN) {
        on_watch_();
      } else {
        watch_fd_ = -1;  // POLLHUP: nobody uses the filter any more
      }
    }
    if (exec_error_fd_ >= 0 && fds[2].revents != 0) {
      int err = 0;
      ssize_t r = ::read(exec_error_fd_, &err, sizeof(err));
      if (r == sizeof(err)) {
        log::Error("cannot start the workload",
                   {{"path", workload_path_}, {"error", ErrnoText(err)}});
      }
      ::close(exec_error_fd_);  // EOF: the exec succeeded
      exec_error_fd_ = -1;
    }
    if (on_more_ && (!more.empty() || timeout >= 0)) {
      std::copy(fds.begin() + 3, fds.end(), more.begin());
      on_more_(more);
    }
    if (fds[0].revents == 0) continue;
    signalfd_siginfo info[16];
    ssize_t r = ::read(signal_fd_, info, sizeof(info));
    if (r < 0) continue;  // EAGAIN, EINTR
    for (std::size_t i = 0; i < static_cast<std::size_t>(r) / sizeof(info[0]); ++i) {
      int sig = static_cast<int>(info[i].ssi_signo);
      if (sig == SIGCHLD) {
        reap = true;  // Reap() at the top of the loop
        continue;
      }
      if (on_signal_ && on_signal_(sig, static_cast<pid_t>(info[i].ssi_pid))) continue;
      log::Debug("forwarding signal", {{"signal", std::to_string(sig)}});
      if (::kill(workload_pid_, sig) != 0 && errno != ESRCH) {
        log::Warn("cannot forward signal",
                  {{"signal", std::to_string(sig)}, {"error", ErrnoText(errno)}});
      }
    }
  }
  if (handoff_ != nullptr && handoff_->state.load() == kFailed && handoff_->error != 0) {
    log::Error("cannot start the workload",
               {{"path", workload_path_}, {"error", ErrnoText(handoff_->error)}});
  }
  return ExitCodeOf(*workload_status_);
}

}  // namespace portcullis::agent
