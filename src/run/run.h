/*
 * run.h - the command runner shared by lab and craft: argv arrays only (no
 * shell), every command printable (-v / --dry-run) so a user can run the
 * same by hand, nft rulesets loaded from memory, calls into a network
 * namespace in a forked child, and an interrupt flag set by SIGINT, SIGTERM
 * and SIGHUP. With an ownership record attached (run/own.h) the runner
 * records every namespace it adds and every background process it starts,
 * so a later `lab down` removes exactly those and nothing else.
 */
#ifndef TWLAB_RUN_H
#define TWLAB_RUN_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct own;

struct runner {
	bool verbose;                /* print every command to stderr */
	bool dry_run;                /* print, do not run */
	struct own *own;             /* record what is created (NULL: do not) */
};

/* Set by the handlers run_guard() installs; checked between steps. */
extern volatile sig_atomic_t run_interrupted;
/* Every signal that would end us and can be caught (INT, TERM, HUP, QUIT,
 * USR1, USR2, ALRM, PIPE, XCPU, XFSZ, VTALRM, PROF) sets run_interrupted
 * instead (no SA_RESTART: blocking calls return EINTR), so what we created
 * is removed before we exit. A command running when it is set is stopped. */
void run_guard(void);
/* Sleep s seconds; a signal that sets run_interrupted ends it early. */
void run_sleep(double s);
/* Those signals, as a set (to block them while tearing down). */
void run_guarded_set(sigset_t *set);

/* Run argv (NULL-terminated) and wait. Returns its exit status (0..255),
 * -1 if it could not be started or was killed by a signal. stdout and
 * stderr go to log (appended) when non-NULL, else to /dev/null. An
 * `ip netns add NAME` that succeeds is recorded in R->own. */
int run_cmd(const struct runner *R, const char *const argv[], const char *log);
/* Start argv in the background (recorded in R->own); the pid, 0 on a dry
 * run, -1 with errno. */
pid_t run_spawn(const struct runner *R, const char *const argv[], const char *out, const char *err);
/* Run argv (not printed: it only reads) and put its stdout, NUL
 * terminated and cut to len - 1, into buf. Its exit status, or -1. */
int run_read(const char *const argv[], char *buf, size_t len);
/* Stop a background process we started and have not reaped: SIGTERM, up to
 * 2 s, then SIGKILL; reaps it. Through a pidfd: never signals a reused pid. */
void run_stop(pid_t pid);
/* Load an nft ruleset (text) in namespace ns (NULL: this one) through
 * `nft -f -`. With --dry-run / -v the rules are printed. 0, or -1 with the
 * reason in err. */
int run_nft(const struct runner *R, const char *ns, const char *rules, const char *log,
	    char *err, size_t errlen);

/* Enter namespace ns in a forked child and run fn there; returns fn's value
 * (0..255) or -1. The child dies with its parent (PR_SET_PDEATHSIG), and is
 * killed when run_interrupted is set while we wait for it. */
int run_in_ns(const char *ns, int (*fn)(void *), void *arg);
/* The same, and report the child's pid to R->own before it runs fn. */
int run_in_ns_owned(const struct runner *R, const char *ns, int (*fn)(void *), void *arg);
#endif
