/*
 * explain.c - `twlab explain tw|synsent`: what the kernel does with one
 * segment, and why, with the numbers. Parses options, calls the model,
 * prints; decides nothing itself.
 */
#include "cli/cli.h"
#include "model/model.h"
#include "print/pr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_tw[] =
"usage: twlab explain tw --rcv-nxt N --seq N [options]\n"
"\n"
"What a Linux kernel does with a segment that finds a TIME_WAIT (or FIN_WAIT2)\n"
"socket: tcp_timewait_state_process() as modelled in src/model/.\n"
"\n"
"  --kernel K            any X.Y[.Z] or uname -r, host (default), or a preset:\n"
"                        rhel7.7, 3.10, 4.19, 5.10, 6.1, 6.12, 6.18\n"
"  --rcv-nxt N           tw_rcv_nxt: next sequence number expected from the peer\n"
"  --snd-nxt N           tw_snd_nxt: our next sequence number (default 0)\n"
"  --seq N               the segment's sequence number\n"
"  --ack N               the segment's acknowledgment number (default 0)\n"
"  --flags F             letters of S F R P A U (default S)\n"
"  --len N               payload bytes (default 0)\n"
"  --ts-recent N         tw_ts_recent: the TIME_WAIT socket uses timestamps\n"
"  --ts-recent-age S     seconds since ts_recent was stored (default 0)\n"
"  --tsval N             the segment carries a timestamp option with this tsval\n"
"  --tsecr N             ... and this tsecr (default 0)\n"
"  --substate S          time-wait (default) or fin-wait2\n"
"  --rcv-wnd N           tw_rcv_wnd, for the FIN_WAIT2 window check (default 65535)\n"
"  --rfc1337 0|1         net.ipv4.tcp_rfc1337 (default 0)\n"
"  --last-oow-ack-ms N   ms since the socket last sent an out-of-window ACK (default: never)\n"
"  --invalid-ratelimit-ms N  net.ipv4.tcp_invalid_ratelimit (default: the profile's, 500)\n"
"  --json                one JSON object on stdout\n"
"\n"
"Without --ts-recent the socket has no timestamps, and a --tsval is not even parsed.\n"
"Numbers are u32, decimal or 0x hex.\n"
"\n"
"example (the report's case):\n"
"  twlab explain tw --kernel 3.10 --rcv-nxt 2851797348 --seq 2851797340\n";

static const char usage_synsent[] =
"usage: twlab explain synsent --snd-una N --snd-nxt N --ack N [options]\n"
"\n"
"What a client in SYN_SENT does with the answer to its SYN:\n"
"tcp_rcv_synsent_state_process() as modelled in src/model/.\n"
"\n"
"  --kernel K            any X.Y[.Z], host (default), or a preset (see explain --help)\n"
"  --snd-una N           our ISS (snd_una while in SYN_SENT)\n"
"  --snd-nxt N           ISS + 1 (default snd-una + 1)\n"
"  --ack N               the segment's acknowledgment number\n"
"  --seq N               the segment's sequence number (default 0)\n"
"  --flags F             letters of S F R P A U (default A)\n"
"  --tsval N / --tsecr N the segment's timestamp option\n"
"  --ts-sent N           tsval of our first SYN (default 0); a non-zero --tsecr\n"
"                        outside [ts-sent, ts-now] resets, as in the kernel\n"
"  --ts-now N            our timestamp clock now (default = --ts-sent)\n"
"  --retransmits N       SYN retransmissions so far (default 0)\n"
"  --json                one JSON object on stdout\n"
"\n"
"example: the bare ACK from a TIME_WAIT socket reaches the client\n"
"  twlab explain synsent --snd-una 1000 --ack 2851797348\n";

enum {
	O_KERNEL = 256, O_RCV_NXT, O_SND_NXT, O_SND_UNA, O_SEQ, O_ACK, O_FLAGS, O_LEN,
	O_TS_RECENT, O_TS_AGE, O_TSVAL, O_TSECR, O_SUBSTATE, O_RCV_WND, O_RFC1337,
	O_OOW, O_RATELIMIT, O_TS_SENT, O_TS_NOW, O_RETRANS, O_JSON, O_HELP,
};

static const struct option opts[] = {
	{ "kernel", required_argument, 0, O_KERNEL },
	{ "rcv-nxt", required_argument, 0, O_RCV_NXT },
	{ "snd-nxt", required_argument, 0, O_SND_NXT },
	{ "snd-una", required_argument, 0, O_SND_UNA },
	{ "seq", required_argument, 0, O_SEQ },
	{ "ack", required_argument, 0, O_ACK },
	{ "flags", required_argument, 0, O_FLAGS },
	{ "len", required_argument, 0, O_LEN },
	{ "ts-recent", required_argument, 0, O_TS_RECENT },
	{ "ts-recent-age", required_argument, 0, O_TS_AGE },
	{ "tsval", required_argument, 0, O_TSVAL },
	{ "tsecr", required_argument, 0, O_TSECR },
	{ "substate", required_argument, 0, O_SUBSTATE },
	{ "rcv-wnd", required_argument, 0, O_RCV_WND },
	{ "rfc1337", required_argument, 0, O_RFC1337 },
	{ "last-oow-ack-ms", required_argument, 0, O_OOW },
	{ "invalid-ratelimit-ms", required_argument, 0, O_RATELIMIT },
	{ "ts-sent", required_argument, 0, O_TS_SENT },
	{ "ts-now", required_argument, 0, O_TS_NOW },
	{ "retransmits", required_argument, 0, O_RETRANS },
	{ "json", no_argument, 0, O_JSON },
	{ "help", no_argument, 0, O_HELP },
	{ 0, 0, 0, 0 },
};

/* Every option value, as given; which ones a mode accepts is checked after. */
struct args {
	const char *kernel, *substate;
	bool json, has[O_HELP + 1];
	uint32_t v[O_HELP + 1];
	uint8_t flags;
};

static int parse(const char *cmd, int argc, char **argv, struct args *a, const char *usage)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h' || c == O_HELP) {
			fputs(usage, stdout);
			return -1;
		}
		if (c == '?' || c == ':') {
			cli_err(cmd, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
		a->has[c] = true;
		switch (c) {
		case O_KERNEL: a->kernel = optarg; break;
		case O_SUBSTATE: a->substate = optarg; break;
		case O_JSON: a->json = true; break;
		case O_FLAGS:
			if (!tcp_flags_parse(optarg, &a->flags)) {
				cli_err(cmd, "--flags: not a set of S F R P A U letters: '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		default: {
			char name[32];
			snprintf(name, sizeof name, "--%s", opts[c - O_KERNEL].name);
			if (!cli_u32(cmd, name, optarg, &a->v[c]))
				return EXIT_USAGE;
		}
		}
	}
	if (optind < argc) {
		cli_err(cmd, "unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

static bool need(const char *cmd, const struct args *a, int opt)
{
	if (a->has[opt])
		return true;
	cli_err(cmd, "--%s is required (see --help)", opts[opt - O_KERNEL].name);
	return false;
}

static bool only(const char *cmd, const struct args *a, const int *allowed)
{
	for (int o = O_KERNEL; o < O_HELP; o++) {
		bool ok = false;
		if (!a->has[o])
			continue;
		for (const int *p = allowed; *p; p++)
			ok |= *p == o;
		if (!ok) {
			cli_err(cmd, "--%s does not apply here (see --help)", opts[o - O_KERNEL].name);
			return false;
		}
	}
	return true;
}

/* The decision (tw or ss) and the kernel it was made for: text as
 * "key  value" lines, or one JSON object. */
static void emit(bool json, const struct kprofile *k, const struct tw_decision *tw,
		 const struct synsent_decision *ss)
{
	struct pr p;

	pr_begin_list(&p, json, stdout);
	if (tw)
		pr_tw_decision(&p, tw);
	else
		pr_synsent_decision(&p, ss);
	pr_str(&p, "kernel", NULL, k->name);
	pr_end(&p);
}

static int explain_tw(int argc, char **argv)
{
	static const char cmd[] = "explain tw";
	static const int allowed[] = { O_KERNEL, O_RCV_NXT, O_SND_NXT, O_SEQ, O_ACK, O_FLAGS,
		O_LEN, O_TS_RECENT, O_TS_AGE, O_TSVAL, O_TSECR, O_SUBSTATE, O_RCV_WND, O_RFC1337,
		O_OOW, O_RATELIMIT, O_JSON, 0 };
	struct args a = { .flags = TCPF_SYN };
	struct tw_sock tw = tw_sock_init(0, 0, false, 0, 0);
	struct tcp_env env = { .invalid_ratelimit_ms = -1 };
	struct segment seg = { 0 };
	struct tw_decision d;
	const struct kprofile *k;
	int r = parse(cmd, argc, argv, &a, usage_tw);

	if (r)
		return r < 0 ? EXIT_OK : r;
	if (!only(cmd, &a, allowed) || !need(cmd, &a, O_RCV_NXT) || !need(cmd, &a, O_SEQ))
		return EXIT_USAGE;
	if (!(k = cli_kernel(cmd, a.kernel)))
		return EXIT_USAGE;
	if (a.substate && strcmp(a.substate, "time-wait") && strcmp(a.substate, "fin-wait2")) {
		cli_err(cmd, "--substate: '%s' is not time-wait or fin-wait2", a.substate);
		return EXIT_USAGE;
	}
	if (a.has[O_RFC1337] && a.v[O_RFC1337] > 1) {
		cli_err(cmd, "--rfc1337: must be 0 or 1: '%u'", a.v[O_RFC1337]);
		return EXIT_USAGE;
	}
	if ((a.has[O_TS_AGE]) && !a.has[O_TS_RECENT]) {
		cli_err(cmd, "--ts-recent-age needs --ts-recent");
		return EXIT_USAGE;
	}
	if (a.has[O_TSECR] && !a.has[O_TSVAL]) {
		cli_err(cmd, "--tsecr needs --tsval");
		return EXIT_USAGE;
	}
	tw.substate = a.substate && !strcmp(a.substate, "fin-wait2") ? TW_FIN_WAIT2 : TW_TIME_WAIT;
	tw.rcv_nxt = a.v[O_RCV_NXT];
	tw.snd_nxt = a.v[O_SND_NXT];
	if (a.has[O_RCV_WND])
		tw.rcv_wnd = a.v[O_RCV_WND];
	tw.ts_recent_stamp_set = a.has[O_TS_RECENT];
	tw.ts_recent = a.v[O_TS_RECENT];
	tw.ts_recent_age_s = a.v[O_TS_AGE];
	if (a.has[O_OOW])
		tw.last_oow_ack_ms = a.v[O_OOW];
	env.rfc1337 = a.v[O_RFC1337];
	if (a.has[O_RATELIMIT])
		env.invalid_ratelimit_ms = (int)(a.v[O_RATELIMIT] > 3600000 ? 3600000 : a.v[O_RATELIMIT]);
	seg.flags = a.flags;
	seg.seq = a.v[O_SEQ];
	seg.ack = a.v[O_ACK];
	seg.len = a.v[O_LEN];
	seg.has_ts = a.has[O_TSVAL];
	seg.tsval = a.v[O_TSVAL];
	seg.tsecr = a.v[O_TSECR];

	tw_process(k, &env, &tw, &seg, &d);
	emit(a.json, k, &d, NULL);
	return EXIT_OK;
}

static int explain_synsent(int argc, char **argv)
{
	static const char cmd[] = "explain synsent";
	static const int allowed[] = { O_KERNEL, O_SND_UNA, O_SND_NXT, O_SEQ, O_ACK, O_FLAGS,
		O_TSVAL, O_TSECR, O_TS_SENT, O_TS_NOW, O_RETRANS, O_JSON, 0 };
	struct args a = { .flags = TCPF_ACK };
	struct synsent_sock s = { 0 };
	struct segment seg = { 0 };
	struct synsent_decision d;
	const struct kprofile *k;
	int r = parse(cmd, argc, argv, &a, usage_synsent);

	if (r)
		return r < 0 ? EXIT_OK : r;
	if (!only(cmd, &a, allowed) || !need(cmd, &a, O_SND_UNA))
		return EXIT_USAGE;
	if ((a.flags & TCPF_ACK) && !need(cmd, &a, O_ACK))
		return EXIT_USAGE;
	if (!(k = cli_kernel(cmd, a.kernel)))
		return EXIT_USAGE;
	s.snd_una = a.v[O_SND_UNA];
	s.snd_nxt = a.has[O_SND_NXT] ? a.v[O_SND_NXT] : s.snd_una + 1;
	s.ts_enabled = a.has[O_TS_SENT];
	s.ts_sent = a.v[O_TS_SENT];
	s.ts_now = a.v[O_TS_NOW];
	s.retransmits = a.v[O_RETRANS];
	seg.flags = a.flags;
	seg.seq = a.v[O_SEQ];
	seg.ack = a.v[O_ACK];
	seg.has_ts = a.has[O_TSVAL] || a.has[O_TSECR];
	seg.tsval = a.v[O_TSVAL];
	seg.tsecr = a.v[O_TSECR];

	synsent_process(k, &s, &seg, &d);
	emit(a.json, k, NULL, &d);
	return EXIT_OK;
}

static const char usage_kernel[] =
"usage: twlab explain --kernel K [--json]     (also: twlab explain kernel --kernel K)\n"
"\n"
"The rule set the model applies for kernel K: every version-keyed fact, whether\n"
"K gets it, the versions it holds for (stable backports included) and its source.\n"
"\n"
"  --kernel K   X.Y[.Z], a uname -r string (3.10.0-1062.el7.x86_64 = RHEL 7.7),\n"
"               host (default) or a preset: rhel7.7, 3.10, 4.19, 5.10, 6.1, 6.12, 6.18\n"
"  --json       one JSON object on stdout\n";

static const char *ts_clock_str(enum ts_clock c)
{
	return c == TS_CLOCK_JIFFIES ? "jiffies, no offset"
	     : c == TS_CLOCK_MS_PAIR_OFFSET ? "offset per (saddr, daddr)" : "offset per 4-tuple";
}

/* One value of the profile: "  name   value" in text. */
static void kv_int(struct pr *p, const char *key, long long v)
{
	pr_text(p, "  %-22s ", key);
	pr_int(p, key, "%lld\n", v);
}

static void kv_str(struct pr *p, const char *key, const char *v)
{
	pr_text(p, "  %-22s ", key);
	if (v)
		pr_str(p, key, "%s\n", v);
	else
		pr_null(p, key, "null\n");
}

/* An array of numbers under key: [a,b,...] in text, as JSON writes it. */
static void kv_ints(struct pr *p, const char *key, const unsigned *v, unsigned n)
{
	pr_text(p, "  %-22s [", key);
	pr_open(p, key, true);
	for (unsigned i = 0; i < n; i++)
		pr_int(p, NULL, i ? ",%lld" : "%lld", v[i]);
	pr_close(p);
	pr_text(p, "]\n");
}

/* The profile's values and every version-keyed fact. */
static void kernel_print(struct pr *p, const struct kprofile *k)
{
	unsigned tw_ms[2] = { k->tw_len_min_ms, k->tw_len_max_ms };
	unsigned at[32], n = syn_max_retransmits(k, -1, k->syn_retries_default), t = 0;
	const struct kfact *f;
	bool on;

	pr_str(p, "kernel", "kernel %s", k->name);
	pr_str(p, "desc", " (%s)\n", k->desc ? k->desc : "");
	pr_open(p, "values", false);
	kv_str(p, "ts_clock", ts_clock_str(k->ts_clock));
	kv_int(p, "ts_hz", k->ts_hz);
	kv_ints(p, "time_wait_ms", tw_ms, 2);
	kv_int(p, "paws_wrap_s", k->paws_wrap_s);
	kv_str(p, "paws_tw_counter", k->paws_tw_counter);
	kv_str(p, "paws_tw_drop_reason", k->paws_tw_drop_reason);
	kv_int(p, "syn_linear_timeouts", k->syn_linear_timeouts);
	kv_int(p, "syn_retransmits_max", n);
	/* when each SYN retransmission leaves, ms after the first SYN */
	if (n > sizeof at / sizeof at[0])
		n = sizeof at / sizeof at[0];
	for (unsigned i = 0; i < n; i++)
		at[i] = t += syn_rto_ms(k, -1, i);
	kv_ints(p, "syn_retransmit_at_ms", at, n);
	kv_int(p, "tw_reuse_default", k->tw_reuse_default);
	pr_close(p);
	pr_text(p, "rules:\n");
	pr_open(p, "rules", true);
	for (unsigned i = 0; (f = kfact_get(i, k, &on)); i++) {
		pr_open(p, NULL, false);
		pr_text(p, "  [%s] ", on ? "x" : " ");
		pr_str(p, "id", "%-22s ", f->id);
		pr_bool(p, "applies", NULL, on);
		pr_str(p, "what", "%s\n", f->what);
		pr_str(p, "since", "        holds for: %s", f->since);
		pr_str(p, "source", "; source: %s\n", f->source);
		pr_close(p);
	}
	pr_close(p);
}

static int explain_kernel(int argc, char **argv)
{
	static const char cmd[] = "explain";
	static const int allowed[] = { O_KERNEL, O_JSON, 0 };
	struct args a = { 0 };
	const struct kprofile *k;
	struct pr p;
	int r = parse(cmd, argc, argv, &a, usage_kernel);

	if (r)
		return r < 0 ? EXIT_OK : r;
	if (!only(cmd, &a, allowed) || !(k = cli_kernel(cmd, a.kernel)))
		return EXIT_USAGE;
	pr_begin(&p, a.json);
	kernel_print(&p, k);
	pr_end(&p);
	return EXIT_OK;
}

int cmd_explain(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "kernel"))
		return explain_kernel(argc - 1, argv + 1);
	if (argc >= 2 && !strncmp(argv[1], "--kernel", 8))
		return explain_kernel(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "tw"))
		return explain_tw(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "synsent"))
		return explain_synsent(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: twlab explain tw|synsent|kernel [options]   (twlab explain tw --help)\n\n"
		       "  tw       a segment meets a TIME_WAIT socket on the server\n"
		       "  synsent  the answer to a SYN meets the client in SYN_SENT\n"
		       "  kernel   the rule set of one kernel version (also: explain --kernel K)\n");
		return EXIT_OK;
	}
	cli_err("explain", "expected 'tw' or 'synsent' (see twlab explain --help)");
	return EXIT_USAGE;
}
