/*
 * trace.c - `twlab trace`: watch TIME_WAIT collisions live with eBPF.
 *
 * src/trace/ loads the BPF programs and hands over raw events (the segment's
 * TCP header and the socket's fields, read with CO-RE); this file decodes
 * them, asks src/model/ for the verdict and the cause (so `twlab explain` on
 * the same numbers agrees), filters, prints and counts.
 */
#include "cli/cli.h"
#include "model/model.h"
#include "util/num.h"
#include <linux/types.h>
#include "trace/trace.h"
#include "trace/kcounters.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
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
"  --duration S      stop after S seconds (default: until Ctrl-C / SIGTERM)\n"
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
"  --quiet           no per-event output, only the summary\n"
"  --counters        only the counters every kernel has (what trace falls back to\n"
"                    where BPF cannot run): nstat, TIME_WAIT sockets, conntrack -S\n"
"  --segments        also print other segments freed on a TIME_WAIT socket\n"
"                    (ACKs, RSTs, data) as tw_segment_dropped\n"
"\n"
"Needs root (CAP_BPF, CAP_PERFMON) and kernel BTF (/sys/kernel/btf/vmlinux).\n"
"Where BPF cannot run (no BTF, as on RHEL 7.7; a tracer the verifier refuses, as\n"
"on 6.1) it falls back to what every kernel has, and says so on stderr: nstat's\n"
"PAWS/TIME_WAIT counters, the TIME_WAIT sockets ss counts, conntrack -S; one\n"
"\"counters\" event per second (rates), no per-SYN events.\n"
"Attaches BTF tracepoints skb:kfree_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset,\n"
"sock:inet_sock_set_state; fexit where permitted. IPv4 only.\n";

static volatile sig_atomic_t stop_flag;
static void on_sig(int s) { (void)s; stop_flag = 1; }

struct stats {
	uint64_t rej_paws, rej_seq, rej_other, no_listener, accepted, synsent_reset;
	uint64_t model_mismatch, events;
};

struct run {
	bool json, quiet, segments;
	const struct kprofile *k;
	struct stats st;
	double mono_to_real;  /* realtime - monotonic, seconds */
	bool header_done;
};

struct tcpseg {
	uint8_t flags;
	uint32_t seq, ack;
	bool has_ts;
	uint32_t tsval, tsecr;
};

static void parse_th(const struct twlab_event *e, struct tcpseg *s)
{
	const uint8_t *th = e->th;
	unsigned len = e->th_len, i = 20;

	memset(s, 0, sizeof(*s));
	if (len < 20)
		return;
	s->seq = (uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
	s->ack = (uint32_t)th[8] << 24 | th[9] << 16 | th[10] << 8 | th[11];
	s->flags = th[13] & 0x3f;
	while (i < len) {
		uint8_t kind = th[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || th[i + 1] < 2 || i + th[i + 1] > len)
			break;
		if (kind == 8 && th[i + 1] == 10) {
			const uint8_t *p = th + i + 2;
			s->has_ts = true;
			s->tsval = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
			s->tsecr = (uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
		}
		i += th[i + 1];
	}
}

static json_t *base(struct run *r, const char *ev, const struct twlab_event *e)
{
	char sa[INET_ADDRSTRLEN], da[INET_ADDRSTRLEN], tb[48];
	double t = (double)e->ts_ns / 1e9 + r->mono_to_real;
	time_t sec = (time_t)t;
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(tb, sizeof tb, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tb + strlen(tb), sizeof tb - strlen(tb), ".%06uZ",
		 (unsigned)((t - (double)sec) * 1e6));
	inet_ntop(AF_INET, &e->saddr, sa, sizeof sa);
	inet_ntop(AF_INET, &e->daddr, da, sizeof da);
	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:i,s:I}", "time", tb, "event", ev,
			 "saddr", sa, "sport", (int)e->sport, "daddr", da, "dport", (int)e->dport,
			 "netns", (json_int_t)e->netns);
}

static void set_u(json_t *o, const char *k, uint64_t v) { json_object_set_new(o, k, json_integer((json_int_t)v)); }

/* Text: one aligned line per event. */
static void text_line(struct run *r, json_t *o)
{
	const char *ev = json_string_value(json_object_get(o, "event"));
	const char *cause = json_string_value(json_object_get(o, "cause"));
	char src[32], dst[32], detail[200] = "";
	json_t *v;

	if (!r->header_done) {
		printf("%-16s %-18s %-6s %-21s %-21s %-10s %s\n", "TIME", "EVENT", "CAUSE",
		       "CLIENT", "SERVER", "NETNS", "DETAIL");
		r->header_done = true;
	}
	snprintf(src, sizeof src, "%s:%lld", json_string_value(json_object_get(o, "saddr")),
		 json_integer_value(json_object_get(o, "sport")));
	snprintf(dst, sizeof dst, "%s:%lld", json_string_value(json_object_get(o, "daddr")),
		 json_integer_value(json_object_get(o, "dport")));
	if (!strcmp(ev, "synsent_reset")) {
		snprintf(detail, sizeof detail, "ack %lld not in (snd_una %lld, snd_nxt %lld]",
			 json_integer_value(json_object_get(o, "ack")),
			 json_integer_value(json_object_get(o, "snd_una")),
			 json_integer_value(json_object_get(o, "snd_nxt")));
	} else {
		int n = snprintf(detail, sizeof detail, "seq %lld rcv_nxt %lld",
				 json_integer_value(json_object_get(o, "seq")),
				 json_integer_value(json_object_get(o, "rcv_nxt")));
		if ((v = json_object_get(o, "tsval")) && json_is_integer(v))
			snprintf(detail + n, sizeof detail - n, " tsval %lld ts_recent %lld age %llds",
				 json_integer_value(v),
				 json_integer_value(json_object_get(o, "ts_recent")),
				 json_integer_value(json_object_get(o, "ts_recent_age_s")));
	}
	printf("%-16s %-18s %-6s %-21s %-21s %-10lld %s\n",
	       json_string_value(json_object_get(o, "time")) + 11, ev, cause ? cause : "-",
	       src, dst, json_integer_value(json_object_get(o, "netns")), detail);
}

static void emit(struct run *r, json_t *o)
{
	r->st.events++;
	if (!r->quiet) {
		if (r->json) {
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		} else {
			text_line(r, o);
		}
	}
	json_decref(o);
}

static void tw_from_event(const struct twlab_event *e, struct tw_sock *tw)
{
	memset(tw, 0, sizeof(*tw));
	tw->substate = e->tw_substate == 5 /* TCP_FIN_WAIT2 */ ? TW_FIN_WAIT2 : TW_TIME_WAIT;
	tw->rcv_nxt = e->tw_rcv_nxt;
	tw->snd_nxt = e->tw_snd_nxt;
	tw->rcv_wnd = e->tw_rcv_wnd;
	tw->ts_recent_stamp_set = e->tw_ts_recent_stamp != 0;
	tw->ts_recent = e->tw_ts_recent;
	tw->ts_recent_age_s = e->tw_ts_recent_age;
	tw->ts_offset = e->tw_ts_offset;
	tw->last_oow_ack_ms = -1;
}

static void tw_fields(json_t *o, const struct twlab_event *e, const struct tcpseg *s)
{
	set_u(o, "seq", s->seq);
	set_u(o, "rcv_nxt", e->tw_rcv_nxt);
	set_u(o, "snd_nxt", e->tw_snd_nxt);
	json_object_set_new(o, "tsval", s->has_ts ? json_integer(s->tsval) : json_null());
	if (e->tw_ts_recent_stamp) {
		set_u(o, "ts_recent", e->tw_ts_recent);
		set_u(o, "ts_recent_age_s", e->tw_ts_recent_age);
	} else {
		json_object_set_new(o, "ts_recent", json_null());
		json_object_set_new(o, "ts_recent_age_s", json_null());
	}
}

static const char *verdict_name(int v)
{
	static const char *n[] = { "TCP_TW_SUCCESS", "TCP_TW_RST", "TCP_TW_ACK", "TCP_TW_SYN", "TCP_TW_ACK_OOW" };
	return v >= 0 && v <= 4 ? n[v] : NULL;
}


/* Would this kernel name the drop TCP_RFC7323_TW_PAWS? Only a PAWS reject on
 * a kernel that has the reason (6.15+); before, the same reject is freed as
 * NOT_SPECIFIED (the model's drop_reason for the running kernel's version). */
static bool model_says_tw_paws(const struct tw_decision *d)
{
	return d->paws_reject && d->drop_reason && !strcmp(d->drop_reason, "TCP_RFC7323_TW_PAWS");
}

static int on_event(const struct twlab_event *e, void *arg)
{
	struct run *r = arg;
	struct tcpseg s;
	json_t *o;

	parse_th(e, &s);
	if (e->type == TEV_TW_DROP) {
		struct tw_sock tw;
		struct tw_decision d;
		struct tcp_env env = { .invalid_ratelimit_ms = -1 };
		struct segment seg = { .flags = s.flags, .seq = s.seq, .ack = s.ack,
				       .has_ts = s.has_ts, .tsval = s.tsval, .tsecr = s.tsecr };
		bool kpaws = e->reason_paws && e->reason == e->reason_paws;
		const char *ev = "tw_syn_rejected";

		tw_from_event(e, &tw);
		/* Only ACK-less SYNs are collisions; other segments are counters
		 * (or tw_segment_dropped events with --segments). */
		if ((s.flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) != TCPF_SYN) {
			char fb[8];
			if (!r->segments)
				return 0;
			tw_process(r->k, &env, &tw, &seg, &d);
			o = base(r, "tw_segment_dropped", e);
			json_object_set_new(o, "flags", json_string(tcp_flags_str(s.flags, fb)));
			tw_fields(o, e, &s);
			set_u(o, "ack", s.ack);
			json_object_set_new(o, "drop_reason", json_string(kpaws ? "TCP_RFC7323_TW_PAWS" : "NOT_SPECIFIED"));
			json_object_set_new(o, "model_verdict", json_string(tw_verdict_str(d.verdict)));
			json_object_set_new(o, "model_agrees", json_boolean(kpaws == model_says_tw_paws(&d)));
			emit(r, o);
			return 0;
		}
		tw_process(r->k, &env, &tw, &seg, &d);
		if (d.verdict == TCP_TW_SYN) {
			/* The kernel freed an acceptable SYN: no listener on the port. */
			env.no_listener = true;
			tw_process(r->k, &env, &tw, &seg, &d);
			ev = "tw_syn_no_listener";
			r->st.no_listener++;
		} else if (d.cause == TW_CAUSE_PAWS) {
			r->st.rej_paws++;
		} else if (d.cause == TW_CAUSE_SEQ) {
			r->st.rej_seq++;
		} else {
			r->st.rej_other++;
		}
		if (kpaws != model_says_tw_paws(&d))
			r->st.model_mismatch++;
		o = base(r, ev, e);
		if (strcmp(ev, "tw_syn_no_listener"))
			json_object_set_new(o, "cause", json_string(tw_cause_str(d.cause)));
		tw_fields(o, e, &s);
		json_object_set_new(o, "drop_reason", json_string(kpaws ? "TCP_RFC7323_TW_PAWS" : "NOT_SPECIFIED"));
		json_object_set_new(o, "kernel_verdict", verdict_name(e->verdict) ?
				    json_string(verdict_name(e->verdict)) : json_null());
		json_object_set_new(o, "model_verdict", json_string(tw_verdict_str(d.verdict)));
		json_object_set_new(o, "model_agrees", json_boolean(kpaws == model_says_tw_paws(&d)));
		if (d.reply.sent && (d.reply.flags & TCPF_ACK))
			set_u(o, "reply_ack", d.reply.ack);
		emit(r, o);
	} else if (e->type == TEV_TW_SYN_ACCEPTED) {
		if ((s.flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) != TCPF_SYN)
			return 0;
		r->st.accepted++;
		o = base(r, "tw_syn_accepted", e);
		tw_fields(o, e, &s);
		{
			uint32_t isn = e->tw_snd_nxt + 65535 + 2;
			set_u(o, "isn", isn ? isn : 1);
		}
		emit(r, o);
	} else if (e->type == TEV_SYNSENT_RESET) {
		struct synsent_sock ss = { .snd_una = e->snd_una, .snd_nxt = e->snd_nxt };
		struct segment seg = { .flags = s.flags, .seq = s.seq, .ack = s.ack,
				       .has_ts = s.has_ts, .tsval = s.tsval, .tsecr = s.tsecr };
		struct synsent_decision d;

		synsent_process(r->k, &ss, &seg, &d);
		r->st.synsent_reset++;
		o = base(r, "synsent_reset", e);
		{
			char fb[8];
			json_object_set_new(o, "flags", json_string(tcp_flags_str(s.flags, fb)));
		}
		set_u(o, "ack", s.ack);
		set_u(o, "seq", s.seq);
		set_u(o, "snd_una", e->snd_una);
		set_u(o, "snd_nxt", e->snd_nxt);
		set_u(o, "rst_seq", s.ack);
		json_object_set_new(o, "model_verdict", json_string(synsent_verdict_str(d.verdict)));
		emit(r, o);
	}
	return 0;
}

static json_t *summary(struct run *r, const struct trace_counters *c, double secs)
{
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string("summary"));
	set_u(o, "duration_ms", (uint64_t)(secs * 1000 + 0.5));
	set_u(o, "tw_syn_rejected", r->st.rej_paws + r->st.rej_seq + r->st.rej_other);
	set_u(o, "paws", r->st.rej_paws);
	set_u(o, "seq", r->st.rej_seq);
	set_u(o, "tw_syn_no_listener", r->st.no_listener);
	set_u(o, "tw_syn_accepted", r->st.accepted);
	set_u(o, "synsent_reset", r->st.synsent_reset);
	set_u(o, "model_mismatch", r->st.model_mismatch);
	set_u(o, "lost_events", c->v[TC_LOST]);
	set_u(o, "kernel_tw_paws_drops", c->v[TC_TW_DROP_PAWS]);
	set_u(o, "kernel_tw_other_drops", c->v[TC_TW_DROP_OTHER]);
	set_u(o, "host_receive_resets", c->v[TC_RECEIVE_RESET]);
	set_u(o, "host_connects", c->v[TC_SYN_SENT]);
	set_u(o, "filtered_out", c->v[TC_FILTERED]);
	if (c->v[TC_TW_VERDICT_SUCCESS] + c->v[TC_TW_VERDICT_RST] + c->v[TC_TW_VERDICT_ACK] +
	    c->v[TC_TW_VERDICT_SYN] + c->v[TC_TW_VERDICT_ACK_OOW]) {
		json_t *v = json_object();
		set_u(v, "TCP_TW_SUCCESS", c->v[TC_TW_VERDICT_SUCCESS]);
		set_u(v, "TCP_TW_RST", c->v[TC_TW_VERDICT_RST]);
		set_u(v, "TCP_TW_ACK", c->v[TC_TW_VERDICT_ACK]);
		set_u(v, "TCP_TW_SYN", c->v[TC_TW_VERDICT_SYN]);
		set_u(v, "TCP_TW_ACK_OOW", c->v[TC_TW_VERDICT_ACK_OOW]);
		json_object_set_new(o, "host_tw_verdicts", v);
	}
	return o;
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
 * per-SYN events, no causes: the stderr line says so. */
static json_t *delta(long long now, long long before)
{
	return now < 0 || before < 0 ? json_null() : json_integer(now - before);
}

static json_t *counters_json(const struct kcounters *a, const struct kcounters *b, double secs)
{
	bool tw = b->paws_tw >= 0;
	json_t *o = json_object();

	json_object_set_new(o, "interval_s", json_real(secs));
	json_object_set_new(o, "paws_counter", json_string(tw ? "TcpExtPAWSTimewait" : "TcpExtPAWSEstab"));
	json_object_set_new(o, "paws_rejected", tw ? delta(b->paws_tw, a->paws_tw) : delta(b->paws_estab, a->paws_estab));
	json_object_set_new(o, "tw_ack_skipped", delta(b->ack_skipped_tw, a->ack_skipped_tw));
	json_object_set_new(o, "tw_overflow", delta(b->tw_overflow, a->tw_overflow));
	json_object_set_new(o, "paws_passive", delta(b->paws_passive, a->paws_passive));
	json_object_set_new(o, "time_wait_sockets", b->time_wait < 0 ? json_null() : json_integer(b->time_wait));
	json_object_set_new(o, "conntrack_invalid", b->has_ct ? json_integer(b->ct_invalid - a->ct_invalid) : json_null());
	json_object_set_new(o, "conntrack_insert_failed", b->has_ct ? json_integer(b->ct_insert_failed - a->ct_insert_failed) : json_null());
	return o;
}

static void counters_print(json_t *o, bool json)
{
	if (json) {
		char *t = json_dumps(o, JSON_COMPACT);
		puts(t);
		free(t);
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			printf("%s%s=%s", strcmp(k, "event") ? " " : "", k, json_is_string(v) ? json_string_value(v) : t);
			free(t);
		}
		putchar('\n');
	}
	fflush(stdout);
	json_decref(o);
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
		json_t *o;
		nanosleep(&d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
		if (kcounters_read("/proc", &cur, err, sizeof err))
			break;
		o = counters_json(&prev, &cur, el - last);
		json_object_set_new(o, "event", json_string("counters"));
		json_object_set_new(o, "t", json_real(el));
		if (!r->quiet)
			counters_print(o, r->json);
		else
			json_decref(o);
		prev = cur;
		last = el;
	}
	{
		json_t *o = counters_json(&first, &prev, last);
		json_object_set_new(o, "event", json_string("summary"));
		json_object_set_new(o, "mode", json_string("counters"));
		counters_print(o, r->json);
	}
	return EXIT_OK;
}

int cmd_trace(int argc, char **argv)
{
	enum { O_JSON = 1, O_DUR, O_SADDR, O_DADDR, O_SPORT, O_DPORT, O_NETNS, O_PROM,
	       O_KERNEL, O_NOFEXIT, O_QUIET, O_SEGMENTS, O_COUNTERS, O_HELP };
	static const struct option opts[] = {
		{ "json", no_argument, 0, O_JSON }, { "duration", required_argument, 0, O_DUR },
		{ "saddr", required_argument, 0, O_SADDR }, { "daddr", required_argument, 0, O_DADDR },
		{ "sport", required_argument, 0, O_SPORT }, { "dport", required_argument, 0, O_DPORT },
		{ "netns", required_argument, 0, O_NETNS }, { "prom", required_argument, 0, O_PROM },
		{ "kernel", required_argument, 0, O_KERNEL }, { "no-fexit", no_argument, 0, O_NOFEXIT },
		{ "quiet", no_argument, 0, O_QUIET }, { "segments", no_argument, 0, O_SEGMENTS },
		{ "counters", no_argument, 0, O_COUNTERS }, { "help", no_argument, 0, O_HELP },
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
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
	err = trace_open(&f, fexit, &t, &att, &what);
	if (err) {
		char why[300];
		snprintf(why, sizeof why, "%s: %s (the verifier refuses the tracer on this kernel, "
			 "e.g. skb:kfree_skb without rx_sk before 6.11)", what, strerror(-err));
		if (err == -EPERM) {
			cli_err("trace", "%s: %s (needs root: CAP_BPF and CAP_PERFMON)", what, strerror(-err));
			return EXIT_RUNTIME;
		}
		return counters_fallback(&r, duration, why);
	}
	if (!fexit)
		cli_err("trace", "attached tp_btf kfree_skb, tcp_send_reset, tcp_receive_reset, "
			"inet_sock_set_state; fexit not tried (--no-fexit): causes from drop reasons "
			"and the model");
	else if (att.fexit && !att.kfree_skb)
		cli_err("trace", "attached fexit tcp_timewait_state_process (skb:kfree_skb has no "
			"rx_sk on this kernel: the drops come from fexit, without drop reasons), "
			"tp_btf tcp_send_reset, tcp_receive_reset, inet_sock_set_state");
	else if (att.fexit)
		cli_err("trace", "attached tp_btf kfree_skb, tcp_send_reset, tcp_receive_reset, "
			"inet_sock_set_state and fexit tcp_timewait_state_process (exact verdicts)");
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
		err = trace_poll(t, 100, on_event, &r);
		fflush(stdout);
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
	{
		double el = (double)(now.tv_sec - m0.tv_sec) + (now.tv_nsec - m0.tv_nsec) / 1e9;
		json_t *s = summary(&r, &c, el);
		if (r.json) {
			cli_print(s, true);
		} else {
			const char *key;
			json_t *v;
			printf("\n-- summary\n");
			json_object_foreach(s, key, v) {
				if (json_is_integer(v))
					printf("%-22s %lld\n", key, (long long)json_integer_value(v));
				else if (json_is_object(v)) {
					const char *k2;
					json_t *v2;
					json_object_foreach(v, k2, v2)
						printf("%-22s %lld\n", k2, (long long)json_integer_value(v2));
				}
			}
			json_decref(s);
		}
	}
	fflush(stdout);
	trace_close(t);
	return EXIT_OK;
}
