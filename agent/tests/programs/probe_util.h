/* Shared by the static test workloads (workload_probe.c, bypass_probe.c). */
#ifndef PORTCULLIS_AGENT_TESTS_PROBE_UTIL_H
#define PORTCULLIS_AGENT_TESTS_PROBE_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Prints the first line of what `fd` holds (up to 255 bytes) and closes it:
 * 0, or the errno of the read. */
static inline int PrintFirstLine(int fd) {
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  buf[n] = 0;
  char* nl = strchr(buf, '\n');
  if (nl) *nl = 0;
  printf("%s\n", buf);
  close(fd);
  return 0;
}

#endif
