#include "portcullis/agent/supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>

#include "portcullis/agent/agent_log.h"
#include "portcullis/agent/bpf_filter.h"
#include "portcullis/common/ids.h"
#include "portcullis/policy/compiler.h"

namespace portcullis::agent {

using policy::Action;
using policy::Category;
using policy::Decision;
using policy::FileOp;

enum class Supervisor::Kind { kOpen, kPathOp, kExec, kNetwork, kState, kOther };

struct Supervisor::Call {
  std::uint64_t id = 0;
  int nr = -1;
  std::string name;
  std::array<std::uint64_t, 6> args{};
  Target target;
  Credentials creds;
  std::string program;
  bool program_read = false;
  const v1::SyscallEntry* entry = nullptr;
  bool sampled = false;  // recorded even if allowed (SupervisorOptions::sample_allows)
};

struct Supervisor::Verdict {
  Decision decision;
  bool from_syscall_rule = false;
  // Event target.
  std::string path, operation, new_path;
  bool network = false;
  v1::NetworkTarget net;
};

namespace {

// The file syscalls other than opens: where their path (and second path)
// are, and what they do.
struct PathOpSpec {
  int dirfd = -1;  // argument index of the dirfd, -1: AT_FDCWD
  int path = 0;
  FileOp op = FileOp::kWrite;
  bool follow = false;  // the operation follows a final symlink
  int dirfd2 = -1, path2 = -1;
  FileOp op2 = FileOp::kCreate;
};

const std::unordered_map<std::string, PathOpSpec>& PathOps() {
  using F = FileOp;
  static const std::unordered_map<std::string, PathOpSpec> kOps = {
      {"truncate", {-1, 0, F::kWrite, true}},
      {"unlink", {-1, 0, F::kDelete}},
      {"unlinkat", {0, 1, F::kDelete}},
      {"rmdir", {-1, 0, F::kDelete}},
      {"rename", {-1, 0, F::kRename, false, -1, 1, F::kRename}},
      {"renameat", {0, 1, F::kRename, false, 2, 3, F::kRename}},
      {"renameat2", {0, 1, F::kRename, false, 2, 3, F::kRename}},
      {"mkdir", {-1, 0, F::kCreate}},
      {"mkdirat", {0, 1, F::kCreate}},
      {"mknod", {-1, 0, F::kCreate}},
      {"mknodat", {0, 1, F::kCreate}},
      {"symlink", {-1, 1, F::kCreate}},
      {"symlinkat", {1, 2, F::kCreate}},
      // A hard link gives the file a second name: both names count.
      {"link", {-1, 0, F::kCreate, false, -1, 1, F::kCreate}},
      {"linkat", {0, 1, F::kCreate, false, 2, 3, F::kCreate}},
      {"chmod", {-1, 0, F::kChmod, true}},
      {"fchmodat", {0, 1, F::kChmod, true}},
      {"fchmodat2", {0, 1, F::kChmod, true}},  // (Linux 6.6: flags)
      {"chown", {-1, 0, F::kChmod, true}},
      {"lchown", {-1, 0, F::kChmod}},
      {"fchownat", {0, 1, F::kChmod, true}},
  };
  return kOps;
}

// deny enforced > deny recorded > monitor > allow.
int Severity(const Decision& d) {
  if (d.action == Action::kDeny) return d.enforced ? 3 : 2;
  return d.action == Action::kMonitor ? 1 : 0;
}

std::string Dirname(const std::string& p) {
  std::size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}
std::string Basename(const std::string& p) {
  std::size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
    return *this;
  }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// A directory descriptor, owned, or borrowed from the supervisor (its own
// root, kept open while it is the workload's too: no dup, no close).
class DirFd {
 public:
  void Own(int fd) {
    owned_ = Fd(fd);
    fd_ = fd;
  }
  void Borrow(int fd) {
    owned_ = Fd();
    fd_ = fd;
  }
  int get() const { return fd_; }

 private:
  Fd owned_;
  int fd_ = -1;
};

long OpenAt2(int dirfd, const std::string& path, std::uint64_t flags, std::uint64_t mode,
             std::uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = resolve;
  long r = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
  return r < 0 ? -errno : r;
}

// Path resolution done by the agent, component by component, for what the
// kernel cannot resolve on the workload's behalf from the agent's side:
// "/proc/self" (and "thread-self") met anywhere, including through symlinks
// such as /dev/fd -> /proc/self/fd, must mean the workload; magic links in a
// /proc/PID/fd directory are followed (they name that process's descriptors).
// Returns the O_PATH descriptor of the object, or an errno and, for a missing
// last component, its directory and name (for a create).
struct Resolved {
  int fd = -1;      // O_PATH, owned by the caller
  int error = 0;    // when fd < 0
  int parent = -1;  // O_PATH of the directory when only the last name is missing
  std::string name;
};

bool IsProcFdDir(const std::string& p) {
  // /proc/<n>/fd or /proc/<n>/task/<m>/fd
  if (p.rfind("/proc/", 0) != 0 || p.size() < 9 || p.compare(p.size() - 3, 3, "/fd") != 0) {
    return false;
  }
  std::string mid = p.substr(6, p.size() - 9);
  std::size_t task = mid.find("/task/");
  auto digits = [](std::string_view v) {
    return !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (task == std::string::npos) return digits(mid);
  return digits(std::string_view(mid).substr(0, task)) &&
         digits(std::string_view(mid).substr(task + 6));
}

Resolved ResolveInTarget(int root_fd, int base_fd, const std::string& path, bool follow_last,
                         pid_t tgid, pid_t tid) {
  Resolved out;
  std::deque<std::string> parts;
  auto push_front = [&](const std::string& p) {
    std::vector<std::string> segs;
    std::size_t i = 0;
    while (i <= p.size()) {
      std::size_t slash = p.find('/', i);
      if (slash == std::string::npos) slash = p.size();
      if (slash > i) segs.push_back(p.substr(i, slash - i));
      i = slash + 1;
    }
    parts.insert(parts.begin(), segs.begin(), segs.end());
  };
  struct stat root_st {};
  if (fstat(root_fd, &root_st) != 0) return {.error = errno};
  Fd cur(fcntl(!path.empty() && path.front() == '/' ? root_fd : base_fd, F_DUPFD_CLOEXEC, 0));
  if (cur.get() < 0) return {.error = errno};
  push_front(path);
  int links = 0;
  while (!parts.empty()) {
    std::string comp = parts.front();
    parts.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      struct stat st {};
      if (fstat(cur.get(), &st) == 0 && st.st_dev == root_st.st_dev &&
          st.st_ino == root_st.st_ino) {
        continue;  // ".." of the root is the root
      }
      Fd up(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (up.get() < 0) return {.error = errno};
      cur = std::move(up);
      continue;
    }
    if (comp == "self" || comp == "thread-self") {
      if (PathOfFd(cur.get()) == "/proc") {
        if (comp == "thread-self") {
          parts.push_front(std::to_string(tid));
          parts.push_front("task");
        }
        comp = std::to_string(tgid);
      }
    }
    const bool last = parts.empty();
    Fd next(::openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      int e = errno;
      if (e == ENOENT && last) return {.error = e, .parent = cur.release(), .name = comp};
      return {.error = e};
    }
    struct stat st {};
    if (fstat(next.get(), &st) != 0) return {.error = errno};
    if (!S_ISLNK(st.st_mode) || (last && !follow_last)) {
      cur = std::move(next);
      continue;
    }
    if (++links > 40) return {.error = ELOOP};
    if (IsProcFdDir(PathOfFd(cur.get()))) {
      // A magic link: the descriptor itself, not its text.
      Fd target(::openat(cur.get(), comp.c_str(), O_PATH | O_CLOEXEC));
      if (target.get() < 0) return {.error = errno};
      cur = std::move(target);
      continue;
    }
    char buf[kMaxPathBytes + 1];
    ssize_t n = ::readlinkat(next.get(), "", buf, sizeof(buf) - 1);
    if (n <= 0) return {.error = n < 0 ? errno : ENOENT};
    std::string text(buf, static_cast<std::size_t>(n));
    push_front(text);
    if (text.front() == '/') {
      Fd root(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
      if (root.get() < 0) return {.error = errno};
      cur = std::move(root);
    }
  }
  out.fd = cur.release();
  return out;
}

// Whether `real` is in the /proc directory of the agent (`agent`), or of one
// of its threads (/proc/TID of a thread other than the first is reachable by
// name too): what the agent would open there as itself is never the
// workload's.
bool InAgentsProc(std::string_view real, pid_t agent) {
  constexpr std::string_view kProc = "/proc/";
  if (real.substr(0, kProc.size()) != kProc) return false;
  std::string_view rest = real.substr(kProc.size());
  std::size_t end = rest.find('/');
  std::string_view id = rest.substr(0, end);
  if (id.empty() || id.size() > 10 ||
      id.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  if (id == std::to_string(agent)) return true;
  std::string task = "/proc/" + std::to_string(agent) + "/task/" + std::string(id);
  return ::access(task.c_str(), F_OK) == 0;
}

// An O_PATH descriptor of `path` (relative to `base_fd` unless absolute) as
// the workload resolves it, or -errno: the kernel's lookup, and the agent's
// own where the kernel's would be the agent's view (see ResolveInTarget).
long LookupInTarget(const Target& t, pid_t tgid, pid_t agent, int base_fd, const std::string& path,
                    bool follow) {
  const bool absolute = !path.empty() && path.front() == '/';
  long r = OpenAt2(base_fd, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0,
                   RESOLVE_NO_MAGICLINKS | (absolute ? RESOLVE_IN_ROOT : 0));
  bool again = r == -ELOOP || r == -ENOENT;
  if (r >= 0) {
    if (InAgentsProc(PathOfFd(static_cast<int>(r)), agent)) {
      ::close(static_cast<int>(r));
      again = true;
    }
  }
  if (!again) return r;
  auto root = t.OpenRoot();
  if (!root.ok()) return -EACCES;
  Fd root_fd(*root);
  Resolved x = ResolveInTarget(root_fd.get(), base_fd, path, follow, tgid, t.tid);
  if (x.parent >= 0) ::close(x.parent);
  return x.fd >= 0 ? x.fd : -x.error;
}

// The calling thread takes the workload thread's filesystem credentials
// (raw system calls: glibc's setgroups/setfsuid would apply to every thread),
// its effective capabilities (no more than the agent's: a root workload that
// dropped CAP_DAC_OVERRIDE must not open through the agent what it could not
// open itself) and its umask; everything is restored on destruction. Nothing
// changes when the workload's credentials are the agent's own (the common
// case: both run as the container's user). An agent without
// CAP_SETUID/CAP_SETGID cannot take other credentials: ok() is false.
class CredentialScope {
 public:
  // The agent's own credentials, read once (they never change).
  struct Own {
    uid_t fsuid;
    gid_t fsgid;
    std::vector<gid_t> groups;  // sorted
    mode_t umask;
    __user_cap_data_struct caps[2];  // effective, permitted, inheritable
  };
  static bool SetCaps(const __user_cap_data_struct* data) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    return syscall(SYS_capset, &header, data) == 0;
  }
  static const Own& Agent() {
    static const Own kOwn = [] {
      Own o;
      o.fsuid = static_cast<uid_t>(syscall(SYS_setfsuid, -1));
      o.fsgid = static_cast<gid_t>(syscall(SYS_setfsgid, -1));
      int n = getgroups(0, nullptr);
      o.groups.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      if (n > 0) getgroups(n, o.groups.data());
      std::sort(o.groups.begin(), o.groups.end());
      o.umask = ::umask(0);
      ::umask(o.umask);
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      std::memset(o.caps, 0, sizeof(o.caps));
      syscall(SYS_capget, &header, o.caps);
      return o;
    }();
    return kOwn;
  }

  explicit CredentialScope(const Credentials& c, bool with_umask = true) {
    const Own& own = Agent();
    if (with_umask && c.umask != own.umask) {
      ::umask(c.umask);
      umask_changed_ = true;
    }
    std::vector<gid_t> want = c.groups;
    std::sort(want.begin(), want.end());
    if (want != own.groups) {
      if (syscall(SYS_setgroups, c.groups.size(), c.groups.data()) != 0) return;
      groups_changed_ = true;
    }
    if (c.fsgid != own.fsgid) {
      syscall(SYS_setfsgid, c.fsgid);
      gid_changed_ = true;
      if (static_cast<gid_t>(syscall(SYS_setfsgid, -1)) != c.fsgid) return;
    }
    if (c.fsuid != own.fsuid) {
      syscall(SYS_setfsuid, c.fsuid);
      uid_changed_ = true;
      if (static_cast<uid_t>(syscall(SYS_setfsuid, -1)) != c.fsuid) return;
    }
    // After the fsuid switch (which may already have dropped the file
    // capabilities): the thread's effective set becomes agent & workload.
    const std::uint64_t own_eff =
        own.caps[0].effective | (static_cast<std::uint64_t>(own.caps[1].effective) << 32);
    if (!uid_changed_ && (own_eff & ~c.cap_effective) == 0) {
      ok_ = true;  // the workload has every capability the agent has
      return;
    }
    __user_cap_data_struct now[2];
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    if (syscall(SYS_capget, &header, now) != 0) return;
    const std::uint32_t want_lo = now[0].effective & static_cast<std::uint32_t>(c.cap_effective);
    const std::uint32_t want_hi =
        now[1].effective & static_cast<std::uint32_t>(c.cap_effective >> 32);
    if (want_lo != now[0].effective || want_hi != now[1].effective) {
      now[0].effective = want_lo;
      now[1].effective = want_hi;
      if (!SetCaps(now)) return;
      caps_changed_ = true;
    }
    ok_ = true;
  }
  ~CredentialScope() {
    const Own& own = Agent();
    if (uid_changed_) syscall(SYS_setfsuid, own.fsuid);
    if (gid_changed_) syscall(SYS_setfsgid, own.fsgid);
    if (caps_changed_) SetCaps(own.caps);
    if (groups_changed_) syscall(SYS_setgroups, own.groups.size(), own.groups.data());
    if (umask_changed_) ::umask(own.umask);
  }
  CredentialScope(const CredentialScope&) = delete;
  CredentialScope& operator=(const CredentialScope&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  bool umask_changed_ = false, groups_changed_ = false, gid_changed_ = false, uid_changed_ = false,
       caps_changed_ = false;
};

}  // namespace

// A workload's accept that the agent carries out (HandleAccept).
struct Supervisor::PendingAccept {
  Call call;
  Fd socket;  // the agent's duplicate of the workload's socket
  ino_t inode = 0;
  bool blocking = false;
  int flags = 0;                           // accept4's
  std::uint64_t addr = 0, addrlen_at = 0;  // where the peer goes
  socklen_t room = 0;                      // the workload's *addrlen
  int proto = 0;
  Verdict base;  // inbound, allowed: for peers that are not IP addresses
};

struct Supervisor::SpareConnection {
  ino_t inode = 0;  // of the listening socket
  Fd conn;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  std::int64_t since_ms = 0;
};

Supervisor::Supervisor(int listener, std::shared_ptr<const LoadedPolicy> policy, EventRing* ring,
                       SupervisorOptions options)
    : listener_(listener), policy_(std::move(policy)), ring_(ring), options_(std::move(options)) {
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes_) != 0) {
    Fatal(std::string("SECCOMP_GET_NOTIF_SIZES: ") + std::strerror(errno));
  }
  request_.resize(std::max<std::size_t>(sizes_.seccomp_notif, sizeof(seccomp_notif)));
  DerivePolicyState();
  self_pid_ = getpid();
  CredentialScope::Agent();  // read before any switch
  self_fds_ = ::open(("/proc/" + std::to_string(self_pid_) + "/fd").c_str(),
                     O_PATH | O_DIRECTORY | O_CLOEXEC);
  // The workload's root, until it may have changed (HandleState).
  root_fd_ = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  std::string why;
  lexical_names_ = MountsMatchNamesExactly(&why);  // (target.h)
  if (!lexical_names_) {
    log::Info(
        "a mounted file system may match names regardless of case: "
        "every open reads its object's name from the kernel",
        {{"mount", why}});
  }
  // Since Linux 6.6: a notification wakes this thread on the workload
  // thread's CPU, and the answer wakes the workload on ours, instead of
  // waking an idle CPU each way (tests/bench/README.md, "agent_bench.sh").
  // Older kernels refuse the flag; everything works without it.
  constexpr unsigned long kNotifSetFlags = _IOW('!', 4, std::uint64_t);
  constexpr std::uint64_t kSyncWakeUp = 1;
  if (ioctl(listener_, kNotifSetFlags, kSyncWakeUp) != 0) {
    log::Debug("no synchronous wake-ups on the listener", {{"error", std::strerror(errno)}});
  }
}

void Supervisor::DerivePolicyState() {
  entries_.clear();
  for (const v1::SyscallEntry& e : policy_->table.syscalls()) {
    entries_[e.number()] = &e;
    // libseccomp's name for the number (not the table's text, which only
    // the number is checked against), looked up once, not per notification.
    if (names_.count(e.number()) == 0) names_[e.number()] = policy::SyscallName(e.number());
  }
  policy_id_bytes_.clear();
  auto uuid = Uuid::Parse(policy_->table.policy_id());
  if (uuid.ok()) policy_id_bytes_ = uuid->Binary();
  // Only rules that name programs consult the program (the evaluator's
  // any_program): without them it is read for recorded calls only.
  needs_program_ = false;
  for (const v1::Rule& r : policy_->table.rules())
    needs_program_ = needs_program_ || !r.any_program();
}

Supervisor::~Supervisor() {
  for (auto& [tid, fds] : procs_)
    fds.Close();
  if (self_fds_ >= 0) ::close(self_fds_);
  if (root_fd_ >= 0) ::close(root_fd_);
}

void Supervisor::ProcFds::Close() {
  for (int fd : {dir, status, pidfd})
    if (fd >= 0) ::close(fd);
}

void Supervisor::AttachProc(Target& t) {
  auto it = procs_.find(t.tid);
  if (it == procs_.end()) {
    // Threads that exited leave their entries behind: start over when full.
    constexpr std::size_t kMaxCachedThreads = 128;
    if (procs_.size() >= kMaxCachedThreads) {
      for (auto& [tid, fds] : procs_)
        fds.Close();
      procs_.clear();
    }
    // PIDFD_THREAD (O_EXCL, Linux 6.9): a pidfd of the thread itself. -1 on
    // older kernels: the credentials then come from the status file. Opened
    // first: if that thread dies and its id is reused before /proc/TID is
    // opened, the pidfd fails (ESRCH) at its first use and the entry is
    // opened again, instead of pairing a live pidfd with a dead thread's
    // /proc.
    Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, t.tid, O_EXCL)));
    char path[32];
    std::snprintf(path, sizeof(path), "/proc/%d", static_cast<int>(t.tid));
    Fd dir(::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return;
    Fd status(::openat(dir.get(), "status", O_RDONLY | O_CLOEXEC));
    if (status.get() < 0) return;
    it = procs_.emplace(t.tid, ProcFds{dir.release(), status.release(), pidfd.release()}).first;
  }
  t.proc_dir = it->second.dir;
  t.status_fd = it->second.status;
  t.pidfd = it->second.pidfd;
}

void Supervisor::ForgetProc(pid_t tid) {
  auto it = procs_.find(tid);
  if (it == procs_.end()) return;
  it->second.Close();
  procs_.erase(it);
}

std::string Supervisor::PathOf(int fd) const {
  if (self_fds_ < 0) return PathOfFd(fd);
  char leaf[16], buf[kMaxPathBytes + 1];
  std::snprintf(leaf, sizeof(leaf), "%d", fd);
  ssize_t n = ::readlinkat(self_fds_, leaf, buf, sizeof(buf) - 1);
  return n <= 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

void Supervisor::NeedProgram(Call& c) {
  if (c.program_read) return;
  c.program = c.target.Executable();
  c.program_read = true;
}

Supervisor::Kind Supervisor::KindOf(int nr) const {
  static const std::unordered_map<int, Kind> kKinds = [] {
    std::unordered_map<int, Kind> m;
    for (const char* n : {"open", "openat", "openat2", "creat"})
      m[policy::SyscallNumber(n)] = Kind::kOpen;
    for (const auto& [n, spec] : PathOps())
      m[policy::SyscallNumber(n)] = Kind::kPathOp;
    for (const char* n : {"execve", "execveat"})
      m[policy::SyscallNumber(n)] = Kind::kExec;
    for (const char* n :
         {"connect", "bind", "sendto", "sendmsg", "sendmmsg", "accept", "accept4", "listen"})
      m[policy::SyscallNumber(n)] = Kind::kNetwork;
    for (int state_nr : WorkloadStateSyscalls())
      m[state_nr] = Kind::kState;
    return m;
  }();
  auto it = kKinds.find(nr);
  return it == kKinds.end() ? Kind::kOther : it->second;
}

void Supervisor::HandleOne() {
  std::memset(request_.data(), 0, request_.size());
  auto* req = reinterpret_cast<seccomp_notif*>(request_.data());
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
    // ENOENT: the thread was interrupted (a signal) before we got it.
    if (errno != EINTR && errno != ENOENT) {
      log::Warn("SECCOMP_IOCTL_NOTIF_RECV", {{"error", std::strerror(errno)}});
    }
    return;
  }
  ++stats_.notifications;
  Call c;
  c.id = req->id;
  c.nr = req->data.nr;
  // Arguments the kernel reads as 32-bit are decided as the kernel sees them
  // (as the filter does): high garbage must not dodge an application rule.
  const std::uint32_t narrow = Int32Arguments(c.nr);
  for (int i = 0; i < 6; ++i) {
    std::uint64_t v = req->data.args[i];
    c.args[static_cast<std::size_t>(i)] = (narrow >> i) & 1 ? (v & 0xffffffffu) : v;
  }
  c.target.tid = static_cast<pid_t>(req->pid);
  auto it = entries_.find(c.nr);
  c.entry = it == entries_.end() ? nullptr : it->second;
  auto name = names_.find(c.nr);
  c.name = name != names_.end() ? name->second : policy::SyscallName(c.nr);
  AttachProc(c.target);
  c.target.known_root = root_changed_ ? -1 : root_fd_;
  auto creds = ReadCredentials(c);
  if (!creds.ok() && c.target.status_fd >= 0) {
    // A cached thread that has died; its id may belong to a new thread now.
    ForgetProc(c.target.tid);
    c.target.proc_dir = c.target.status_fd = c.target.pidfd = -1;
    AttachProc(c.target);
    creds = ReadCredentials(c);
  }
  if (!creds.ok()) {
    ++stats_.gone;
    Fail(c, EPERM);  // the thread is gone; the answer goes nowhere
    return;
  }
  c.creds = std::move(*creds);
  const Kind kind = KindOf(c.nr);
  if (options_.sample_allows != 0 && ++notifications_since_sample_ >= options_.sample_allows) {
    notifications_since_sample_ = 0;
    c.sampled = true;
  }
  // Opens read it only when they record (NeedProgram); the other families
  // are not on the hot path and keep reading it here.
  if (needs_program_ || c.sampled || kind != Kind::kOpen) NeedProgram(c);
  switch (kind) {
    case Kind::kOpen:
      return HandleOpen(c);
    case Kind::kPathOp:
      return HandlePathOp(c);
    case Kind::kExec:
      return HandleExec(c);
    case Kind::kNetwork:
      return HandleNetwork(c);
    case Kind::kState:
      return HandleState(c);
    case Kind::kOther:
      return HandleOther(c);
  }
}

namespace {

// Whether `c` may create a file, so that the workload's umask applies.
bool MayCreate(int nr, const std::array<std::uint64_t, 6>& args) {
  static const int kOpen = policy::SyscallNumber("open"), kOpenat = policy::SyscallNumber("openat"),
                   kOpenat2 = policy::SyscallNumber("openat2");
  static const std::unordered_map<int, bool> kCreates = [] {
    std::unordered_map<int, bool> m;
    for (const char* n : {"creat", "mkdir", "mkdirat", "mknod", "mknodat"})
      m[policy::SyscallNumber(n)] = true;
    return m;
  }();
  constexpr std::uint64_t kCreateFlags = O_CREAT | __O_TMPFILE;
  if (nr == kOpen) return (args[1] & kCreateFlags) != 0;
  if (nr == kOpenat) return (args[2] & kCreateFlags) != 0;
  if (nr == kOpenat2) return true;  // (the flags are behind a pointer)
  return kCreates.count(nr) != 0;
}

}  // namespace

StatusOr<Credentials> Supervisor::ReadCredentials(const Call& c) const {
  // The status file is the only source of the supplementary groups and the
  // umask; both are the agent's own until a syscall that can change them has
  // been seen (the filter sends each to the agent: HandleState), and the
  // umask only matters to a call that may create.
  if (!groups_changed_ && !(umask_changed_ && MayCreate(c.nr, c.args))) {
    // The workload's capabilities only narrow the agent's own effective set
    // (CredentialScope): an agent with none (a non-root container) does not
    // need them, nor the capget.
    const CredentialScope::Own& own = CredentialScope::Agent();
    const bool agent_has_capabilities = (own.caps[0].effective | own.caps[1].effective) != 0;
    auto id = c.target.ReadIdentity(agent_has_capabilities);
    if (id.ok()) {
      id->groups = own.groups;
      id->umask = own.umask;
      return id;
    }
    if (id.status().code() == StatusCode::kNotFound) return id.status();
  }
  return c.target.ReadCredentials();
}

void Supervisor::HandleState(Call& c) {
  // Noted before the call is let through: every notification answered
  // after this one reads what the call may change (a call of another thread
  // answered earlier ran before this one, with the old values).
  static const int kSetgroups = policy::SyscallNumber("setgroups"),
                   kUmask = policy::SyscallNumber("umask"),
                   kChroot = policy::SyscallNumber("chroot"),
                   kPivotRoot = policy::SyscallNumber("pivot_root"),
                   kClone = policy::SyscallNumber("clone"),
                   kUnshare = policy::SyscallNumber("unshare"),
                   kSetns = policy::SyscallNumber("setns"),
                   kClone3 = policy::SyscallNumber("clone3");
  bool groups = false, umask = false, root = false, mounts = false;
  if (c.nr == kSetgroups) {
    groups = true;
  } else if (c.nr == kUmask) {
    umask = true;
  } else if (c.nr == kChroot || c.nr == kPivotRoot) {
    root = true;
  } else if (c.nr == kClone) {
    // (Sent here for a namespace flag, or for the table's own clone rules.)
    groups = root = (c.args[0] & (CLONE_NEWNS | CLONE_NEWUSER)) != 0;
  } else if (c.nr == kUnshare || c.nr == kSetns || c.nr == kClone3) {  // namespaces
    groups = umask = root = mounts = true;
  } else {  // the rest of WorkloadStateSyscalls: the mount calls
    mounts = true;
  }
  auto note = [&](bool now, bool& flag, const char* what) {
    if (!now || flag) return;
    flag = true;
    log::Info("the workload may have changed its " + std::string(what) +
                  ": the agent reads it for every call from now on",
              {{"syscall", c.name}});
  };
  note(groups, groups_changed_, "supplementary groups");
  note(umask, umask_changed_, "umask");
  note(root, root_changed_, "root or mount namespace");
  if (mounts && lexical_names_) {
    lexical_names_ = false;
    log::Info(
        "the workload may have changed its mounts: every open reads its object's "
        "name from the kernel from now on",
        {{"syscall", c.name}});
  }
  HandleOther(c);
}

bool Supervisor::StillValid(const Call& c) {
  std::uint64_t id = c.id;
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0) return true;
  ++stats_.gone;
  return false;
}

void Supervisor::Continue(const Call& c) {
  seccomp_notif_resp resp{};
  resp.id = c.id;
  resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  ++stats_.allowed;
  ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void Supervisor::Succeed(const Call& c, std::int64_t value) {
  seccomp_notif_resp resp{};
  resp.id = c.id;
  resp.val = value;
  ++stats_.allowed;
  ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void Supervisor::Fail(const Call& c, int err) {
  seccomp_notif_resp resp{};
  resp.id = c.id;
  resp.error = -err;
  ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

bool Supervisor::Inject(const Call& c, int fd, bool cloexec) {
  seccomp_notif_addfd add{};
  add.id = c.id;
  add.flags = SECCOMP_ADDFD_FLAG_SEND;
  add.srcfd = static_cast<std::uint32_t>(fd);
  add.newfd_flags = cloexec ? O_CLOEXEC : 0;
  // Adds the descriptor and answers with its number in one step.
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0) {
    ++stats_.fds_injected;
    ++stats_.allowed;
    return true;
  }
  if (errno == ENOENT) return false;
  int e = errno;
  log::Warn("SECCOMP_IOCTL_NOTIF_ADDFD", {{"error", std::strerror(e)}});
  Fail(c, e == EMFILE ? EMFILE : EIO);
  return true;
}

int Supervisor::DenyErrno(const Call& c, int rule) const {
  if (rule >= 0 && rule < policy_->table.rules_size()) {
    int e = policy_->table.rules(rule).deny_errno();
    if (e > 0) return e;
  }
  if (c.entry != nullptr && c.entry->deny_errno() > 0) return c.entry->deny_errno();
  return EPERM;
}

bool Supervisor::RefuseIfDenied(const Call& c, const Verdict& v) {
  if (v.decision.action != Action::kDeny || !v.decision.enforced) return false;
  const int err = DenyErrno(c, v.decision.rule);
  ++stats_.denied;
  Fail(c, err);
  Record(c, v, -err);
  return true;
}

void Supervisor::Record(const Call& c, const Verdict& v, int result) {
  if (ring_ == nullptr || (v.decision.action == Action::kAllow && !c.sampled)) return;
  v1::Event e;
  e.set_event_id(Uuid::Random().Binary());
  e.set_time_unix_nano(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
  e.set_container_id(options_.container_id);
  e.set_image(options_.image);
  e.set_hostname(options_.hostname);
  v1::Process* p = e.mutable_process();
  p->set_pid(c.creds.tgid);
  p->set_ppid(c.creds.ppid);
  p->set_uid(c.creds.euid);
  p->set_gid(c.creds.egid);
  // (A call that did not need its program yet: read now, late.)
  p->set_executable(c.program_read ? c.program : c.target.Executable());
  for (std::string& a : c.target.Argv())
    p->add_argv(std::move(a));
  e.set_syscall(c.name);
  e.set_category(ToProto(v.decision.category));
  if (v.network) {
    *e.mutable_network() = v.net;
  } else if (!v.path.empty()) {
    v1::FileTarget* f = e.mutable_file();
    f->set_path(v.path);
    f->set_operation(v.operation);
    f->set_new_path(v.new_path);
  }
  if (v.from_syscall_rule) {
    for (std::uint64_t a : c.args)
      e.add_args(a);
  }
  e.set_rule_id(std::string(v.decision.rule_id));
  e.set_policy_id(policy_id_bytes_);
  e.set_policy_version(policy_->table.version());
  e.set_action(ToProto(v.decision.action));
  e.set_enforced(v.decision.enforced);
  e.set_result(result);
  ring_->Push(std::move(e));
}

// --- opens ---

void Supervisor::HandleOpen(Call& c) {
  int dirfd = AT_FDCWD;
  std::uint64_t path_addr = 0, flags = 0, mode = 0, resolve = 0;
  if (c.name == "open") {
    path_addr = c.args[0];
    flags = static_cast<std::uint32_t>(c.args[1]);
    mode = c.args[2];
  } else if (c.name == "creat") {
    path_addr = c.args[0];
    flags = O_CREAT | O_WRONLY | O_TRUNC;
    mode = c.args[1];
  } else if (c.name == "openat") {
    dirfd = static_cast<int>(c.args[0]);
    path_addr = c.args[1];
    flags = static_cast<std::uint32_t>(c.args[2]);
    mode = c.args[3];
  } else {  // openat2
    dirfd = static_cast<int>(c.args[0]);
    path_addr = c.args[1];
    if (c.args[3] < sizeof(open_how)) return Fail(c, EINVAL);
    open_how how{};
    if (!c.target.Read(c.args[2], &how, sizeof(how)).ok()) return Fail(c, EFAULT);
    flags = how.flags;
    mode = how.mode;
    resolve = how.resolve;
  }
  if (c.name != "openat2") {
    // What the kernel keeps of open/openat/creat arguments (openat2, which
    // the agent opens with, refuses the rest with EINVAL): the known flags,
    // only O_PATH's companions with O_PATH, the permission bits of the mode
    // and only for a create.
    constexpr std::uint64_t kLargeFile = 0100000;  // the kernel's (0 in glibc's x86-64 headers)
    constexpr std::uint64_t kValidFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC |
                                          O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_ASYNC |
                                          O_DIRECT | kLargeFile | O_DIRECTORY | O_NOFOLLOW |
                                          O_NOATIME | O_CLOEXEC | O_PATH | __O_TMPFILE;
    constexpr std::uint64_t kPathFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    flags &= kValidFlags;
    if (flags & O_PATH) flags &= kPathFlags;
    mode = (flags & (O_CREAT | __O_TMPFILE)) != 0 ? (mode & 07777) : 0;
  }
  auto path = c.target.ReadString(path_addr);
  if (!StillValid(c)) return;
  if (!path.ok()) {
    return Fail(c, path.status().code() == StatusCode::kPermissionDenied         ? EACCES
                   : path.status().message().find("longer") != std::string::npos ? ENAMETOOLONG
                                                                                 : EFAULT);
  }
  if (path->empty()) return Fail(c, ENOENT);

  // Where the path starts, in the workload's context. Under the workload's
  // own RESOLVE_IN_ROOT an absolute path starts at the dirfd, its root for
  // this lookup; under RESOLVE_BENEATH the kernel refuses it (EXDEV), from
  // the dirfd too.
  const bool dirfd_scoped = (resolve & (RESOLVE_IN_ROOT | RESOLVE_BENEATH)) != 0;
  bool absolute = path->front() == '/' && !dirfd_scoped;
  DirFd base_fd;
  auto open_root = [&]() {
    if (c.target.known_root >= 0) {
      base_fd.Borrow(c.target.known_root);
      return true;
    }
    auto root = c.target.OpenRoot();
    if (root.ok()) base_fd.Own(*root);
    return root.ok();
  };
  if (absolute) {
    if (!open_root()) return Fail(c, EACCES);
  } else {
    auto base = c.target.OpenDir(dirfd);
    if (!base.ok()) return Fail(c, base.status().message() == "EBADF" ? EBADF : EACCES);
    base_fd.Own(*base);
  }
  std::string request = *path;
  // "/proc/self" means the workload, not the agent that resolves the path.
  // (An absolute path is normalized on its own: the base's name, a readlink,
  // is only needed for a relative one.)
  const std::string base_path = absolute ? std::string() : PathOfFd(base_fd.get());
  // (Under the workload's RESOLVE_IN_ROOT or RESOLVE_BENEATH the path stays
  // within the dirfd: a leading "/" is the dirfd's, and ".." stops there.)
  std::string lexical = JoinAndNormalize(
      base_path, dirfd_scoped ? JoinAndNormalize("/", request).substr(1) : request);
  // Whether the lexical path is the real one for a lookup that crosses no
  // symlink (RESOLVE_NO_SYMLINKS): the workload's root is the agent's, it
  // set no RESOLVE_* flag of its own, every file system mounted matches
  // names exactly (lexical_names_), and a relative path's base has a real
  // name (not "... (deleted)", not outside the root).
  constexpr std::string_view kDeleted = " (deleted)";
  const bool lexical_is_real =
      resolve == 0 && c.target.known_root >= 0 && lexical_names_ &&
      (absolute ||
       (!base_path.empty() && base_path.front() == '/' &&
        !(base_path.size() >= kDeleted.size() &&
          base_path.compare(base_path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)));
  const std::string tgid = std::to_string(c.creds.tgid);
  for (const std::string& self : {std::string("/proc/self"), std::string("/proc/thread-self")}) {
    if (lexical == self || lexical.rfind(self + "/", 0) == 0) {
      std::string repl = self == "/proc/self"
                             ? "/proc/" + tgid
                             : "/proc/" + tgid + "/task/" + std::to_string(c.target.tid);
      lexical = repl + lexical.substr(self.size());
      // Only a literal prefix of an absolute request is replaced; the rest
      // keeps its own components: a ".." after a magic link is the kernel's
      // to resolve, from where the link leads, not a lexical one. Any other
      // spelling reaches the agent's /proc/self in the kernel's lookup,
      // which then resolves it as the workload's (ResolveInTarget).
      if (absolute && (request == self || request.rfind(self + "/", 0) == 0)) {
        request = repl + request.substr(self.size());
      }
    }
  }

  std::uint32_t ops = 0;
  switch (flags & O_ACCMODE) {
    case O_WRONLY:
      ops = static_cast<std::uint32_t>(FileOp::kWrite);
      break;
    case O_RDWR:
      ops = static_cast<std::uint32_t>(FileOp::kRead) | static_cast<std::uint32_t>(FileOp::kWrite);
      break;
    default:
      ops = static_cast<std::uint32_t>(FileOp::kRead);
  }
  if (flags & O_TRUNC) ops |= static_cast<std::uint32_t>(FileOp::kWrite);

  const bool cloexec = (flags & O_CLOEXEC) != 0;
  const bool nonblock = (flags & O_NONBLOCK) != 0;
  // Our own descriptors are close-on-exec and never become our terminal.
  const std::uint64_t own_flags = (flags | O_CLOEXEC | O_NOCTTY);
  // The lookup: an O_PATH descriptor, which opens nothing (no truncation, no
  // device open, no FIFO wait) before the decision.
  // O_CREAT|O_EXCL never follows a final symlink: it fails on one (EEXIST),
  // wherever it points.
  const bool no_follow = (flags & O_NOFOLLOW) != 0 || ((flags & O_CREAT) && (flags & O_EXCL));
  const std::uint64_t lookup_flags =
      O_PATH | O_CLOEXEC | (no_follow ? O_NOFOLLOW : 0) | (flags & O_DIRECTORY);
  // The kernel never follows a magic link for the agent (through /proc/self
  // it would be the agent's descriptor); ResolveInTarget follows the
  // workload's.
  const std::uint64_t own_resolve =
      resolve | RESOLVE_NO_MAGICLINKS | (absolute ? RESOLVE_IN_ROOT : 0);

  auto decide = [&](std::uint32_t op_bits, const std::string& p) {
    Verdict v;
    v.path = p;
    std::optional<Decision> app =
        policy_->compiled->DecideSyscall({.number = c.nr, .args = c.args, .program = c.program});
    if (app) {
      v.decision = *app;
      v.from_syscall_rule = true;
      v.operation = "open";
      return v;
    }
    bool first = true;
    for (std::uint32_t bit = 1; bit <= op_bits; bit <<= 1) {
      if ((op_bits & bit) == 0) continue;
      Decision d = policy_->compiled->DecideFile(
          {.op = static_cast<FileOp>(bit), .program = c.program, .path = p});
      if (first || Severity(d) > Severity(v.decision)) {
        v.decision = d;
        v.operation = std::string(policy::FileOpName(static_cast<FileOp>(bit)));
      }
      first = false;
    }
    return v;
  };
  // A call that will be recorded gets its program before it is answered.
  auto will_record = [&](const Verdict& v) {
    if (v.decision.action != Action::kAllow) NeedProgram(c);
  };
  auto finish = [&](Verdict& v, Fd fd) {
    will_record(v);
    if (RefuseIfDenied(c, v)) return;
    Inject(c, fd.get(), cloexec);
    Record(c, v, 0);
  };

  auto agents_own = [&](const std::string& real) { return InAgentsProc(real, self_pid_); };
  // The kernel's lookup of `p` (an O_PATH descriptor or -errno) and the real
  // path of what it found. First without crossing a symlink: then the real
  // path is `lexical_p`, and no readlink is needed; a symlink on the way
  // (ELOOP) takes the lookup that follows it, and the readlink.
  auto lookup = [&](const std::string& p, const std::string& lexical_p, std::uint64_t how_flags,
                    std::string* real_out) -> long {
    if (lexical_is_real) {
      long fast = OpenAt2(base_fd.get(), p, how_flags, 0, own_resolve | RESOLVE_NO_SYMLINKS);
      if (fast != -ELOOP) {
        if (fast >= 0) *real_out = lexical_p;
        return fast;
      }
    }
    long r = OpenAt2(base_fd.get(), p, how_flags, 0, own_resolve);
    if (r >= 0) *real_out = PathOf(static_cast<int>(r));
    return r;
  };
  // A create of a new name where the policy allows it without a record:
  // decided on the lexical path, then created in one call that crosses no
  // symlink (so the directory is the one at its lexical path) and makes a
  // new file or nothing (O_EXCL | O_NOFOLLOW). When the name turns out to
  // exist (EEXIST: a file, a directory, a symlink), or anything else goes
  // wrong, the call takes the general path below, which decides on what is
  // there.
  const std::string last_name = Basename(request);
  if ((flags & O_CREAT) != 0 && lexical_is_real && !last_name.empty() && last_name != "." &&
      last_name != ".." && !agents_own(lexical)) {
    Verdict v = decide(ops | static_cast<std::uint32_t>(FileOp::kCreate), lexical);
    if (v.decision.action == Action::kAllow) {
      long created = -EEXIST;
      {
        CredentialScope as(c.creds);
        if (as.ok()) {
          created = OpenAt2(base_fd.get(), request, own_flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode,
                            own_resolve | RESOLVE_NO_SYMLINKS);
        }
      }
      if (created >= 0) return finish(v, Fd(static_cast<int>(created)));
      // ELOOP (a symlink on the way): the general path follows it; EEXIST:
      // it opens what is there; ENOENT, EACCES ...: it reaches the same
      // answer.
    }
  }
  // An open of an existing regular file or directory the policy allows
  // without a record: decided on the lexical path, then opened directly
  // without crossing a symlink, so the object opened is the one at that
  // path. statx first: only a regular file or a directory is opened here,
  // where opening has no side effect and never waits (a FIFO or a device
  // takes the general path, which looks before it opens). O_NONBLOCK, taken
  // off again, guards against one swapped in between: the open cannot wait.
  if ((flags & (O_CREAT | O_PATH | __O_TMPFILE)) == 0 && lexical_is_real && !agents_own(lexical)) {
    Verdict v = decide(ops, lexical);
    if (v.decision.action == Action::kAllow) {
      long fd = -1;
      {
        CredentialScope as(c.creds);
        struct statx sx {};
        if (as.ok() &&
            statx(base_fd.get(), request.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE,
                  &sx) == 0 &&
            (S_ISREG(sx.stx_mode) || S_ISDIR(sx.stx_mode))) {
          fd = OpenAt2(base_fd.get(), request, own_flags | O_NONBLOCK, 0,
                       own_resolve | RESOLVE_NO_SYMLINKS);
          if (fd >= 0 && !nonblock &&
              ::fcntl(static_cast<int>(fd), F_SETFL, static_cast<int>(own_flags)) != 0) {
            ::close(static_cast<int>(fd));
            fd = -1;
          }
        }
      }
      if (fd >= 0) return finish(v, Fd(static_cast<int>(fd)));
      // Not a plain file, a symlink on the way, an error: the general path
      // looks again and answers.
    }
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    long r;
    Fd parent;  // set by the resolver when only the last component is missing
    std::string create_name;
    std::string real;         // the path of r, once known
    std::string parent_real;  // the path of parent, once known
    {
      CredentialScope as(c.creds);
      if (!as.ok()) {
        log::Warn("cannot take the workload's credentials: refusing its open",
                  {{"uid", std::to_string(c.creds.fsuid)}, {"path", lexical}});
        return Fail(c, EACCES);
      }
      // The kernel resolves, except what it would resolve as the agent's:
      // a magic link (refused by RESOLVE_NO_MAGICLINKS), /proc/self (the
      // result is the agent's own /proc), or a path that is missing as the
      // agent sees it (/dev/fd/63 -> /proc/self/fd/63). Those are resolved
      // again by the agent, component by component, as the workload's.
      r = lookup(request, lexical, lookup_flags, &real);
      // (Not when the workload asked for its own RESOLVE_* restrictions: the
      // kernel's answer under them stands.)
      bool again = resolve == 0 && (r == -ELOOP || r == -ENOENT);
      if (r >= 0) {
        if (agents_own(real)) {
          ::close(static_cast<int>(r));
          real.clear();
          again = true;
        }
      }
      const std::string last = Basename(request);
      if (again && r == -ENOENT && attempt == 0 && !last.empty() && last != "." && last != "..") {
        // Most often the name is simply missing (a create). That ENOENT is
        // the workload's too when the kernel finds the directory outside
        // the agent's /proc (nothing /proc/self-like was followed for the
        // agent: magic links are refused, /proc/self lands in agents_own)
        // and nothing at all, not even a dangling symlink, has the name in
        // it. Then the component-by-component walk is not needed. (A name
        // that appears in between makes the O_EXCL create fail: the next
        // attempt takes the walk.)
        std::string dir_real;
        Fd dir(static_cast<int>(lookup(Dirname(request), Dirname(lexical),
                                       O_PATH | O_DIRECTORY | O_CLOEXEC, &dir_real)));
        if (dir.get() >= 0) {
          if (!dir_real.empty() && !agents_own(dir_real)) {
            Fd there(::openat(dir.get(), last.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (there.get() < 0 && errno == ENOENT) {
              again = false;
              parent = std::move(dir);
              parent_real = std::move(dir_real);
              create_name = last;
            }
          }
        }
      }
      if (again) {
        auto root = c.target.OpenRoot();
        if (!root.ok()) return Fail(c, EACCES);
        Fd root_fd(*root);
        Resolved res = ResolveInTarget(root_fd.get(), base_fd.get(), request, !no_follow,
                                       c.creds.tgid, c.target.tid);
        if (res.fd >= 0) {
          r = res.fd;
          real = PathOfFd(res.fd);
        } else {
          r = -res.error;
          parent = Fd(res.parent);
          create_name = res.name;
        }
      }
    }
    if (r >= 0) {
      Fd checked(static_cast<int>(r));
      if ((flags & O_CREAT) && (flags & O_EXCL)) {
        // It exists: O_EXCL fails, whatever the policy says about reading it.
        Verdict v = decide(ops | static_cast<std::uint32_t>(FileOp::kCreate), lexical);
        if (v.decision.action == Action::kDeny && v.decision.enforced) return finish(v, Fd());
        return Fail(c, EEXIST);
      }
      if (agents_own(real)) {
        // Resolved through /proc/self to the agent's own files: never.
        log::Warn("refusing an open that resolves to the agent's /proc", {{"path", lexical}});
        return Fail(c, EACCES);
      }
      Verdict v = decide(ops, real.empty() ? lexical : real);
      if (v.decision.action == Action::kDeny && v.decision.enforced) return finish(v, Fd());
      if (flags & O_PATH) {
        // An O_PATH descriptor opens nothing, and ADDFD refuses to inject
        // one (EBADF): decided as a read, the call is then the kernel's
        // (CONTINUE). A racing thread can at most get an O_PATH descriptor
        // of another object: no content, and every use of it that reads,
        // writes or runs it (an open of /proc/self/fd/N, execveat with
        // AT_EMPTY_PATH, linkat) comes back to the agent (README).
        will_record(v);
        Continue(c);
        Record(c, v, 0);
        return;
      }
      struct stat st {};
      const bool stat_ok = fstat(checked.get(), &st) == 0;
      if (!nonblock && stat_ok && S_ISFIFO(st.st_mode)) {
        // The workload's open would wait for a peer: so does a worker.
        will_record(v);
        Record(c, v, 0);
        return OpenInWorker(c, checked.release(), flags);
      }
      // A regular file another process holds a lease on: the open waits
      // until the holder gives it up (up to fs.lease-break-time). Opened
      // here without waiting (O_NONBLOCK: EWOULDBLOCK instead of the wait,
      // before anything is truncated), then on a worker when it would wait.
      const bool lease_guard = !nonblock && stat_ok && S_ISREG(st.st_mode);
      // Now the open itself, of exactly the object decided on.
      long fd;
      {
        CredentialScope as(c.creds);
        if (!as.ok()) return Fail(c, EACCES);
        // Through the agent's own /proc/PID/fd (kept open: one lookup).
        // (mode matters for O_TMPFILE, which creates in the checked directory)
        const int reopen_flags = static_cast<int>(own_flags & ~static_cast<std::uint64_t>(
                                                                  O_CREAT | O_EXCL | O_NOFOLLOW)) |
                                 (lease_guard ? O_NONBLOCK : 0);
        char leaf[16];
        std::snprintf(leaf, sizeof(leaf), "%d", checked.get());
        fd = self_fds_ >= 0 ? ::openat(self_fds_, leaf, reopen_flags, static_cast<mode_t>(mode))
                            : ::open(("/proc/self/fd/" + std::string(leaf)).c_str(), reopen_flags,
                                     static_cast<mode_t>(mode));
        if (fd < 0) fd = -errno;
        if (fd >= 0 && lease_guard &&
            ::fcntl(static_cast<int>(fd), F_SETFL, static_cast<int>(own_flags)) != 0) {
          ::close(static_cast<int>(fd));
          fd = -EIO;
        }
      }
      if (fd == -EWOULDBLOCK && lease_guard) {
        will_record(v);
        Record(c, v, 0);
        return OpenInWorker(c, checked.release(), flags);
      }
      if (fd < 0) {
        will_record(v);
        Fail(c, static_cast<int>(-fd));
        Record(c, v, static_cast<int>(fd));
        return;
      }
      return finish(v, Fd(static_cast<int>(fd)));
    }
    if (r == -ENOENT && (flags & O_CREAT)) {
      // Create: decide on the real directory plus the new name, then create
      // exactly there (O_EXCL | O_NOFOLLOW: no file or symlink may appear in
      // between; if one does, start over).
      if (parent.get() < 0) {
        // The kernel's lookup stands (the workload's RESOLVE_* flags).
        long dir = OpenAt2(base_fd.get(), Dirname(request), O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                           own_resolve);
        if (dir < 0) return Fail(c, static_cast<int>(-dir));
        parent = Fd(static_cast<int>(dir));
        create_name = Basename(request);
      }
      std::string name = create_name;
      if (name.empty() || name == "." || name == "..") return Fail(c, EISDIR);
      Fd dir_fd = std::move(parent);
      std::string target =
          JoinAndNormalize(parent_real.empty() ? PathOfFd(dir_fd.get()) : parent_real, name);
      Verdict v = decide(ops | static_cast<std::uint32_t>(FileOp::kCreate), target);
      if (v.decision.action == Action::kDeny && v.decision.enforced) return finish(v, Fd());
      long created;
      {
        CredentialScope as(c.creds);
        if (!as.ok()) return Fail(c, EACCES);
        created = OpenAt2(dir_fd.get(), name, own_flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode,
                          resolve & ~static_cast<std::uint64_t>(RESOLVE_IN_ROOT));
      }
      if (created == -EEXIST) continue;
      if (created < 0) return Fail(c, static_cast<int>(-created));
      return finish(v, Fd(static_cast<int>(created)));
    }
    // The open fails for the workload too; a denied path still counts as a
    // deny (and an event), so a probe for a protected file is seen.
    int err = static_cast<int>(-r);
    Verdict v = decide(ops, lexical);
    if (v.decision.action == Action::kDeny && v.decision.enforced) return finish(v, Fd());
    will_record(v);
    Fail(c, err);
    Record(c, v, -err);
    return;
  }
  Fail(c, EAGAIN);
}

// A blocking open (a FIFO waiting for its peer) runs on its own thread, so
// the supervisor keeps answering: possibly the very peer it waits for. The
// worker reopens exactly the checked object (/proc/self/fd/N of the agent's
// descriptor) with the workload's flags and credentials (per-thread system
// calls; the umask is irrelevant, nothing is created) and injects the result.
namespace {

struct WorkerJob {
  int listener;
  std::uint64_t id;
  Credentials creds;
  Fd checked;
  std::uint64_t flags;
};

// Workers in flight: blocking opens, connects and sends. Each is a thread
// with a 64 KiB stack for as long as its call waits.
std::atomic<int> g_workers{0};
constexpr int kMaxWorkers = 256;

template <typename Job>
struct WorkerTask {
  void (*fn)(Job&);
  std::unique_ptr<Job> job;
};

template <typename Job>
void* RunWorker(void* arg) {
  {
    std::unique_ptr<WorkerTask<Job>> task(static_cast<WorkerTask<Job>*>(arg));
    task->fn(*task->job);
  }  // (the job's descriptors close here)
  g_workers.fetch_sub(1);
  return nullptr;
}

// Runs fn(*job) on a new detached thread, which owns the job. False, the job
// destroyed, when too many are in flight or no thread can be made: the
// caller answers EAGAIN.
template <typename Job>
bool StartWorker(void (*fn)(Job&), std::unique_ptr<Job> job) {
  if (g_workers.fetch_add(1) >= kMaxWorkers) {
    g_workers.fetch_sub(1);
    log::Warn("too many blocking calls in flight", {{"max", std::to_string(kMaxWorkers)}});
    return false;
  }
  auto task = std::make_unique<WorkerTask<Job>>(WorkerTask<Job>{fn, std::move(job)});
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 << 10);
  pthread_t thread;
  const int err = pthread_create(&thread, &attr, &RunWorker<Job>, task.get());
  pthread_attr_destroy(&attr);
  if (err != 0) {
    g_workers.fetch_sub(1);
    return false;
  }
  task.release();
  return true;
}

void OpenWorker(WorkerJob& job) {
  seccomp_notif_resp resp{};
  resp.id = job.id;
  int fd = -1;
  {
    CredentialScope as(job.creds, /*with_umask=*/false);
    if (as.ok()) {
      std::string self = "/proc/self/fd/" + std::to_string(job.checked.get());
      fd = ::open(self.c_str(),
                  static_cast<int>((job.flags | O_CLOEXEC | O_NOCTTY) &
                                   ~static_cast<std::uint64_t>(O_CREAT | O_EXCL | O_NOFOLLOW)));
      if (fd < 0) resp.error = -errno;
    } else {
      resp.error = -EACCES;
    }
  }
  job.checked = Fd();
  if (fd >= 0) {
    seccomp_notif_addfd add{};
    add.id = job.id;
    add.flags = SECCOMP_ADDFD_FLAG_SEND;
    add.srcfd = static_cast<std::uint32_t>(fd);
    add.newfd_flags = (job.flags & O_CLOEXEC) ? O_CLOEXEC : 0;
    if (ioctl(job.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 && errno != ENOENT) {
      resp.error = -EIO;
      ioctl(job.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
    ::close(fd);
  } else {
    ioctl(job.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

}  // namespace

void Supervisor::OpenInWorker(const Call& c, int checked_fd, std::uint64_t flags) {
  if (!StartWorker(&OpenWorker, std::unique_ptr<WorkerJob>(new WorkerJob{listener_, c.id, c.creds,
                                                                         Fd(checked_fd), flags}))) {
    return Fail(c, EAGAIN);
  }
  ++stats_.allowed;
}

// --- other path operations ---

// Where a path operation acts, located as the workload would locate it: the
// real directory and the name in it, and (for operations that follow a final
// symlink, or that act on an existing object) the object itself.
struct Supervisor::Place {
  Fd parent;  // O_PATH directory
  std::string name;
  Fd object;         // O_PATH of the object, when it exists
  std::string path;  // what the decision is about
  int error = 0;
};

Supervisor::Place Supervisor::Locate(const Call& c, int dirfd_arg, int path_arg, bool follow,
                                     bool empty_path_ok) {
  Place at;
  auto raw = c.target.ReadString(c.args[static_cast<std::size_t>(path_arg)]);
  if (!raw.ok()) {
    at.error = EFAULT;
    return at;
  }
  const int dirfd =
      dirfd_arg < 0 ? AT_FDCWD : static_cast<int>(c.args[static_cast<std::size_t>(dirfd_arg)]);
  std::string path = *raw;
  const bool absolute = !path.empty() && path.front() == '/';
  auto base = absolute ? c.target.OpenRoot() : c.target.OpenDir(dirfd);
  if (!base.ok()) {
    at.error = base.status().message() == "EBADF" ? EBADF : EACCES;
    return at;
  }
  Fd base_fd(*base);
  if (path.empty()) {
    // AT_EMPTY_PATH: the descriptor itself.
    if (!empty_path_ok) {
      at.error = ENOENT;
      return at;
    }
    at.object = Fd(fcntl(base_fd.get(), F_DUPFD_CLOEXEC, 0));
    at.path = PathOfFd(at.object.get());
    return at;
  }
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();  // "dir/" names dir
  at.name = Basename(path);
  long dir = LookupInTarget(c.target, c.creds.tgid, self_pid_, base_fd.get(),
                            path.find('/') == std::string::npos ? "." : Dirname(path), true);
  if (dir < 0) {
    at.error = static_cast<int>(-dir);
    at.path = JoinAndNormalize(PathOfFd(base_fd.get()), path);
    return at;
  }
  at.parent = Fd(static_cast<int>(dir));
  long obj = LookupInTarget(c.target, c.creds.tgid, self_pid_, base_fd.get(), path, follow);
  if (obj >= 0) at.object = Fd(static_cast<int>(obj));
  std::string real = at.object.get() >= 0 ? PathOfFd(at.object.get()) : "";
  at.path = !real.empty() ? real : JoinAndNormalize(PathOfFd(at.parent.get()), at.name);
  return at;
}

namespace {

// A hard link, a rename or an exchange gives an object a name the policy may
// not cover: a rule on /secret says nothing about /tmp/alias, and the agent
// decides opens on the path. So making a new name for an object is refused
// when any rule (not a default) denies or monitors any operation on it for
// this program, or, for a directory, on any path the rules name beneath it;
// the refusal names that rule. A monitor yields when a rule decides this very
// operation on the object (allow or monitor: e.g. logs rotated by rename
// under a rule that monitors renames). Hard links to directories do not
// exist, so only a rename carries a subtree. nullopt: nothing protects it.
std::optional<Decision> NewNameGuard(const LoadedPolicy& policy, std::string_view program,
                                     const std::string& path, bool directory, FileOp op) {
  const policy::CompiledPolicy& p = *policy.compiled;
  std::optional<Decision> worst;
  auto consider = [&](const Decision& d) {
    if (d.rule < 0 || d.action == Action::kAllow) return;
    if (!worst || Severity(d) > Severity(*worst)) worst = d;
  };
  auto check = [&](std::string_view q) {
    for (FileOp o : {FileOp::kRead, FileOp::kWrite, FileOp::kCreate, FileOp::kDelete,
                     FileOp::kRename, FileOp::kChmod, FileOp::kExec})
      consider(p.DecideFile({.op = o, .program = program, .path = q}));
  };
  check(path);
  if (directory) {
    const std::string under = path == "/" ? path : path + "/";
    for (const v1::PathEntry& e : policy.table.paths().entries())
      if (e.path().rfind(under, 0) == 0) check(e.path());
    for (const v1::GlobEntry& g : policy.table.paths().globs()) {
      // No concrete path to evaluate: a glob that may match beneath the
      // directory counts with its rules' own actions (programs not
      // consulted: fail closed).
      const std::string& lit = g.literal_prefix();
      if (!lit.empty() && lit.rfind(under, 0) != 0 && under.rfind(lit + "/", 0) != 0 &&
          lit != path && lit != "/") {
        continue;
      }
      for (std::uint32_t r : g.rules()) {
        const v1::Rule& rule = policy.table.rules(static_cast<int>(r));
        const Action a = rule.action() == v1::ACTION_DENY      ? Action::kDeny
                         : rule.action() == v1::ACTION_MONITOR ? Action::kMonitor
                                                               : Action::kAllow;
        consider({.action = a,
                  .enforced = !policy.table.permissive(),
                  .category = Category::kFile,
                  .rule = static_cast<int>(r),
                  .rule_id = rule.id()});
      }
    }
  }
  if (!worst) return std::nullopt;
  if (worst->action == Action::kMonitor) {
    Decision self = p.DecideFile({.op = op, .program = program, .path = path});
    if (self.rule >= 0 && self.action != Action::kDeny) return std::nullopt;
  }
  worst->action = Action::kDeny;
  return worst;
}

}  // namespace

void Supervisor::HandlePathOp(Call& c) {
  const PathOpSpec& spec = PathOps().at(c.name);
  bool follow = spec.follow;
  bool empty_ok = false;
  if (c.name == "fchownat") {
    follow = (c.args[4] & AT_SYMLINK_NOFOLLOW) == 0;
    empty_ok = (c.args[4] & AT_EMPTY_PATH) != 0;
  }
  if (c.name == "fchmodat2") {
    follow = (c.args[3] & AT_SYMLINK_NOFOLLOW) == 0;
    empty_ok = (c.args[3] & AT_EMPTY_PATH) != 0;
  }
  if (c.name == "linkat") {
    empty_ok = (c.args[4] & AT_EMPTY_PATH) != 0;
    follow = (c.args[4] & AT_SYMLINK_FOLLOW) != 0;
  }
  Place first = Locate(c, spec.dirfd, spec.path, follow, empty_ok);
  std::optional<Place> second;
  if (spec.path2 >= 0) second = Locate(c, spec.dirfd2, spec.path2, false, false);
  std::string link_text;  // symlink's target: a string, not a path to check
  if (c.name == "symlink" || c.name == "symlinkat") {
    auto t = c.target.ReadString(c.args[0]);
    if (!t.ok()) first.error = EFAULT;
    link_text = t.ok() ? *t : "";
  }
  if (!StillValid(c)) return;
  if (first.error == EFAULT || (second && second->error == EFAULT)) return Fail(c, EFAULT);

  Verdict v;
  std::optional<Decision> app =
      policy_->compiled->DecideSyscall({.number = c.nr, .args = c.args, .program = c.program});
  v.path = first.path;
  v.operation = std::string(policy::FileOpName(spec.op));
  if (second) v.new_path = second->path;
  if (app) {
    v.decision = *app;
    v.from_syscall_rule = true;
  } else {
    v.decision =
        policy_->compiled->DecideFile({.op = spec.op, .program = c.program, .path = first.path});
    if (second) {
      Decision d2 = policy_->compiled->DecideFile(
          {.op = spec.op2, .program = c.program, .path = second->path});
      if (Severity(d2) > Severity(v.decision)) v.decision = d2;
    }
    // A new name for a protected object (link, rename's source, and the
    // object an exchange moves or a rename replaces) is a way around its rules.
    const bool link = c.name == "link" || c.name == "linkat";
    if ((link || spec.op == FileOp::kRename) && second) {
      constexpr std::uint64_t kNoReplace = 1, kExchange = 2;  // RENAME_* (renameat2)
      const std::uint64_t flags = c.name == "renameat2" ? c.args[4] : 0;
      const bool moves_second = !link && ((flags & kExchange) || !(flags & kNoReplace));
      for (Place* at : {&first, moves_second ? &*second : nullptr}) {
        if (at == nullptr || at->object.get() < 0) continue;
        struct stat st {};
        const bool dir = fstat(at->object.get(), &st) == 0 && S_ISDIR(st.st_mode);
        auto guard = NewNameGuard(*policy_, c.program, at->path, dir, spec.op);
        if (guard && Severity(*guard) > Severity(v.decision)) v.decision = *guard;
      }
    }
  }
  if (RefuseIfDenied(c, v)) return;
  // The agent carries the operation out itself, on the very directory and
  // object it decided on, with the workload's credentials and umask: the
  // workload's threads cannot change the path in between (no CONTINUE).
  int err = first.error != 0 ? first.error : (second && second->error != 0 ? second->error : 0);
  if (err == 0) {
    CredentialScope as(c.creds);
    if (!as.ok()) {
      err = EACCES;
    } else {
      err = Perform(c, first, second ? &*second : nullptr, link_text) ? 0 : errno;
    }
  }
  if (err != 0) {
    Fail(c, err);
  } else {
    Succeed(c);
  }
  Record(c, v, -err);
}

bool Supervisor::Perform(const Call& c, Place& first, Place* second, const std::string& link_text) {
  const std::string& n = c.name;
  const auto& a = c.args;
  auto self = [](const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); };
  auto need_object = [&]() {
    if (first.object.get() >= 0) return true;
    errno = ENOENT;
    return false;
  };
  const char* name = first.name.c_str();
  const int dir = first.parent.get();
  if (n == "unlink") return ::unlinkat(dir, name, 0) == 0;
  if (n == "unlinkat") return ::unlinkat(dir, name, static_cast<int>(a[2] & AT_REMOVEDIR)) == 0;
  if (n == "rmdir") return ::unlinkat(dir, name, AT_REMOVEDIR) == 0;
  if (n == "mkdir") return ::mkdirat(dir, name, static_cast<mode_t>(a[1])) == 0;
  if (n == "mkdirat") return ::mkdirat(dir, name, static_cast<mode_t>(a[2])) == 0;
  if (n == "mknod") return ::mknodat(dir, name, static_cast<mode_t>(a[1]), a[2]) == 0;
  if (n == "mknodat") return ::mknodat(dir, name, static_cast<mode_t>(a[2]), a[3]) == 0;
  if (n == "symlink" || n == "symlinkat") return ::symlinkat(link_text.c_str(), dir, name) == 0;
  if (n == "rename" || n == "renameat" || n == "renameat2") {
    unsigned flags = n == "renameat2" ? static_cast<unsigned>(a[4]) : 0;
    return syscall(SYS_renameat2, dir, name, second->parent.get(), second->name.c_str(), flags) ==
           0;
  }
  if (n == "link" || n == "linkat") {
    if (first.parent.get() < 0) {  // AT_EMPTY_PATH: the object itself
      return ::linkat(first.object.get(), "", second->parent.get(), second->name.c_str(),
                      AT_EMPTY_PATH) == 0;
    }
    int flags = n == "linkat" ? static_cast<int>(a[4] & AT_SYMLINK_FOLLOW) : 0;
    return ::linkat(dir, name, second->parent.get(), second->name.c_str(), flags) == 0;
  }
  if (n == "chmod")
    return need_object() && ::chmod(self(first.object).c_str(), static_cast<mode_t>(a[1])) == 0;
  if (n == "fchmodat")
    return need_object() && ::chmod(self(first.object).c_str(), static_cast<mode_t>(a[2])) == 0;
  if (n == "fchmodat2") {
    // On the object located as the call locates it (a symlink itself under
    // AT_SYMLINK_NOFOLLOW: most file systems refuse, EOPNOTSUPP, as natively).
    const int nofollow = static_cast<int>(a[3] & AT_SYMLINK_NOFOLLOW);
    return need_object() && syscall(policy::SyscallNumber("fchmodat2"), first.object.get(), "",
                                    static_cast<mode_t>(a[2]), AT_EMPTY_PATH | nofollow) == 0;
  }
  if (n == "chown" || n == "lchown") {
    return need_object() && ::fchownat(first.object.get(), "", static_cast<uid_t>(a[1]),
                                       static_cast<gid_t>(a[2]), AT_EMPTY_PATH) == 0;
  }
  if (n == "fchownat") {
    return need_object() && ::fchownat(first.object.get(), "", static_cast<uid_t>(a[2]),
                                       static_cast<gid_t>(a[3]), AT_EMPTY_PATH) == 0;
  }
  if (n == "truncate") {
    return need_object() && ::truncate(self(first.object).c_str(), static_cast<off_t>(a[1])) == 0;
  }
  Fatal("no emulation for path syscall " + n);
}

// --- exec ---

void Supervisor::HandleExec(Call& c) {
  const bool at = c.name == "execveat";
  auto raw = c.target.ReadString(c.args[at ? 1 : 0]);
  int dirfd = at ? static_cast<int>(c.args[0]) : AT_FDCWD;
  std::string real;
  if (raw.ok()) {
    const bool empty_path = raw->empty() && at && (c.args[4] & AT_EMPTY_PATH);
    const bool absolute = !raw->empty() && raw->front() == '/';
    auto base = absolute ? c.target.OpenRoot() : c.target.OpenDir(dirfd);
    if (base.ok()) {
      Fd base_fd(*base);
      if (empty_path) {
        real = PathOfFd(base_fd.get());
      } else {
        long fd = LookupInTarget(c.target, c.creds.tgid, self_pid_, base_fd.get(), *raw, true);
        if (fd >= 0) {
          Fd f(static_cast<int>(fd));
          real = PathOfFd(f.get());
        } else {
          real = JoinAndNormalize(PathOfFd(base_fd.get()), *raw);
        }
      }
    }
  }
  if (!StillValid(c)) return;
  if (!raw.ok()) return Fail(c, EFAULT);
  Verdict v;
  v.path = real;
  v.operation = "exec";
  std::optional<Decision> app =
      policy_->compiled->DecideSyscall({.number = c.nr, .args = c.args, .program = c.program});
  if (app) {
    v.decision = *app;
    v.from_syscall_rule = true;
  } else {
    v.decision =
        policy_->compiled->DecideFile({.op = FileOp::kExec, .program = c.program, .path = real});
  }
  if (RefuseIfDenied(c, v)) return;
  Continue(c);  // residual: the kernel re-reads the path (README)
  Record(c, v, 0);
}

// --- network ---

namespace {

// An IP socket address: address and port.
struct IpPort {
  policy::IpAddress ip;
  std::uint16_t port = 0;
};

// The IP address in the first `n` bytes of `ss`, if it holds one.
std::optional<IpPort> IpPortOf(const sockaddr_storage& ss, std::size_t n) {
  if (ss.ss_family == AF_INET && n >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    return IpPort{policy::IpAddress::V4(ntohl(in->sin_addr.s_addr)), ntohs(in->sin_port)};
  }
  if (ss.ss_family == AF_INET6 && n >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), &in6->sin6_addr, 16);
    return IpPort{policy::IpAddress::V6(b), ntohs(in6->sin6_port)};
  }
  return std::nullopt;
}

// A duplicate of descriptor `fd` of process `tgid` (pidfd_getfd: where the
// agent may, CAP_SYS_PTRACE or the same user), owned by the caller; -1 if not.
int DupOfWorkloadFd(pid_t tgid, int fd) {
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tgid, 0)));
  return pidfd.get() < 0 ? -1 : static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0));
}

// A socket's protocol (IPPROTO_TCP, IPPROTO_UDP, ...), 0 when not known.
int ProtocolOf(int sock) {
  int proto = 0;
  socklen_t len = sizeof(proto);
  return sock >= 0 && getsockopt(sock, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 ? proto : 0;
}

}  // namespace

Supervisor::Verdict Supervisor::DecideIp(const Call& c, policy::Direction direction,
                                         const policy::IpAddress& ip, std::uint16_t port,
                                         int proto) const {
  Verdict v;
  v.network = true;
  v.net.set_direction(direction == policy::Direction::kOutbound  ? v1::DIRECTION_OUTBOUND
                      : direction == policy::Direction::kInbound ? v1::DIRECTION_INBOUND
                                                                 : v1::DIRECTION_LISTEN);
  policy::NetworkRequest req{
      .direction = direction, .address = ip, .port = port, .program = c.program};
  req.protocol = policy::Protocol::kTcp;
  Decision tcp = policy_->compiled->DecideNetwork(req);
  req.protocol = policy::Protocol::kUdp;
  Decision udp = policy_->compiled->DecideNetwork(req);
  // Not known: both evaluated, the stricter decision stands (fail closed).
  v.decision = proto == IPPROTO_TCP            ? tcp
               : proto == IPPROTO_UDP          ? udp
               : Severity(udp) > Severity(tcp) ? udp
                                               : tcp;
  if (proto == IPPROTO_TCP) v.net.set_protocol(v1::PROTOCOL_TCP);
  if (proto == IPPROTO_UDP) v.net.set_protocol(v1::PROTOCOL_UDP);
  std::string bytes(reinterpret_cast<const char*>(ip.bytes().data()),
                    ip.family() == policy::IpFamily::kV4 ? 4 : 16);
  if (direction == policy::Direction::kListen) {
    v.net.set_local_ip(bytes);
    v.net.set_local_port(port);
  } else {
    v.net.set_remote_ip(bytes);
    v.net.set_remote_port(port);
  }
  return v;
}

// One address a network call carries: where it is in the workload's memory,
// and the agent's copy of it, which is what is decided on and, when the agent
// carries the call out, what is used.
struct Supervisor::Outgoing {
  std::uint64_t name_at = 0;
  std::uint64_t name_len = 0;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  msghdr hdr{};  // sendmsg, sendmmsg: the workload's header (its pointers)
};

void Supervisor::HandleNetwork(Call& c) {
  using policy::Direction;
  if (c.name == "accept" || c.name == "accept4") return HandleAccept(c);
  Direction direction = Direction::kOutbound;
  const int sockfd = static_cast<int>(c.args[0]);
  auto fault = [&] {
    if (StillValid(c)) Fail(c, EFAULT);
  };
  std::vector<Outgoing> out(1);
  if (c.name == "connect" || c.name == "sendto" || c.name == "bind") {
    const int at = c.name == "sendto" ? 4 : 1;
    out[0].name_at = c.args[static_cast<std::size_t>(at)];
    out[0].name_len = static_cast<std::uint32_t>(c.args[static_cast<std::size_t>(at) + 1]);
    if (c.name == "bind") direction = Direction::kListen;
  } else if (c.name == "sendmsg") {
    if (!c.target.Read(c.args[1], &out[0].hdr, sizeof(msghdr)).ok()) return fault();
  } else if (c.name == "sendmmsg") {
    // The kernel sends at most UIO_MAXIOV (1024) messages per call.
    const std::size_t n = std::min<std::uint64_t>(static_cast<std::uint32_t>(c.args[2]), 1024);
    std::vector<mmsghdr> msgs(n);
    if (n > 0 && !c.target.Read(c.args[1], msgs.data(), n * sizeof(mmsghdr)).ok()) return fault();
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      out[i].hdr = msgs[i].msg_hdr;
  } else {
    out.clear();  // listen
  }
  std::vector<IpPort> targets;
  for (Outgoing& o : out) {
    if (o.hdr.msg_name != nullptr) {
      o.name_at = reinterpret_cast<std::uint64_t>(o.hdr.msg_name);
      o.name_len = o.hdr.msg_namelen;
    }
    if (o.name_at == 0 || o.name_len < sizeof(sa_family_t)) continue;
    o.addr_len = static_cast<socklen_t>(std::min<std::size_t>(o.name_len, sizeof(o.addr)));
    if (!c.target.Read(o.name_at, &o.addr, o.addr_len).ok()) return fault();
    if (auto t = IpPortOf(o.addr, o.addr_len)) targets.push_back(*t);
  }
  if (!StillValid(c)) return;

  Verdict v;
  v.network = true;
  v.net.set_direction(direction == Direction::kOutbound ? v1::DIRECTION_OUTBOUND
                                                        : v1::DIRECTION_LISTEN);
  // The socket itself (a duplicate: the same socket) when an IP address is
  // involved: its protocol decides, and the agent carries the call out on it.
  Fd sock;
  std::optional<Decision> app =
      policy_->compiled->DecideSyscall({.number = c.nr, .args = c.args, .program = c.program});
  int dup_errno = 0;
  if (!targets.empty()) {
    sock = Fd(DupOfWorkloadFd(c.creds.tgid, sockfd));
    if (sock.get() < 0) dup_errno = errno;
  }
  if (app) {
    v.decision = *app;
    v.from_syscall_rule = true;
  } else if (targets.empty()) {
    // Not an IP address (UNIX, netlink), no address (a connected socket's
    // send), or not known before the call (listen): not a decision on an
    // address (README, gaps).
    v.decision = Decision{.action = Action::kAllow, .category = Category::kNetwork};
  } else {
    // The protocol is the socket's; when the agent may not duplicate it,
    // both are evaluated (DecideIp).
    const int proto = ProtocolOf(sock.get());
    // Each address is decided; the most severe decision (the first of equals)
    // is the call's, and its address the event's.
    bool first = true;
    for (const IpPort& t : targets) {
      Verdict d = DecideIp(c, direction, t.ip, t.port, proto);
      if (!first && Severity(d.decision) <= Severity(v.decision)) continue;
      first = false;
      v = std::move(d);
    }
  }
  if (RefuseIfDenied(c, v)) return;
  if (!targets.empty() && (c.name == "connect" || c.name == "bind")) {
    // (The kernel refuses a longer address before anything else.)
    if (out[0].name_len > sizeof(sockaddr_storage)) {
      Fail(c, EINVAL);
      return Record(c, v, -EINVAL);
    }
    return CarryOutOnSocket(c, v, sock.release(), dup_errno, out[0].addr, out[0].addr_len);
  }
  int type = 0;
  socklen_t type_len = sizeof(type);
  if (!targets.empty() && sock.get() >= 0 &&
      getsockopt(sock.get(), SOL_SOCKET, SO_TYPE, &type, &type_len) == 0) {
    if (type == SOCK_DGRAM || type == SOCK_RAW) {
      return SendOnSocket(c, v, sock.release(), /*stream=*/false, out);
    }
    // A stream socket ignores a send's address, except TCP Fast Open, which
    // connects to it.
    const std::uint64_t flags = c.name == "sendmsg" ? c.args[2] : c.args[3];
    if (type == SOCK_STREAM && (flags & MSG_FASTOPEN) != 0) {
      return SendOnSocket(c, v, sock.release(), /*stream=*/true, out);
    }
  }
  Continue(c);  // residual: the kernel re-reads the address (README)
  Record(c, v, 0);
}

namespace {

// A blocking connect runs on its own thread, so the supervisor keeps
// answering: it waits for the handshake (up to the kernel's SYN retries, or
// the socket's SO_SNDTIMEO) as the workload's own call would, then answers.
// An interrupted call leaves the attempt going on, as in the kernel.
struct ConnectJob {
  int listener;
  std::uint64_t id;
  Credentials creds;
  Fd sock;
  sockaddr_storage addr;
  socklen_t len;
};

void ConnectWorker(ConnectJob& job) {
  seccomp_notif_resp resp{};
  resp.id = job.id;
  {
    CredentialScope as(job.creds, /*with_umask=*/false);
    if (!as.ok()) {
      resp.error = -EACCES;
    } else if (::connect(job.sock.get(), reinterpret_cast<const sockaddr*>(&job.addr), job.len) !=
               0) {
      resp.error = -errno;
    }
  }
  job.sock = Fd();  // closed before the answer, as the workload's call would leave it
  ioctl(job.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

}  // namespace

void Supervisor::CarryOutOnSocket(const Call& c, const Verdict& v, int sock_fd, int dup_errno,
                                  const sockaddr_storage& addr, socklen_t len) {
  Fd sock(sock_fd);
  if (sock.get() < 0) {
    // EBADF: not a descriptor of the workload's, as the kernel would say.
    const int err = dup_errno == EBADF ? EBADF : EACCES;
    if (err != EBADF) {
      log::Warn("cannot take the workload's socket: refusing its call",
                {{"syscall", c.name}, {"error", std::strerror(dup_errno)}});
    }
    Fail(c, err);
    return Record(c, v, -err);
  }
  const bool is_bind = c.name == "bind";
  const int fl = ::fcntl(sock.get(), F_GETFL);
  if (!is_bind && fl >= 0 && (fl & O_NONBLOCK) == 0) {
    if (!StartWorker(&ConnectWorker, std::unique_ptr<ConnectJob>(new ConnectJob{
                                         listener_, c.id, c.creds, std::move(sock), addr, len}))) {
      Fail(c, EAGAIN);
      return Record(c, v, -EAGAIN);
    }
    ++stats_.allowed;
    return Record(c, v, 0);
  }
  int err = 0;
  {
    // The workload's capabilities: binding a port below 1024 needs
    // CAP_NET_BIND_SERVICE, the caller's.
    CredentialScope as(c.creds, /*with_umask=*/false);
    if (!as.ok()) {
      err = EACCES;
    } else if ((is_bind
                    ? ::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), len)
                    : ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), len)) != 0) {
      err = errno;
    }
  }
  if (err == 0) {
    Succeed(c);
  } else {
    Fail(c, err);
  }
  Record(c, v, -err);
}

namespace {

// A datagram the agent sends for the workload: its own copy of everything.
struct Datagram {
  std::string data;
  std::string control;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool has_addr = false;
};

// UDP carries at most 64 KiB per datagram (more: EMSGSIZE from the kernel);
// ancillary data beyond 64 KiB exceeds any optmem_max (ENOBUFS).
constexpr std::size_t kMaxDatagram = 64 << 10;
constexpr std::size_t kMaxControl = 64 << 10;

ssize_t SendDatagram(int sock, Datagram& d, int flags) {
  iovec iov{d.data.data(), d.data.size()};
  msghdr m{};
  m.msg_name = d.has_addr ? &d.addr : nullptr;
  m.msg_namelen = d.has_addr ? d.addr_len : 0;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = d.control.empty() ? nullptr : d.control.data();
  m.msg_controllen = d.control.size();
  return ::sendmsg(sock, &m, flags | MSG_NOSIGNAL);
}

// A send on a blocking socket whose buffer is full waits on its own thread.
struct SendJob {
  int listener;
  std::uint64_t id;
  Credentials creds;
  Fd sock;
  Datagram datagram;
  int flags;
  pid_t tid;
  std::uint64_t len_at;  // sendmmsg: where the message's msg_len goes; 0 otherwise
};

void SendWorker(SendJob& job) {
  seccomp_notif_resp resp{};
  resp.id = job.id;
  {
    CredentialScope as(job.creds, /*with_umask=*/false);
    const ssize_t n = as.ok() ? SendDatagram(job.sock.get(), job.datagram, job.flags) : -1;
    if (!as.ok()) {
      resp.error = -EACCES;
    } else if (n < 0) {
      resp.error = -errno;
    } else if (job.len_at != 0) {
      Target t;
      t.tid = job.tid;
      const unsigned len = static_cast<unsigned>(n);
      (void)t.Write(job.len_at, &len, sizeof(len));
      resp.val = 1;  // one message sent
    } else {
      resp.val = n;
    }
  }
  job.sock = Fd();  // closed before the answer, as the workload's call would leave it
  ioctl(job.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

}  // namespace

void Supervisor::SendOnSocket(const Call& c, const Verdict& v, int sock_fd, bool stream,
                              const std::vector<Outgoing>& out) {
  Fd sock(sock_fd);
  const bool mmsg = c.name == "sendmmsg";
  const int flags = static_cast<int>(c.name == "sendmsg" ? c.args[2] : c.args[3]);
  const int fl = ::fcntl(sock.get(), F_GETFL);
  const bool may_wait = (flags & MSG_DONTWAIT) == 0 && fl >= 0 && (fl & O_NONBLOCK) == 0;
  // A Fast Open send is a connect: its first message goes out with the SYN,
  // the others (sendmmsg) are the next call's. Once sent without waiting,
  // it cannot be sent again to wait: a blocking one goes to a worker first.
  const std::size_t messages = stream ? std::min<std::size_t>(out.size(), 1) : out.size();
  // The message as the kernel would take it from the workload (0), or the
  // errno it would answer.
  auto read = [&](const Outgoing& o, Datagram* d) -> int {
    if (o.name_at != 0) {
      if (o.name_len > sizeof(sockaddr_storage)) return EINVAL;
      d->addr = o.addr;
      d->addr_len = o.addr_len;
      d->has_addr = true;
    }
    if (c.name == "sendto") {
      std::uint64_t len = c.args[2];
      if (len > kMaxDatagram && !stream) return EMSGSIZE;
      len = std::min<std::uint64_t>(len, kMaxDatagram);  // a stream's send may be short
      d->data.resize(len);
      return len == 0 || c.target.Read(c.args[1], d->data.data(), len).ok() ? 0 : EFAULT;
    }
    const msghdr& h = o.hdr;
    if (h.msg_iovlen > 1024) return EMSGSIZE;  // UIO_MAXIOV
    std::vector<iovec> iov(h.msg_iovlen);
    if (!iov.empty() && !c.target
                             .Read(reinterpret_cast<std::uint64_t>(h.msg_iov), iov.data(),
                                   iov.size() * sizeof(iovec))
                             .ok()) {
      return EFAULT;
    }
    std::size_t total = 0;
    for (iovec& e : iov) {
      if (e.iov_len > kMaxDatagram - total) {
        if (!stream) return EMSGSIZE;
        e.iov_len = kMaxDatagram - total;  // a stream's send may be short
      }
      total += e.iov_len;
    }
    d->data.resize(total);
    std::size_t at = 0;
    for (const iovec& e : iov) {
      if (e.iov_len > 0 &&
          !c.target
               .Read(reinterpret_cast<std::uint64_t>(e.iov_base), d->data.data() + at, e.iov_len)
               .ok()) {
        return EFAULT;
      }
      at += e.iov_len;
    }
    if (h.msg_controllen > 0) {
      if (h.msg_controllen > kMaxControl) return ENOBUFS;
      d->control.resize(h.msg_controllen);
      if (!c.target
               .Read(reinterpret_cast<std::uint64_t>(h.msg_control), d->control.data(),
                     h.msg_controllen)
               .ok()) {
        return EFAULT;
      }
    }
    return 0;
  };
  auto len_at = [&](std::size_t i) {
    return c.args[1] + i * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len);
  };
  std::int64_t sent = 0;  // messages (sendmmsg)
  ssize_t bytes = 0;
  int err = 0;
  for (std::size_t i = 0; i < messages && err == 0; ++i) {
    Datagram d;
    err = read(out[i], &d);
    if (err != 0) break;
    if (stream && may_wait) err = EAGAIN;
    if (err == 0) {
      // The workload's capabilities: some ancillary data needs them (SO_MARK).
      CredentialScope as(c.creds, /*with_umask=*/false);
      bytes = as.ok() ? SendDatagram(sock.get(), d, flags | MSG_DONTWAIT) : -1;
      if (!as.ok()) {
        err = EACCES;
      } else if (bytes < 0) {
        err = errno;
      }
    }
    if ((err == EAGAIN || err == EWOULDBLOCK) && may_wait && sent == 0) {
      // The workload would wait: for room in the socket's buffer, or for a
      // Fast Open handshake.
      if (!StartWorker(&SendWorker, std::unique_ptr<SendJob>(new SendJob{
                                        listener_, c.id, c.creds, std::move(sock), std::move(d),
                                        flags, c.target.tid, mmsg ? len_at(i) : 0}))) {
        break;  // EAGAIN
      }
      ++stats_.allowed;
      return Record(c, v, 0);
    }
    if (err != 0) break;
    if (mmsg) {
      const unsigned len = static_cast<unsigned>(bytes);
      if (!c.target.Write(len_at(i), &len, sizeof(len)).ok()) {
        err = EFAULT;
        break;
      }
      ++sent;
    }
  }
  // sendmmsg: the messages sent, if any (the error of the next one is the
  // next call's); the others: the bytes sent.
  if (mmsg && sent > 0) {
    Succeed(c, sent);
    return Record(c, v, static_cast<int>(sent));
  }
  if (err != 0) {
    Fail(c, err);
    return Record(c, v, -err);
  }
  Succeed(c, mmsg ? 0 : bytes);
  Record(c, v, static_cast<int>(mmsg ? 0 : bytes));
}

namespace {

constexpr std::size_t kMaxParkedAccepts = 256;
constexpr std::size_t kMaxSpareConnections = 64;
constexpr std::int64_t kSpareLifetimeMs = 10'000;
// How often parked accepts are checked for interruption when no connection
// comes: the agent's duplicate keeps the socket open (and its port bound) at
// most this long after the workload gave up and closed it.
constexpr int kParkedSweepMs = 100;

std::int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Whether accept on `fd` returns without waiting: a connection is queued, or
// the socket is no longer listening (shut down: accept fails, EINVAL).
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

}  // namespace

void Supervisor::HandleAccept(Call& c) {
  const int sockfd = static_cast<int>(c.args[0]);
  auto p = std::make_unique<PendingAccept>();
  p->addr = c.args[1];
  p->addrlen_at = c.args[2];
  p->flags = c.name == "accept4" ? static_cast<int>(c.args[3]) : 0;
  auto let_through = [&](const Verdict& v) {
    if (RefuseIfDenied(c, v)) return;
    Continue(c);
    Record(c, v, 0);
  };
  Verdict& v = p->base;
  v.network = true;
  v.net.set_direction(v1::DIRECTION_INBOUND);
  v.decision = Decision{.action = Action::kAllow, .category = Category::kNetwork};
  if (std::optional<Decision> app = policy_->compiled->DecideSyscall(
          {.number = c.nr, .args = c.args, .program = c.program})) {
    v.decision = *app;
    v.from_syscall_rule = true;
    if (!StillValid(c)) return;
    return let_through(v);
  }
  // The peer is known only once a connection is taken off the queue: the
  // agent takes it itself, from a duplicate of the workload's socket, and
  // hands over exactly the connection it decided on. Sockets that are not
  // TCP listeners, and those the agent may not duplicate, are let through
  // (README, gaps).
  p->socket = Fd(DupOfWorkloadFd(c.creds.tgid, sockfd));
  const int fd = p->socket.get();
  const int fl = fd < 0 ? -1 : ::fcntl(fd, F_GETFL);
  int type = 0;
  socklen_t len = sizeof(type);
  struct stat st {};
  if (fl < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
      ::fstat(fd, &st) != 0) {
    if (!StillValid(c)) return;
    return let_through(v);
  }
  p->inode = st.st_ino;
  p->blocking = (fl & O_NONBLOCK) == 0;
  p->proto = ProtocolOf(fd);
  if ((p->flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) {
    if (StillValid(c)) Fail(c, EINVAL);
    return;
  }
  if (p->addr != 0 && !c.target.Read(p->addrlen_at, &p->room, sizeof(p->room)).ok()) {
    if (StillValid(c)) Fail(c, EFAULT);
    return;
  }
  if (p->addr != 0 && static_cast<int>(p->room) < 0) {
    if (StillValid(c)) Fail(c, EINVAL);
    return;
  }
  if (!StillValid(c)) return;
  p->call = std::move(c);
  if (TakeConnection(*p)) return;
  if (!p->blocking) return Fail(p->call, EAGAIN);
  // Nothing to take yet: the call waits, as it would in the kernel, and the
  // supervisor goes on with other calls (possibly the very connect it waits
  // for).
  if (parked_.size() >= kMaxParkedAccepts) {
    log::Warn("too many blocking accepts waiting", {{"max", std::to_string(kMaxParkedAccepts)}});
    return Fail(p->call, ENOBUFS);
  }
  // The /proc descriptors in procs_ may be closed while the call waits: a
  // parked call opens what it needs by name (its thread is checked alive,
  // ID_VALID, before each use).
  p->call.target.proc_dir = p->call.target.status_fd = p->call.target.pidfd = -1;
  parked_.push_back(std::move(p));
}

bool Supervisor::TakeConnection(PendingAccept& p) {
  Call& c = p.call;
  // Refused connections are closed and the next one is taken, as if they had
  // never arrived (an edge-triggered server must not see EAGAIN while
  // connections wait); at most 64 per turn.
  for (int taken = 0; taken < 64; ++taken) {
    SpareConnection next;
    auto spare = std::find_if(spares_.begin(), spares_.end(),
                              [&](const auto& s) { return s->inode == p.inode; });
    if (spare != spares_.end()) {
      next = std::move(**spare);
      spares_.erase(spare);
    } else {
      // The agent is the only one accepting on the workload's sockets (every
      // accept of the workload comes here), so a readable blocking socket
      // has a connection for it (README: residual, accepts from outside).
      if (p.blocking && !Readable(p.socket.get())) return false;
      next.peer_len = sizeof(next.peer);
      next.conn = Fd(::accept4(p.socket.get(), reinterpret_cast<sockaddr*>(&next.peer),
                               &next.peer_len, SOCK_CLOEXEC));
      if (next.conn.get() < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        Fail(c, errno);
        return true;
      }
    }
    Verdict d = p.base;
    if (auto t = IpPortOf(next.peer, next.peer_len)) {
      d = DecideIp(c, policy::Direction::kInbound, t->ip, t->port, p.proto);
    }
    if (d.decision.action != Action::kAllow) NeedProgram(c);
    if (d.decision.action == Action::kDeny && d.decision.enforced) {
      ++stats_.denied;
      Record(c, d, -DenyErrno(c, d.decision.rule));
      continue;  // closed: the peer sees its connection reset
    }
    const bool nonblock = (p.flags & SOCK_NONBLOCK) != 0;
    if (::fcntl(next.conn.get(), F_SETFL, nonblock ? O_RDWR | O_NONBLOCK : O_RDWR) != 0) {
      Fail(c, EIO);
      return true;
    }
    if (p.addr != 0) {
      const socklen_t copy = std::min(p.room, next.peer_len);
      if (!c.target.Write(p.addr, &next.peer, copy).ok() ||
          !c.target.Write(p.addrlen_at, &next.peer_len, sizeof(next.peer_len)).ok()) {
        Fail(c, EFAULT);
        return true;
      }
    }
    if (!Inject(c, next.conn.get(), (p.flags & SOCK_CLOEXEC) != 0)) {
      // Interrupted between the accept and the answer: the connection waits
      // for the socket's next accept instead of being lost.
      ++stats_.gone;
      if (spares_.size() < kMaxSpareConnections) {
        next.inode = p.inode;
        next.since_ms = MonotonicMs();
        spares_.push_back(std::make_unique<SpareConnection>(std::move(next)));
      }
      return true;
    }
    Record(c, d, 0);
    return true;
  }
  return false;
}

int Supervisor::AddWaitingSockets(std::vector<pollfd>* fds) const {
  for (const auto& p : parked_)
    fds->push_back(pollfd{p->socket.get(), POLLIN, 0});
  return parked_.empty() && spares_.empty() ? -1 : kParkedSweepMs;
}

void Supervisor::ServiceWaitingSockets(const std::vector<pollfd>& polled) {
  const std::int64_t now = MonotonicMs();
  const bool sweep = now - last_sweep_ms_ >= kParkedSweepMs;
  if (sweep) last_sweep_ms_ = now;
  std::erase_if(spares_, [&](const auto& s) { return now - s->since_ms >= kSpareLifetimeMs; });
  auto ready = [&](int fd) {
    for (const pollfd& p : polled)
      if (p.fd == fd) return p.revents != 0;
    return false;
  };
  std::vector<std::unique_ptr<PendingAccept>> still;
  still.reserve(parked_.size());
  for (auto& p : parked_) {
    if (!sweep && !ready(p->socket.get())) {
      still.push_back(std::move(p));
      continue;
    }
    // Checked before taking a connection: one taken for a call that is gone
    // would be another accept's.
    if (!StillValid(p->call)) continue;  // interrupted: the socket is let go
    // Reloads free the table the call's entry pointed into.
    auto entry = entries_.find(p->call.nr);
    p->call.entry = entry == entries_.end() ? nullptr : entry->second;
    if (!TakeConnection(*p)) still.push_back(std::move(p));
  }
  // (TakeConnection may not park: parked_ is only appended to by HandleOne.)
  parked_ = std::move(still);
}

// --- syscalls with application rules only ---

void Supervisor::HandleOther(Call& c) {
  Verdict v;
  std::optional<Decision> app =
      policy_->compiled->DecideSyscall({.number = c.nr, .args = c.args, .program = c.program});
  if (!StillValid(c)) return;
  if (app) {
    v.decision = *app;
    v.from_syscall_rule = true;
  } else if (c.entry != nullptr && (c.entry->handling() == v1::SyscallEntry::KERNEL_DENY ||
                                    (c.entry->handling() == v1::SyscallEntry::KERNEL_ARGS &&
                                     c.entry->fallback() == v1::ACTION_DENY))) {
    // The table's own answer when none of its rules matched: the filter
    // sends such a syscall here for the agent's sake (filter step 5), or a
    // reloaded table decides it where the running filter notifies.
    v.decision = Decision{.action = Action::kDeny,
                          .enforced = !policy_->table.permissive(),
                          .category = Category::kApplication};
    v.from_syscall_rule = true;
  } else {
    v.decision = Decision{.action = Action::kAllow, .category = Category::kApplication};
  }
  if (RefuseIfDenied(c, v)) return;
  // Scalar arguments are copied at the notification: CONTINUE re-runs the
  // very call that was decided.
  Continue(c);
  Record(c, v, 0);
}

// --- hot swap ---

void Supervisor::ReplacePolicy(std::shared_ptr<const LoadedPolicy> next) {
  policy_ = std::move(next);
  DerivePolicyState();
}

}  // namespace portcullis::agent
