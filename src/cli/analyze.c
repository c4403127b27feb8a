/*
 * analyze.c - `twlab analyze FILE...`: options, the read loop, printing.
 * Collision detection lives in src/analyze/, every kernel decision in
 * src/model/.
 */
#include "analyze/analyze.h"
#include "cli/cli.h"
#include "util/num.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
"usage: twlab analyze FILE[@ROLE]... [--server IP[:PORT]] [--kernel K] [--max-memory SIZE]\n"
"                     [--plot FILE.svg] [--json]\n"
"\n"
"Find TIME_WAIT collisions in packet captures (pcap or pcapng; Ethernet,\n"
"802.1Q/QinQ, Linux cooked v1/v2 from `tcpdump -i any`, raw IP, loopback,\n"
"NFLOG, PPP, PPPoE, Cisco HDLC, Frame Relay, Juniper Ethernet, 802.11 and\n"
"radiotap; IPv4 and IPv6; TCP inside GRE, ERSPAN, VXLAN, Geneve, GTP-U and\n"
"IP-in-IP). Several files are merged by time; '-' reads stdin.\n"
"\n"
"Several captures of one incident (vantage points): each is the client, the\n"
"firewall's inside or outside interface, or the server, detected from the same\n"
"SYNs seen in several files (ISN and timestamp survive NAT), their addresses\n"
"(rewritten by NAT) and TTLs, or named as FILE@ROLE (ROLE: client,\n"
"firewall-inside, firewall-outside or firewall, server). Attempts are counted\n"
"once, in the captures nearest the server; each collision says where its bare\n"
"ACK was last seen and where it was lost.\n"
"\n"
"A collision is a SYN on a 4-tuple the server still holds in TIME_WAIT that\n"
"does not draw a SYN-ACK: answered by a bare ACK (server-side capture) or\n"
"retransmitted unanswered after the server closed that 4-tuple (client side).\n"
"A port reuse is a SYN on a 4-tuple that closed at most TIME_WAIT + 60 s ago.\n"
"The cause comes from the kernel model, with the numbers: paws or seq (a Linux\n"
"TIME_WAIT refuses that SYN), not_timewait (it would have accepted it: the ACK\n"
"came from something else) or unknown (timestamps cut off by the snaplen).\n"
"\n"
"  --server IP[:PORT]  which side is the server (default: whoever answers SYNs)\n"
"  --kernel K          the server's kernel profile (default 6.18; 3.10, 4.19, 5.10, 6.1)\n"
"  --max-memory SIZE   state kept at most (default 400M; K, M, G suffixes); beyond\n"
"                      it the least recently active tuples are forgotten, and the\n"
"                      report says how many\n"
"  --json              one JSON object on stdout\n"
"  --max-list N        collisions listed in full (default 20 in text, all in JSON up to 10000)\n"
"  --plot FILE.svg     draw collisions and timeouts over time, and the port-reuse\n"
"                      intervals against the TIME_WAIT length (gnuplot)\n"
"\n"
"Exit status: 0 ok; 1 nothing readable, out of memory or stdout unwritable;\n"
"2 usage; 3 a report of what could be read, but some input file failed (each\n"
"is named on stderr and under \"files\" in JSON).\n";

enum { EXIT_PARTIAL = 3 };

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

/* The streamed parts of the JSON (a scan's addresses, 10 000 collisions
 * with the model's why lines) go through a buffer with their own number
 * formatting: through stdio's printf they took longer than reading a
 * million packets. */
struct jw {
	FILE  *f;
	size_t n;
	char   b[1 << 16];
};

static void jw_flush(struct jw *w)
{
	if (w->n)
		fwrite(w->b, 1, w->n, w->f);
	w->n = 0;
}

static void jw_raw(struct jw *w, const char *s, size_t len)
{
	if (w->n + len > sizeof w->b) {
		jw_flush(w);
		if (len > sizeof w->b) {
			fwrite(s, 1, len, w->f);
			return;
		}
	}
	memcpy(w->b + w->n, s, len);
	w->n += len;
}
#define JW_LIT(w, s) jw_raw((w), "" s, sizeof(s) - 1)

static void jw_str(struct jw *w, const char *s) { jw_raw(w, s, strlen(s)); }

static void jw_u(struct jw *w, unsigned long long v)
{
	char t[24], *e = t + sizeof t, *p = e;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	jw_raw(w, p, (size_t)(e - p));
}

/* printf("%.*f", d, v) for d of 3 or 6. Where v * 10^d is not clearly off
 * a rounding tie (the product itself is rounded), or v is negative or
 * large, printf decides. */
static void jw_fixed(struct jw *w, double v, int d)
{
	double scale = d == 3 ? 1e3 : 1e6, x = v * scale, r = floor(x), frac = x - r;
	if (!(v >= 0) || signbit(v) || !(x < 0x1p51) || fabs(frac - 0.5) < 0.25) {
		char t[64];
		int n = snprintf(t, sizeof t, "%.*f", d, v);
		jw_raw(w, t, n > 0 ? (size_t)n : 0);
		return;
	}
	unsigned long long n = (unsigned long long)r + (frac > 0.5), sc = d == 3 ? 1000 : 1000000;
	char t[40], *p = t + sizeof t;
	unsigned long long f = n % sc;
	for (int i = 0; i < d; i++, f /= 10)
		*--p = (char)('0' + f % 10);
	*--p = '.';
	unsigned long long ip = n / sc;
	do
		*--p = (char)('0' + ip % 10);
	while (ip /= 10);
	jw_raw(w, p, (size_t)(t + sizeof t - p));
}

/* A JSON string (the why lines and notes are ASCII; escape what JSON needs). */
static void jw_jstr(struct jw *w, const char *v)
{
	JW_LIT(w, "\"");
	const unsigned char *p = (const unsigned char *)v, *run = p;
	for (; *p; p++) {
		if (*p != '"' && *p != '\\' && *p >= 0x20)
			continue;
		jw_raw(w, (const char *)run, (size_t)(p - run));
		char t[8];
		int n = *p < 0x20 ? snprintf(t, sizeof t, "\\u%04x", *p) : snprintf(t, sizeof t, "\\%c", *p);
		jw_raw(w, t, (size_t)n);
		run = p + 1;
	}
	jw_raw(w, (const char *)run, (size_t)(p - run));
	JW_LIT(w, "\"");
}

/* An address as inet_ntop writes it (IPv4 without a printf). */
static void jw_addr(struct jw *w, uint8_t fam, const uint8_t *a)
{
	if (fam != 6) {
		char t[16], *p = t;
		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];
			if (i)
				*p++ = '.';
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
		}
		jw_raw(w, t, (size_t)(p - t));
		return;
	}
	char buf[64];
	jw_str(w, addr_str(fam, a, buf, sizeof buf));
}

static void file_list(struct jw *w, uint64_t bits, const struct an_vantage *v, size_t n)
{
	JW_LIT(w, "[");
	for (size_t i = 0, first = 1; i < n && i < AN_MAX_VANTAGE; i++)
		if (bits >> i & 1) {
			if (!first)
				JW_LIT(w, ",");
			jw_jstr(w, v[i].name);
			first = 0;
		}
	JW_LIT(w, "]");
}

static void file_or_null(struct jw *w, int i, const struct an_vantage *v)
{
	if (i < 0)
		JW_LIT(w, "null");
	else
		jw_jstr(w, v[i].name);
}

/* Where the collision's SYN and bare ACK were seen: null with one vantage point. */
static void path_emit(struct jw *w, const struct an_collision *k, const struct an_vantage *v, size_t n)
{
	const struct an_path *p = &k->path;
	char text[512];
	if (!v) {
		JW_LIT(w, "null");
		return;
	}
	JW_LIT(w, "{\"syn_seen\":");
	file_list(w, p->syn_seen, v, n);
	JW_LIT(w, ",\"client\":");
	file_or_null(w, p->client_file, v);
	JW_LIT(w, ",\"ack_seen\":");
	if (p->known)
		file_list(w, p->ack_seen, v, n);
	else
		JW_LIT(w, "null");
	JW_LIT(w, ",\"ack_last_seen\":");
	file_or_null(w, p->last_seen, v);
	JW_LIT(w, ",\"ack_last_seen_at\":");
	if (p->last_seen >= 0) {
		JW_LIT(w, "\"");
		jw_str(w, an_role_str(v[p->last_seen].role));
		JW_LIT(w, "\"");
	} else {
		JW_LIT(w, "null");
	}
	JW_LIT(w, ",\"ack_lost_before\":");
	file_or_null(w, p->lost_before, v);
	const char *d = an_path_drop_str(p, v);
	JW_LIT(w, ",\"ack_dropped\":");
	if (d) {
		JW_LIT(w, "\"");
		jw_str(w, d);
		JW_LIT(w, "\"");
	} else {
		JW_LIT(w, "null");
	}
	an_path_text(p, v, n, text, sizeof text);
	JW_LIT(w, ",\"text\":");
	jw_jstr(w, text);
	JW_LIT(w, "}");
}

/* One collision as a JSON object; the model's why lines are made here,
 * for the listed ones only. */
static void collision_emit(struct jw *w, const struct an_collision *k, const struct kprofile *kp,
			   const struct an_vantage *v, size_t nv)
{
	struct tw_decision d;
	an_collision_decide(kp, k, &d);
	JW_LIT(w, "{\"ts\":");
	jw_fixed(w, k->ts, 6);
	JW_LIT(w, ",\"tuple\":{\"client\":\"");
	jw_addr(w, k->t.family, k->t.caddr);
	JW_LIT(w, "\",\"cport\":");
	jw_u(w, k->t.cport);
	JW_LIT(w, ",\"server\":\"");
	jw_addr(w, k->t.family, k->t.saddr);
	JW_LIT(w, "\",\"sport\":");
	jw_u(w, k->t.sport);
	JW_LIT(w, "},\"cause\":\"");
	jw_str(w, an_cause_str(k->cause));
	JW_LIT(w, "\",\"cause_note\":");
	if (k->note)
		jw_jstr(w, k->note);
	else
		JW_LIT(w, "null");
	JW_LIT(w, ",\"outcome\":\"");
	jw_str(w, an_outcome_str(k->outcome));
	JW_LIT(w, "\",\"delay_ms\":");
	if (k->outcome == AN_UNKNOWN)
		JW_LIT(w, "null");
	else
		jw_fixed(w, k->delay_ms, 3);
	JW_LIT(w, ",\"evidence\":\"");
	jw_str(w, k->server_evidence ? "server" : "client");
	JW_LIT(w, "\",\"since_close_s\":");
	if (k->since_close < 0)
		JW_LIT(w, "null");
	else
		jw_fixed(w, k->since_close, 6);
	JW_LIT(w, ",\"syns\":");
	jw_u(w, k->syns);
	JW_LIT(w, ",\"bare_acks\":");
	jw_u(w, k->acks);
	JW_LIT(w, ",\"client_rst\":");
	jw_str(w, k->client_rst ? "true" : "false");
	JW_LIT(w, ",\"seq\":");
	jw_u(w, k->syn.seq);
	JW_LIT(w, ",\"tsval\":");
	if (k->syn.has_ts)
		jw_u(w, k->syn.tsval);
	else
		JW_LIT(w, "null");
	JW_LIT(w, ",\"rcv_nxt\":");
	jw_u(w, k->tw.rcv_nxt);
	JW_LIT(w, ",\"ts_recent\":");
	if (k->tw.ts_recent_stamp_set)
		jw_u(w, k->tw.ts_recent);
	else
		JW_LIT(w, "null");
	JW_LIT(w, ",\"verdict\":\"");
	jw_str(w, tw_verdict_str(d.verdict));
	JW_LIT(w, "\",\"why\":[");
	for (unsigned i = 0; i < d.why.n; i++) {
		if (i)
			JW_LIT(w, ",");
		jw_jstr(w, d.why.line[i]);
	}
	JW_LIT(w, "],\"path\":");
	path_emit(w, k, v, nv);
	JW_LIT(w, "}");
}

#define J(v) json_integer((json_int_t)(v))

/* Everything but nat_hosts and the collision list: those are streamed (a
 * scan can bring millions of addresses). */
static json_t *summary_json(const struct an_result *r, const struct capture *cap, const struct kprofile *k,
			    const struct an_vantage *v, size_t nv)
{
	json_t *s = json_object(), *hist = json_object(), *skip = json_object();
	json_t *files = json_array(), *mem = json_object(), *capped = json_array();
	const struct capture_stats *st = capture_stats(cap);
	static const char *hn[] = { "lt_1s", "1_10s", "10_60s", "60_120s" };

	json_object_set_new(s, "packets", J(r->packets));
	json_object_set_new(s, "skipped", J(r->skipped));
	for (int i = 1; i < SKIP__N; i++)
		json_object_set_new(skip, seg_skip_str((enum seg_skip)i), J(st->skipped[i]));
	json_object_set_new(s, "skipped_by_reason", skip);
	json_object_set_new(s, "ts_unknown_segments", J(st->opts_cut));
	json_object_set_new(s, "bad_ts_options", J(st->ts_bad));
	json_t *tun = json_object();
	for (int i = 1; i < TUN__N; i++)
		if (st->tunneled[i])
			json_object_set_new(tun, seg_tunnel_str((enum seg_tunnel)i), J(st->tunneled[i]));
	json_object_set_new(s, "tunneled_segments", tun);
	json_object_set_new(s, "connections", J(r->connections));
	json_object_set_new(s, "port_reuses", J(r->port_reuses));
	json_object_set_new(s, "collisions", J(r->collisions));
	json_object_set_new(s, "collisions_paws", J(r->coll_paws));
	json_object_set_new(s, "collisions_seq", J(r->coll_seq));
	json_object_set_new(s, "collisions_not_timewait", J(r->coll_not_timewait));
	json_object_set_new(s, "collisions_unknown", J(r->coll_unknown));
	json_object_set_new(s, "recovered", J(r->recovered));
	json_object_set_new(s, "timed_out", J(r->timed_out));
	json_object_set_new(s, "outcome_unknown", J(r->outcome_unknown));
	json_object_set_new(s, "other_bare_acks", J(r->other_bare_acks));
	json_object_set_new(s, "unanswered_syns", J(r->unanswered));
	json_object_set_new(s, "server_closed_first", J(r->server_closed_first));
	json_object_set_new(s, "client_closed_first", J(r->client_closed_first));
	for (int i = 0; i < 4; i++)
		json_object_set_new(hist, hn[i], J(r->reuse_hist[i]));
	json_object_set_new(s, "reuse_interval", hist);
	for (unsigned i = 0; i < r->nnat; i++)
		if (r->nat[i].hosts_capped) {
			char a[64];
			json_array_append_new(capped, json_string(addr_str(r->nat[i].family, r->nat[i].addr, a, sizeof a)));
		}
	json_object_set_new(s, "nat_hosts_capped", capped);
	json_object_set_new(s, "nat_uncounted_syns", J(r->nat_uncounted));
	json_object_set_new(s, "not_server_segments", J(r->not_server));
	json_object_set_new(mem, "max_bytes", J(r->max_memory));
	json_object_set_new(mem, "peak_bytes", J(r->peak_memory));
	json_object_set_new(mem, "peak_tuples", J(r->peak_tuples));
	json_object_set_new(mem, "evicted_tuples", J(r->evicted));
	json_object_set_new(mem, "evicted_idle_s", r->evicted ? json_real(r->evicted_idle_s) : json_null());
	json_object_set_new(s, "memory", mem);
	json_object_set_new(s, "unlisted_collisions", J(r->unlisted));
	for (size_t i = 0; i < capture_nfiles(cap); i++) {
		const struct capture_file *f = capture_file(cap, i);
		json_array_append_new(files, json_pack("{s:s,s:I,s:I,s:o}", "file", f->name,
						       "packets", (json_int_t)f->packets,
						       "snaplen", (json_int_t)f->snaplen,
						       "error", f->failed ? json_string(f->error) : json_null()));
	}
	json_object_set_new(s, "files", files);
	json_t *vp = json_array();
	for (size_t i = 0; v && i < nv; i++)
		json_array_append_new(vp, json_pack("{s:s,s:s,s:b,s:s?}", "file", v[i].name, "role",
						    an_role_str(v[i].role), "named", v[i].named, "why",
						    v[i].named ? NULL : v[i].why));
	json_object_set_new(s, "vantage_points", vp);
	json_object_set_new(s, "counted_at", v ? json_string(an_role_str(r->counted_role)) : json_null());
	json_object_set_new(s, "bare_acks_delivered", J(r->acks_delivered));
	json_object_set_new(s, "bare_acks_lost", J(r->acks_lost));
	json_object_set_new(s, "bare_acks_lost_at_firewall", J(r->acks_lost_fw));
	json_object_set_new(s, "bare_acks_untraced", J(r->acks_untraced));
	json_object_set_new(s, "vantage_segments_unindexed", J(r->sightings_capped));
	json_object_set_new(s, "kernel", json_string(k->name));
	return s;
}

/* One object, its collision list written element by element. */
static void json_report(const struct an_result *r, const struct capture *cap, const struct kprofile *k,
			unsigned max_list, const struct an_vantage *v, size_t nv)
{
	json_t *s = summary_json(r, cap, k, v, nv);
	char *txt = json_dumps(s, JSON_COMPACT);
	json_decref(s);
	if (!txt)
		return;
	txt[strlen(txt) - 1] = 0;       /* the summary's closing brace comes after nat_hosts */
	static struct jw jw;           /* 64 KiB: not on the stack */
	struct jw *w = &jw;
	w->f = stdout;
	w->n = 0;
	JW_LIT(w, "{\"summary\":");
	jw_str(w, txt);
	JW_LIT(w, ",\"nat_hosts\":{");
	free(txt);
	for (unsigned i = 0; i < r->nnat; i++) {
		if (i)
			JW_LIT(w, ",");
		JW_LIT(w, "\"");
		jw_addr(w, r->nat[i].family, r->nat[i].addr);
		JW_LIT(w, "\":");
		jw_u(w, r->nat[i].hosts);
	}
	/* what each count of two hosts or more rests on (a scan brings
	 * millions of addresses of one host each) */
	JW_LIT(w, "},\"nat_evidence\":{");
	for (unsigned i = 0, first_a = 1; i < r->nnat; i++) {
		const struct an_nat *n = &r->nat[i];
		if (n->hosts < 2)
			continue;
		if (!first_a)
			JW_LIT(w, ",");
		JW_LIT(w, "\"");
		jw_addr(w, n->family, n->addr);
		JW_LIT(w, "\":{\"hosts\":");
		jw_u(w, n->hosts);
		JW_LIT(w, ",\"lower_bound\":");
		jw_str(w, n->lower_bound ? "true" : "false");
		JW_LIT(w, ",\"evidence\":[");
		for (unsigned b = 1, first = 1; b <= AN_EV_IP_ID; b <<= 1)
			if (n->evidence & b) {
				if (!first)
					JW_LIT(w, ",");
				JW_LIT(w, "\"");
				jw_str(w, an_evidence_str(b));
				JW_LIT(w, "\"");
				first = 0;
			}
		JW_LIT(w, "],\"hosts_at_most\":");
		if (n->clock_per_tuple)
			jw_u(w, n->clocks > n->hosts ? n->clocks : n->hosts);
		else
			JW_LIT(w, "null");
		JW_LIT(w, ",\"syns\":");
		jw_u(w, n->conns);
		JW_LIT(w, ",\"clocks\":");
		jw_u(w, n->clocks);
		JW_LIT(w, ",\"clock_scope\":\"");
		jw_str(w, n->clock_per_tuple ? "4-tuple" : "host");
		JW_LIT(w, "\",\"clocks_one_port\":");
		jw_u(w, n->clocks_one_port);
		JW_LIT(w, ",\"ttls\":");
		jw_u(w, n->ttls);
		JW_LIT(w, ",\"syn_fingerprints\":");
		jw_u(w, n->fingerprints);
		JW_LIT(w, ",\"ip_id_counters\":");
		jw_u(w, n->ipid_counters);
		JW_LIT(w, "}");
		first_a = 0;
	}
	JW_LIT(w, "}},\"collisions\":[");
	for (unsigned i = 0; i < r->listed && i < max_list; i++) {
		if (i)
			JW_LIT(w, ",");
		collision_emit(w, &r->list[i], k, v, nv);
	}
	JW_LIT(w, "]}\n");
	jw_flush(w);
}

static const struct an_collision *example(const struct an_result *r)
{
	for (unsigned i = 0; i < r->listed; i++)
		if (r->list[i].cause == AN_CAUSE_PAWS || r->list[i].cause == AN_CAUSE_SEQ)
			return &r->list[i];
	for (unsigned i = 0; i < r->listed; i++)
		if (r->list[i].cause == AN_CAUSE_NOT_TIMEWAIT)
			return &r->list[i];
	return NULL;
}

static void text_report(const struct an_result *r, const struct capture *cap, const struct kprofile *k,
			unsigned max_list, const struct an_vantage *v, size_t nv)
{
	char c[64], s[64];
	unsigned multi = 0;
	const struct capture_stats *st = capture_stats(cap);
	typedef unsigned long long ull;

	printf("packets %llu (skipped %llu", (ull)r->packets, (ull)r->skipped);
	for (int i = 1, first = 1; i < SKIP__N; i++)
		if (st->skipped[i]) {
			printf("%s%s %llu", first ? ": " : ", ", seg_skip_str((enum seg_skip)i), (ull)st->skipped[i]);
			first = 0;
		}
	printf(")  connections %llu  port reuses %llu\n", (ull)r->connections, (ull)r->port_reuses);
	const char *sep = "segments inside tunnels (4-tuples are the inner ones): ";
	for (int i = 1; i < TUN__N; i++)
		if (st->tunneled[i]) {
			printf("%s%s %llu", sep, seg_tunnel_str((enum seg_tunnel)i), (ull)st->tunneled[i]);
			sep = ", ";
		}
	if (sep[0] == ',')
		putchar('\n');
	printf("collisions %llu (paws %llu, seq %llu, not_timewait %llu, unknown %llu)  recovered %llu  "
	       "timed out %llu  unknown %llu   [server kernel profile %s]\n",
	       (ull)r->collisions, (ull)r->coll_paws, (ull)r->coll_seq, (ull)r->coll_not_timewait,
	       (ull)r->coll_unknown, (ull)r->recovered, (ull)r->timed_out, (ull)r->outcome_unknown, k->name);
	printf("closed first: server %llu, client %llu   reuse after close: <1s %llu, 1-10s %llu, "
	       "10-60s %llu, 60-120s %llu\n",
	       (ull)r->server_closed_first, (ull)r->client_closed_first, (ull)r->reuse_hist[0],
	       (ull)r->reuse_hist[1], (ull)r->reuse_hist[2], (ull)r->reuse_hist[3]);
	if (r->other_bare_acks)
		printf("SYNs answered by a bare ACK from a socket still open (not TIME_WAIT): %llu\n",
		       (ull)r->other_bare_acks);
	if (r->unanswered)
		printf("SYNs retransmitted with no answer at all, no earlier connection on the 4-tuple in this\n"
		       "capture to judge them by: %llu (behind a strict firewall a client sees only this;\n"
		       "add the server's or the firewall's capture to name the cause)\n", (ull)r->unanswered);
	if (v) {
		printf("vantage points (counted at the %s):", an_role_str(r->counted_role));
		for (size_t i = 0; i < nv; i++)
			printf("%s %s = %s%s", i ? "," : "", v[i].name, an_role_str(v[i].role), v[i].named ? " (named)" : "");
		printf("\nbare ACKs of the collisions: delivered %llu, lost %llu (at the firewall %llu), not traced %llu\n",
		       (ull)r->acks_delivered, (ull)r->acks_lost, (ull)r->acks_lost_fw, (ull)r->acks_untraced);
		if (r->sightings_capped)
			printf("%llu SYNs and bare ACKs not indexed across the captures (their share of --max-memory, "
			       "a quarter, is used up): paths may say lost where they were not\n",
			       (ull)r->sightings_capped);
	}
	if (r->evicted)
		printf("memory cap %llu MiB reached: %llu tuples idle for %.1f s or more were forgotten early;\n"
		       "reuses and collisions on them may be missed (raise --max-memory)\n",
		       (ull)(r->max_memory >> 20), (ull)r->evicted, r->evicted_idle_s);
	/* the ten addresses with the most hosts, and what each count rests on */
	unsigned top[10], ntop = 0;
	for (unsigned i = 0; i < r->nnat; i++) {
		if (r->nat[i].hosts < 2)
			continue;
		multi++;
		unsigned j = ntop < 10 ? ntop++ : 10;
		while (j > 0 && r->nat[top[j - 1]].hosts < r->nat[i].hosts) {
			if (j < 10)
				top[j] = top[j - 1];
			j--;
		}
		if (j < 10)
			top[j] = i;
	}
	if (multi) {
		printf("hosts behind NAT per source address:\n");
		for (unsigned j = 0; j < ntop; j++) {
			const struct an_nat *n = &r->nat[top[j]];
			printf("  %s  %s%u hosts", addr_str(n->family, n->addr, c, sizeof c),
			       n->lower_bound ? "at least " : "", n->hosts);
			if (n->clock_per_tuple && n->clocks > n->hosts)
				printf(" (at most %u, one per clock)", n->clocks);
			printf(", on");
			for (unsigned b = 1, first = 1; b <= AN_EV_IP_ID; b <<= 1)
				if (n->evidence & b) {
					printf("%s%s", first ? " " : ", ", an_evidence_str(b));
					first = 0;
				}
			printf("  (%u SYNs; %u timestamp clocks%s; %u TTLs; %u SYN fingerprints; IP ID %s)\n",
			       n->conns, n->clocks,
			       n->clock_per_tuple ? " per 4-tuple (6.18.17+/7.0 clients): they count only hosts "
						    "sharing a port pair" : "",
			       n->ttls, n->fingerprints, n->ipid_counters ? "counters" : "random or absent");
		}
		if (multi > ntop)
			printf("  (and %u more addresses: --json lists them)\n", multi - ntop);
	}
	if (r->nat_uncounted)
		printf("clocks not counted for %llu SYNs (their share of --max-memory, a quarter, is used up)\n",
		       (ull)r->nat_uncounted);
	if (!r->collisions) {
		printf("\nno TIME_WAIT collisions found\n");
		return;
	}
	printf("\n  time (UTC)        client -> server                         cause        outcome     delay     syns  since close\n");
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
		printf("  %s.%06d  %-40s %-12s %-11s %-9s %-5u %s\n", when, (int)((x->ts - (double)sec) * 1e6),
		       tup, an_cause_str(x->cause), an_outcome_str(x->outcome), dl, x->syns, sc);
		if (v && x->path.known) {
			char text[512];
			an_path_text(&x->path, v, nv, text, sizeof text);
			printf("      bare ACK: %s\n", text);
		}
	}
	if (r->listed > max_list || r->unlisted)
		printf("  ... %llu more (--json lists up to %u)\n",
		       (ull)(r->listed > max_list ? r->listed - max_list : 0) + (ull)r->unlisted, AN_MAX_LISTED);
	const struct an_collision *x = example(r);
	if (x && x->cause != AN_CAUSE_NOT_TIMEWAIT) {
		struct tw_decision d;
		an_collision_decide(k, x, &d);
		printf("\nexample: the first collision with a known cause, as the kernel decided it "
		       "(tw_rcv_nxt %u%s):\n", x->tw.rcv_nxt,
		       x->prev_in_capture ? ", from the earlier connection in the capture" : ", rebuilt from the bare ACK");
		for (unsigned i = 0; i < d.why.n; i++)
			printf("  %s\n", d.why.line[i]);
	} else if (x) {
		printf("\nexample: the first collision, not TIME_WAIT's doing: %s\n", x->note);
	} else {
		printf("\nno collision has a known cause: %s\n", r->list[0].note ? r->list[0].note : "");
	}
	/* what to look at, and what to change, for the causes found */
	printf("\nconfirm live:\n");
	if (r->coll_paws)
		printf("  paws: on the server nstat -az %s%s%s\n", k->paws_tw_counter,
		       k->paws_tw_drop_reason ? "; drop reason " : "",
		       k->paws_tw_drop_reason ? k->paws_tw_drop_reason : "");
	if (r->coll_seq)
		printf("  seq: no kernel counter marks a SYN refused on its sequence number; on the server\n"
		       "       ss -tano state time-wait shows the 4-tuple and its timer while it happens\n");
	if (r->coll_not_timewait)
		printf("  not_timewait: on the server nstat -az TcpExtTCPChallengeACK, and ss -tan state established\n"
		       "       for the 4-tuple: a socket the server still thinks is open\n");
	if (r->coll_unknown)
		printf("  unknown: the capture lacks what decides the cause; on the server nstat -az %s\n"
		       "       (PAWS) and TcpExtTCPChallengeACK (a peer still open) tell them apart live\n",
		       k->paws_tw_counter);
	if (r->timed_out)
		printf("  timeouts: on the firewall conntrack -S (invalid, insert_failed) and its drop log\n");
	printf("mitigations, for the causes found:\n");
	unsigned n = 0;
	if (r->coll_paws)
		printf("  %u. a fixed SNAT address per client host (or per-host 1:1 NAT): different timestamp\n"
		       "     clocks never share a 4-tuple\n", ++n);
	if (r->coll_seq)
		printf("  %u. seq without a timestamp to save it: enable TCP timestamps on the clients\n"
		       "     (net.ipv4.tcp_timestamps=1) so a reused port can pass on its newer timestamp,\n"
		       "     and keep one SNAT address per client host\n", ++n);
	if ((r->coll_paws || r->coll_seq) && r->server_closed_first >= r->client_closed_first)
		printf("  %u. let the client close first (HTTP/1.1 keep-alive): TIME_WAIT moves to the client\n", ++n);
	if (r->coll_paws || r->coll_seq)
		printf("  %u. a larger 1:1 dynamic pool lowers but does not remove reuse; more addresses in an\n"
		       "     overload pool do nothing when it hashes by client IP\n", ++n);
	if (r->coll_not_timewait)
		printf("  %u. not a TIME_WAIT problem: find why the server holds the 4-tuple open (a peer that\n"
		       "     vanished without a FIN/RST; a NAT that dropped its mapping); keepalives end it\n", ++n);
	if (r->coll_unknown && !(r->coll_paws || r->coll_seq || r->coll_not_timewait))
		printf("  %u. capture again with the whole TCP header (tcpdump -s 0) to name the cause\n", ++n);
	if (r->timed_out)
		printf("  -> timeouts mean a middlebox drops the bare ACK: with it let through, each collision "
		       "costs the client about one RST and a fast retry\n");
}

/* --plot FILE.svg: gnuplot draws collisions and timeouts over time (per
 * bin, from the listed collisions) and the port-reuse interval
 * distribution against the server's TIME_WAIT length. */
static int plot(const char *path, const struct an_result *r, const struct kprofile *k)
{
	char script[] = "/tmp/twlab-plot-XXXXXX";
	int fd = mkstemp(script);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(script);
		return -1;
	}
	double t0 = r->listed ? r->list[0].ts : 0, t1 = r->listed ? r->list[r->listed - 1].ts : 1;
	double span = t1 - t0, bin = span > 7200 ? 600 : span > 600 ? 60 : span > 60 ? 10 : 1;
	unsigned nb = (unsigned)(span / bin) + 1;
	fputs("$coll << EOD\n", f);
	if (!r->listed)
		fputs("0 0 0\n", f);
	for (unsigned b = 0, i = 0; b < nb && r->listed; b++) {
		unsigned c = 0, to = 0;
		for (; i < r->listed && r->list[i].ts < t0 + (b + 1) * bin; i++) {
			c++;
			to += r->list[i].outcome == AN_TIMED_OUT;
		}
		fprintf(f, "%.0f %u %u\n", (double)b * bin, c, to);
	}
	fputs("EOD\n$gap << EOD\n", f);
	for (int g = 0; g <= 120; g++)
		fprintf(f, "%d %llu\n", g, (unsigned long long)r->reuse_gap_s[g]);
	fputs("EOD\n", f);
	fprintf(f, "set terminal svg size 900,720 dynamic font 'sans,11'\nset output '%s'\n", path);
	fputs("set multiplot layout 2,1\nset grid\nset key top right\nset style fill solid 0.6\nset yrange [0:*]\n", f);
	fprintf(f, "set title 'TIME\\_WAIT collisions over time (%u listed%s)'\n", r->listed,
		r->unlisted ? "; more not listed" : "");
	fprintf(f, "set xlabel 'seconds since the first collision (bins of %.0f s)'\nset ylabel 'per bin'\n", bin);
	fputs("plot $coll using 1:2 with boxes title 'collisions', "
	      "$coll using 1:3 with linespoints lw 2 title 'timed out'\n", f);
	fprintf(f, "set title 'port reuse: seconds from the close to the next SYN on the 4-tuple (%llu reuses)'\n",
		(unsigned long long)r->port_reuses);
	fputs("set xlabel 'seconds after the close'\nset ylabel 'reuses'\nset xrange [-1:121]\n", f);
	fprintf(f, "set arrow from %u, graph 0 to %u, graph 1 nohead lw 2 lc rgb 'red'\n", k->tw_len_s, k->tw_len_s);
	fprintf(f, "set label 'TIME\\_WAIT %u s (kernel %s)' at %u, graph 0.75 offset 1,0 tc rgb 'red'\n",
		k->tw_len_s, k->name, k->tw_len_s);
	fputs("plot $gap using 1:2 with boxes title 'reuses'\nunset multiplot\n", f);
	if (fclose(f) != 0) {
		unlink(script);
		return -1;
	}
	char cmd[256];
	snprintf(cmd, sizeof cmd, "gnuplot %s 2>&1", script);
	FILE *g = popen(cmd, "r");
	char line[256];
	int bad = 0;
	while (g && fgets(line, sizeof line, g)) {
		fprintf(stderr, "twlab: analyze: gnuplot: %s", line);
		bad = 1;
	}
	int rc = g ? pclose(g) : -1;
	unlink(script);
	return rc == 0 && !bad ? 0 : -1;
}

/* "100M", "1G", "65536": bytes. */
static bool parse_size(const char *v, uint64_t *out)
{
	char *e;
	unsigned long long n = strtoull(v, &e, 10);
	if (e == v || v[0] == '-')
		return false;
	unsigned sh = 0;
	switch (*e) {
	case 0: break;
	case 'k': case 'K': sh = 10; e++; break;
	case 'm': case 'M': sh = 20; e++; break;
	case 'g': case 'G': sh = 30; e++; break;
	default: return false;
	}
	if (*e == 'i' && sh)
		e++;
	if ((*e == 'B' || *e == 'b') && sh)
		e++;
	if (*e || n > (1ull << 40) >> sh)
		return false;
	*out = (uint64_t)n << sh;
	return true;
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

static void free_names(char **names, size_t n, struct an_vantage *v)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(v);
}

int cmd_analyze(int argc, char **argv)
{
	enum { O_SERVER = 256, O_KERNEL, O_JSON, O_MAX, O_MEM, O_PLOT };
	static const struct option lo[] = {
		{ "server", required_argument, 0, O_SERVER }, { "kernel", required_argument, 0, O_KERNEL },
		{ "json", no_argument, 0, O_JSON }, { "max-list", required_argument, 0, O_MAX },
		{ "max-memory", required_argument, 0, O_MEM }, { "plot", required_argument, 0, O_PLOT },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	struct an_opts o = { 0 };
	bool json = false;
	uint32_t max_list = 0;
	bool have_max = false;
	const char *kname = "6.18", *server_arg = NULL, *plot_path = NULL;
	char err[512];
	struct capture *cap;
	struct analyzer *a;
	int c, rc, status = EXIT_OK;

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
			server_arg = optarg;
			break;
		case O_KERNEL: kname = optarg; break;
		case O_PLOT:
			if (strchr(optarg, '\'') || strchr(optarg, '\n')) {
				cli_err("analyze", "--plot: a file name without quotes or newlines: '%s'", optarg);
				return EXIT_USAGE;
			}
			plot_path = optarg;
			break;
		case O_JSON: json = true; break;
		case O_MAX:
			if (!cli_u32("analyze", "--max-list", optarg, &max_list))
				return EXIT_USAGE;
			have_max = true;
			break;
		case O_MEM:
			if (!parse_size(optarg, &o.max_memory) || o.max_memory < (1u << 20)) {
				cli_err("analyze", "--max-memory: expected a size of at least 1M (e.g. 100M, 2G): '%s'",
					optarg);
				return EXIT_USAGE;
			}
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
	size_t nfiles = (size_t)(argc - optind);
	struct an_vantage *vant = calloc(nfiles, sizeof *vant);
	char **names = calloc(nfiles, sizeof *names);
	if (!vant || !names) {
		free(vant);
		free(names);
		cli_err("analyze", "out of memory");
		return EXIT_RUNTIME;
	}
	bool any_named = false, vant_ok = true;
	for (size_t i = 0; i < nfiles; i++) {
		/* FILE@ROLE, unless FILE@ROLE is itself a file */
		const char *arg = argv[optind + (int)i], *at = strrchr(arg, '@');
		enum an_role role = AN_ROLE_UNKNOWN;
		names[i] = strdup(arg);
		if (!names[i]) {
			free_names(names, nfiles, vant);
			cli_err("analyze", "out of memory");
			return EXIT_RUNTIME;
		}
		if (at && access(arg, F_OK) != 0) {
			if (!an_role_parse(at + 1, &role)) {
				cli_err("analyze", "%s: unknown vantage point '%s' (client, firewall-inside, "
					"firewall-outside, firewall, server)", arg, at + 1);
				free_names(names, nfiles, vant);
				return EXIT_USAGE;
			}
			names[i][at - arg] = 0;
			any_named = true;
		}
		vant[i].name = names[i];
		vant[i].role = role;
		vant[i].named = role != AN_ROLE_UNKNOWN;
	}
	char verr[1024] = "";
	if (nfiles >= 2 && nfiles <= AN_MAX_VANTAGE) {
		if (an_vantage_detect(vant, nfiles, verr, sizeof verr) < 0) {
			vant_ok = false;
			if (any_named)
				cli_err("analyze", "vantage points: could not tell %s; name each FILE@ROLE", verr);
		}
		if (vant_ok) {
			o.vantage = vant;
			o.nvantage = nfiles;
		}
	} else if (any_named && nfiles > AN_MAX_VANTAGE) {
		cli_err("analyze", "vantage points: at most %d files", AN_MAX_VANTAGE);
	}
	cap = capture_open_all((const char *const *)names, nfiles, err, sizeof err);
	if (!cap) {
		cli_err("analyze", "%s", err);
		free_names(names, nfiles, vant);
		return EXIT_RUNTIME;
	}
	size_t nok = 0;
	for (size_t i = 0; i < capture_nfiles(cap); i++) {
		const struct capture_file *f = capture_file(cap, i);
		if (f->failed)
			cli_err("analyze", "%s: %s", f->name, f->error);
		else
			nok++;
	}
	if (!nok) {
		capture_close(cap);
		free_names(names, nfiles, vant);
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
		free_names(names, nfiles, vant);
		cli_err("analyze", "out of memory");
		return EXIT_RUNTIME;
	}
	bool out_of_memory = false;
	/* a few segments read ahead, their table slots prefetched */
	enum { AHEAD = 8 };
	struct tcp_seg ring[AHEAD];
	uint64_t hint[AHEAD];
	unsigned head = 0, queued = 0;
	rc = 1;
	for (;;) {
		while (rc == 1 && queued < AHEAD) {
			struct tcp_seg *q = &ring[(head + queued) % AHEAD];
			if ((rc = capture_next(cap, q, err, sizeof err)) == 1) {
				hint[(head + queued) % AHEAD] = an_prefetch(a, q);
				queued++;
			}
		}
		if (!queued)
			break;
		if (queued > AHEAD / 2)
			an_prefetch_more(a, &ring[(head + AHEAD / 2) % AHEAD]);
		if (an_segment_hinted(a, &ring[head], hint[head]) < 0) {
			out_of_memory = true;
			break;
		}
		head = (head + 1) % AHEAD;
		queued--;
	}
	if (shown)
		fputc('\n', stderr);
	const struct an_result *r = an_finish(a);
	{
		struct an_result *w = (struct an_result *)r;
		const struct capture_stats *st = capture_stats(cap);
		w->packets = st->packets;
		w->skipped = st->packets - st->segments;
	}
	/* what was read, and what could not be */
	for (size_t i = 0; i < capture_nfiles(cap); i++) {
		const struct capture_file *f = capture_file(cap, i);
		if (f->failed) {
			status = EXIT_PARTIAL;
			if (!f->failed_open) { /* opened, then failed: not said yet */
				/* before the lines of commands some errors end with */
				int first = (int)strcspn(f->error, "\n");
				cli_err("analyze", "%s: %.*s; the report covers what was read before%s", f->name, first,
					f->error, f->error + first);
			}
		}
		if (f->opts_cut && f->cut_at < f->snaplen)
			cli_err("analyze", "%s: records cut at %u bytes (the file says snaplen %u) cut the TCP "
				"options of %llu segments: their timestamps are unknown, and collisions that depend "
				"on them have cause unknown (capture with -s 0)", f->name, f->cut_at, f->snaplen,
				(unsigned long long)f->opts_cut);
		else if (f->opts_cut)
			cli_err("analyze", "%s: snaplen %u cut the TCP options of %llu segments: their timestamps "
				"are unknown, and collisions that depend on them have cause unknown (capture with -s 0)",
				f->name, f->snaplen, (unsigned long long)f->opts_cut);
	}
	{
		const struct capture_stats *st = capture_stats(cap);
		if (st->skipped[SKIP_TRUNCATED])
			cli_err("analyze", "%llu packets skipped: cut by the snaplen before the TCP flags",
				(unsigned long long)st->skipped[SKIP_TRUNCATED]);
		if (st->ts_bad)
			cli_err("analyze", "%llu segments carry a malformed timestamp option (length not 10): "
				"read as without timestamps", (unsigned long long)st->ts_bad);
	}
	if (server_arg && r->not_server && r->not_server == r->segments)
		cli_err("analyze", "--server %s: matched none of the %llu TCP segments", server_arg,
			(unsigned long long)r->segments);
	else if (server_arg && r->not_server)
		cli_err("analyze", "--server %s: %llu of %llu TCP segments are not the server's and were ignored",
			server_arg, (unsigned long long)r->not_server, (unsigned long long)r->segments);
	if (r->evicted)
		cli_err("analyze", "memory cap %llu MiB reached: %llu tuples forgotten early (see the report)",
			(unsigned long long)(r->max_memory >> 20), (unsigned long long)r->evicted);
	if (json)
		json_report(r, cap, o.kernel, max_list, o.vantage, o.nvantage);
	else
		text_report(r, cap, o.kernel, max_list, o.vantage, o.nvantage);
	if (plot_path && plot(plot_path, r, o.kernel) < 0) {
		cli_err("analyze", "%s: gnuplot could not draw it (is gnuplot installed?)", plot_path);
		status = EXIT_RUNTIME;
	}
	if (out_of_memory) {
		cli_err("analyze", "%s; the report covers the input up to there", an_error(a));
		status = EXIT_RUNTIME;
	}
	an_free(a);
	capture_close(cap);
	free_names(names, nfiles, vant);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("analyze", "stdout: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return status;
}
