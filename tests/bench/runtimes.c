/*
 * runtimes.c -- the timer of tests/bench/run.sh's container runtime
 * benchmark: runs several commands alternately (A B C A B C ...) and prints
 * the wall time of each run, from fork() to the end of waitpid().
 *
 *   runtimes [-s DIR] [-g MS] ROUNDS PLAN
 *
 * PLAN has one command a line: NAME, NS and the arguments, separated by tabs.
 * NS is "host" (this process's mount namespace) or "nocg2": a private mount
 * namespace, made once at the start, in which the cgroup2 mount at
 * /sys/fs/cgroup/unified is unmounted, so that crun (which refuses hybrid
 * cgroup hosts) sees cgroup v1 only.  The host's mounts are never touched.
 * The setns() into it happens before the clock starts.
 *
 * Round 0 is a warm-up; rounds 1..ROUNDS are timed.  Before each command the
 * filesystem of DIR is synced (syncfs, untimed); after it the timer sleeps
 * MS milliseconds (untimed, default 20) so that whatever a tool leaves
 * running for a moment does not land in the next tool's time.  Output on
 * stdout: "NAME<TAB>ROUND<TAB>MICROSECONDS" per run.  The commands' own
 * output goes to this program's stderr.  A command that fails (exit status
 * not 0) stops everything with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXCMD 16
#define MAXARG 64

struct cmd {
	char *name;
	int nocg2;
	char *argv[MAXARG + 1];
};

static void die(const char *m)
{
	fprintf(stderr, "runtimes: %s: %s\n", m, strerror(errno));
	exit(2);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	const char *syncdir = NULL;
	int gap_ms = 20, o;
	while ((o = getopt(argc, argv, "s:g:")) != -1) {
		if (o == 's')
			syncdir = optarg;
		else if (o == 'g')
			gap_ms = atoi(optarg);
		else
			return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: runtimes [-s DIR] [-g MS] ROUNDS PLAN\n");
		return 2;
	}
	int rounds = atoi(argv[optind]);
	FILE *f = fopen(argv[optind + 1], "r");
	if (!f)
		die(argv[optind + 1]);
	struct cmd cmds[MAXCMD];
	int n = 0, need_nocg2 = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (!len || line[0] == '#')
			continue;
		if (n == MAXCMD) {
			fprintf(stderr, "runtimes: too many commands\n");
			return 2;
		}
		struct cmd *c = &cmds[n];
		char *save = NULL, *s = strdup(line);
		c->name = strtok_r(s, "\t", &save);
		char *ns = strtok_r(NULL, "\t", &save);
		int k = 0;
		char *a;
		while (k < MAXARG && (a = strtok_r(NULL, "\t", &save)))
			c->argv[k++] = a;
		c->argv[k] = NULL;
		if (!c->name || !ns || !k) {
			fprintf(stderr, "runtimes: bad plan line: %s\n", line);
			return 2;
		}
		c->nocg2 = strcmp(ns, "nocg2") == 0;
		need_nocg2 |= c->nocg2;
		n++;
	}
	fclose(f);

	int syncfd = -1;
	if (syncdir && (syncfd = open(syncdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(syncdir);
	int hostns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), privns = -1;
	if (hostns < 0)
		die("/proc/self/ns/mnt");
	if (need_nocg2) {
		if (unshare(CLONE_NEWNS) < 0)
			die("unshare(CLONE_NEWNS)");
		/* private first: an unmount must not propagate to the host */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			die("make / private");
		if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			die("umount /sys/fs/cgroup/unified");
		if ((privns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
			die("/proc/self/ns/mnt");
		if (setns(hostns, CLONE_NEWNS) < 0)
			die("setns back to the host's mount namespace");
	}
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		die("getcwd");

	for (int r = 0; r <= rounds; r++) {
		for (int i = 0; i < n; i++) {
			struct cmd *c = &cmds[i];
			if (syncfd >= 0)
				syncfs(syncfd);
			if (c->nocg2 && (setns(privns, CLONE_NEWNS) < 0 || chdir(cwd) < 0))
				die("enter the private mount namespace");
			long long t0 = now_us();
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0) {
				dup2(2, 1);
				execvp(c->argv[0], c->argv);
				fprintf(stderr, "runtimes: exec %s: %s\n", c->argv[0], strerror(errno));
				_exit(127);
			}
			int st;
			while (waitpid(pid, &st, 0) < 0)
				if (errno != EINTR)
					die("waitpid");
			long long t1 = now_us();
			if (c->nocg2 && (setns(hostns, CLONE_NEWNS) < 0 || chdir(cwd) < 0))
				die("return to the host's mount namespace");
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "runtimes: %s (round %d) failed: %s %d\n", c->name, r,
				        WIFEXITED(st) ? "exit status" : "signal",
				        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				return 1;
			}
			printf("%s\t%d\t%lld\n", c->name, r, t1 - t0);
			fflush(stdout);
			if (gap_ms > 0) {
				struct timespec ts = {gap_ms / 1000, (gap_ms % 1000) * 1000000L};
				nanosleep(&ts, NULL);
			}
		}
	}
	return 0;
}
