#include "portcullis/agent/target.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace portcullis::agent {
namespace {

constexpr std::uint64_t kPage = 4096;

std::string ProcPath(pid_t tid, const char* leaf) {
  return "/proc/" + std::to_string(tid) + "/" + leaf;
}

std::string ReadLink(const std::string& path) {
  char buf[kMaxPathBytes + 1];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n <= 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

Status ReadError(int e, std::uint64_t addr) {
  if (e == EPERM || e == EACCES) {
    return PermissionDeniedError("may not read the workload's memory (another user?)");
  }
  if (e == ESRCH) return NotFoundError("the workload thread is gone");
  return InvalidArgumentError("bad address " + std::to_string(addr) + ": " + std::strerror(e));
}

}  // namespace

Status Target::Read(std::uint64_t addr, void* out, std::size_t size) const {
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(addr), size};
  ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  if (n < 0) return ReadError(errno, addr);
  if (static_cast<std::size_t>(n) != size) return ReadError(EFAULT, addr);
  return OkStatus();
}

Status Target::Write(std::uint64_t addr, const void* data, std::size_t size) const {
  iovec local{const_cast<void*>(data), size};
  iovec remote{reinterpret_cast<void*>(addr), size};
  ssize_t n = process_vm_writev(tid, &local, 1, &remote, 1, 0);
  if (n < 0) return ReadError(errno, addr);
  if (static_cast<std::size_t>(n) != size) return ReadError(EFAULT, addr);
  return OkStatus();
}

StatusOr<std::string> Target::ReadString(std::uint64_t addr, std::size_t max) const {
  std::string out;
  char buf[kPage];
  while (out.size() <= max) {
    // Never cross a page boundary in one read: the next page may be unmapped
    // although the string ends before it.
    std::size_t chunk = static_cast<std::size_t>(kPage - (addr % kPage));
    iovec local{buf, chunk};
    iovec remote{reinterpret_cast<void*>(addr), chunk};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n <= 0) return ReadError(n < 0 ? errno : EFAULT, addr);
    const char* nul = static_cast<const char*>(std::memchr(buf, 0, static_cast<std::size_t>(n)));
    if (nul != nullptr) {
      out.append(buf, static_cast<std::size_t>(nul - buf));
      if (out.size() >= max) break;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
    addr += static_cast<std::uint64_t>(n);
  }
  return InvalidArgumentError("path longer than " + std::to_string(max) + " bytes");
}

StatusOr<Credentials> Target::ReadCredentials() const {
  // One read of /proc/TID/status (about 1.5 KiB), parsed in place: this runs
  // for every notification. With a cached descriptor it is one pread: the
  // file is generated whole at offset 0 (seq_file), so a read from 0 into a
  // large enough buffer returns all of it, current as of that read.
  char buf[8192];
  std::size_t len = 0;
  if (status_fd >= 0) {
    ssize_t n;
    do {
      n = ::pread(status_fd, buf, sizeof(buf) - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return NotFoundError("the workload thread is gone");
    len = static_cast<std::size_t>(n);
  } else {
    int fd = ::open(ProcPath(tid, "status").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NotFoundError("the workload thread is gone");
    while (len < sizeof(buf) - 1) {
      ssize_t n = ::read(fd, buf + len, sizeof(buf) - 1 - len);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  buf[len] = '\0';
  Credentials c;
  int found = 0;
  auto numbers = [](const char* p, int base, unsigned long long* out, int max) {
    int n = 0;
    while (n < max) {
      while (*p == ' ' || *p == '\t')
        ++p;
      if (*p == '\n' || *p == '\0') break;
      char* end = nullptr;
      out[n++] = std::strtoull(p, &end, base);
      if (end == p) break;
      p = end;
    }
    return n;
  };
  for (const char* line = buf; *line != '\0';) {
    const char* nl = std::strchr(line, '\n');
    const char* colon = std::strchr(line, ':');
    if (colon != nullptr && (nl == nullptr || colon < nl)) {
      std::string_view key(line, static_cast<std::size_t>(colon - line));
      const char* v = colon + 1;
      unsigned long long x[64];
      if (key == "Uid" && numbers(v, 10, x, 4) == 4) {
        c.uid = static_cast<uid_t>(x[0]);
        c.euid = static_cast<uid_t>(x[1]);
        c.fsuid = static_cast<uid_t>(x[3]);
        ++found;
      } else if (key == "Gid" && numbers(v, 10, x, 4) == 4) {
        c.gid = static_cast<gid_t>(x[0]);
        c.egid = static_cast<gid_t>(x[1]);
        c.fsgid = static_cast<gid_t>(x[3]);
        ++found;
      } else if (key == "Groups") {
        int n = numbers(v, 10, x, 64);
        for (int i = 0; i < n; ++i)
          c.groups.push_back(static_cast<gid_t>(x[i]));
        ++found;
      } else if (key == "CapEff" && numbers(v, 16, x, 1) == 1) {
        c.cap_effective = x[0];
      } else if (key == "Umask" && numbers(v, 8, x, 1) == 1) {
        c.umask = static_cast<mode_t>(x[0] & 0777);
      } else if (key == "Tgid" && numbers(v, 10, x, 1) == 1) {
        c.tgid = static_cast<pid_t>(x[0]);
      } else if (key == "PPid" && numbers(v, 10, x, 1) == 1) {
        c.ppid = static_cast<pid_t>(x[0]);
      }
    }
    if (nl == nullptr) break;
    line = nl + 1;
  }
  if (found < 3) return NotFoundError("incomplete /proc status of the workload thread");
  return c;
}

namespace {

// PIDFD_GET_INFO (linux/pidfd.h of Linux 6.13; Debian 12's headers predate
// it). The first version of the structure, 64 bytes.
struct PidfdInfo {
  std::uint64_t mask;
  std::uint64_t cgroupid;
  std::uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  std::int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64);
constexpr std::uint64_t kPidfdInfoPid = 1u << 0;
constexpr std::uint64_t kPidfdInfoCreds = 1u << 1;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

}  // namespace

StatusOr<Credentials> Target::ReadIdentity(bool with_capabilities) const {
  if (pidfd < 0) return FailedPreconditionError("no pidfd of the thread");
  PidfdInfo info{};
  info.mask = kPidfdInfoPid | kPidfdInfoCreds;
  if (::ioctl(pidfd, kPidfdGetInfo, &info) != 0) {
    if (errno == ESRCH) return NotFoundError("the workload thread is gone");
    return FailedPreconditionError(std::string("PIDFD_GET_INFO: ") + std::strerror(errno));
  }
  if ((info.mask & (kPidfdInfoPid | kPidfdInfoCreds)) != (kPidfdInfoPid | kPidfdInfoCreds)) {
    return FailedPreconditionError("PIDFD_GET_INFO without credentials");
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, tid};
  __user_cap_data_struct caps[2]{};
  if (with_capabilities && syscall(SYS_capget, &header, caps) != 0) {
    if (errno == ESRCH) return NotFoundError("the workload thread is gone");
    return FailedPreconditionError(std::string("capget: ") + std::strerror(errno));
  }
  Credentials c;
  c.uid = info.ruid;
  c.euid = info.euid;
  c.fsuid = info.fsuid;
  c.gid = info.rgid;
  c.egid = info.egid;
  c.fsgid = info.fsgid;
  c.cap_effective = caps[0].effective | (static_cast<std::uint64_t>(caps[1].effective) << 32);
  c.tgid = static_cast<pid_t>(info.tgid);
  c.ppid = static_cast<pid_t>(info.ppid);
  return c;
}

std::string Target::Executable() const {
  if (proc_dir >= 0) {
    char buf[kMaxPathBytes + 1];
    ssize_t n = ::readlinkat(proc_dir, "exe", buf, sizeof(buf) - 1);
    return n <= 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
  }
  return ReadLink(ProcPath(tid, "exe"));
}

std::vector<std::string> Target::Argv(std::size_t max_bytes) const {
  std::vector<std::string> out;
  // Close-on-exec like every descriptor of the agent: until the workload's
  // first execve it shares the agent's descriptor table.
  int fd = ::open(ProcPath(tid, "cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  std::string all(max_bytes, '\0');
  std::size_t len = 0;
  while (len < max_bytes) {
    ssize_t n = ::read(fd, all.data() + len, max_bytes - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<std::size_t>(n);
  }
  ::close(fd);
  all.resize(len);
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    out.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

StatusOr<int> Target::OpenRoot() const {
  // Opened for every lookup unless the caller knows it: the workload may
  // chroot.
  int fd = known_root >= 0 ? ::fcntl(known_root, F_DUPFD_CLOEXEC, 0)
           : proc_dir >= 0
               ? ::openat(proc_dir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC)
               : ::open(ProcPath(tid, "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ReadError(errno, 0);
  return fd;
}

StatusOr<int> Target::OpenDir(int dirfd) const {
  int fd;
  if (proc_dir >= 0) {
    char leaf[32];
    if (dirfd == AT_FDCWD) {
      std::memcpy(leaf, "cwd", 4);
    } else {
      std::snprintf(leaf, sizeof(leaf), "fd/%d", dirfd);
    }
    fd = ::openat(proc_dir, leaf, O_PATH | O_CLOEXEC);
  } else {
    std::string path =
        dirfd == AT_FDCWD ? ProcPath(tid, "cwd") : ProcPath(tid, "fd/") + std::to_string(dirfd);
    fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  }
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT && dirfd != AT_FDCWD) return InvalidArgumentError("EBADF");
    return ReadError(e, 0);
  }
  return fd;
}

std::string Target::FdLink(int fd) const {
  return ReadLink(ProcPath(tid, "fd/") + std::to_string(fd));
}

// Whether every file system in `mountinfo` (/proc/PID/mountinfo) compares
// names byte for byte. Case-insensitive file systems (vfat, exfat, ntfs3,
// cifs, fuse, 9p, ...) and casefold directories (ext4, f2fs, tmpfs mounted
// with "casefold", where the kernel can casefold) do not: "/data/SECRET" may
// be "/data/secret". Unknown types count as not, unless mounted on a file
// (Docker's /etc/hosts: no names to look up under it). Else `why` names the
// first such mount.
bool MountsMatchNamesExactly(std::string_view mountinfo, bool casefold_kernel,
                             const std::function<bool(const std::string&)>& is_file,
                             std::string* why) {
  static const std::unordered_map<std::string_view, bool> kExact = {
      {"overlay", true},  {"proc", true},       {"sysfs", true},     {"devpts", true},
      {"devtmpfs", true}, {"ramfs", true},      {"cgroup", true},    {"cgroup2", true},
      {"mqueue", true},   {"btrfs", true},      {"xfs", true},       {"tracefs", true},
      {"debugfs", true},  {"securityfs", true}, {"bpf", true},       {"pstore", true},
      {"configfs", true}, {"fusectl", true},    {"hugetlbfs", true}, {"binfmt_misc", true},
      {"nsfs", true},     {"autofs", true},     {"tmpfs", false},    {"ext2", false},
      {"ext3", false},    {"ext4", false},      {"f2fs", false},
  };  // false: exact only without casefolding in the kernel (tmpfs: or its option)
  std::string_view rest = mountinfo;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    // "id parent major:minor root mount-point options [tags] - type source super-options"
    std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::string_view tail = line.substr(dash + 3);
    std::string_view type = tail.substr(0, tail.find(' '));
    std::size_t last = tail.rfind(' ');
    std::string_view options =
        last == std::string_view::npos ? std::string_view() : tail.substr(last + 1);
    auto it = kExact.find(type);
    const bool exact = it != kExact.end() &&
                       (it->second || !casefold_kernel ||
                        (type == "tmpfs" && options.find("casefold") == std::string_view::npos));
    if (exact) continue;
    std::string_view head = line.substr(0, dash);
    std::string point;
    std::size_t at = 0;
    for (int i = 0; i < 4 && at != std::string_view::npos; ++i) {
      at = head.find(' ', at);
      if (at != std::string_view::npos) ++at;
    }
    if (at != std::string_view::npos) point = std::string(head.substr(at, head.find(' ', at) - at));
    if (!point.empty() && is_file(point)) continue;
    *why = std::string(type) + " on " + point;
    return false;
  }
  return true;
}

bool MountsMatchNamesExactly(std::string* why) {
  auto exists = [](const char* p) { return ::access(p, F_OK) == 0; };
  const bool casefold_kernel = exists("/sys/fs/ext4/features/casefold") ||
                               exists("/sys/fs/f2fs/features/casefold") ||
                               exists("/sys/fs/tmpfs/features/casefold");
  int fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "/proc/self/mountinfo unreadable";
    return false;
  }
  std::string all;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
    all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  // (A mount point with escaped characters, "\040", does not stat: it counts.)
  auto is_file = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
  };
  return MountsMatchNamesExactly(all, casefold_kernel, is_file, why);
}

std::string PathOfFd(int fd) {
  return ReadLink("/proc/self/fd/" + std::to_string(fd));
}

std::string JoinAndNormalize(const std::string& base, const std::string& path) {
  std::string joined = !path.empty() && path.front() == '/' ? path : base + "/" + path;
  std::vector<std::string_view> parts;
  std::string_view rest = joined;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(seg);
  }
  if (parts.empty()) return "/";
  std::string out;
  for (std::string_view p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

}  // namespace portcullis::agent
