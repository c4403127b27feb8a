/*
 * fuzz_model.c - libFuzzer target: arbitrary TIME_WAIT sockets and segments
 * through tw_process() and synsent_process(), checking invariants that must
 * hold whatever the numbers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

static uint32_t take32(const uint8_t **p, size_t *n)
{
	uint32_t v = 0;
	for (int i = 0; i < 4 && *n; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kprofile *const *all = kprofile_all();
	size_t nprof = 0;
	struct tw_sock tw;
	struct segment seg;
	struct tcp_env env;
	struct tw_decision d;
	struct synsent_sock ss;
	struct synsent_decision sd;
	uint32_t ctl;

	while (all[nprof])
		nprof++;
	ctl = take32(&data, &size);
	memset(&tw, 0, sizeof tw);
	memset(&seg, 0, sizeof seg);
	tw.substate = (ctl & 1) ? TW_FIN_WAIT2 : TW_TIME_WAIT;
	tw.ts_recent_stamp_set = ctl & 2;
	seg.has_ts = ctl & 4;
	env.rfc1337 = ctl & 8;
	env.timestamps_off = ctl & 16;
	env.no_listener = ctl & 32;
	env.invalid_ratelimit_ms = (ctl & 64) ? -1 : (int)((ctl >> 16) & 0x3ff);
	seg.flags = (uint8_t)(ctl >> 8);
	tw.rcv_nxt = take32(&data, &size);
	tw.snd_nxt = take32(&data, &size);
	tw.rcv_wnd = take32(&data, &size);
	tw.ts_recent = take32(&data, &size);
	tw.ts_recent_age_s = take32(&data, &size);
	tw.last_oow_ack_ms = (int32_t)take32(&data, &size);
	seg.seq = take32(&data, &size);
	seg.ack = take32(&data, &size);
	seg.len = take32(&data, &size) & 0xffff;
	seg.tsval = take32(&data, &size);
	seg.tsecr = take32(&data, &size);

	tw_process(all[ctl % nprof], &env, &tw, &seg, &d);
	if (d.verdict == TCP_TW_SYN && (d.paws_reject || d.isn == 0 || !d.tw_killed))
		abort();
	if (d.verdict == TCP_TW_SYN && (seg.flags & (TCPF_ACK | TCPF_RST)))
		abort();
	if (d.verdict == TCP_TW_ACK && !(d.reply.sent && d.reply.flags == TCPF_ACK))
		abort();
	if (d.rate_limited && (d.reply.sent || d.verdict != TCP_TW_SUCCESS))
		abort();
	if (d.cause == TW_CAUSE_PAWS && !d.paws_reject)
		abort();
	if (d.ack_oow && (d.verdict != TCP_TW_ACK || !all[ctl % nprof]->tw_ack_oow_status))
		abort();                       /* TCP_TW_ACK_OOW: 6.18 ACKs only */
	if (d.reply.sent && (seg.flags & TCPF_RST) && d.verdict == TCP_TW_RST)
		abort();                       /* never a RST in answer to a RST */
	if (d.why.n > MODEL_WHY_MAX)
		abort();

	memset(&ss, 0, sizeof ss);
	ss.snd_una = tw.rcv_nxt;
	ss.snd_nxt = ss.snd_una + 1;
	ss.ts_sent = tw.ts_recent;
	ss.ts_now = tw.ts_recent_age_s;
	ss.retransmits = ctl >> 28;
	synsent_process(all[(ctl >> 4) % nprof], &ss, &seg, &sd);
	if (sd.verdict == SYNSENT_RESET && !(sd.reply.sent && sd.reply.seq == seg.ack))
		abort();
	if (sd.reply.sent && sd.reply.flags == TCPF_RST && (seg.flags & TCPF_RST))
		abort();
	return 0;
}
