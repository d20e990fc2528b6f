/*
 * The sandbox ("pause") process of the lab's real node: the first process of every pod's namespaces.
 * It holds them open, reaps the zombies re-parented to it, and exits on SIGINT or SIGTERM.
 * Built static by ci/node into the image bigdata.local/pause (the lab builds its images; none is pulled).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void on(int sig, void (*handler)(int)) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = SA_NOCLDSTOP;
  if (sigaction(sig, &action, NULL) < 0) {
    perror("pause: failed to install a signal handler");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("bigdata pause 1");
    return 0;
  }
  if (getpid() != 1) fputs("pause: warning: not running as PID 1\n", stderr);
  on(SIGINT, stop);
  on(SIGTERM, stop);
  on(SIGCHLD, reap);
  for (;;) pause();
}
