/*
 * analyze.c - `twlab analyze FILE...`: options, the read loop, printing.
 * Collision detection lives in src/analyze/, every kernel decision in
 * src/model/.
 */
#include "analyze/analyze.h"
#include "cli/cli.h"
#include "util/num.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
"usage: twlab analyze FILE... [--server IP[:PORT]] [--kernel K] [--json]\n"
"\n"
"Find TIME_WAIT collisions in packet captures (pcap or pcapng; Ethernet,\n"
"802.1Q/QinQ, Linux cooked v1/v2 from `tcpdump -i any`, raw IP, loopback;\n"
"IPv4 and IPv6). Several files are merged by time; '-' reads stdin.\n"
"\n"
"A collision is a SYN on a 4-tuple the server still holds in TIME_WAIT that\n"
"does not draw a SYN-ACK: answered by a bare ACK (server-side capture) or\n"
"retransmitted unanswered after the server closed that 4-tuple (client side).\n"
"A port reuse is a SYN on a 4-tuple that closed at most TIME_WAIT + 60 s ago.\n"
"The cause (paws or seq) comes from the kernel model, with the numbers.\n"
"\n"
"  --server IP[:PORT]  which side is the server (default: whoever answers SYNs)\n"
"  --kernel K          the server's kernel profile (default 6.18; 3.10, 4.19, 5.10, 6.1)\n"
"  --json              one JSON object on stdout\n"
"  --max-list N        collisions listed in full (default 20 in text, all in JSON up to 10000)\n";

static void progress(uint64_t n, void *arg)
{
	*(bool *)arg = true;            /* shown: end the line when done */
	fprintf(stderr, "\rtwlab: analyze: %llu segments...", (unsigned long long)n);
}

static const char *addr_str(uint8_t fam, const uint8_t *a, char *buf, size_t len)
{
	inet_ntop(fam == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len);
	return buf;
}

static json_t *tuple_json(const struct an_tuple *t)
{
	char c[64], s[64];
	return json_pack("{s:s,s:i,s:s,s:i}", "client", addr_str(t->family, t->caddr, c, sizeof c),
			 "cport", t->cport, "server", addr_str(t->family, t->saddr, s, sizeof s),
			 "sport", t->sport);
}

static json_t *collision_json(const struct an_collision *k)
{
	json_t *o = json_object(), *why = json_array();
	json_object_set_new(o, "ts", json_real(k->ts));
	json_object_set_new(o, "tuple", tuple_json(&k->t));
	json_object_set_new(o, "cause", json_string(k->d.cause == TW_CAUSE_NONE ? "unknown"
						    : tw_cause_str(k->d.cause)));
	json_object_set_new(o, "outcome", json_string(an_outcome_str(k->outcome)));
	json_object_set_new(o, "delay_ms", k->outcome == AN_UNKNOWN ? json_null() : json_real(k->delay_ms));
	json_object_set_new(o, "evidence", json_string(k->server_evidence ? "server" : "client"));
	json_object_set_new(o, "since_close_s", k->since_close < 0 ? json_null() : json_real(k->since_close));
	json_object_set_new(o, "syns", json_integer(k->syns));
	json_object_set_new(o, "bare_acks", json_integer(k->acks));
	json_object_set_new(o, "client_rst", json_boolean(k->client_rst));
	json_object_set_new(o, "seq", json_integer(k->syn.seq));
	json_object_set_new(o, "tsval", k->syn.has_ts ? json_integer(k->syn.tsval) : json_null());
	json_object_set_new(o, "rcv_nxt", json_integer(k->tw.rcv_nxt));
	json_object_set_new(o, "ts_recent", k->tw.ts_recent_stamp_set ? json_integer(k->tw.ts_recent) : json_null());
	json_object_set_new(o, "verdict", json_string(tw_verdict_str(k->d.verdict)));
	for (unsigned i = 0; i < k->d.why.n; i++)
		json_array_append_new(why, json_string(k->d.why.line[i]));
	json_object_set_new(o, "why", why);
	return o;
}

static json_t *result_json(const struct an_result *r, const struct kprofile *k, unsigned max_list)
{
	json_t *o = json_object(), *s = json_object(), *nat = json_object(), *list = json_array();
	json_t *hist = json_object();
	static const char *hn[] = { "lt_1s", "1_10s", "10_60s", "60_120s" };

	json_object_set_new(s, "packets", json_integer((json_int_t)r->packets));
	json_object_set_new(s, "skipped", json_integer((json_int_t)r->skipped));
	json_object_set_new(s, "connections", json_integer((json_int_t)r->connections));
	json_object_set_new(s, "port_reuses", json_integer((json_int_t)r->port_reuses));
	json_object_set_new(s, "collisions", json_integer((json_int_t)r->collisions));
	json_object_set_new(s, "collisions_paws", json_integer((json_int_t)r->coll_paws));
	json_object_set_new(s, "collisions_seq", json_integer((json_int_t)r->coll_seq));
	json_object_set_new(s, "recovered", json_integer((json_int_t)r->recovered));
	json_object_set_new(s, "timed_out", json_integer((json_int_t)r->timed_out));
	json_object_set_new(s, "outcome_unknown", json_integer((json_int_t)r->outcome_unknown));
	json_object_set_new(s, "other_bare_acks", json_integer((json_int_t)r->other_bare_acks));
	json_object_set_new(s, "unanswered_syns", json_integer((json_int_t)r->unanswered));
	json_object_set_new(s, "server_closed_first", json_integer((json_int_t)r->server_closed_first));
	json_object_set_new(s, "client_closed_first", json_integer((json_int_t)r->client_closed_first));
	for (int i = 0; i < 4; i++)
		json_object_set_new(hist, hn[i], json_integer((json_int_t)r->reuse_hist[i]));
	json_object_set_new(s, "reuse_interval", hist);
	for (unsigned i = 0; i < r->nnat; i++) {
		char a[64];
		json_object_set_new(nat, addr_str(r->nat[i].family, r->nat[i].addr, a, sizeof a),
				    json_integer(r->nat[i].hosts));
	}
	json_object_set_new(s, "nat_hosts", nat);
	json_object_set_new(s, "kernel", json_string(k->name));
	json_object_set_new(o, "summary", s);
	for (unsigned i = 0; i < r->listed && i < max_list; i++)
		json_array_append_new(list, collision_json(&r->list[i]));
	json_object_set_new(o, "collisions", list);
	return o;
}

static void text_report(const struct an_result *r, const struct kprofile *k, unsigned max_list)
{
	char c[64], s[64];
	unsigned multi = 0;

	printf("packets %llu (skipped %llu)  connections %llu  port reuses %llu\n",
	       (unsigned long long)r->packets, (unsigned long long)r->skipped,
	       (unsigned long long)r->connections, (unsigned long long)r->port_reuses);
	printf("collisions %llu (paws %llu, seq %llu)  recovered %llu  timed out %llu  unknown %llu"
	       "   [server kernel profile %s]\n",
	       (unsigned long long)r->collisions, (unsigned long long)r->coll_paws,
	       (unsigned long long)r->coll_seq, (unsigned long long)r->recovered,
	       (unsigned long long)r->timed_out, (unsigned long long)r->outcome_unknown, k->name);
	printf("closed first: server %llu, client %llu   reuse after close: <1s %llu, 1-10s %llu, "
	       "10-60s %llu, 60-120s %llu\n",
	       (unsigned long long)r->server_closed_first, (unsigned long long)r->client_closed_first,
	       (unsigned long long)r->reuse_hist[0], (unsigned long long)r->reuse_hist[1],
	       (unsigned long long)r->reuse_hist[2], (unsigned long long)r->reuse_hist[3]);
	if (r->other_bare_acks)
		printf("SYNs answered by a bare ACK from a socket still open (not TIME_WAIT): %llu\n",
		       (unsigned long long)r->other_bare_acks);
	if (r->unanswered)
		printf("SYNs retransmitted with no answer at all, no earlier connection on the 4-tuple in this\n"
		       "capture to judge them by: %llu (behind a strict firewall a client sees only this;\n"
		       "add the server's or the firewall's capture to name the cause)\n",
		       (unsigned long long)r->unanswered);
	for (unsigned i = 0; i < r->nnat; i++)
		if (r->nat[i].hosts > 1) {
			if (!multi++)
				printf("timestamp clocks per source address (hosts behind NAT):");
			printf(" %s=%u", addr_str(r->nat[i].family, r->nat[i].addr, c, sizeof c), r->nat[i].hosts);
		}
	if (multi)
		printf("\n  (on 6.18 clients every 4-tuple has its own offset: an upper bound there)\n");
	if (!r->collisions) {
		printf("\nno TIME_WAIT collisions found\n");
		return;
	}
	printf("\n  time (UTC)        client -> server                         cause  outcome     delay     syns  since close\n");
	for (unsigned i = 0; i < r->listed && i < max_list; i++) {
		const struct an_collision *x = &r->list[i];
		char tup[160], dl[24], sc[24];
		snprintf(tup, sizeof tup, "%s:%u -> %s:%u", addr_str(x->t.family, x->t.caddr, c, sizeof c),
			 x->t.cport, addr_str(x->t.family, x->t.saddr, s, sizeof s), x->t.sport);
		snprintf(dl, sizeof dl, x->outcome == AN_UNKNOWN ? "-" : "%.1f ms", x->delay_ms);
		snprintf(sc, sizeof sc, x->since_close < 0 ? "not in capture" : "%.1f s", x->since_close);
		char when[40];
		time_t sec = (time_t)x->ts;
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		printf("  %s.%06d  %-40s %-6s %-11s %-9s %-5u %s\n", when,
		       (int)((x->ts - (double)sec) * 1e6), tup,
		       x->d.cause == TW_CAUSE_NONE ? "?" : tw_cause_str(x->d.cause),
		       an_outcome_str(x->outcome), dl, x->syns, sc);
	}
	if (r->listed > max_list)
		printf("  ... %u more (--json lists them all)\n", r->listed - max_list);
	{
		const struct an_collision *x = &r->list[0];
		printf("\nexample: the first collision, as the kernel decided it (tw_rcv_nxt %u%s):\n",
		       x->tw.rcv_nxt, x->prev_in_capture ? ", from the earlier connection in the capture"
						       : ", rebuilt from the bare ACK");
		for (unsigned i = 0; i < x->d.why.n; i++)
			printf("  %s\n", x->d.why.line[i]);
	}
	printf("\nconfirm live on the server: nstat -az %s; drop reason %s; on the firewall: conntrack -S "
	       "(invalid, insert_failed)\n", k->paws_tw_counter,
	       k->paws_tw_drop_reason ? k->paws_tw_drop_reason : "(none on this kernel)");
	printf("mitigations, most effective first for this capture:\n");
	printf("  1. a fixed SNAT address per client host (or per-host 1:1 NAT): different clocks never share a 4-tuple\n");
	if (r->server_closed_first >= r->client_closed_first)
		printf("  2. let the client close first (HTTP/1.1 keep-alive): TIME_WAIT moves to the client\n");
	printf("  3. a larger 1:1 dynamic pool lowers but does not remove reuse; more addresses in an\n"
	       "     overload pool do nothing when it hashes by client IP\n");
	if (r->timed_out)
		printf("  -> timeouts mean a middlebox drops the bare ACK: with it let through, each collision "
		       "costs the client about one RST and a fast retry\n");
}

static bool parse_server(const char *v, struct an_opts *o)
{
	char buf[80];
	const char *port = NULL;
	uint32_t p;
	const char *why;

	if (strlen(v) >= sizeof buf)
		return false;
	strcpy(buf, v);
	if (buf[0] == '[') {                        /* [v6]:port */
		char *e = strchr(buf, ']');
		if (!e)
			return false;
		*e = 0;
		if (e[1] == ':')
			port = e + 2;
		memmove(buf, buf + 1, strlen(buf));
	} else if (strchr(buf, '.') && strchr(buf, ':')) {
		char *e = strrchr(buf, ':');
		*e = 0;
		port = e + 1;
	}
	if (inet_pton(AF_INET, buf, o->server_addr) == 1)
		o->server_family = 4;
	else if (inet_pton(AF_INET6, buf, o->server_addr) == 1)
		o->server_family = 6;
	else
		return false;
	if (port) {
		if (!parse_u32(port, &p, &why) || p == 0 || p > 65535)
			return false;
		o->server_port = (uint16_t)p;
	}
	o->have_server = true;
	return true;
}

int cmd_analyze(int argc, char **argv)
{
	enum { O_SERVER = 256, O_KERNEL, O_JSON, O_MAX };
	static const struct option lo[] = {
		{ "server", required_argument, 0, O_SERVER }, { "kernel", required_argument, 0, O_KERNEL },
		{ "json", no_argument, 0, O_JSON }, { "max-list", required_argument, 0, O_MAX },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	struct an_opts o = { 0 };
	bool json = false;
	uint32_t max_list = 0;
	bool have_max = false;
	const char *kname = "6.18";
	char err[512];
	struct capture *cap;
	struct analyzer *a;
	struct tcp_seg s;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return EXIT_OK;
		case O_SERVER:
			if (!parse_server(optarg, &o)) {
				cli_err("analyze", "--server: expected IP or IP:PORT: '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_KERNEL: kname = optarg; break;
		case O_JSON: json = true; break;
		case O_MAX:
			if (!cli_u32("analyze", "--max-list", optarg, &max_list))
				return EXIT_USAGE;
			have_max = true;
			break;
		default:
			cli_err("analyze", "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("analyze", "no capture file given (see --help)");
		return EXIT_USAGE;
	}
	if (!(o.kernel = cli_kernel("analyze", kname)))
		return EXIT_USAGE;
	if (!have_max)
		max_list = json ? AN_MAX_LISTED : 20;
	cap = capture_open((const char *const *)argv + optind, (size_t)(argc - optind), err, sizeof err);
	if (!cap) {
		cli_err("analyze", "%s", err);
		return EXIT_RUNTIME;
	}
	/* every 2^20 segments, so only a large input shows it */
	bool shown = false;
	if (isatty(2)) {
		o.progress = progress;
		o.progress_arg = &shown;
	}
	a = an_new(&o);
	if (!a) {
		capture_close(cap);
		cli_err("analyze", "out of memory");
		return EXIT_RUNTIME;
	}
	while ((rc = capture_next(cap, &s, err, sizeof err)) == 1)
		an_segment(a, &s);
	if (shown)
		fputc('\n', stderr);
	if (rc < 0) {
		cli_err("analyze", "%s", err);
		an_free(a);
		capture_close(cap);
		return EXIT_RUNTIME;
	}
	{
		struct an_result *r = (struct an_result *)an_finish(a);
		const struct capture_stats *st = capture_stats(cap);
		r->packets = st->packets;
		r->skipped = st->packets - st->segments;
		if (json)
			cli_print(result_json(r, o.kernel, max_list), true);
		else
			text_report(r, o.kernel, max_list);
	}
	an_free(a);
	capture_close(cap);
	return EXIT_OK;
}
