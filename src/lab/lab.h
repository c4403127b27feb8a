/*
 * lab.h - the report's lab in network namespaces: build it, tear it down,
 * run things inside it. The lab measures; src/model/ decides.
 */
#ifndef TWLAB_LAB_H
#define TWLAB_LAB_H
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "scenario/scenario.h"

/* SO_MARK of repro's clock-probe sockets; the client namespace drops them. */
#define LAB_PROBE_MARK 0x7e1ab

struct lab {
	struct scenario sc;
	bool verbose;                /* print every command to stderr */
	bool dry_run;                /* print, do not run */
	char outdir[512];            /* captures, logs, nft rulesets */
	pid_t server_pid;
	pid_t dump_pid[SCEN_MAX_CLIENTS + 3];
	unsigned ndump;
	bool up;
};

/* Namespace names: "<prefix>c1", "<prefix>fw", "<prefix>gw", "<prefix>srv". */
void lab_ns(const struct lab *L, const char *role, char *buf, size_t len);
void lab_client_ns(const struct lab *L, unsigned i, char *buf, size_t len);

/* Run argv (NULL-terminated) and wait: 0 on exit status 0. Output to
 * stdout/stderr goes to `log` when non-NULL (else /dev/null). */
int lab_run(struct lab *L, const char *const argv[], const char *log);
/* Start argv in the background; returns the pid (or -1). */
pid_t lab_spawn(struct lab *L, const char *const argv[], const char *out, const char *err);
/* Stop a background process we started: SIGTERM, wait up to 2 s, SIGKILL. */
void lab_stop(pid_t pid);

/* Checks: root, netns support, the tools. Message in err. */
bool lab_preflight(char *err, size_t errlen);
int lab_up(struct lab *L, char *err, size_t errlen);
/* Write rules to OUTDIR/NAME.nft and load them in ns (printed with --dry-run). */
int lab_nft(struct lab *L, const char *ns, const char *name, const char *rules,
	    const char *log, char *err, size_t errlen);
/* Until an HTTP GET of url from ns succeeds (5 s at most): 0, or -1. */
int lab_wait_http(struct lab *L, const char *ns, const char *url);
/* The HTTP/1.0 server (closes first) in ns, bound to addr:port. */
int lab_server_start(struct lab *L, const char *ns, uint32_t addr, uint16_t port,
		     char *err, size_t errlen);
/* Remove every namespace with the lab's prefix (also after a crash). */
int lab_down(struct lab *L);
/* Namespaces of this prefix that exist now, comma separated, into buf. */
unsigned lab_list(const char *prefix, char *buf, size_t len);

/* Enter a namespace in a forked child and run fn there; returns fn's value
 * (0..255) or -1. */
int lab_in_ns(const char *ns, int (*fn)(void *), void *arg);
/* TcpExt/Tcp counter from /proc/net/{netstat,snmp} inside ns; -1 on error. */
long long lab_counter(const char *ns, const char *name);

/* Cleanup on SIGINT/SIGTERM: the lab being run. */
void lab_guard(struct lab *L);
extern volatile int lab_interrupted;
#endif
