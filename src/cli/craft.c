/*
 * craft.c - `twlab craft syn|session`: send one crafted segment, or run a
 * scripted TCP session with a chosen ISN, from inside a network namespace,
 * and print what came back. Parsing and printing only; src/craft/ does the
 * sending.
 */
#include "cli/cli.h"
#include "craft/craft.h"
#include "print/pr.h"
#include "run/own.h"
#include "run/run.h"
#include "scenario/scenario.h"
#include "util/num.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
"usage: twlab craft syn --netns NS --src IP:PORT --dst IP:PORT --seq N [options]\n"
"       twlab craft session --netns NS --src IP:PORT --dst IP:PORT --isn N [--tsval N]\n"
"                           [--request PATH] [--json]\n"
"\n"
"syn: send one TCP segment from a raw socket inside network namespace NS and\n"
"print the first segment that comes back on that 4-tuple.\n"
"  --flags F       S F R P A U letters (default S)\n"
"  --ack N         acknowledgment number (default 0)\n"
"  --tsval N       add a timestamp option with this tsval (--tsecr N, default 0)\n"
"  --wait MS       how long to wait for an answer (default 1000); the reply\n"
"                  carries rtt_ms, send to receive\n"
"  --no-kernel-rst drop the client kernel's RSTs from --src in NS (the default,\n"
"                  see below)\n"
"  --kernel-rst    let them out: NS's kernel has no socket for --src, so it\n"
"                  answers the server's reply with a RST (as a client in\n"
"                  SYN_SENT answers a bare ACK); no nft table is installed\n"
"session: handshake, GET PATH HTTP/1.0 (--request, default /), read until the\n"
"  server closes, close:\n"
"  the server is left in TIME_WAIT with rcv_nxt, snd_nxt and ts_recent that\n"
"  are printed, so `twlab explain tw` or `craft syn` can be aimed at it.\n"
"\n"
"The client kernel has no socket for these ports and would answer the server\n"
"with RSTs: craft drops outgoing RSTs from --src in NS (nft table\n"
"twlab_craft_<pid>) while it runs, and removes it afterwards, also on Ctrl-C,\n"
"SIGTERM, SIGHUP or any other signal it can catch; after a SIGKILL, `twlab\n"
"lab down --prefix P` removes it\n"
"(P: a prefix of NS; craft records it in /run/twlab).\n"
"\n"
"--src and --dst must be in the lab's range 198.18.0.0/15 (RFC 2544\n"
"benchmarking). --allow-any-address lifts that for an address you own, e.g.\n"
"127.0.0.1 inside a namespace of your own; never aim craft at a host that\n"
"is not yours. Needs root.\n";

static bool endpoint(const char *v, struct craft_ep *ep)
{
	char buf[64];
	const char *why;
	uint32_t port;
	struct in_addr in;
	char *colon;

	if (!v || strlen(v) >= sizeof buf)
		return false;
	strcpy(buf, v);
	if (!(colon = strrchr(buf, ':')))
		return false;
	*colon = 0;
	if (inet_pton(AF_INET, buf, &in) != 1 || !parse_u32(colon + 1, &port, &why) || !port || port > 65535)
		return false;
	ep->addr = ntohl(in.s_addr);
	ep->port = (uint16_t)port;
	return true;
}

/* What the job found in the namespace, written whole to the pipe. */
struct result {
	char error[160];              /* it failed: why ("" when it did not) */
	struct craft_session s;       /* session */
	bool got;                     /* syn: a segment came back ... */
	struct tcp_seg in;            /* ... this one */
	double rtt_ms;                /* ... this long after the send */
};

struct job {
	bool session;
	struct craft_ep src, dst;
	struct segment seg;
	uint32_t isn, wait_ms;
	const char *path;             /* session: the request path */
	int out;                      /* pipe: the struct result */
};

/* Runs inside the namespace (run_in_ns_owned): the result to the pipe. */
static int run_job(void *arg)
{
	struct job *j = arg;
	struct result res;
	int fd = craft_open(j->src.addr), rc = 0;

	memset(&res, 0, sizeof res);
	if (fd < 0) {
		snprintf(res.error, sizeof res.error, "cannot open a raw socket bound to --src "
			 "(is the address on an interface in NS?)");
	} else if (j->session) {
		if (craft_run_session(fd, j->src, j->dst, j->isn, j->seg.has_ts, j->seg.tsval, j->path, &res.s))
			snprintf(res.error, sizeof res.error, "%s", res.s.error);
	} else if (craft_send(fd, j->src, j->dst, &j->seg) < 0) {
		snprintf(res.error, sizeof res.error, "send failed");
	} else {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		res.got = craft_recv(fd, j->src, j->dst, (int)j->wait_ms, &res.in) == 1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		res.rtt_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	if (fd >= 0)
		close(fd);
	if (res.error[0])
		rc = 1;
	if (write(j->out, &res, sizeof res) != (ssize_t)sizeof res)
		rc = 1;
	return rc;
}

/* A segment's fields: flags, seq, ack, tsval (null without timestamps),
 * and tsecr when with_tsecr. */
static void seg_print(struct pr *p, const struct segment *s, bool with_tsecr)
{
	char fb[8];

	pr_str(p, "flags", NULL, tcp_flags_str(s->flags, fb));
	pr_int(p, "seq", NULL, s->seq);
	pr_int(p, "ack", NULL, s->ack);
	if (s->has_ts)
		pr_int(p, "tsval", NULL, s->tsval);
	else
		pr_null(p, "tsval", NULL);
	if (with_tsecr) {
		if (s->has_ts)
			pr_int(p, "tsecr", NULL, s->tsecr);
		else
			pr_null(p, "tsecr", NULL);
	}
}

static void result_print(const struct job *j, const struct result *res, bool json)
{
	struct pr p;

	pr_begin_list(&p, json, stdout);
	if (j->session) {
		pr_int(&p, "isn", NULL, res->s.isn);
		pr_int(&p, "server_isn", NULL, res->s.server_isn);
		pr_int(&p, "response_bytes", NULL, res->s.bytes);
		pr_open(&p, "time_wait", false);
		pr_int(&p, "rcv_nxt", NULL, res->s.tw_rcv_nxt);
		pr_int(&p, "snd_nxt", NULL, res->s.tw_snd_nxt);
		if (res->s.ts)
			pr_int(&p, "ts_recent", NULL, res->s.tw_ts_recent);
		else
			pr_null(&p, "ts_recent", NULL);
		pr_close(&p);
	} else {
		pr_open(&p, "sent", false);
		seg_print(&p, &j->seg, false);
		pr_close(&p);
		if (res->got) {
			pr_open(&p, "reply", false);
			seg_print(&p, &res->in.m, true);
			pr_real(&p, "rtt_ms", NULL, res->rtt_ms);
			pr_close(&p);
		} else {
			pr_null(&p, "reply", NULL);
		}
	}
	pr_end(&p);
}

/*
 * Run the job in ns. What craft adds there (its nft table) and the child it
 * forks are recorded in /run/twlab/craft-<pid>.rec for as long as it runs:
 * a caught signal stops the child and removes the table here; after
 * SIGKILL the child dies with us (PR_SET_PDEATHSIG) and `lab down` removes
 * the table from the record.
 */
static int craft_in_ns(const char *ns, struct job *j, bool kernel_rst, bool json)
{
	struct own own = { .fd = -1 };
	struct runner R = { .own = &own }, quiet = { 0 };
	char name[32], table[40] = "", path[300], rules[320], err[400];
	struct stat st;
	struct result res;
	int p[2] = { -1, -1 }, rc;
	size_t got = 0;
	ssize_t n;

	snprintf(path, sizeof path, "/run/netns/%s", ns);
	if (strlen(ns) >= OWN_NAME_MAX || strchr(ns, '/') || stat(path, &st) < 0) {
		cli_err("craft", "--netns %s: no such network namespace (ip netns list)", ns);
		return EXIT_RUNTIME;
	}
	run_guard();
	snprintf(name, sizeof name, "craft-%d", (int)getpid());
	rc = own_claim(&own, name, true, err, sizeof err);
	if (rc == -2) {
		/* left by a killed craft that had our pid: it is gone, undo it */
		own.state = OWN_NONE;
		if (own_claim(&own, name, false, err, sizeof err) == 0)
			own_undo(&own, &quiet, NULL, 0);
		own.state = OWN_NONE;
		rc = own_claim(&own, name, true, err, sizeof err);
	}
	if (rc) {
		cli_err("craft", "%s", err);
		return EXIT_RUNTIME;
	}
	if (!kernel_rst) {
		snprintf(table, sizeof table, "twlab_craft_%d", (int)getpid());
		snprintf(rules, sizeof rules, "table ip %s {\n  chain out {\n"
			 "    type filter hook output priority filter; policy accept;\n"
			 "    tcp sport %u tcp flags & rst == rst meta mark != 0x%x drop\n  }\n}\n",
			 table, j->src.port, CRAFT_MARK);
		/* recorded before it exists: a SIGKILL in between leaves nothing unknown */
		if (own_add_nft(&own, ns, table) || run_nft(&R, ns, rules, NULL, err, sizeof err)) {
			cli_err("craft", "--netns %s: cannot install the RST filter: %s", ns, err);
			own_undo(&own, &quiet, NULL, 0);
			return EXIT_RUNTIME;
		}
	}
	if (pipe(p) < 0) {
		cli_err("craft", "pipe: %m");
		own_undo(&own, &quiet, NULL, 0);
		return EXIT_RUNTIME;
	}
	j->out = p[1];
	rc = run_in_ns_owned(&R, ns, run_job, j);
	close(p[1]);
	while (got < sizeof res && (n = read(p[0], (char *)&res + got, sizeof res - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	if (own_undo(&own, &quiet, NULL, 0))
		cli_err("craft", "--netns %s: could not remove nft table %s (`twlab lab down` will)", ns, table);
	if (run_interrupted) {
		cli_err("craft", "interrupted");
		return EXIT_RUNTIME;
	}
	if (got != sizeof res) {
		cli_err("craft", "--netns %s: the namespace run failed", ns);
		return EXIT_RUNTIME;
	}
	if (res.error[0]) {
		cli_err("craft", "%s", res.error);
		return EXIT_RUNTIME;
	}
	result_print(j, &res, json);
	return rc == 0 ? EXIT_OK : EXIT_RUNTIME;
}

int cmd_craft(int argc, char **argv)
{
	enum { O_NETNS = 256, O_SRC, O_DST, O_SEQ, O_ACK, O_FLAGS, O_TSVAL, O_TSECR, O_WAIT, O_ISN, O_JSON, O_NORST, O_REQUEST,
	       O_KRST, O_ANY };
	static const struct option lo[] = {
		{ "netns", required_argument, 0, O_NETNS }, { "src", required_argument, 0, O_SRC },
		{ "dst", required_argument, 0, O_DST }, { "seq", required_argument, 0, O_SEQ },
		{ "ack", required_argument, 0, O_ACK }, { "flags", required_argument, 0, O_FLAGS },
		{ "tsval", required_argument, 0, O_TSVAL }, { "tsecr", required_argument, 0, O_TSECR },
		{ "wait", required_argument, 0, O_WAIT }, { "isn", required_argument, 0, O_ISN },
		{ "json", no_argument, 0, O_JSON }, { "no-kernel-rst", no_argument, 0, O_NORST },
		{ "request", required_argument, 0, O_REQUEST }, { "help", no_argument, 0, 'h' },
		{ "kernel-rst", no_argument, 0, O_KRST }, { "allow-any-address", no_argument, 0, O_ANY },
		{ 0, 0, 0, 0 },
	};
	struct job j = { .seg = { .flags = TCPF_SYN }, .wait_ms = 1000 };
	const char *ns = NULL, *sub = argc >= 2 ? argv[1] : NULL;
	bool json = false, have_src = false, have_dst = false, have_seq = false, have_isn = false;
	bool kernel_rst = false, any_address = false;
	int c;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	if (strcmp(sub, "syn") && strcmp(sub, "session")) {
		cli_err("craft", "expected 'syn' or 'session' (see --help)");
		return EXIT_USAGE;
	}
	j.session = !strcmp(sub, "session");
	optind = 1;
	opterr = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		uint32_t v = 0;
		switch (c) {
		case 'h': fputs(usage, stdout); return EXIT_OK;
		case O_NETNS: ns = optarg; break;
		case O_JSON: json = true; break;
		case O_NORST: kernel_rst = false; break;
		case O_KRST: kernel_rst = true; break;
		case O_ANY: any_address = true; break;
		case O_REQUEST:
			if (!craft_path_ok(optarg)) {
				cli_err("craft", "--request: expected a path starting with '/', printable, no spaces, "
					"at most %d characters: '%s'", CRAFT_PATH_MAX, optarg);
				return EXIT_USAGE;
			}
			j.path = optarg;
			break;
		case O_SRC: case O_DST:
			if (!endpoint(optarg, c == O_SRC ? &j.src : &j.dst)) {
				cli_err("craft", "--%s: expected IPv4:PORT: '%s'", c == O_SRC ? "src" : "dst", optarg);
				return EXIT_USAGE;
			}
			*(c == O_SRC ? &have_src : &have_dst) = true;
			break;
		case O_FLAGS:
			if (!tcp_flags_parse(optarg, &j.seg.flags)) {
				cli_err("craft", "--flags: not a set of S F R P A U letters: '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		default: {
			static const char *names[] = { [O_SEQ - O_NETNS] = "--seq", [O_ACK - O_NETNS] = "--ack",
				[O_TSVAL - O_NETNS] = "--tsval", [O_TSECR - O_NETNS] = "--tsecr",
				[O_WAIT - O_NETNS] = "--wait", [O_ISN - O_NETNS] = "--isn" };
			if (c < O_NETNS || c > O_ISN || !names[c - O_NETNS]) {
				cli_err("craft", "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
				return EXIT_USAGE;
			}
			if (!cli_u32("craft", names[c - O_NETNS], optarg, &v))
				return EXIT_USAGE;
			if (c == O_SEQ) { j.seg.seq = v; have_seq = true; }
			if (c == O_ACK) j.seg.ack = v;
			if (c == O_TSVAL) { j.seg.tsval = v; j.seg.has_ts = true; }
			if (c == O_TSECR) j.seg.tsecr = v;
			if (c == O_WAIT) j.wait_ms = v > 60000 ? 60000 : v;
			if (c == O_ISN) { j.isn = v; have_isn = true; }
		}
		}
	}
	if (!ns || !have_src || !have_dst || (j.session ? !have_isn : !have_seq)) {
		cli_err("craft", "%s: --netns, --src, --dst and %s are required (see --help)", sub,
			j.session ? "--isn" : "--seq");
		return EXIT_USAGE;
	}
	if (!any_address && (!scenario_addr_ok(j.src.addr) || !scenario_addr_ok(j.dst.addr))) {
		cli_err("craft", "--%s: outside the lab's range 198.18.0.0/15 (see --allow-any-address "
			"in --help)", !scenario_addr_ok(j.src.addr) ? "src" : "dst");
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		cli_err("craft", "needs root (raw sockets, namespaces, nftables)");
		return EXIT_RUNTIME;
	}
	return craft_in_ns(ns, &j, kernel_rst, json);
}
