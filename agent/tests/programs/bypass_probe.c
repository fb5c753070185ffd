/* Ways around a file or exec rule, for the bypass tests. Each mode tries to
 * reach a file (or run a program) some other way than a plain open(PATH);
 * on success it prints the file's first line (or the program runs), and it
 * exits with the errno of the step that failed (0 on success).
 *   bypass_probe x32open PATH          openat through the x32 ABI
 *   bypass_probe int80open PATH        open through int 0x80 (i386 ABI)
 *   bypass_probe openat2 DIR NAME RESOLVE
 *                                      openat2(dirfd of DIR or AT_FDCWD if DIR
 *                                      is "-", NAME, O_RDONLY, resolve flags)
 *   bypass_probe uring PATH            IORING_OP_OPENAT through raw
 *                                      io_uring_setup / io_uring_enter
 *   bypass_probe byhandle DIR NAME     name_to_handle_at(DIR/NAME), then
 *                                      open_by_handle_at (needs
 *                                      CAP_DAC_READ_SEARCH)
 *   bypass_probe execveat-fd PROG      execveat(fd of PROG, "", AT_EMPTY_PATH)
 *   bypass_probe execveat-path PROG    execveat(AT_FDCWD, PROG, 0)
 *   bypass_probe execveat-dirfd DIR NAME
 *                                      execveat(dirfd of DIR, NAME, 0)
 *   bypass_probe openat DIR NAME       openat(dirfd of DIR, NAME)
 *   bypass_probe chdiropen DIR NAME    chdir(DIR), open(NAME)
 *   bypass_probe procfd DIR NAME       open(/proc/self/fd/<fd of DIR>/NAME)
 *   bypass_probe linkopen SRC DST      link(SRC, DST), then open DST
 *   bypass_probe renameopen SRC DST [NAME]
 *                                      rename(SRC, DST), then open DST (or
 *                                      DST/NAME: a directory moved away)
 *   bypass_probe exchangeopen A B      renameat2(A, B, RENAME_EXCHANGE), then open A
 *   bypass_probe bindopen SRC DST      in a new user and mount namespace (no
 *                                      privilege needed where unprivileged
 *                                      user namespaces are allowed), bind
 *                                      mount SRC on DST, then open DST
 *   bypass_probe watch PATH            open PATH every 10 ms; print the result
 *                                      (0 or the errno) at first and when it
 *                                      changes, then exit 0 (124 after 60 s)
 *   bypass_probe selfreload POLICY NEW PATH
 *                                      copy NEW over POLICY, SIGHUP the parent
 *                                      (the agent), wait for the SIGHUP to come
 *                                      back (forwarded), then open PATH
 * The program run by the exec modes gets "42" as its argument. Descriptors
 * are opened O_RDONLY (an O_PATH open is decided, then made by the kernel:
 * agent/README.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe_util.h"

extern char** environ;

/* int 0x80 takes 32-bit pointers: a static buffer of a non-PIE static
 * program lies below 4 GiB. */
static char g_low_path[4096];

static volatile sig_atomic_t g_hup;
static void OnHup(int sig) {
  (void)sig;
  g_hup = 1;
}

static int OpenAndPrint(const char* path) {
  int fd = open(path, O_RDONLY);
  return fd < 0 ? errno : PrintFirstLine(fd);
}

static int DirFd(const char* dir, int flags) {
  return strcmp(dir, "-") == 0 ? AT_FDCWD : open(dir, flags | O_DIRECTORY);
}

static int Int80Open(const char* path) {
  snprintf(g_low_path, sizeof(g_low_path), "%s", path);
  if ((uintptr_t)g_low_path > 0xffffffffu) return 251;
  long ret;
  /* i386 open(path, O_RDONLY) = 5. */
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(5L), "b"((long)(uintptr_t)g_low_path), "c"(0L), "d"(0L)
                   : "memory");
  if (ret < 0) return (int)-ret;
  return PrintFirstLine((int)ret);
}

static int UringOpen(const char* path) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (ring < 0) return errno;
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP)
    sq_size = cq_size = sq_size > cq_size ? sq_size : cq_size;
  char* sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                  IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) return errno;
  char* cq = sq;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
    cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
              IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) return errno;
  }
  struct io_uring_sqe* sqes =
      mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return errno;
  unsigned* tail = (unsigned*)(sq + p.sq_off.tail);
  unsigned mask = *(unsigned*)(sq + p.sq_off.ring_mask);
  unsigned* array = (unsigned*)(sq + p.sq_off.array);
  unsigned t = *tail, idx = t & mask;
  struct io_uring_sqe* sqe = &sqes[idx];
  memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = IORING_OP_OPENAT;
  sqe->fd = AT_FDCWD;
  sqe->addr = (uint64_t)(uintptr_t)path;
  sqe->open_flags = O_RDONLY;
  array[idx] = idx;
  __atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
  if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return errno;
  unsigned head = __atomic_load_n((unsigned*)(cq + p.cq_off.head), __ATOMIC_ACQUIRE);
  unsigned cq_mask = *(unsigned*)(cq + p.cq_off.ring_mask);
  struct io_uring_cqe* cqe = (struct io_uring_cqe*)(cq + p.cq_off.cqes) + (head & cq_mask);
  if (cqe->res < 0) return -cqe->res;
  return PrintFirstLine(cqe->res);
}

int main(int argc, char** argv) {
  if (argc < 3) return 255;
  const char* mode = argv[1];
  char* child_argv[] = {argv[2], "42", NULL};
  if (strcmp(mode, "selfreload") == 0 && argc > 4) {
    char buf[65536];
    int in = open(argv[3], O_RDONLY), out = open(argv[2], O_WRONLY | O_TRUNC);
    if (in < 0 || out < 0) return errno;
    ssize_t n = read(in, buf, sizeof(buf));
    if (n < 0 || write(out, buf, (size_t)n) != n) return errno;
    close(in);
    close(out);
    signal(SIGHUP, OnHup);
    if (kill(getppid(), SIGHUP) != 0) return errno;
    for (int i = 0; i < 2000 && !g_hup; ++i) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    if (!g_hup) return 124;
    return OpenAndPrint(argv[4]);
  }
  if (strcmp(mode, "watch") == 0) {
    int last = -1;
    for (int i = 0; i < 6000; ++i) {
      int fd = open(argv[2], O_RDONLY);
      int now = fd < 0 ? errno : 0;
      if (fd >= 0) close(fd);
      if (now != last) {
        printf("%d\n", now);
        fflush(stdout);
        if (last != -1) return 0;
        last = now;
      }
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    return 124;
  }
  if (strcmp(mode, "x32open") == 0) {
    long fd = syscall(0x40000000L | __NR_openat, AT_FDCWD, argv[2], O_RDONLY);
    return fd < 0 ? errno : PrintFirstLine((int)fd);
  }
  if (strcmp(mode, "int80open") == 0) return Int80Open(argv[2]);
  if (strcmp(mode, "openat2") == 0 && argc > 4) {
    int dir = DirFd(argv[2], O_RDONLY);
    if (dir == -1) return errno;
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY;
    how.resolve = strtoull(argv[4], NULL, 0);
    long fd = syscall(SYS_openat2, dir, argv[3], &how, sizeof(how));
    return fd < 0 ? errno : PrintFirstLine((int)fd);
  }
  if (strcmp(mode, "uring") == 0) return UringOpen(argv[2]);
  if (strcmp(mode, "byhandle") == 0 && argc > 3) {
    int dir = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dir < 0) return errno;
    struct {
      struct file_handle h;
      unsigned char bytes[MAX_HANDLE_SZ];
    } handle;
    handle.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(dir, argv[3], &handle.h, &mount_id, 0) != 0) return errno;
    int fd = open_by_handle_at(dir, &handle.h, O_RDONLY);
    return fd < 0 ? errno : PrintFirstLine(fd);
  }
  if (strcmp(mode, "bindopen") == 0 && argc > 3) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return errno;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(argv[2], argv[3], NULL, MS_BIND, NULL) != 0) {
      return errno;
    }
    int fd = open(argv[3], O_RDONLY);
    return fd < 0 ? errno : PrintFirstLine(fd);
  }
  if (strcmp(mode, "execveat-fd") == 0) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) return errno;
    syscall(SYS_execveat, fd, "", child_argv, environ, AT_EMPTY_PATH);
    return errno;
  }
  if (strcmp(mode, "execveat-path") == 0) {
    syscall(SYS_execveat, AT_FDCWD, argv[2], child_argv, environ, 0);
    return errno;
  }
  if (strcmp(mode, "execveat-dirfd") == 0 && argc > 3) {
    int dir = DirFd(argv[2], O_RDONLY);
    if (dir == -1) return errno;
    child_argv[0] = argv[3];
    syscall(SYS_execveat, dir, argv[3], child_argv, environ, 0);
    return errno;
  }
  if (strcmp(mode, "openat") == 0 && argc > 3) {
    int dir = DirFd(argv[2], O_RDONLY);
    if (dir == -1) return errno;
    int fd = openat(dir, argv[3], O_RDONLY);
    return fd < 0 ? errno : PrintFirstLine(fd);
  }
  if (strcmp(mode, "chdiropen") == 0 && argc > 3) {
    if (chdir(argv[2]) != 0) return errno;
    return OpenAndPrint(argv[3]);
  }
  if (strcmp(mode, "procfd") == 0 && argc > 3) {
    int dir = DirFd(argv[2], O_RDONLY);
    if (dir == -1) return errno;
    char path[4200];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir, argv[3]);
    return OpenAndPrint(path);
  }
  if (strcmp(mode, "linkopen") == 0 && argc > 3) {
    if (link(argv[2], argv[3]) != 0) return errno;
    return OpenAndPrint(argv[3]);
  }
  if (strcmp(mode, "renameopen") == 0 && argc > 3) {
    if (rename(argv[2], argv[3]) != 0) return errno;
    if (argc <= 4) return OpenAndPrint(argv[3]);
    char path[8300];
    snprintf(path, sizeof(path), "%s/%s", argv[3], argv[4]);
    return OpenAndPrint(path);
  }
  if (strcmp(mode, "exchangeopen") == 0 && argc > 3) {
    if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) != 0) return errno;
    return OpenAndPrint(argv[2]);
  }
  return 255;
}
