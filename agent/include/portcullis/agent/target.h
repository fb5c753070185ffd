// The workload thread behind a seccomp notification, seen through /proc: its
// memory (process_vm_readv), credentials, executable, command line, root,
// working directory and descriptors. Paths are as the agent sees them (the
// container's root); a workload that chroots further gets paths in the
// agent's view, which is the file that is really opened.
//
//   Target t{.tid = notif.pid};
//   StatusOr<std::string> path = t.ReadString(notif.data.args[1]);
//   StatusOr<Credentials> creds = t.ReadCredentials();
//
// Nothing here is trusted before the caller has checked
// SECCOMP_IOCTL_NOTIF_ID_VALID after its last read (the thread may have died
// and its id been reused).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::agent {

struct Credentials {
  uid_t uid = 0;   // real
  uid_t euid = 0;  // effective
  uid_t fsuid = 0;
  gid_t gid = 0;
  gid_t egid = 0;
  gid_t fsgid = 0;
  std::vector<gid_t> groups;
  std::uint64_t cap_effective = 0;  // CapEff
  mode_t umask = 022;
  pid_t tgid = 0;  // the process of the thread
  pid_t ppid = 0;
};

// Longest path read from a workload (PATH_MAX).
inline constexpr std::size_t kMaxPathBytes = 4096;

struct Target {
  pid_t tid = 0;
  // Optional, borrowed (the supervisor keeps them per thread): O_PATH of the
  // thread's /proc/TID directory and a read descriptor of /proc/TID/status,
  // or -1 to open them by name. Both stay bound to the thread they were
  // opened for (its struct pid): once it has died they fail (ESRCH/ENOENT),
  // even if its id has been reused, so they never show another thread.
  int proc_dir = -1;
  int status_fd = -1;
  // Optional, borrowed: a pidfd of the thread (PIDFD_THREAD), for
  // ReadIdentity. Like proc_dir, bound to the thread it was opened for.
  int pidfd = -1;
  // Optional, borrowed: an O_PATH descriptor of the agent's own root, set
  // when the caller knows the workload's root is the same (OpenRoot then
  // duplicates it instead of opening /proc/TID/root).
  int known_root = -1;

  // Bytes at `addr`; PermissionDenied when the agent may not read the
  // workload (different user and no CAP_SYS_PTRACE), InvalidArgument (EFAULT)
  // for a bad address.
  Status Read(std::uint64_t addr, void* out, std::size_t size) const;
  // Writes `size` bytes at `addr` (an answer the agent gives in the
  // workload's memory, as the kernel would: accept's peer address). Same
  // errors as Read.
  Status Write(std::uint64_t addr, const void* data, std::size_t size) const;
  // A NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond).
  StatusOr<std::string> ReadString(std::uint64_t addr, std::size_t max = kMaxPathBytes) const;
  // From status_fd (pread) when set. NotFound when the thread is gone.
  StatusOr<Credentials> ReadCredentials() const;
  // The credentials without the status file (~1.3 us instead of ~11-15):
  // uids, gids, tgid and ppid from PIDFD_GET_INFO (Linux 6.13), the effective
  // capabilities from capget. `groups` and `umask` are not filled in (only
  // the status file has them). FailedPrecondition without a pidfd or on an older
  // kernel; NotFound when the thread is gone. Without `with_capabilities`
  // there is no capget and cap_effective is 0: for a caller that cannot use
  // them (an agent with no effective capability of its own lends none).
  StatusOr<Credentials> ReadIdentity(bool with_capabilities = true) const;
  // /proc/TID/exe: the executable at the time of the call.
  std::string Executable() const;
  std::vector<std::string> Argv(std::size_t max_bytes = 4096) const;
  // An O_PATH descriptor of the workload's root (known_root's duplicate when
  // set), cwd, or descriptor `fd` (AT_FDCWD: the cwd), owned by the caller.
  StatusOr<int> OpenRoot() const;
  StatusOr<int> OpenDir(int dirfd) const;
  // readlink of /proc/TID/fd/N: "socket:[123]", "/etc/passwd" ...
  std::string FdLink(int fd) const;
};

// Whether every file system mounted compares names byte for byte, so that a
// lookup that crosses no symlink finds exactly the object its lexical path
// names (the supervisor's lexical paths). Case-insensitive file systems and
// casefold directories do not ("/data/SECRET" may be "/data/secret"); unknown
// types count as not, unless mounted on a file. Else `why` names the first
// such mount. The first form reads /proc/self/mountinfo and asks the kernel
// whether it can casefold; the second is the parser, for tests.
bool MountsMatchNamesExactly(std::string* why);
bool MountsMatchNamesExactly(std::string_view mountinfo, bool casefold_kernel,
                             const std::function<bool(const std::string&)>& is_file,
                             std::string* why);

// The path an O_PATH (or any) descriptor of the agent refers to.
std::string PathOfFd(int fd);

// `path` made absolute against `base` (absolute itself) and lexically
// normalized: no ".", "..", or repeated slashes; "/" for the root.
std::string JoinAndNormalize(const std::string& base, const std::string& path);

}  // namespace portcullis::agent
