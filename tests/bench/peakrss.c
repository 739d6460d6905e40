/*
 * peakrss.c -- the peak RSS of a command and of every process it started,
 * for tests/bench/build-bench.sh.
 *
 *   peakrss OUTFILE CMD [ARG...]
 *
 * Runs CMD as a child and is a child subreaper (prctl
 * PR_SET_CHILD_SUBREAPER), so that processes CMD starts and leaves behind
 * (a daemonized monitor, say) are reparented here rather than to init.  It
 * reaps them all, CMD first, then waits (at most 30 s) for the rest; then
 * getrusage(RUSAGE_CHILDREN).ru_maxrss is the largest peak RSS of any one
 * of them (each process counts its waited-for descendants in turn), in KiB,
 * written to OUTFILE as one line.  GNU time's %M misses a descendant that
 * was reparented to init.  Exit status: CMD's (128 + N when signal N ended
 * it); 2 on a usage or system error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: peakrss OUTFILE CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("peakrss: prctl");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("peakrss: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "peakrss: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int st = 0, rc = -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: interrupts waitpid */
	sigaction(SIGALRM, &sa, NULL);
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR) {
			fprintf(stderr, "peakrss: descendants of %s still running after 30 s; not counted\n", argv[2]);
			break;
		}
		if (p < 0)
			break; /* ECHILD: all reaped */
		if (p == pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			alarm(30);
		}
	}
	struct rusage ru;
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0) {
		perror("peakrss: getrusage");
		return 2;
	}
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f) != 0) {
		perror("peakrss: write");
		return 2;
	}
	return rc < 0 ? 2 : rc;
}
