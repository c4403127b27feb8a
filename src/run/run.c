/*
 * run.c - the command runner (see run.h). Background processes are ours by
 * pid until we reap them, so stopping one through a pidfd cannot hit a
 * reused pid; processes a later twlab must stop are in the ownership
 * record with their start time (run/own.c).
 */
#include "run/run.h"
#include "run/own.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
volatile sig_atomic_t run_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	run_interrupted = 1;
}

static const int guarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
				SIGPIPE, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF };

void run_guarded_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
		sigaddset(set, guarded[i]);
}

void run_guard(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;      /* no SA_RESTART: waits return EINTR */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
		sigaction(guarded[i], &sa, NULL);
}

static void show(const struct runner *R, const char *const argv[], const char *tail)
{
	if (!R->verbose && !R->dry_run)
		return;
	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];
		bool q = strpbrk(a, " \t\"'{};|&<>*$") != NULL || !*a;
		fprintf(stderr, "%s%s%s%s", i ? " " : "", q ? "'" : "", a, q ? "'" : "");
	}
	fprintf(stderr, "%s\n", tail ? tail : "");
}

/* stdin from in_fd (-1: /dev/null), stdout to out_fd (-1: the file out);
 * pipe ends are O_CLOEXEC, so the child keeps only the dup2'd copies.
 * Children start with default signal handling and nothing blocked,
 * whatever the shell or our teardown set. */
static pid_t spawn(const char *const argv[], int in_fd, int out_fd, const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
						 O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null",
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	run_guarded_set(&def);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawnp(&pid, argv[0], &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r) {
		errno = r;
		return -1;
	}
	return pid;
}

/* Wait for our child; an interrupt stops it (it is unreaped: the pid is
 * still this child's). */
static int wait_child(pid_t pid)
{
	int st;
	bool stopped = false;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
		if (run_interrupted && !stopped) {
			kill(pid, SIGTERM);
			stopped = true;
		}
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int run_cmd(const struct runner *R, const char *const argv[], const char *log)
{
	pid_t pid;
	int rc;

	show(R, argv, NULL);
	if (R->dry_run)
		return 0;
	if ((pid = spawn(argv, -1, -1, log, log)) < 0)
		return -1;
	rc = wait_child(pid);
	/* every namespace the runner adds is recorded, whoever asked for it */
	if (rc == 0 && R->own && argv[0] && argv[1] && argv[2] && argv[3] && !argv[4] &&
	    !strcmp(argv[0], "ip") && !strcmp(argv[1], "netns") && !strcmp(argv[2], "add") &&
	    own_add_netns(R->own, R, argv[3]) != 0)
		rc = -1;
	return rc;
}

int run_read(const char *const argv[], char *buf, size_t len)
{
	int p[2];
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (len)
		buf[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((pid = spawn(argv, -1, p[1], NULL, NULL)) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	for (;;) {
		char sink[512];
		bool room = len > used + 1;
		n = room ? read(p[0], buf + used, len - used - 1) : read(p[0], sink, sizeof sink);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;                /* read to the end: the child never sees EPIPE */
		if (room)
			used += (size_t)n;
	}
	if (len)
		buf[used] = 0;
	close(p[0]);
	return wait_child(pid);
}

pid_t run_spawn(const struct runner *R, const char *const argv[], const char *out, const char *err)
{
	pid_t pid;

	show(R, argv, " &");
	if (R->dry_run)
		return 0;
	pid = spawn(argv, -1, -1, out, err);
	if (pid > 0 && R->own && own_add_proc(R->own, pid) != 0) {
		int e = errno;
		run_stop(pid);                /* a process we cannot record is not left running */
		errno = e;
		return -1;
	}
	return pid;
}

void run_stop(pid_t pid)
{
	struct pollfd p = { .events = POLLIN };
	int st;

	if (pid <= 0)
		return;
	p.fd = pidfd_open(pid, 0);
	if (p.fd < 0) {
		waitpid(pid, &st, WNOHANG);
		return;
	}
	pidfd_send_signal(p.fd, SIGTERM, NULL, 0);
	while (poll(&p, 1, 2000) < 0 && errno == EINTR)
		;
	if (!(p.revents & POLLIN))
		pidfd_send_signal(p.fd, SIGKILL, NULL, 0);
	close(p.fd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int run_nft(const struct runner *R, const char *ns, const char *rules, const char *log,
	    char *err, size_t errlen)
{
	const char *in_ns[] = { "ip", "netns", "exec", ns, "nft", "-f", "-", NULL };
	const char *here[] = { "nft", "-f", "-", NULL };
	const char *const *argv = ns ? in_ns : here;
	int p[2], rc;
	size_t n = strlen(rules);
	pid_t pid;

	show(R, argv, " <<'EOF'");
	if (R->verbose || R->dry_run)
		fprintf(stderr, "%sEOF\n", rules);
	if (R->dry_run)
		return 0;
	/* the rules go into the pipe before nft starts (they fit its buffer):
	 * an nft that fails early cannot raise SIGPIPE in us */
	if (n > 60000) {
		snprintf(err, errlen, "nft ruleset too long (%zu bytes)", n);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	rc = write(p[1], rules, n) == (ssize_t)n ? 0 : -1;
	close(p[1]);
	pid = spawn(argv, p[0], -1, log, log);
	close(p[0]);
	if (pid < 0) {
		snprintf(err, errlen, "cannot run nft: %s", strerror(errno));
		return -1;
	}
	if (wait_child(pid) != 0 || rc) {
		snprintf(err, errlen, "nft -f in %s failed%s%s%s", ns ? ns : "this namespace",
			 log ? " (see " : "", log ? log : "", log ? ")" : "");
		return -1;
	}
	return 0;
}

static int in_ns(const struct runner *R, const char *ns, int (*fn)(void *), void *arg)
{
	char path[300];
	pid_t parent = getpid(), pid;

	snprintf(path, sizeof path, "/run/netns/%s", ns);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd;
		/* never outlive the twlab that started us (even after SIGKILL) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(255);
		for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
			signal(guarded[i], SIG_DFL);   /* the parent's handlers only set a flag */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(255);
		close(fd);
		_exit(fn(arg) & 0xff);
	}
	if (R && R->own)
		own_add_proc(R->own, pid);
	return wait_child(pid);
}

int run_in_ns(const char *ns, int (*fn)(void *), void *arg)
{
	return in_ns(NULL, ns, fn, arg);
}

int run_in_ns_owned(const struct runner *R, const char *ns, int (*fn)(void *), void *arg)
{
	return in_ns(R, ns, fn, arg);
}

void run_sleep(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR && !run_interrupted)
		;
}
