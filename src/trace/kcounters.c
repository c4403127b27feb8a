/*
 * kcounters.c - read the counters of kcounters.h. Formats: /proc/net/netstat
 * is pairs of "TcpExt: NAME..." / "TcpExt: VALUE..." lines (net/ipv4/proc.c
 * netstat_seq_show); /proc/net/tcp one socket per line, the fourth field
 * the state in hex (06 = TCP_TIME_WAIT, tcp4_seq_show); nf_conntrack stats a
 * header of column names and one row of hex numbers per CPU
 * (net/netfilter/nf_conntrack_standalone.c ct_cpu_seq_show).
 */
#include "trace/kcounters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long netstat_get(FILE *f, const char *name)
{
	char names[8192], vals[8192];

	rewind(f);
	while (fgets(names, sizeof names, f) && fgets(vals, sizeof vals, f)) {
		char *sn, *sv, *n, *v;
		if (strncmp(names, "TcpExt:", 7) || strncmp(vals, "TcpExt:", 7))
			continue;
		n = strtok_r(names + 7, " \n", &sn);
		v = strtok_r(vals + 7, " \n", &sv);
		for (; n && v; n = strtok_r(NULL, " \n", &sn), v = strtok_r(NULL, " \n", &sv))
			if (!strcmp(n, name))
				return strtoll(v, NULL, 10);
	}
	return -1;
}

static long long time_wait_sockets(const char *procroot)
{
	char path[512], line[512];
	long long n = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/net/tcp", procroot);
	if (!(f = fopen(path, "r")))
		return -1;
	if (!fgets(line, sizeof line, f)) {      /* header */
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char st[8];
		if (sscanf(line, "%*s %*s %*s %7s", st) == 1 && !strcmp(st, "06"))
			n++;
	}
	fclose(f);
	return n;
}

static void conntrack(const char *procroot, struct kcounters *c)
{
	char path[512], head[1024], row[1024];
	int col_inv = -1, col_ins = -1, i = 0;
	char *s, *t;
	FILE *f;

	snprintf(path, sizeof path, "%s/net/stat/nf_conntrack", procroot);
	if (!(f = fopen(path, "r")) || !fgets(head, sizeof head, f)) {
		if (f)
			fclose(f);
		return;
	}
	for (t = strtok_r(head, " \n", &s); t; t = strtok_r(NULL, " \n", &s), i++) {
		if (!strcmp(t, "invalid"))
			col_inv = i;
		if (!strcmp(t, "insert_failed"))
			col_ins = i;
	}
	c->has_ct = col_inv >= 0 && col_ins >= 0;
	while (c->has_ct && fgets(row, sizeof row, f)) {
		i = 0;
		for (t = strtok_r(row, " \n", &s); t; t = strtok_r(NULL, " \n", &s), i++) {
			if (i == col_inv)
				c->ct_invalid += strtoll(t, NULL, 16);
			if (i == col_ins)
				c->ct_insert_failed += strtoll(t, NULL, 16);
		}
	}
	fclose(f);
}

int kcounters_read(const char *procroot, struct kcounters *c, char *why, int whylen)
{
	char path[512];
	FILE *f;

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/net/netstat", procroot);
	if (!(f = fopen(path, "r"))) {
		int e = errno;
		snprintf(why, whylen, "%s: %s", path, strerror(e));
		return -e;
	}
	c->paws_tw = netstat_get(f, "PAWSTimewait");
	c->paws_estab = netstat_get(f, "PAWSEstab");
	c->ack_skipped_tw = netstat_get(f, "TCPACKSkippedTimeWait");
	c->tw_overflow = netstat_get(f, "TCPTimeWaitOverflow");
	c->paws_passive = netstat_get(f, "PAWSPassive");
	fclose(f);
	c->time_wait = time_wait_sockets(procroot);
	conntrack(procroot, c);
	return 0;
}
