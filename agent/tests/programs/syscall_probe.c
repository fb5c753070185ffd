/* Makes one raw system call and exits with its errno (0 on success), so tests
 * can see what a filter installed by the agent did to it.
 *   syscall_probe NR [ARG0 [ARG1 ...]]     numbers in C syntax (0x.. allowed)
 *   syscall_probe fork NR [ARGS...]        the same call from a forked child
 *   syscall_probe thread NR [ARGS...]      the same call from a second thread */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long args[7];

static int Call(void) {
  long r = syscall(args[0], args[1], args[2], args[3], args[4], args[5], args[6]);
  return r < 0 ? errno : 0;
}

static void* ThreadMain(void* out) {
  *(int*)out = Call();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 255;
  int first = 1;
  const char* mode = "direct";
  if (strcmp(argv[1], "fork") == 0 || strcmp(argv[1], "thread") == 0) {
    mode = argv[1];
    first = 2;
  }
  for (int i = first; i < argc && i - first < 7; ++i)
    args[i - first] = (long)strtoull(argv[i], NULL, 0);
  if (strcmp(mode, "fork") == 0) {
    pid_t pid = fork();
    if (pid == 0) _exit(Call());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 254;
  }
  if (strcmp(mode, "thread") == 0) {
    pthread_t t;
    int out = 253;
    if (pthread_create(&t, NULL, ThreadMain, &out) != 0) return 252;
    pthread_join(t, NULL);
    return out;
  }
  return Call();
}
