/*
 * lab.h - the report's lab in network namespaces: build it, tear it down,
 * run things inside it. The lab measures; src/model/ decides.
 *
 * Ownership: a lab is the record /run/twlab/lab-<prefix>.rec (run/own.h).
 * lab_up claims it (refusing, and changing nothing, when that prefix is in
 * use or up), every namespace and background process it makes is recorded,
 * and lab_down removes exactly what the record lists: never a namespace
 * that merely shares the prefix, never a process it did not start.
 */
#ifndef TWLAB_LAB_H
#define TWLAB_LAB_H
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "run/own.h"
#include "run/run.h"
#include "scenario/scenario.h"

/* SO_MARK of repro's clock-probe sockets; the client namespace drops them. */
#define LAB_PROBE_MARK 0x7e1ab
/* --out longer than this is refused (file names are appended to it) */
#define LAB_OUTDIR_MAX 400

struct lab {
	struct scenario sc;
	bool verbose;                /* print every command to stderr */
	bool dry_run;                /* print, do not run */
	char outdir[512];            /* captures, logs, nft rulesets */
	pid_t server_pid;
	pid_t dump_pid[SCEN_MAX_CLIENTS + 3];
	unsigned ndump;
	bool up;
	struct own own;              /* what this lab created (lab_claim) */
};

/* The runner for L's commands: its -v / --dry-run, recording into L->own. */
struct runner lab_runner(struct lab *L);

/* Namespace names: "<prefix>c1", "<prefix>fw", "<prefix>gw", "<prefix>srv". */
void lab_ns(const struct lab *L, const char *role, char *buf, size_t len);
void lab_client_ns(const struct lab *L, unsigned i, char *buf, size_t len);

/* Run argv (NULL-terminated) and wait: 0 on exit status 0. Output to
 * stdout/stderr goes to `log` when non-NULL (else /dev/null). */
int lab_run(struct lab *L, const char *const argv[], const char *log);
/* The same for a build step: -1 with "command failed: <argv> (see log)" or
 * "interrupted" in err. LAB_RUN(...) calls it with the L, log, err and
 * errlen of the calling function: `if (LAB_RUN("ip", "netns", "add", ns)) ...` */
int lab_cmd(struct lab *L, const char *const argv[], const char *log, char *err, size_t errlen);
#define LAB_ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define LAB_RUN(...) lab_cmd(L, LAB_ARGV(__VA_ARGS__), log, err, errlen)
/* Start argv in the background (recorded); returns the pid (or -1). */
pid_t lab_spawn(struct lab *L, const char *const argv[], const char *out, const char *err);
/* Stop a background process we started: SIGTERM, wait up to 2 s, SIGKILL. */
void lab_stop(pid_t pid);

/* Checks: root, netns support, the tools. Message in err. */
bool lab_preflight(char *err, size_t errlen);
/* Claim the prefix for a new lab (lab_up does it): -1 with the reason when
 * another twlab is using it or a lab with it is up. Nothing is changed. */
int lab_claim(struct lab *L, char *err, size_t errlen);
/* Create L->outdir (and its parents). */
int lab_mkout(struct lab *L, char *err, size_t errlen);
/* Build the lab; returns once the server answers through the firewall. */
int lab_up(struct lab *L, char *err, size_t errlen);
/* Write rules to OUTDIR/NAME.nft and load them in ns (printed with --dry-run). */
int lab_nft(struct lab *L, const char *ns, const char *name, const char *rules,
	    const char *log, char *err, size_t errlen);
/* Until an HTTP GET of url from ns succeeds (50 tries, each up to 2 s, 100 ms
 * apart; stops on an interrupt): 0, or -1. */
int lab_wait_http(struct lab *L, const char *ns, const char *url);
/* The HTTP/1.0 server (closes first) in ns, bound to addr:port. */
int lab_server_start(struct lab *L, const char *ns, uint32_t addr, uint16_t port,
		     char *err, size_t errlen);
/* Remove what the lab with L's prefix created, by its record (also after a
 * crash, from another twlab), and what an interrupted `craft` left in
 * namespaces with the prefix. After a refused lab_claim/lab_up: nothing. */
int lab_down(struct lab *L);
/* The same with the removed namespaces (space separated) and the reason
 * for a failure. */
int lab_down_names(struct lab *L, char *names, size_t len, char *err, size_t errlen);

struct lab_status {
	bool up;                     /* recorded namespaces exist, all still ours */
	bool in_use;                 /* a twlab process holds the record now */
	pid_t creator;
	unsigned namespaces, processes, missing;
	char names[1024];            /* recorded namespaces that exist */
	char unowned[1024];          /* namespaces with the prefix twlab did not record */
};
void lab_status(const char *prefix, struct lab_status *st);
/* Namespaces of this prefix that exist now, space separated, into buf. */
unsigned lab_list(const char *prefix, char *buf, size_t len);

/* Enter a namespace in a forked child and run fn there; returns fn's value
 * (0..255) or -1. */
int lab_in_ns(const char *ns, int (*fn)(void *), void *arg);
/* TcpExt/Tcp counter from /proc/net/{netstat,snmp} inside ns; -1 on error. */
long long lab_counter(const char *ns, const char *name);

/* SIGINT/SIGTERM/SIGHUP set lab_interrupted; the lab stops at the next step
 * and the caller tears down. */
void lab_guard(struct lab *L);
#define lab_interrupted run_interrupted
#endif
