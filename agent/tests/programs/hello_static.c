/* A static program for the empty-rootfs test: prints its arguments and exits
 * with the status given as its first argument. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  printf("hello from a static workload, pid %d:", (int)getpid());
  for (int i = 1; i < argc; ++i)
    printf(" %s", argv[i]);
  printf("\n");
  return argc > 1 ? atoi(argv[1]) : 0;
}
