/* A workload that leaves an orphan: it forks A, A forks G and exits, so G is
 * re-parented to the nearest subreaper or PID 1 (the agent). G reports its
 * new parent and exits; the probe then waits (bounded) for G to be reaped by
 * that parent.
 *   exit 0: G was re-parented to the probe's parent and reaped
 *   exit 1: G was re-parented elsewhere; 2: G stayed a zombie; 3: setup failed */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void Nap(void) {
  struct timespec ts = {0, 2 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 3;
  pid_t a = fork();
  if (a < 0) return 3;
  if (a == 0) {
    pid_t self = getpid();
    pid_t g = fork();
    if (g < 0) _exit(3);
    if (g == 0) {
      /* Wait (bounded) until A is gone and we have a new parent. */
      for (int i = 0; i < 5000 && getppid() == self; ++i)
        Nap();
      int msg[2] = {(int)getpid(), (int)getppid()};
      if (write(fds[1], msg, sizeof(msg)) != sizeof(msg)) _exit(3);
      _exit(0);
    }
    _exit(0);
  }
  close(fds[1]);
  int status;
  waitpid(a, &status, 0);
  int msg[2];
  if (read(fds[0], msg, sizeof(msg)) != sizeof(msg)) return 3;
  if (msg[1] != (int)getppid()) {
    fprintf(stderr, "orphan %d went to %d, not to the agent %d\n", msg[0], msg[1], (int)getppid());
    return 1;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", msg[0]);
  for (int i = 0; i < 5000; ++i) {
    if (access(path, F_OK) != 0 && errno == ENOENT) {
      printf("orphan %d reaped by %d\n", msg[0], msg[1]);
      return 0;
    }
    Nap();
  }
  fprintf(stderr, "orphan %d is still a zombie\n", msg[0]);
  return 2;
}
