/*
 * trace.c - `twlab trace`: watch TIME_WAIT collisions live with eBPF.
 *
 * Parsing and printing only: src/trace/trace.c loads the BPF programs and
 * hands over raw events, src/trace/classify.c turns each into the model's
 * decision (so `twlab explain` on the same numbers agrees), and this file
 * prints it, as text or JSON through src/print (the decision by the same
 * emitter as explain's, in stream mode: no allocation per event), and the
 * summary.
 */
#include "cli/cli.h"
#include "model/model.h"
#include "print/pr.h"
#include "util/inet.h"
#include "util/num.h"
#include "trace/classify.h"
#include "trace/kcounters.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
"usage: twlab trace [--json] [--duration S] [filters] [--prom FILE]\n"
"\n"
"Watch TIME_WAIT collisions live on this host with eBPF (libbpf, CO-RE):\n"
"  tw_syn_rejected   a SYN found a TIME_WAIT socket and did not get a SYN-ACK;\n"
"                    cause paws (PAWS rejected its timestamp) or seq (seq not\n"
"                    after tw_rcv_nxt and no newer timestamp), decided by the\n"
"                    same model as `twlab explain tw` from the socket's fields\n"
"  tw_syn_no_listener  a SYN acceptable to the TIME_WAIT socket but nobody listens\n"
"  tw_syn_accepted   a SYN reopened a TIME_WAIT socket (needs fexit)\n"
"  synsent_reset     a client in SYN_SENT answered a bad ACK with a RST\n"
"\n"
"  --json            JSON Lines on stdout (one object per event, then a summary)\n"
"  --duration S      stop after S seconds (default: until Ctrl-C, SIGTERM, SIGHUP)\n"
"  --saddr A         only segments from client address A (IPv4)\n"
"  --daddr A         only segments to server address A\n"
"  --sport P         only client port P\n"
"  --dport P         only server port P\n"
"  --netns N         only network namespace N: inode number, a name from\n"
"                    /run/netns, or a path such as /proc/PID/ns/net\n"
"  --prom FILE       write Prometheus text-format counters to FILE every second\n"
"                    (atomic rename; for node_exporter's textfile collector)\n"
"  --kernel K        model profile for the causes (default host)\n"
"  --no-fexit        do not try fexit/tcp_timewait_state_process\n"
"  -v, --verbose     show libbpf's own log on stderr (why a program did not load)\n"
"  --quiet           no per-event output, only the summary\n"
"  --counters        only the counters every kernel has (what trace falls back to\n"
"                    where BPF cannot run): nstat, TIME_WAIT sockets, conntrack -S\n"
"  --segments        also print other segments freed on a TIME_WAIT socket\n"
"                    (ACKs, RSTs, data) as tw_segment_dropped\n"
"\n"
"Stops on Ctrl-C, SIGTERM or SIGHUP, or after --duration, and prints a summary.\n"
"Needs root (CAP_BPF, CAP_PERFMON) and kernel BTF (/sys/kernel/btf/vmlinux).\n"
"Where BPF cannot run (no BTF, as on RHEL 7.7, or no program loads) it falls\n"
"back to what every kernel has, and says so on stderr: nstat's PAWS/TIME_WAIT\n"
"counters, the TIME_WAIT sockets ss counts, conntrack -S; one \"counters\"\n"
"event per second (rates), no per-SYN events.\n"
"Attaches BTF tracepoints skb:kfree_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset,\n"
"sock:inet_sock_set_state; fexit where permitted. IPv4 only.\n";

static volatile sig_atomic_t stop_flag;
static void on_sig(int s) { (void)s; stop_flag = 1; }

struct run {
	bool json, quiet, segments, verbose;
	const struct kprofile *k;
	struct trace_stats st;
	double mono_to_real;  /* realtime - monotonic, seconds */
	bool header_done, warned_undecoded;
	time_t tb_sec;        /* the second tb_prefix was formatted for */
	char tb_prefix[32];   /* "2026-11-25T06:28:26" */
};

/* An event's line, JSON or text, is built in one buffer and written with
 * one fwrite, without allocation (this runs for every event, at up to 100k
 * events/s): src/print's stream mode. The longest event is about 700 bytes. */
#define LINE_MAX_BYTES 2048

/* The event's head: time, name, cause and the tuple. Text: the aligned
 * columns TIME EVENT CAUSE CLIENT SERVER NETNS. */
static void put_head(struct run *r, struct pr *p, const struct twlab_event *e,
		     const char *ev, const char *cause)
{
	char sa[INET_ADDRSTRLEN], da[INET_ADDRSTRLEN], tb[48], src[32], dst[32];
	double t = (double)e->ts_ns / 1e9 + r->mono_to_real;
	time_t sec = (time_t)t;
	struct tm tm;

	if (sec != r->tb_sec || !r->tb_prefix[0]) {
		gmtime_r(&sec, &tm);
		strftime(r->tb_prefix, sizeof r->tb_prefix, "%Y-%m-%dT%H:%M:%S", &tm);
		r->tb_sec = sec;
	}
	snprintf(tb, sizeof tb, "%s.%06uZ", r->tb_prefix, (unsigned)((t - (double)sec) * 1e6));
	ip4_str(ntohl(e->saddr), sa);
	ip4_str(ntohl(e->daddr), da);
	pr_str(p, "time", NULL, tb);
	pr_str(p, "event", NULL, ev);
	pr_str(p, "saddr", NULL, sa);
	pr_int(p, "sport", NULL, e->sport);
	pr_str(p, "daddr", NULL, da);
	pr_int(p, "dport", NULL, e->dport);
	pr_int(p, "netns", NULL, e->netns);
	if (cause)
		pr_str(p, "cause", NULL, cause);
	if (p->json)
		return;
	if (!r->header_done) {
		printf("%-16s %-18s %-6s %-21s %-21s %-10s %s\n", "TIME", "EVENT", "CAUSE",
		       "CLIENT", "SERVER", "NETNS", "DETAIL");
		r->header_done = true;
	}
	snprintf(src, sizeof src, "%s:%u", sa, (unsigned)e->sport);
	snprintf(dst, sizeof dst, "%s:%u", da, (unsigned)e->dport);
	pr_text(p, "%-16s %-18s %-6s %-21s %-21s %-10u", tb + 11, ev, cause ? cause : "-",
		src, dst, (unsigned)e->netns);
}

/* The segment against the TIME_WAIT socket it met. */
static void put_tw(struct pr *p, const struct trace_decision *d)
{
	const struct tw_sock *tw = &d->tw_sock;

	pr_int(p, "seq", " seq %lld", d->seg.seq);
	pr_int(p, "rcv_nxt", " rcv_nxt %lld", tw->rcv_nxt);
	pr_int(p, "snd_nxt", NULL, tw->snd_nxt);
	pr_opt_int(p, "tsval", " tsval %lld", d->seg.has_ts, d->seg.tsval);
	pr_opt_int(p, "ts_recent", " ts_recent %lld", tw->ts_recent_stamp_set, tw->ts_recent);
	pr_opt_int(p, "ts_recent_age_s", " age %llds", tw->ts_recent_stamp_set, tw->ts_recent_age_s);
}

/* What the kernel said (drop reason, fexit's status), then the model's
 * decision as `explain tw` and `lab repro` print it (pr_tw_decision; no why
 * text: trace decides without formatting it) and whether the two agree.
 * Text: the decision's marks only. */
static void put_tw_verdicts(struct pr *p, const struct trace_decision *d, bool drop)
{
	char rb[24];

	if (drop) {
		if (!d->drop_reason)
			snprintf(rb, sizeof rb, "reason %u", (unsigned)d->drop_reason_value);
		pr_str(p, "drop_reason", NULL, d->drop_reason ? d->drop_reason : rb);
	}
	pr_str(p, "kernel_status", NULL, d->kernel_status);
	pr_open_json(p, "model", false);
	pr_tw_decision(p, &d->tw_d);
	pr_bool(p, "agrees", NULL, d->model_agrees);
	pr_close(p);
	if (!drop && d->tw_d.verdict == TCP_TW_SYN)
		pr_text(p, " isn %u", (unsigned)d->tw_d.isn);
	if (!d->model_agrees)
		pr_text(p, " (model disagrees with the kernel)");
	if (d->tw_d.rate_limited)
		pr_text(p, " (ACK rate-limited)");
}

static void emit_event(struct run *r, const struct twlab_event *e, const struct trace_decision *d)
{
	const char *ev = trace_kind_str(d->kind);
	char line[LINE_MAX_BYTES], fb[8];
	struct pr p;

	pr_begin_buf(&p, r->json, stdout, line, sizeof line);
	switch (d->kind) {
	case TK_TW_SYN_REJECTED:
	case TK_TW_SYN_NO_LISTENER:
		put_head(r, &p, e, ev, d->kind == TK_TW_SYN_REJECTED ? tw_cause_str(d->tw_d.cause) : NULL);
		put_tw(&p, d);
		put_tw_verdicts(&p, d, true);
		break;
	case TK_TW_SEGMENT_DROPPED:
		put_head(r, &p, e, ev, NULL);
		pr_str(&p, "flags", " %s", tcp_flags_str(d->seg.flags, fb));
		put_tw(&p, d);
		pr_int(&p, "ack", " ack %lld", d->seg.ack);
		put_tw_verdicts(&p, d, true);
		break;
	case TK_TW_SYN_ACCEPTED:
		put_head(r, &p, e, ev, NULL);
		put_tw(&p, d);
		put_tw_verdicts(&p, d, false);
		break;
	case TK_SYNSENT_RESET: {
		bool reset = d->ss_d.verdict == SYNSENT_RESET;
		put_head(r, &p, e, ev, NULL);
		pr_str(&p, "flags", NULL, tcp_flags_str(d->seg.flags, fb));
		pr_int(&p, "ack", " ack %lld", d->seg.ack);
		pr_int(&p, "seq", NULL, d->seg.seq);
		pr_int(&p, "snd_una", reset ? " not in (snd_una %lld," : " snd_una %lld", d->ss.snd_una);
		pr_int(&p, "snd_nxt", reset ? " snd_nxt %lld]" : " snd_nxt %lld", d->ss.snd_nxt);
		/* the model's decision as `explain synsent` prints it: the RST,
		 * and when the client sends its SYN again */
		pr_open_json(&p, "model", false);
		pr_synsent_decision(&p, &d->ss_d);
		pr_bool(&p, "agrees", NULL, d->model_agrees);
		pr_close(&p);
		if (!reset)
			pr_text(&p, " model %s", synsent_verdict_str(d->ss_d.verdict));
		if (d->ss_d.next_syn_ms)
			pr_text(&p, " next SYN in %u ms", (unsigned)d->ss_d.next_syn_ms);
		break;
	}
	case TK_IGNORED: case TK_UNDECODED: case TK__N:
		return;
	}
	pr_text(&p, "\n");
	pr_end(&p);
	if (p.overflow)       /* cannot happen with the fields above; never silently */
		cli_err("trace", "%s event: longer than %d bytes, not printed", ev, LINE_MAX_BYTES);
}

static int on_event(const struct twlab_event *e, void *arg)
{
	struct run *r = arg;
	struct trace_decision d;

	trace_classify(r->k, e, &d);
	trace_count(&r->st, &d);
	if (d.kind == TK_UNDECODED && (r->verbose || !r->warned_undecoded)) {
		cli_err("trace", "event: headers did not decode (%s, %u bytes): counted in "
			"undecoded_events", seg_skip_str(d.skip), (unsigned)e->pkt_len);
		r->warned_undecoded = true;
	}
	if (r->quiet || (d.kind == TK_TW_SEGMENT_DROPPED && !r->segments))
		return 0;
	emit_event(r, e, &d);
	return 0;
}

static void emit_summary(struct run *r, const struct trace_counters *c, double secs)
{
	const struct trace_stats *st = &r->st;
	struct pr p;

	pr_begin_list(&p, r->json, stdout);
	p.width = 22;
	pr_text(&p, "\n-- summary\n");
	pr_set_list(&p, false);
	pr_str(&p, "event", NULL, "summary");
	pr_set_list(&p, true);
	pr_int(&p, "duration_ms", NULL, (long long)(secs * 1000 + 0.5));
	pr_int(&p, "tw_syn_rejected", NULL, (long long)(st->rej_paws + st->rej_seq + st->rej_other));
	pr_int(&p, "paws", NULL, (long long)st->rej_paws);
	pr_int(&p, "seq", NULL, (long long)st->rej_seq);
	pr_int(&p, "tw_syn_no_listener", NULL, (long long)st->no_listener);
	pr_int(&p, "tw_syn_accepted", NULL, (long long)st->accepted);
	pr_int(&p, "synsent_reset", NULL, (long long)st->synsent_reset);
	pr_int(&p, "tw_segment_dropped", NULL, (long long)st->segments);
	pr_int(&p, "model_mismatch", NULL, (long long)st->model_mismatch);
	pr_int(&p, "undecoded_events", NULL, (long long)st->undecoded);
	pr_int(&p, "lost_events", NULL, (long long)c->v[TC_LOST]);
	pr_int(&p, "kernel_tw_paws_drops", NULL, (long long)c->v[TC_TW_DROP_PAWS]);
	pr_int(&p, "kernel_tw_other_drops", NULL, (long long)c->v[TC_TW_DROP_OTHER]);
	pr_int(&p, "host_receive_resets", NULL, (long long)c->v[TC_RECEIVE_RESET]);
	pr_int(&p, "host_connects", NULL, (long long)c->v[TC_SYN_SENT]);
	pr_int(&p, "filtered_out", NULL, (long long)c->v[TC_FILTERED]);
	if (c->v[TC_TW_VERDICT_SUCCESS] + c->v[TC_TW_VERDICT_RST] + c->v[TC_TW_VERDICT_ACK] +
	    c->v[TC_TW_VERDICT_SYN] + c->v[TC_TW_VERDICT_ACK_OOW]) {
		pr_open(&p, "host_tw_verdicts", false);
		for (int v = 0; v <= TC_TW_VERDICT_ACK_OOW - TC_TW_VERDICT_SUCCESS; v++)
			pr_int(&p, tw_status_str(v), NULL, (long long)c->v[TC_TW_VERDICT_SUCCESS + v]);
		pr_close(&p);
	}
	pr_end(&p);
}

static int write_prom(const char *path, struct run *r, const struct trace_counters *c)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"# HELP twlab_trace_tw_syn_rejected_total SYNs a TIME_WAIT socket refused, by cause (src/model).\n"
		"# TYPE twlab_trace_tw_syn_rejected_total counter\n"
		"twlab_trace_tw_syn_rejected_total{cause=\"paws\"} %llu\n"
		"twlab_trace_tw_syn_rejected_total{cause=\"seq\"} %llu\n"
		"twlab_trace_tw_syn_rejected_total{cause=\"other\"} %llu\n"
		"# HELP twlab_trace_tw_syn_no_listener_total Acceptable SYNs on a TIME_WAIT socket with no listener.\n"
		"# TYPE twlab_trace_tw_syn_no_listener_total counter\n"
		"twlab_trace_tw_syn_no_listener_total %llu\n"
		"# HELP twlab_trace_tw_syn_accepted_total SYNs that reopened a TIME_WAIT socket (fexit only).\n"
		"# TYPE twlab_trace_tw_syn_accepted_total counter\n"
		"twlab_trace_tw_syn_accepted_total %llu\n"
		"# HELP twlab_trace_synsent_reset_total RSTs sent by clients in SYN_SENT for a bad ACK.\n"
		"# TYPE twlab_trace_synsent_reset_total counter\n"
		"twlab_trace_synsent_reset_total %llu\n"
		"# HELP twlab_trace_lost_events_total Events dropped because the ring buffer was full.\n"
		"# TYPE twlab_trace_lost_events_total counter\n"
		"twlab_trace_lost_events_total %llu\n"
		"# HELP twlab_trace_kernel_tw_drops_total Segments freed on a TIME_WAIT socket, by drop reason.\n"
		"# TYPE twlab_trace_kernel_tw_drops_total counter\n"
		"twlab_trace_kernel_tw_drops_total{reason=\"TCP_RFC7323_TW_PAWS\"} %llu\n"
		"twlab_trace_kernel_tw_drops_total{reason=\"other\"} %llu\n",
		(unsigned long long)r->st.rej_paws, (unsigned long long)r->st.rej_seq,
		(unsigned long long)r->st.rej_other, (unsigned long long)r->st.no_listener,
		(unsigned long long)r->st.accepted, (unsigned long long)r->st.synsent_reset,
		(unsigned long long)c->v[TC_LOST], (unsigned long long)c->v[TC_TW_DROP_PAWS],
		(unsigned long long)c->v[TC_TW_DROP_OTHER]);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

static bool parse_addr(const char *opt, const char *v, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, v, &a) != 1) {
		cli_err("trace", "%s: not an IPv4 address: '%s'", opt, v);
		return false;
	}
	*out = a.s_addr;
	return true;
}

static bool parse_port(const char *opt, const char *v, uint16_t *out)
{
	uint32_t p;
	if (!cli_u32("trace", opt, v, &p))
		return false;
	if (p == 0 || p > 65535) {
		cli_err("trace", "%s: not a port (1-65535): '%s'", opt, v);
		return false;
	}
	*out = (uint16_t)p;
	return true;
}

static bool parse_netns(const char *v, uint32_t *out)
{
	const char *why = NULL;
	char path[4096];
	struct stat st;

	if (parse_u32(v, out, &why) && *out)
		return true;
	if (strchr(v, '/'))
		snprintf(path, sizeof path, "%s", v);
	else
		snprintf(path, sizeof path, "/run/netns/%s", v);
	if (stat(path, &st) != 0) {
		cli_err("trace", "--netns: not an inode number, /run/netns name or path: '%s'", v);
		return false;
	}
	*out = (uint32_t)st.st_ino;
	return true;
}

/* Where the BPF tracer cannot run: the counters every kernel has, as rates
 * per second (one "counters" event per second, a summary at the end). No
 * per-SYN events, no causes: the stderr line says so. Text: one line of
 * "key=value" per event, "-" for a counter that could not be read. */
static void put_delta(struct pr *p, const char *key, const char *fmt, const char *unknown,
		      long long now, long long before)
{
	if (now < 0 || before < 0)
		pr_null(p, key, unknown);
	else
		pr_int(p, key, fmt, now - before);
}

/* The counters from a to b over secs. */
static void put_counters(struct pr *p, const struct kcounters *a, const struct kcounters *b, double secs)
{
	bool tw = b->paws_tw >= 0;

	pr_real(p, "interval_s", " interval_s=%.3f", secs);
	pr_str(p, "paws_counter", " paws_counter=%s", tw ? "TcpExtPAWSTimewait" : "TcpExtPAWSEstab");
	if (tw)
		put_delta(p, "paws_rejected", " paws_rejected=%lld", " paws_rejected=-", b->paws_tw, a->paws_tw);
	else
		put_delta(p, "paws_rejected", " paws_rejected=%lld", " paws_rejected=-", b->paws_estab, a->paws_estab);
	put_delta(p, "tw_ack_skipped", " tw_ack_skipped=%lld", " tw_ack_skipped=-", b->ack_skipped_tw, a->ack_skipped_tw);
	put_delta(p, "tw_overflow", " tw_overflow=%lld", " tw_overflow=-", b->tw_overflow, a->tw_overflow);
	put_delta(p, "paws_passive", " paws_passive=%lld", " paws_passive=-", b->paws_passive, a->paws_passive);
	/* a level, not a rate: the count now (from 0) */
	put_delta(p, "time_wait_sockets", " time_wait_sockets=%lld", " time_wait_sockets=-", b->time_wait, 0);
	put_delta(p, "conntrack_invalid", " conntrack_invalid=%lld", " conntrack_invalid=-",
		  b->has_ct ? b->ct_invalid : -1, a->ct_invalid);
	put_delta(p, "conntrack_insert_failed", " conntrack_insert_failed=%lld", " conntrack_insert_failed=-",
		  b->has_ct ? b->ct_insert_failed : -1, a->ct_insert_failed);
	pr_text(p, "\n");
}

static int counters_fallback(const struct run *r, double duration, const char *why)
{
	struct kcounters first, prev, cur;
	struct timespec t0, t;
	char err[600];
	double el = 0, last = 0;

	if (kcounters_read("/proc", &first, err, sizeof err)) {
		cli_err("trace", "%s; the counter fallback cannot run either: %s", why, err);
		return EXIT_RUNTIME;
	}
	cli_err("trace", "%s: counters (nstat %s, TIME_WAIT sockets as ss "
		"counts them, conntrack -S%s), per second, this network namespace only; "
		"no per-SYN events, no causes", why, first.paws_tw >= 0 ? "PAWSTimewait" :
		"PAWSEstab (TIME_WAIT and established PAWS rejects together)",
		first.has_ct ? "" : ": no conntrack here");
	prev = first;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_flag && (duration <= 0 || el < duration)) {
		double step = duration > 0 && duration - el < 1 ? duration - el : 1;
		struct timespec d = { (time_t)step, (long)((step - (time_t)step) * 1e9) };
		struct pr p;
		nanosleep(&d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
		if (kcounters_read("/proc", &cur, err, sizeof err))
			break;
		if (!r->quiet) {
			pr_begin(&p, r->json);
			pr_str(&p, "event", "%s", "counters");
			pr_real(&p, "t", " t=%.3f", el);
			put_counters(&p, &prev, &cur, el - last);
			pr_end(&p);
			fflush(stdout);
		}
		prev = cur;
		last = el;
	}
	{
		struct pr p;
		pr_begin(&p, r->json);
		pr_str(&p, "event", "%s", "summary");
		pr_str(&p, "mode", " mode=%s", "counters");
		put_counters(&p, &first, &prev, last);
		pr_end(&p);
	}
	return EXIT_OK;
}

int cmd_trace(int argc, char **argv)
{
	enum { O_JSON = 1, O_DUR, O_SADDR, O_DADDR, O_SPORT, O_DPORT, O_NETNS, O_PROM,
	       O_KERNEL, O_NOFEXIT, O_QUIET, O_SEGMENTS, O_VERBOSE, O_COUNTERS, O_HELP };
	static const struct option opts[] = {
		{ "json", no_argument, 0, O_JSON }, { "duration", required_argument, 0, O_DUR },
		{ "saddr", required_argument, 0, O_SADDR }, { "daddr", required_argument, 0, O_DADDR },
		{ "sport", required_argument, 0, O_SPORT }, { "dport", required_argument, 0, O_DPORT },
		{ "netns", required_argument, 0, O_NETNS }, { "prom", required_argument, 0, O_PROM },
		{ "kernel", required_argument, 0, O_KERNEL }, { "no-fexit", no_argument, 0, O_NOFEXIT },
		{ "quiet", no_argument, 0, O_QUIET }, { "segments", no_argument, 0, O_SEGMENTS },
		{ "verbose", no_argument, 0, O_VERBOSE }, { "counters", no_argument, 0, O_COUNTERS },
		{ "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 } };
	struct trace_filter f = { 0 };
	struct trace_attach att;
	struct trace_counters c;
	struct trace_ctx *t = NULL;
	struct run r = { 0 };
	const char *prom = NULL, *kname = NULL, *what = "";
	double duration = 0;
	bool fexit = true, counters = false;
	struct timespec m0, rt, now, lastprom;
	struct sigaction sa;
	int opt, err;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (opt) {
		case O_JSON: r.json = true; break;
		case O_DUR:
			if (!cli_seconds("trace", "--duration", optarg, 1e9, &duration))
				return EXIT_USAGE;
			break;
		case O_SADDR: if (!parse_addr("--saddr", optarg, &f.saddr)) return EXIT_USAGE; break;
		case O_DADDR: if (!parse_addr("--daddr", optarg, &f.daddr)) return EXIT_USAGE; break;
		case O_SPORT: if (!parse_port("--sport", optarg, &f.sport)) return EXIT_USAGE; break;
		case O_DPORT: if (!parse_port("--dport", optarg, &f.dport)) return EXIT_USAGE; break;
		case O_NETNS: if (!parse_netns(optarg, &f.netns)) return EXIT_USAGE; break;
		case O_PROM: prom = optarg; break;
		case O_KERNEL: kname = optarg; break;
		case O_NOFEXIT: fexit = false; break;
		case O_QUIET: r.quiet = true; break;
		case O_SEGMENTS: r.segments = true; break;
		case O_COUNTERS: counters = true; break;
		case 'v': case O_VERBOSE: r.verbose = true; break;
		case 'h': case O_HELP: fputs(usage, stdout); return EXIT_OK;
		default:
			cli_err("trace", "unknown or incomplete option '%s' (see twlab trace --help)",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("trace", "unexpected argument '%s' (see twlab trace --help)", argv[optind]);
		return EXIT_USAGE;
	}
	r.k = cli_kernel("trace", kname);
	if (!r.k)
		return EXIT_USAGE;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (counters)
		return counters_fallback(&r, duration, "--counters");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		char why[200];
		snprintf(why, sizeof why, "/sys/kernel/btf/vmlinux: %s: this kernel has no BTF "
			 "(CONFIG_DEBUG_INFO_BTF), the BPF tracer cannot run", strerror(errno));
		return counters_fallback(&r, duration, why);
	}
	if (geteuid() != 0) {
		cli_err("trace", "needs root (CAP_BPF and CAP_PERFMON) to load BPF programs");
		return EXIT_RUNTIME;
	}
	err = trace_open(&f, fexit, r.verbose, &t, &att, &what);
	if (err) {
		char why[300];
		if (err == -EPERM) {
			cli_err("trace", "%s: %s (needs root: CAP_BPF and CAP_PERFMON)", what, strerror(-err));
			return EXIT_RUNTIME;
		}
		snprintf(why, sizeof why, "%s: %s: the BPF tracer cannot run here", what, strerror(-err));
		return counters_fallback(&r, duration, why);
	}
	if (!fexit)
		cli_err("trace", "attached tp_btf kfree_skb, tcp_send_reset, tcp_receive_reset, "
			"inet_sock_set_state; fexit not tried (--no-fexit): causes from drop reasons "
			"and the model");
	else if (att.fexit && !att.kfree_skb)
		cli_err("trace", "attached %s tcp_timewait_state_process (skb:kfree_skb has no "
			"rx_sk on this kernel: the drops come from fexit, without drop reasons), "
			"tp_btf tcp_send_reset, tcp_receive_reset, inet_sock_set_state",
			att.fentry ? "fentry and fexit" : "fexit");
	else if (att.fexit)
		cli_err("trace", "attached tp_btf kfree_skb, tcp_send_reset, tcp_receive_reset, "
			"inet_sock_set_state and %s tcp_timewait_state_process (exact verdicts)",
			att.fentry ? "fentry and fexit" : "fexit");
	else
		cli_err("trace", "attached tp_btf kfree_skb, tcp_send_reset, tcp_receive_reset, "
			"inet_sock_set_state; fexit tcp_timewait_state_process failed (%s), fell back: "
			"causes from drop reasons and the model, no tw_syn_accepted",
			strerror(-att.fexit_err));

	clock_gettime(CLOCK_MONOTONIC, &m0);
	clock_gettime(CLOCK_REALTIME, &rt);
	r.mono_to_real = (double)(rt.tv_sec - m0.tv_sec) + (rt.tv_nsec - m0.tv_nsec) / 1e9;
	lastprom = m0;
	if (prom) {
		trace_counters(t, &c);
		if ((err = write_prom(prom, &r, &c)) != 0) {
			cli_err("trace", "--prom: %s: %s", prom, strerror(-err));
			trace_close(t);
			return EXIT_RUNTIME;
		}
	}
	while (!stop_flag) {
		double el;
		err = trace_poll(t, TRACE_POLL_MS, on_event, &r);
		if (fflush(stdout) != 0 || ferror(stdout))
			break;
		if (err < 0 && err != -EINTR) {
			cli_err("trace", "ring buffer: %s", strerror(-err));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = (double)(now.tv_sec - m0.tv_sec) + (now.tv_nsec - m0.tv_nsec) / 1e9;
		if (duration > 0 && el >= duration)
			break;
		if (prom && (now.tv_sec - lastprom.tv_sec) * 1000000000LL + (now.tv_nsec - lastprom.tv_nsec) >= 1000000000LL) {
			trace_counters(t, &c);
			write_prom(prom, &r, &c);
			lastprom = now;
		}
	}
	trace_poll(t, 0, on_event, &r);  /* drain */
	trace_counters(t, &c);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (prom)
		write_prom(prom, &r, &c);
	emit_summary(&r, &c, (double)(now.tv_sec - m0.tv_sec) + (now.tv_nsec - m0.tv_nsec) / 1e9);
	trace_close(t);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("trace", "stdout: write error: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}
