/*
 * run.c - the lab's side of the command runner (run/run.h): L's options
 * and ownership record applied to every command, build steps that stop on
 * an interrupt, and counters read inside a namespace.
 */
#include "lab/lab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct runner lab_runner(struct lab *L)
{
	struct runner R = { .verbose = L->verbose, .dry_run = L->dry_run,
			    .own = L->own.state == OWN_HELD ? &L->own : NULL };
	return R;
}

int lab_run(struct lab *L, const char *const argv[], const char *log)
{
	struct runner R = lab_runner(L);
	return run_cmd(&R, argv, log);
}

int lab_cmd(struct lab *L, const char *const argv[], const char *log, char *err, size_t errlen)
{
	char cmd[300] = "";
	size_t used = 0;

	if (lab_interrupted) {
		snprintf(err, errlen, "interrupted");
		return -1;
	}
	if (lab_run(L, argv, log) == 0)
		return 0;
	if (lab_interrupted) {
		snprintf(err, errlen, "interrupted");
		return -1;
	}
	for (size_t i = 0; argv[i] && used < sizeof cmd; i++) {
		int w = snprintf(cmd + used, sizeof cmd - used, "%s%s", i ? " " : "", argv[i]);
		if (w > 0)
			used += (size_t)w;
	}
	snprintf(err, errlen, "command failed: %s%s%s%s", cmd, log ? " (see " : "", log ? log : "",
		 log ? ")" : "");
	return -1;
}

pid_t lab_spawn(struct lab *L, const char *const argv[], const char *out, const char *err)
{
	struct runner R = lab_runner(L);
	return run_spawn(&R, argv, out, err);
}

void lab_stop(pid_t pid)
{
	run_stop(pid);
}

int lab_in_ns(const char *ns, int (*fn)(void *), void *arg)
{
	return run_in_ns(ns, fn, arg);
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

void lab_guard(struct lab *L)
{
	(void)L;
	run_guard();
}
