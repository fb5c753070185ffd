/* A workload for the supervisor tests; exits with the errno of what it tried
 * (0 on success).
 *   workload_probe open PATH            open O_RDONLY, print the first line
 *   workload_probe create PATH          open O_CREAT|O_WRONLY|O_EXCL, write
 *   workload_probe truncate PATH        open O_WRONLY|O_TRUNC
 *   workload_probe flags PATH [nonblock] open O_RDONLY (| O_NONBLOCK), print
 *                                       "nonblock=0|1" from F_GETFL
 *   workload_probe append PATH TEXT     open O_CREAT|O_WRONLY|O_APPEND 0644,
 *                                       write TEXT, print "append=0|1"
 *   workload_probe nofollow PATH        open O_RDONLY|O_NOFOLLOW
 *   workload_probe opath PATH           open O_PATH, fstat through it
 *   workload_probe tmpfile DIR          open O_TMPFILE|O_RDWR 0640, print its mode
 *   workload_probe openat2 PATH         openat2 O_CREAT|O_WRONLY 0600 with
 *                                       RESOLVE_NO_SYMLINKS
 *   workload_probe asuser UID open PATH setgid/setuid(UID) first (root only)
 *   workload_probe bindport PORT [UID]  bind a TCP socket to 127.0.0.1:PORT
 *                                       (as UID when given: root only)
 *   workload_probe ingroup GID UID open PATH
 *                                       setgroups({GID}), setgid/setuid(UID)
 *                                       first (root only)
 *   workload_probe umask OCTAL PATH     a second thread sets the umask, then
 *                                       this one creates PATH 0666 (O_EXCL)
 *                                       and prints its mode
 *   workload_probe chroot DIR open PATH chroot(DIR), chdir("/") first (root)
 *   workload_probe rawcreate PATH       open O_CREAT|O_WRONLY with mode
 *                                       S_IFREG|0640 and an unknown flag bit
 *                                       (the kernel keeps what it knows)
 *   workload_probe agentproc            try /proc/N/status for the 400 ids
 *                                       after the parent's: print "agent N"
 *                                       for one that belongs to the parent,
 *                                       then "refused K": how many were
 *                                       refused with EACCES
 *   workload_probe mountns unshare|clone DIR NAME
 *       in a new mount namespace (unshare, or a child cloned with
 *       CLONE_NEWNS), mount an empty tmpfs on DIR, then open DIR/NAME: ENOENT
 *       there, whatever DIR holds outside (root)
 *   workload_probe nodac open PATH      drop CAP_DAC_OVERRIDE and
 *                                       CAP_DAC_READ_SEARCH first (stays root)
 *   workload_probe selfstatus           /proc/self/status must be our own
 *   workload_probe fds                  print its open descriptors
 *   workload_probe fdlink PATH          open PATH, then print it through /dev/fd/N
 *   workload_probe fdexec PATH [ARGS]   open PATH, then execv /proc/self/fd/N
 *   workload_probe exec PATH [ARGS...]  execv
 *   workload_probe connect PORT         TCP connect to 127.0.0.1:PORT
 *   workload_probe udp PORT             unconnected UDP sendto 127.0.0.1:PORT
 *   workload_probe acceptnb [block]     a non-blocking (or blocking) TCP
 *                                       listener on 127.0.0.1, a client
 *                                       connects, accept4(SOCK_NONBLOCK |
 *                                       SOCK_CLOEXEC): prints "accepted 1" when
 *                                       it is that connection, with the flags
 *                                       and the peer address the kernel gives
 *   workload_probe acceptblock          a blocking TCP listener on
 *       127.0.0.1: a first accept, with nothing to take, is interrupted by
 *       SIGALRM (no SA_RESTART); then a thread connects from 127.0.0.2 and
 *       from 127.0.0.3 while a second blocking accept waits; prints
 *       "interrupted 1 peer ADDR" (ADDR: the second accept's peer)
 *   workload_probe udpmulti PORT...     one sendmmsg, a message to each
 *                                       127.0.0.1:PORT (unconnected UDP)
 *   workload_probe loop PATH N          open and close PATH N times
 *   workload_probe unlink|rmdir|mkdir PATH, rename|link|symlink A B,
 *                  chmod PATH OCTAL, truncate-to PATH LEN, chmod2 PATH OCTAL
 *                  (fchmodat2)
 *                                       the libc call of that name
 *   workload_probe unlinkrace VICTIM PROTECTED N
 *       a second thread flips one path buffer between VICTIM and PROTECTED
 *       while this thread unlinks it (re-creating VICTIM) N times; prints
 *       "protected_gone=1" if PROTECTED was removed
 *   workload_probe fifo PATH            mkfifo PATH; a thread opens it for
 *                                       writing, this one for reading (both
 *                                       block until the other comes)
 *   workload_probe connectrace N [nonblock|fastopen]
 *       listeners on 127.0.0.1 and 127.0.0.2 (one port); a second thread
 *       flips one sockaddr between the two while this thread connects a new
 *       (blocking, or non-blocking) TCP socket to it N times (or sends a
 *       byte to it with TCP Fast Open, sendto MSG_FASTOPEN); prints
 *       "allowed=A denied=D refused=R other=O": connections that reached
 *       127.0.0.1, 127.0.0.2 (must be 0 under a policy denying it), and
 *       connects refused with EPERM
 *   workload_probe udprace N sendto|sendmsg|sendmmsg
 *       UDP sockets on 127.0.0.1 and 127.0.0.2 (one port); a second thread
 *       flips one sockaddr between the two while this thread sends N
 *       datagrams to it (with the call named, blocking); prints
 *       "allowed=A denied=D refused=R other=O": datagrams that reached
 *       127.0.0.1, 127.0.0.2 (must be 0 under a policy denying it), and
 *       sends refused with EPERM
 *   workload_probe leaseopen HELD OTHER
 *       a thread opens HELD for writing (waits while another process holds a
 *       lease on it); 200 ms later this thread opens OTHER; prints
 *       "other_waited=0|1" (1: that open took over 700 ms), then, once the
 *       first open is done, "held opened"
 *   workload_probe race ALLOWED DENIED N
 *       a second thread flips one path buffer between ALLOWED and DENIED while
 *       this thread opens it N times; prints how many opens gave the allowed
 *       file, the denied file (must be 0 under a policy denying it) and how
 *       many were refused (EACCES). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_util.h"

static struct sockaddr_in Loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static char g_path[4096];
static char g_allowed[4096], g_denied[4096];
static atomic_int g_stop;

static void* Flipper(void* arg) {
  (void)arg;
  size_t na = strlen(g_allowed) + 1, nd = strlen(g_denied) + 1;
  while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
    memcpy(g_path, g_denied, nd);
    sched_yield(); /* flips stay far faster than an open, without hogging a CPU */
    memcpy(g_path, g_allowed, na);
    sched_yield();
  }
  return NULL;
}

static long DrainDatagrams(int s) {
  char b[16];
  long n = 0;
  while (recv(s, b, sizeof(b), 0) >= 0)
    ++n;
  return n;
}

static void* OpenForWriting(void* arg) {
  int fd = open((const char*)arg, O_WRONLY);
  if (fd >= 0) close(fd);
  return (void*)(intptr_t)(fd >= 0 ? 0 : errno);
}

static double Seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void* FifoWriter(void* arg) {
  (void)arg;
  int fd = open(g_path, O_WRONLY);
  if (fd >= 0) {
    if (write(fd, "through the fifo\n", 17) != 17) perror("write");
    close(fd);
  }
  return NULL;
}

/* Points g_path at ALLOWED and starts a thread that keeps flipping it
 * between ALLOWED and DENIED (the races). */
static int StartFlipper(const char* allowed, const char* denied, pthread_t* t) {
  snprintf(g_allowed, sizeof(g_allowed), "%s", allowed);
  snprintf(g_denied, sizeof(g_denied), "%s", denied);
  snprintf(g_path, sizeof(g_path), "%s", allowed);
  return pthread_create(t, NULL, Flipper, NULL);
}

/* The permission bits of fd (an open's result: errno when it failed). */
static int PrintMode(int fd) {
  if (fd < 0) return errno;
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  printf("%o\n", st.st_mode & 0777);
  return 0;
}

static int OpenAndPrint(const char* path) {
  int fd = open(path, O_RDONLY);
  return fd < 0 ? errno : PrintFirstLine(fd);
}

static void* SetUmask(void* mask) {
  umask(*(mode_t*)mask);
  return NULL;
}

static struct sockaddr_in g_addr;
static atomic_int g_addr_stop;

static void* AddressFlipper(void* arg) {
  (void)arg;
  volatile uint32_t* ip = (volatile uint32_t*)&g_addr.sin_addr.s_addr;
  while (!atomic_load_explicit(&g_addr_stop, memory_order_relaxed)) {
    *ip = htonl(INADDR_LOOPBACK + 1);
    sched_yield();
    *ip = htonl(INADDR_LOOPBACK);
    sched_yield();
  }
  return NULL;
}

/* A non-blocking socket of `type` bound to 127.0.0.x (`host`) and `port`
 * (0: any; the port is returned), listening if it is a stream, or -1. */
static int LoopbackSocket(int type, uint32_t host, int* port) {
  struct sockaddr_in a = Loopback(*port);
  a.sin_addr.s_addr = htonl(host);
  socklen_t len = sizeof(a);
  int s = socket(AF_INET, type | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof(a)) != 0 ||
      (type == SOCK_STREAM && listen(s, 64) != 0) ||
      getsockname(s, (struct sockaddr*)&a, &len) != 0) {
    return -1;
  }
  *port = ntohs(a.sin_port);
  return s;
}

static void Drain(int l) {
  int s;
  while ((s = accept(l, NULL, NULL)) >= 0)
    close(s);
}

static void OnAlarm(int sig) {
  (void)sig;
}

static int g_port;
static int g_clients[2] = {-1, -1};

/* Connects to 127.0.0.1:g_port from 127.0.0.2, then from 127.0.0.3 (both
 * stay open until the process exits). */
static void* TwoClients(void* arg) {
  (void)arg;
  usleep(100 * 1000); /* the main thread is waiting in accept by then */
  for (int i = 0; i < 2; ++i) {
    struct sockaddr_in from = Loopback(0), to = Loopback(g_port);
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (unsigned)i);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || bind(c, (struct sockaddr*)&from, sizeof(from)) != 0 ||
        connect(c, (struct sockaddr*)&to, sizeof(to)) != 0) {
      perror("client");
    }
    g_clients[i] = c;
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 255;
  const char* mode = argv[1];
  if (strcmp(mode, "open") == 0 && argc > 2) return OpenAndPrint(argv[2]);
  if (strcmp(mode, "create") == 0 && argc > 2) {
    int fd = open(argv[2], O_CREAT | O_WRONLY | O_EXCL, 0644);
    if (fd < 0) return errno;
    if (write(fd, "created\n", 8) != 8) return errno;
    close(fd);
    return 0;
  }
  if (strcmp(mode, "opath") == 0 && argc > 2) {
    int fd = open(argv[2], O_PATH);
    if (fd < 0) return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) return 100;
    close(fd);
    return 0;
  }
  if ((strcmp(mode, "truncate") == 0 || strcmp(mode, "nofollow") == 0) && argc > 2) {
    int fd = open(argv[2], mode[0] == 't' ? O_WRONLY | O_TRUNC : O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return errno;
    close(fd);
    return 0;
  }
  if (strcmp(mode, "flags") == 0 && argc > 2) {
    int fd = open(argv[2], O_RDONLY | (argc > 3 ? O_NONBLOCK : 0));
    if (fd < 0) return errno;
    printf("nonblock=%d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    return 0;
  }
  if (strcmp(mode, "append") == 0 && argc > 3) {
    int fd = open(argv[2], O_CREAT | O_WRONLY | O_APPEND, 0644);
    if (fd < 0) return errno;
    size_t n = strlen(argv[3]);
    if (write(fd, argv[3], n) != (ssize_t)n) return errno;
    printf("append=%d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    return 0;
  }
  if (strcmp(mode, "nodac") == 0 && argc > 3) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return 250;
    unsigned drop = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
    d[0].effective &= ~drop;
    d[0].permitted &= ~drop;
    if (syscall(SYS_capset, &h, d) != 0) return 250;
    return OpenAndPrint(argv[3]);
  }
  if (strcmp(mode, "tmpfile") == 0 && argc > 2) {
    umask(022);
    return PrintMode(open(argv[2], O_TMPFILE | O_RDWR, 0640));
  }
  if (strcmp(mode, "openat2") == 0 && argc > 2) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_CREAT | O_WRONLY;
    how.mode = 0600;
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how));
    if (fd < 0) return errno;
    close((int)fd);
    return 0;
  }
  if (strcmp(mode, "ingroup") == 0 && argc > 5) {
    gid_t group = (gid_t)atoi(argv[2]);
    uid_t id = (uid_t)atoi(argv[3]);
    if (setgroups(1, &group) != 0 || setgid((gid_t)id) != 0 || setuid(id) != 0) return 250;
    return OpenAndPrint(argv[5]);
  }
  if (strcmp(mode, "umask") == 0 && argc > 3) {
    /* The umask belongs to every thread sharing the file system context:
     * another thread's change applies to this one's create. */
    pthread_t t;
    static mode_t mask;
    mask = (mode_t)strtol(argv[2], NULL, 8);
    if (pthread_create(&t, NULL, SetUmask, &mask) != 0 || pthread_join(t, NULL) != 0) return 250;
    return PrintMode(open(argv[3], O_CREAT | O_WRONLY | O_EXCL, 0666));
  }
  if (strcmp(mode, "mountns") == 0 && argc > 4) {
    int in_child = strcmp(argv[2], "clone") == 0;
    pid_t child = 0;
    if (in_child) {
      child = (pid_t)syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
      if (child < 0) return errno;
    } else if (unshare(CLONE_NEWNS) != 0) {
      return errno;
    }
    if (child == 0) {
      if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
          mount("tmpfs", argv[3], "tmpfs", 0, NULL) != 0) {
        _exit(250);
      }
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", argv[3], argv[4]);
      int r = OpenAndPrint(path);
      if (in_child) _exit(r);
      return r;
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) return 251;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 252;
  }
  if (strcmp(mode, "rawcreate") == 0 && argc > 2) {
    long fd = syscall(SYS_open, argv[2], O_CREAT | O_WRONLY | 0x4000000, S_IFREG | 0640);
    if (fd < 0) return errno;
    return PrintMode((int)fd);
  }
  if (strcmp(mode, "agentproc") == 0) {
    /* The agent's threads other than the first have /proc/TID entries of
     * their own (not listed, but reachable by name). */
    pid_t parent = getppid();
    int refused = 0;
    for (pid_t n = parent + 1; n <= parent + 400; ++n) {
      if (n == getpid()) continue;
      char path[64], line[256];
      snprintf(path, sizeof(path), "/proc/%d/status", (int)n);
      FILE* f = fopen(path, "r");
      if (f == NULL) {
        refused += errno == EACCES;
        continue;
      }
      while (fgets(line, sizeof(line), f) != NULL) {
        int tgid;
        if (sscanf(line, "Tgid: %d", &tgid) == 1 && tgid == parent) printf("agent %d\n", (int)n);
      }
      fclose(f);
    }
    printf("refused %d\n", refused);
    return 0;
  }
  if (strcmp(mode, "chroot") == 0 && argc > 4) {
    if (chroot(argv[2]) != 0 || chdir("/") != 0) return errno;
    return OpenAndPrint(argv[4]);
  }
  if (strcmp(mode, "asuser") == 0 && argc > 4) {
    gid_t id = (gid_t)atoi(argv[2]);
    if (setgroups(0, NULL) != 0 || setgid(id) != 0 || setuid((uid_t)id) != 0) return 250;
    return OpenAndPrint(argv[4]);
  }
  if (strcmp(mode, "bindport") == 0 && argc > 2) {
    if (argc > 3) {
      gid_t id = (gid_t)atoi(argv[3]);
      if (setgroups(0, NULL) != 0 || setgid(id) != 0 || setuid((uid_t)id) != 0) return 250;
    }
    struct sockaddr_in a = Loopback(atoi(argv[2]));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return 251;
    return bind(s, (struct sockaddr*)&a, sizeof(a)) == 0 ? 0 : errno;
  }
  if (strcmp(mode, "fds") == 0) {
    /* Probe each number: no descriptor of our own gets in the way. */
    for (int fd = 0; fd < 1024; ++fd)
      if (fcntl(fd, F_GETFD) >= 0) printf("%d ", fd);
    printf("\n");
    return 0;
  }
  if (strcmp(mode, "selfstatus") == 0) {
    FILE* f = fopen("/proc/self/status", "r");
    if (f == NULL) return errno;
    char line[256];
    int pid = -1;
    while (fgets(line, sizeof(line), f) != NULL)
      if (strncmp(line, "Pid:", 4) == 0) pid = atoi(line + 4);
    fclose(f);
    return pid == (int)getpid() ? 0 : 249;
  }
  if ((strcmp(mode, "fdlink") == 0 || strcmp(mode, "fdexec") == 0) && argc > 2) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) return errno;
    char link[64];
    if (mode[2] == 'l') {
      snprintf(link, sizeof(link), "/dev/fd/%d", fd);
      return OpenAndPrint(link);
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    argv[2] = link;
    execv(link, argv + 2);
    return errno;
  }
  if (strcmp(mode, "exec") == 0 && argc > 2) {
    execv(argv[2], argv + 2);
    return errno;
  }
  if ((strcmp(mode, "connect") == 0 || strcmp(mode, "udp") == 0) && argc > 2) {
    int udp = strcmp(mode, "udp") == 0;
    int s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (s < 0) return errno;
    struct sockaddr_in a = Loopback(atoi(argv[2]));
    if (udp) {
      if (sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof(a)) < 0) return errno;
    } else if (connect(s, (struct sockaddr*)&a, sizeof(a)) != 0) {
      return errno;
    }
    close(s);
    return 0;
  }
  if (strcmp(mode, "acceptnb") == 0) {
    int block = argc > 2 && strcmp(argv[2], "block") == 0;
    int l = socket(AF_INET, SOCK_STREAM | (block ? 0 : SOCK_NONBLOCK), 0);
    struct sockaddr_in a = Loopback(0);
    socklen_t alen = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof(a)) != 0 || listen(l, 8) != 0 ||
        getsockname(l, (struct sockaddr*)&a, &alen) != 0) {
      return 250;
    }
    int cl = socket(AF_INET, SOCK_STREAM, 0);
    if (cl < 0 || connect(cl, (struct sockaddr*)&a, sizeof(a)) != 0) return 251;
    struct pollfd p = {l, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return 252;
    struct sockaddr_in peer, local;
    socklen_t plen = sizeof(peer), llen = sizeof(local);
    memset(&peer, 0, sizeof(peer));
    int s = accept4(l, (struct sockaddr*)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0) return errno;
    if (getsockname(cl, (struct sockaddr*)&local, &llen) != 0) return 253;
    char b[4] = {0};
    int same = write(cl, "ping", 4) == 4 && poll(&(struct pollfd){s, POLLIN, 0}, 1, 5000) == 1 &&
               read(s, b, 4) == 4 && memcmp(b, "ping", 4) == 0;
    int ok = same && plen == sizeof(peer) && peer.sin_port == local.sin_port &&
             peer.sin_addr.s_addr == local.sin_addr.s_addr && (fcntl(s, F_GETFL) & O_NONBLOCK) &&
             (fcntl(s, F_GETFD) & FD_CLOEXEC);
    printf("accepted %d\n", ok);
    return 0;
  }
  if (strcmp(mode, "acceptblock") == 0) {
    struct sockaddr_in a = Loopback(0);
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof(a)) != 0 || listen(l, 8) != 0 ||
        getsockname(l, (struct sockaddr*)&a, &alen) != 0) {
      return 250;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnAlarm; /* no SA_RESTART: accept fails with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t = {{0, 0}, {0, 150 * 1000}};
    setitimer(ITIMER_REAL, &t, NULL);
    int first = accept(l, NULL, NULL);
    int interrupted = first < 0 && errno == EINTR;
    g_port = ntohs(a.sin_port);
    pthread_t client;
    if (pthread_create(&client, NULL, TwoClients, NULL) != 0) return 251;
    struct sockaddr_in peer;
    socklen_t plen = sizeof(peer);
    memset(&peer, 0, sizeof(peer));
    int s = accept(l, (struct sockaddr*)&peer, &plen);
    if (s < 0) return errno;
    pthread_join(client, NULL);
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    printf("interrupted %d peer %s\n", interrupted, ip);
    return 0;
  }
  if (strcmp(mode, "udpmulti") == 0 && argc > 2 && argc <= 10) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return errno;
    struct sockaddr_in to[8];
    struct iovec iov = {(void*)"x", 1};
    struct mmsghdr msgs[8];
    memset(msgs, 0, sizeof(msgs));
    int n = argc - 2;
    for (int i = 0; i < n; ++i) {
      to[i] = Loopback(atoi(argv[2 + i]));
      msgs[i].msg_hdr.msg_name = &to[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(to[i]);
      msgs[i].msg_hdr.msg_iov = &iov;
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(s, msgs, (unsigned)n, 0);
    if (sent < 0) return errno;
    close(s);
    return sent == n ? 0 : 249;
  }
  if (strcmp(mode, "fifo") == 0 && argc > 2) {
    if (mkfifo(argv[2], 0600) != 0) return errno;
    snprintf(g_path, sizeof(g_path), "%s", argv[2]);
    pthread_t t;
    if (pthread_create(&t, NULL, FifoWriter, NULL) != 0) return 248;
    int rc = OpenAndPrint(argv[2]);
    pthread_join(t, NULL);
    return rc;
  }
  if (strcmp(mode, "unlink") == 0 && argc > 2) return unlink(argv[2]) == 0 ? 0 : errno;
  if (strcmp(mode, "rmdir") == 0 && argc > 2) return rmdir(argv[2]) == 0 ? 0 : errno;
  if (strcmp(mode, "mkdir") == 0 && argc > 2) return mkdir(argv[2], 0777) == 0 ? 0 : errno;
  if (strcmp(mode, "rename") == 0 && argc > 3) return rename(argv[2], argv[3]) == 0 ? 0 : errno;
  if (strcmp(mode, "link") == 0 && argc > 3) return link(argv[2], argv[3]) == 0 ? 0 : errno;
  if (strcmp(mode, "symlink") == 0 && argc > 3) return symlink(argv[2], argv[3]) == 0 ? 0 : errno;
  if (strcmp(mode, "chmod") == 0 && argc > 3) {
    return chmod(argv[2], (mode_t)strtol(argv[3], NULL, 8)) == 0 ? 0 : errno;
  }
  if (strcmp(mode, "chmod2") == 0 && argc > 3) {
    /* fchmodat2 (Linux 6.6, x86-64 number 452), flags 0. */
    long r = syscall(452, AT_FDCWD, argv[2], (mode_t)strtol(argv[3], NULL, 8), 0);
    return r == 0 ? 0 : errno;
  }
  if (strcmp(mode, "truncate-to") == 0 && argc > 3) {
    return truncate(argv[2], atol(argv[3])) == 0 ? 0 : errno;
  }
  if (strcmp(mode, "unlinkrace") == 0 && argc > 4) {
    pthread_t t;
    if (StartFlipper(argv[2], argv[3], &t) != 0) return 248;
    long n = atol(argv[4]);
    for (long i = 0; i < n; ++i) {
      int fd = open(g_allowed, O_CREAT | O_WRONLY, 0644);
      if (fd >= 0) close(fd);
      unlink(g_path);
    }
    atomic_store(&g_stop, 1);
    pthread_join(t, NULL);
    printf("protected_gone=%d\n", access(g_denied, F_OK) != 0);
    return 0;
  }
  if (strcmp(mode, "loop") == 0 && argc > 3) {
    long n = atol(argv[3]);
    for (long i = 0; i < n; ++i) {
      int fd = open(argv[2], O_RDONLY);
      if (fd < 0) return errno;
      close(fd);
    }
    return 0;
  }
  if (strcmp(mode, "connectrace") == 0 && argc > 2) {
    int nonblock = argc > 3 && strcmp(argv[3], "nonblock") == 0;
    int fastopen = argc > 3 && strcmp(argv[3], "fastopen") == 0;
    int port = 0;
    int allowed_l = LoopbackSocket(SOCK_STREAM, INADDR_LOOPBACK, &port);
    int denied_l = LoopbackSocket(SOCK_STREAM, INADDR_LOOPBACK + 1, &port);
    if (allowed_l < 0 || denied_l < 0) return 248;
    g_addr = Loopback(port);
    pthread_t t;
    if (pthread_create(&t, NULL, AddressFlipper, NULL) != 0) return 249;
    long n = atol(argv[2]);
    long allowed = 0, denied = 0, refused = 0, other = 0;
    for (long i = 0; i < n; ++i) {
      int s = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
      int r = fastopen
                  ? (sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr*)&g_addr, sizeof(g_addr)) == 1
                         ? 0
                         : -1)
                  : connect(s, (struct sockaddr*)&g_addr, sizeof(g_addr));
      if (r != 0 && errno == EINPROGRESS) {
        struct pollfd p = {s, POLLOUT, 0};
        int err = 0;
        socklen_t elen = sizeof(err);
        r = poll(&p, 1, 5000) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
                    err == 0
                ? 0
                : -1;
      }
      struct sockaddr_in peer;
      socklen_t plen = sizeof(peer);
      if (r == 0 && getpeername(s, (struct sockaddr*)&peer, &plen) == 0) {
        if (peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK + 1))
          ++denied;
        else
          ++allowed;
      } else if (r != 0 && errno == EPERM) {
        ++refused;
      } else {
        ++other;
      }
      close(s);
      Drain(allowed_l);
      Drain(denied_l);
    }
    atomic_store(&g_addr_stop, 1);
    pthread_join(t, NULL);
    printf("allowed=%ld denied=%ld refused=%ld other=%ld\n", allowed, denied, refused, other);
    return 0;
  }
  if (strcmp(mode, "udprace") == 0 && argc > 3) {
    int port = 0;
    int allowed_s = LoopbackSocket(SOCK_DGRAM, INADDR_LOOPBACK, &port);
    int denied_s = LoopbackSocket(SOCK_DGRAM, INADDR_LOOPBACK + 1, &port);
    if (allowed_s < 0 || denied_s < 0) return 248;
    g_addr = Loopback(port);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return 249;
    pthread_t t;
    if (pthread_create(&t, NULL, AddressFlipper, NULL) != 0) return 249;
    long n = atol(argv[2]);
    long allowed = 0, denied = 0, refused = 0, other = 0;
    for (long i = 0; i < n; ++i) {
      char byte = 'x';
      struct iovec iov = {&byte, 1};
      struct mmsghdr mm;
      memset(&mm, 0, sizeof(mm));
      mm.msg_hdr.msg_name = &g_addr;
      mm.msg_hdr.msg_namelen = sizeof(g_addr);
      mm.msg_hdr.msg_iov = &iov;
      mm.msg_hdr.msg_iovlen = 1;
      int r;
      if (strcmp(argv[3], "sendmsg") == 0) {
        r = (int)sendmsg(s, &mm.msg_hdr, 0);
      } else if (strcmp(argv[3], "sendmmsg") == 0) {
        r = sendmmsg(s, &mm, 1, 0) == 1 && mm.msg_len == 1 ? 1 : -1;
      } else {
        r = (int)sendto(s, &byte, 1, 0, (struct sockaddr*)&g_addr, sizeof(g_addr));
      }
      if (r < 0 && errno == EPERM) {
        ++refused;
      } else if (r != 1) {
        ++other;
      }
      allowed += DrainDatagrams(allowed_s);
      denied += DrainDatagrams(denied_s);
    }
    atomic_store(&g_addr_stop, 1);
    pthread_join(t, NULL);
    printf("allowed=%ld denied=%ld refused=%ld other=%ld\n", allowed, denied, refused, other);
    return 0;
  }
  if (strcmp(mode, "leaseopen") == 0 && argc > 3) {
    pthread_t t;
    if (pthread_create(&t, NULL, OpenForWriting, argv[2]) != 0) return 248;
    usleep(200 * 1000);
    double start = Seconds();
    int fd = open(argv[3], O_RDONLY);
    if (fd < 0) return errno;
    close(fd);
    printf("other_waited=%d\n", Seconds() - start > 0.7);
    fflush(stdout);
    void* err;
    pthread_join(t, &err);
    if (err != NULL) return (int)(intptr_t)err;
    printf("held opened\n");
    return 0;
  }
  if (strcmp(mode, "race") == 0 && argc > 4) {
    pthread_t t;
    if (StartFlipper(argv[2], argv[3], &t) != 0) return 248;
    long n = atol(argv[4]);
    long allowed = 0, denied = 0, refused = 0, other = 0;
    for (long i = 0; i < n; ++i) {
      int fd = open(g_path, O_RDONLY);
      if (fd < 0) {
        if (errno == EACCES)
          ++refused;
        else
          ++other;
        continue;
      }
      char buf[16] = {0};
      ssize_t r = read(fd, buf, sizeof(buf) - 1);
      close(fd);
      if (r > 0 && strncmp(buf, "denied", 6) == 0)
        ++denied;
      else if (r > 0 && strncmp(buf, "allowed", 7) == 0)
        ++allowed;
      else
        ++other;
    }
    atomic_store(&g_stop, 1);
    pthread_join(t, NULL);
    printf("allowed=%ld denied=%ld refused=%ld other=%ld\n", allowed, denied, refused, other);
    return 0;
  }
  return 255;
}
