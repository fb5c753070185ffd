/* The baselines of tests/bench/agent_bench.sh: the smallest seccomp
 * user-notification supervisors that do what the agent's open path must do,
 * so the agent's cost can be read as a ratio to them.
 *
 *   agent_bench_baseline continue -- PROGRAM [ARGS...]
 *   agent_bench_baseline addfd -- PROGRAM [ARGS...]
 *   agent_bench_baseline checked -- PROGRAM [ARGS...]
 *
 * Runs PROGRAM as a child under a filter that sends open, openat, openat2 and
 * creat to this process (SECCOMP_RET_USER_NOTIF; every other syscall is
 * allowed; a foreign architecture is killed) and answers each notification:
 *   continue: receive, read the path with process_vm_readv (never across a
 *             page boundary), SECCOMP_IOCTL_NOTIF_ID_VALID, answer
 *             SECCOMP_USER_NOTIF_FLAG_CONTINUE (the kernel then opens);
 *   addfd:    the same, then open the path itself (same root and cwd as the
 *             child; no credentials switch, no policy) and answer with
 *             SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND;
 *   checked:  addfd plus the system calls the agent's fast open path makes
 *             besides its decision: the caller's credentials (PIDFD_GET_INFO
 *             on a pidfd kept open, capget), the object's type (statx, so a
 *             FIFO or a device is never opened blind), the open itself in the
 *             caller's root without crossing a symlink (openat2 from a root
 *             descriptor kept open, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
 *             RESOLVE_NO_MAGICLINKS, O_NONBLOCK against a lease or a FIFO
 *             swapped in) and O_NONBLOCK taken off again (F_SETFL); a create
 *             is the credentials and one openat2 (O_EXCL | O_NOFOLLOW). It
 *             decides nothing and does not switch credentials (the values
 *             are read, not used): what is left between it and the agent is
 *             the agent's own work.
 * Both ask for SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, as the agent does (where
 * the kernel has it). Exits with the child's status. The listener comes back
 * over a socketpair (SCM_RIGHTS; sendmsg is not intercepted by this filter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static pid_t g_child;

static int InstallFilter(void) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_creat, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
  };
  struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                      &prog);
}

static int SendFd(int sock, int fd) {
  char data = 'L';
  struct iovec iov = {&data, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int RecvFd(int sock) {
  char data;
  struct iovec iov = {&data, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  if (recvmsg(sock, &m, 0) != 1) return -1;
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

/* The NUL-terminated string at addr in pid's memory, one page at a time. */
static int ReadPath(pid_t pid, uint64_t addr, char* out, size_t max) {
  size_t len = 0;
  while (len < max) {
    size_t chunk = PAGE - (addr % PAGE);
    if (chunk > max - len) chunk = max - len;
    struct iovec local = {out + len, chunk};
    struct iovec remote = {(void*)addr, chunk};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return -EFAULT;
    if (memchr(out + len, 0, (size_t)n) != NULL) return 0;
    len += (size_t)n;
    addr += (uint64_t)n;
  }
  return -ENAMETOOLONG;
}

/* PIDFD_GET_INFO (Linux 6.13), its first version. */
struct PidfdInfo {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
#define PIDFD_GET_INFO_V0 _IOWR(0xFF, 11, struct PidfdInfo)

/* The checked mode's open: -errno or a descriptor, as the agent's fast path
 * makes it (see the top of this file). */
static int CheckedOpen(int pidfd, pid_t pid, int root, const char* path, int flags, mode_t mode) {
  struct PidfdInfo info = {.mask = 3}; /* pid, credentials */
  if (ioctl(pidfd, PIDFD_GET_INFO_V0, &info) != 0) return -errno;
  struct __user_cap_header_struct {
    uint32_t version;
    int pid;
  } header = {0x20080522, pid}; /* _LINUX_CAPABILITY_VERSION_3 */
  struct {
    uint32_t effective, permitted, inheritable;
  } caps[2];
  if (syscall(SYS_capget, &header, caps) != 0) return -errno;
  struct open_how how = {.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  if (flags & O_CREAT) {
    /* A new name: made in one call that makes a new file or nothing. */
    how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY | O_EXCL | O_NOFOLLOW);
    how.mode = mode & 07777;
    int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
    return fd < 0 ? -errno : fd;
  }
  struct statx sx;
  if (statx(root, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) != 0) return -errno;
  if (!S_ISREG(sx.stx_mode) && !S_ISDIR(sx.stx_mode)) return -EINVAL;
  how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
  if (fd < 0) return -errno;
  if (fcntl(fd, F_SETFL, flags | O_CLOEXEC | O_NOCTTY) != 0) {
    close(fd);
    return -EIO;
  }
  return fd;
}

static void* Waiter(void* arg) {
  (void)arg;
  int status = 0;
  while (waitpid(g_child, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0 ||
      (strcmp(argv[1], "continue") != 0 && strcmp(argv[1], "addfd") != 0 &&
       strcmp(argv[1], "checked") != 0)) {
    fprintf(stderr, "usage: %s continue|addfd|checked -- PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  const int checked = strcmp(argv[1], "checked") == 0;
  const int addfd = checked || strcmp(argv[1], "addfd") == 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return 1;
  g_child = fork();
  if (g_child < 0) return 1;
  if (g_child == 0) {
    close(sv[0]);
    int listener = InstallFilter();
    if (listener < 0 || SendFd(sv[1], listener) != 0) _exit(126);
    close(listener);
    close(sv[1]);
    execv(argv[3], argv + 3);
    _exit(127);
  }
  close(sv[1]);
  int listener = RecvFd(sv[0]);
  close(sv[0]);
  if (listener < 0) {
    fprintf(stderr, "agent_bench_baseline: no listener\n");
    return 1;
  }
  /* Synchronous wake-ups (Linux 6.6), as the agent asks for them too: each
   * side is woken on the CPU of the other instead of an idle one. */
  uint64_t sync_wake_up = 1;
  ioctl(listener, _IOW('!', 4, uint64_t), sync_wake_up);
  /* The checked mode's descriptors, kept open as the agent keeps its own. */
  int pidfd = checked ? (int)syscall(SYS_pidfd_open, g_child, 0) : -1;
  int root = checked ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (checked && (pidfd < 0 || root < 0)) {
    fprintf(stderr, "agent_bench_baseline: pidfd_open or the root: %s\n", strerror(errno));
    return 1;
  }
  pthread_t waiter;
  if (pthread_create(&waiter, NULL, Waiter, NULL) != 0) return 1;

  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return 1;
  size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif)
                        ? sizes.seccomp_notif
                        : sizeof(struct seccomp_notif);
  struct seccomp_notif* req = calloc(1, req_size);
  static char path[PAGE + 1];
  for (;;) {
    memset(req, 0, req_size);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) continue; /* EINTR, ENOENT */
    struct seccomp_notif_resp resp = {.id = req->id};
    int nr = req->data.nr;
    uint64_t path_arg = nr == SYS_open || nr == SYS_creat ? req->data.args[0] : req->data.args[1];
    int err = ReadPath(req->pid, path_arg, path, PAGE);
    uint64_t id = req->id;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) continue; /* gone */
    if (err != 0) {
      resp.error = err;
    } else if (!addfd || nr != SYS_openat || (int)req->data.args[0] != AT_FDCWD) {
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      int flags = (int)req->data.args[2];
      int fd = checked ? CheckedOpen(pidfd, req->pid, root, path, flags, (mode_t)req->data.args[3])
                       : open(path, flags | O_CLOEXEC | O_NOCTTY, (mode_t)req->data.args[3]);
      if (fd < 0 && !checked) fd = -errno;
      if (fd < 0) {
        resp.error = fd;
      } else {
        struct seccomp_notif_addfd add = {.id = req->id,
                                          .flags = SECCOMP_ADDFD_FLAG_SEND,
                                          .srcfd = (uint32_t)fd,
                                          .newfd_flags = (uint32_t)(flags & O_CLOEXEC)};
        int r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
        close(fd);
        if (r >= 0 || errno == ENOENT) continue; /* answered (or the caller is gone) */
        resp.error = -EIO;
      }
    }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}
