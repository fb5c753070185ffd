/* The workload of tests/bench/agent_bench.sh: one timed loop, run natively,
 * under portcullis-agent, or under a minimal supervisor (agent_bench_baseline).
 * Static, so nothing but the loop itself goes through the filter (no dynamic
 * loader opening libraries).
 *
 *   agent_bench_workload getppid N     N getppid calls
 *   agent_bench_workload open PATH N   N open(PATH, O_RDONLY) + close
 *   agent_bench_workload create DIR N  N files DIR/f<i>: open(O_CREAT|O_WRONLY|
 *                                      O_TRUNC, 0644), write 64 bytes, close
 *
 * A warm-up of N/10 iterations (at most 1000; create: other names) runs
 * first, untimed. Prints one line, "ns_per_op <float>", and exits 0; on the
 * first failing call it prints the errno and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void Die(const char* what, const char* arg) {
  fprintf(stderr, "agent_bench_workload: %s %s: %s\n", what, arg, strerror(errno));
  exit(1);
}

static void GetppidLoop(long n) {
  for (long i = 0; i < n; ++i)
    syscall(SYS_getppid); /* never cached by libc */
}

static void OpenLoop(const char* path, long n) {
  for (long i = 0; i < n; ++i) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die("open", path);
    close(fd);
  }
}

static void CreateLoop(const char* dir, const char* prefix, long n) {
  static const char kData[64] = "portcullis agent benchmark: 64 bytes of file content........\n";
  char path[4096];
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof(path), "%s/%s%ld", dir, prefix, i);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("create", path);
    if (write(fd, kData, sizeof(kData)) != (ssize_t)sizeof(kData)) Die("write", path);
    close(fd);
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s getppid N | open PATH N | create DIR N\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  long n = strtol(argv[argc - 1], NULL, 10);
  if (n <= 0 || (strcmp(mode, "getppid") != 0 && argc != 4)) {
    fprintf(stderr, "agent_bench_workload: bad arguments\n");
    return 2;
  }
  long warm = n / 10 < 1000 ? n / 10 : 1000;
  double start = 0, end = 0;
  if (strcmp(mode, "getppid") == 0) {
    GetppidLoop(warm);
    start = Now();
    GetppidLoop(n);
    end = Now();
  } else if (strcmp(mode, "open") == 0) {
    OpenLoop(argv[2], warm);
    start = Now();
    OpenLoop(argv[2], n);
    end = Now();
  } else if (strcmp(mode, "create") == 0) {
    CreateLoop(argv[2], "w", warm);
    start = Now();
    CreateLoop(argv[2], "f", n);
    end = Now();
  } else {
    fprintf(stderr, "agent_bench_workload: unknown mode %s\n", mode);
    return 2;
  }
  printf("ns_per_op %.1f\n", (end - start) / (double)n);
  return 0;
}
