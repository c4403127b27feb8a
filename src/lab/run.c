/*
 * run.c - running commands for the lab: argv arrays only (no shell), every
 * command printable (-v / --dry-run) so a user can build the same lab by
 * hand, background processes tracked by pid and stopped by pid.
 */
#include "lab/lab.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
volatile int lab_interrupted;

static void show(const struct lab *L, const char *const argv[], const char *bg)
{
	if (!L->verbose && !L->dry_run)
		return;
	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];
		bool q = strpbrk(a, " \t\"'{};|&<>*$") != NULL || !*a;
		fprintf(stderr, "%s%s%s%s", i ? " " : "", q ? "'" : "", a, q ? "'" : "");
	}
	fprintf(stderr, "%s\n", bg ? bg : "");
}

static pid_t spawn(const char *const argv[], const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null",
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		errno = r;
		return -1;
	}
	return pid;
}

int lab_run(struct lab *L, const char *const argv[], const char *log)
{
	int st;
	pid_t pid;

	show(L, argv, NULL);
	if (L->dry_run)
		return 0;
	pid = spawn(argv, log, log);
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t lab_spawn(struct lab *L, const char *const argv[], const char *out, const char *err)
{
	show(L, argv, " &");
	if (L->dry_run)
		return 0;
	return spawn(argv, out, err);
}

void lab_stop(pid_t pid)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int lab_in_ns(const char *ns, int (*fn)(void *), void *arg)
{
	char path[256];
	pid_t pid;
	int st;

	snprintf(path, sizeof path, "/var/run/netns/%s", ns);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(255);
		_exit(fn(arg) & 0xff);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct counter_req {
	const char *name;
	int pipefd;
};

/* /proc/net/netstat and /proc/net/snmp: pairs of "Prefix: names" and
 * "Prefix: values" lines. "TcpExtPAWSTimewait" = prefix TcpExt + name. */
static int read_counter(void *arg)
{
	struct counter_req *r = arg;
	const char *files[] = { "/proc/self/net/netstat", "/proc/self/net/snmp" };
	char names[8192], vals[8192];
	long long v = -1;

	for (size_t f = 0; f < 2 && v < 0; f++) {
		FILE *fp = fopen(files[f], "r");
		if (!fp)
			continue;
		while (v < 0 && fgets(names, sizeof names, fp) && fgets(vals, sizeof vals, fp)) {
			char *c1 = strchr(names, ':'), *c2 = strchr(vals, ':');
			size_t plen;
			if (!c1 || !c2)
				break;
			plen = (size_t)(c1 - names);
			if (strncmp(r->name, names, plen))
				continue;
			char *sn, *sv, *n = strtok_r(c1 + 1, " \n", &sn), *x = strtok_r(c2 + 1, " \n", &sv);
			for (; n && x; n = strtok_r(NULL, " \n", &sn), x = strtok_r(NULL, " \n", &sv))
				if (!strcmp(n, r->name + plen)) {
					v = strtoll(x, NULL, 10);
					break;
				}
		}
		fclose(fp);
	}
	if (write(r->pipefd, &v, sizeof v) != sizeof v)
		return 1;
	return 0;
}

long long lab_counter(const char *ns, const char *name)
{
	int p[2];
	long long v = -1;
	struct counter_req r = { .name = name };

	if (pipe(p) < 0)
		return -1;
	r.pipefd = p[1];
	if (lab_in_ns(ns, read_counter, &r) != 0 || read(p[0], &v, sizeof v) != sizeof v)
		v = -1;
	close(p[0]);
	close(p[1]);
	return v;
}

static struct lab *guarded;

static void on_signal(int sig)
{
	(void)sig;
	lab_interrupted = 1;
}

void lab_guard(struct lab *L)
{
	struct sigaction sa;
	guarded = L;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
