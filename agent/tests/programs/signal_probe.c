/* A workload for the init tests.
 *   signal_probe catch      prints "ready", then "got N" for each of SIGHUP,
 *                           SIGINT, SIGUSR1, SIGUSR2, SIGTERM; exits 7 after SIGTERM
 *   signal_probe die SIG    kills itself with SIG (default disposition)
 *   signal_probe exit N     exits with N
 *   signal_probe clean      exits 0 if it started with no blocked or ignored
 *                           signal and without PORTCULLIS_AGENT_* variables
 *   signal_probe pgrp       prints "pgrp <its pid> <its process group>"
 *   signal_probe viaparent  sends SIGUSR1 to its parent (the agent) and exits 0
 *                           when the agent forwards it back (killed by SIGALRM
 *                           after 10 s otherwise) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char** environ;

static int StatusMaskIsZero(const char* field) {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  char line[256];
  int ok = 0;
  size_t n = strlen(field);
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, field, n) == 0) ok = strtoull(line + n, NULL, 16) == 0;
  }
  fclose(f);
  return ok;
}

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  if (strcmp(argv[1], "exit") == 0 && argc > 2) return atoi(argv[2]);
  if (strcmp(argv[1], "die") == 0 && argc > 2) {
    int sig = atoi(argv[2]);
    signal(sig, SIG_DFL);
    raise(sig);
    return 65;
  }
  if (strcmp(argv[1], "clean") == 0) {
    int ok = StatusMaskIsZero("SigBlk:") && StatusMaskIsZero("SigIgn:");
    for (char** e = environ; *e != NULL; ++e)
      if (strncmp(*e, "PORTCULLIS_AGENT_", 17) == 0) ok = 0;
    return ok ? 0 : 1;
  }
  if (strcmp(argv[1], "pgrp") == 0) {
    printf("pgrp %d %d\n", (int)getpid(), (int)getpgrp());
    return 0;
  }
  if (strcmp(argv[1], "viaparent") == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    alarm(10);
    if (kill(getppid(), SIGUSR1) != 0) return 1;
    return sigwaitinfo(&set, NULL) == SIGUSR1 ? 0 : 1;
  }
  if (strcmp(argv[1], "catch") == 0) {
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGHUP, SIGINT, SIGUSR1, SIGUSR2, SIGTERM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); ++i)
      sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
      int sig = sigwaitinfo(&set, NULL);
      if (sig < 0) continue;
      printf("got %d\n", sig);
      fflush(stdout);
      if (sig == SIGTERM) return 7;
    }
  }
  return 64;
}
