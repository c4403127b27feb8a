/*
 * probe.c - `lab probe`: the model against the running kernel.
 *
 * Two namespaces on one veth (client 198.18.60.2, server 198.18.60.1 with
 * the HTTP/1.0 server). For each probe a scripted session with a chosen ISN
 * and timestamp (craft_run_session) leaves a TIME_WAIT socket whose numbers
 * are known exactly; a crafted SYN, its seq and tsval chosen around those
 * numbers (across the s32 boundaries, with and without timestamps, on
 * TIME_WAIT sockets with and without timestamps), hits it; the kernel's
 * answer (SYN-ACK and its ISN / bare ACK and its ack / RST / nothing) is
 * compared with tw_process() for the host kernel's profile.
 *
 * The server namespace runs with tcp_invalid_ratelimit=0 and the model is
 * told so; the client namespace drops its own kernel's RSTs for the probe
 * ports (it has no sockets for them).
 */
#include "lab/probe.h"
#include "craft/craft.h"
#include "run/kernel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PROBE_CLIENT 0xc6123c02u   /* 198.18.60.2 */
#define PROBE_SERVER 0xc6123c01u   /* 198.18.60.1 */
#define PROBE_PORT0  30000

static const uint32_t seq_deltas[] = {
	0, 1, 2, 1000, 0x7fffffffu, 0x80000000u, 0x80000001u,
	0xffffffffu, 0xfffffc18u /* -1000 */, 0x80000002u, 0x7ffffffeu,
};
static const uint32_t ts_deltas[] = {
	0, 1, 1000, 0x7fffffffu, 0x80000000u, 0x80000001u, 0xffffffffu, 0xfffffc18u, 0x7ffffffeu,
};

struct ctx {
	const struct probe_opts *o;
	const struct kprofile *k;
	FILE *out;                   /* one line per probe, see probe_line() */
};

static uint64_t rng;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static const char *answer(const struct tcp_seg *in, bool got, char *buf, size_t len)
{
	char fb[8];
	if (!got)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s seq %u ack %u", tcp_flags_str(in->flags, fb), in->seq, in->ack);
	return buf;
}

/* What the model says the kernel will send, in the same words. When the
 * kernel loses the TIME_WAIT ISN (4.15 .. 6.9) the SYN-ACK's seq is a fresh
 * secure_tcp_seq() value: the model can only say it is not tw_snd_nxt +
 * 65537, and that is what is compared. */
static const char *expected(const struct tw_decision *d, char *buf, size_t len)
{
	char fb[8];
	if (!d->reply.sent)
		snprintf(buf, len, "none");
	else if (d->isn_lost)
		snprintf(buf, len, "%s seq !%u ack %u", tcp_flags_str(d->reply.flags, fb), d->isn,
			 d->reply.ack);
	else
		snprintf(buf, len, "%s seq %u ack %u", tcp_flags_str(d->reply.flags, fb), d->reply.seq,
			 d->reply.ack);
	return buf;
}

static bool agrees(const struct tw_decision *d, bool got, const struct tcp_seg *in,
		   const char *ka, const char *ma)
{
	if (d->isn_lost)
		return got && d->reply.sent && in->flags == d->reply.flags && in->ack == d->reply.ack &&
		       in->seq != d->isn;
	return !strcmp(ka, ma);
}

/* In the client namespace: every probe, one line each to c->out:
 *   agree|disagree <i> tw_ts=<0|1> rcv_nxt=.. snd_nxt=.. ts_recent=.. syn_seq=.. syn_ts=.. tsval=..
 *   kernel="..." model="..." verdict=..
 * or "failed <i> <why>" when the session could not be set up. */
static int run(void *arg)
{
	struct ctx *c = arg;
	struct tcp_env env = { .invalid_ratelimit_ms = 0 };
	int fd = craft_open(PROBE_CLIENT);

	if (fd < 0)
		return 1;
	rng = 0x9e3779b97f4a7c15ull ^ c->o->seed;
	for (unsigned i = 0; i < c->o->count; i++) {
		struct craft_ep src = { PROBE_CLIENT, (uint16_t)(PROBE_PORT0 + i) };
		struct craft_ep dst = { PROBE_SERVER, 80 };
		struct craft_session s;
		bool tw_ts = (i & 1) == 0;
		uint32_t tsval = rnd() | 1;
		struct tw_sock tw;
		struct segment syn;
		struct tw_decision d;
		struct tcp_seg in;
		char ka[64], ma[64];
		int got;
		bool agree;

		if (craft_run_session(fd, src, dst, rnd(), tw_ts, tsval, NULL, &s)) {
			fprintf(c->out, "failed %u %s\n", i, s.error);
			continue;
		}
		tw = tw_sock_init(s.tw_rcv_nxt, s.tw_snd_nxt, tw_ts, s.tw_ts_recent, 0);
		memset(&syn, 0, sizeof syn);
		syn.flags = TCPF_SYN;
		syn.seq = s.tw_rcv_nxt + seq_deltas[rnd() % (sizeof seq_deltas / sizeof seq_deltas[0])];
		syn.has_ts = (i / 2) % 3 != 2;           /* a third without the option */
		if (syn.has_ts)
			syn.tsval = s.tw_ts_recent + ts_deltas[rnd() % (sizeof ts_deltas / sizeof ts_deltas[0])];
		tw_process(c->k, &env, &tw, &syn, &d);
		if (craft_send(fd, src, dst, &syn) < 0) {
			fprintf(c->out, "failed %u send\n", i);
			continue;
		}
		got = craft_recv(fd, src, dst, d.reply.sent ? 1000 : 300, &in);
		answer(&in, got == 1, ka, sizeof ka);
		expected(&d, ma, sizeof ma);
		agree = agrees(&d, got == 1, &in, ka, ma);
		fprintf(c->out, "%s %u tw_ts=%d rcv_nxt=%u snd_nxt=%u ts_recent=%u syn_seq=%u syn_ts=%d "
			"tsval=%u kernel=\"%s\" model=\"%s\" verdict=%s%s\n", agree ? "agree" : "disagree", i,
			tw_ts, tw.rcv_nxt, tw.snd_nxt, tw.ts_recent, syn.seq, syn.has_ts, syn.tsval, ka, ma,
			tw_verdict_str(d.verdict), d.isn_lost ? " isn_lost" : "");
		if (got == 1 && (in.flags & TCPF_SYN)) {      /* drop the new request sock */
			struct segment rst = { .flags = TCPF_RST, .seq = syn.seq + 1 };
			craft_send(fd, src, dst, &rst);
		}
		if (c->o->progress && i % 100 == 99)
			fprintf(stderr, "\rtwlab: lab probe: %u/%u", i + 1, c->o->count);
		fflush(c->out);
	}
	if (c->o->progress)
		fprintf(stderr, "\n");
	close(fd);
	return 0;
}

int lab_probe(struct lab *L, const struct probe_opts *o, struct probe_result *r, char *err, size_t errlen)
{
	char cns[32], sns[32], log[600], rules[512], path[700], line[512];
	struct ctx c = { .o = o };
	FILE *f;
	int rc = -1;

	memset(r, 0, sizeof *r);
	c.k = r->kernel = host_kernel();
	if (o->count < 1 || o->count > 30000) {
		snprintf(err, errlen, "--count: between 1 and 30000");
		return -1;
	}
	lab_guard(L);
	/* claim the prefix first: a refused run changes nothing (and so the
	 * lab_down at out: does nothing either) */
	if (lab_claim(L, err, errlen) || lab_mkout(L, err, errlen))
		goto out;
	snprintf(log, sizeof log, "%s/lab.log", L->outdir);
	lab_ns(L, "pc", cns, sizeof cns);
	lab_ns(L, "ps", sns, sizeof sns);
	if (LAB_RUN("ip", "netns", "add", cns))
		goto out;
	if (LAB_RUN("ip", "netns", "add", sns))
		goto out;
	if (LAB_RUN("ip", "link", "add", "eth0", "netns", cns, "type", "veth", "peer", "name", "eth0", "netns", sns))
		goto out;
	if (LAB_RUN("ip", "-n", cns, "addr", "add", "198.18.60.2/24", "dev", "eth0"))
		goto out;
	if (LAB_RUN("ip", "-n", sns, "addr", "add", "198.18.60.1/24", "dev", "eth0"))
		goto out;
	if (LAB_RUN("ip", "-n", cns, "link", "set", "eth0", "up"))
		goto out;
	if (LAB_RUN("ip", "-n", sns, "link", "set", "eth0", "up"))
		goto out;
	if (LAB_RUN("ip", "-n", cns, "link", "set", "lo", "up"))
		goto out;
	if (LAB_RUN("ip", "-n", sns, "link", "set", "lo", "up"))
		goto out;
	if (LAB_RUN("ip", "netns", "exec", sns, "sysctl", "-qw", "net.ipv4.tcp_invalid_ratelimit=0"))
		goto out;
	snprintf(rules, sizeof rules, "table ip twlab_probe {\n  chain out {\n"
		 "    type filter hook output priority filter; policy accept;\n"
		 "    tcp sport %u-%u tcp flags & rst == rst meta mark != 0x%x drop\n  }\n}\n",
		 PROBE_PORT0, PROBE_PORT0 + 29999, CRAFT_MARK);
	if (lab_nft(L, cns, "probe-client", rules, log, err, errlen))
		goto out;
	if (lab_server_start(L, sns, PROBE_SERVER, 80, err, errlen))
		goto out;
	if (lab_wait_http(L, cns, "http://198.18.60.1/")) {
		snprintf(err, errlen, "the probe server does not answer (see %s/server.log)", L->outdir);
		goto out;
	}
	snprintf(path, sizeof path, "%s/probe.txt", L->outdir);
	if (!(c.out = fopen(path, "w"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (lab_in_ns(cns, run, &c) != 0) {
		fclose(c.out);
		snprintf(err, errlen, "the probe run failed in %s", cns);
		goto out;
	}
	fclose(c.out);
	snprintf(r->log, sizeof r->log, "%s", path);
	if (!(f = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "agree ", 6)) {
			r->agree++;
		} else if (!strncmp(line, "disagree ", 9)) {
			r->disagree++;
			if (r->nlisted < PROBE_MAX_LISTED)
				snprintf(r->listed[r->nlisted++], sizeof r->listed[0], "%s", line + 9);
		} else if (!strncmp(line, "failed ", 7)) {
			r->failed++;
		}
	}
	fclose(f);
	r->probes = r->agree + r->disagree;
	rc = lab_interrupted ? -1 : 0;
	if (lab_interrupted)
		snprintf(err, errlen, "interrupted");
out:
	lab_down(L);
	return rc;
}
