/*
 * synsent.c - what a client in SYN_SENT does with the answer to its SYN:
 * synsent_process().
 *
 * Source: net/ipv4/tcp_input.c tcp_rcv_synsent_state_process() (3.10 and
 * 6.18), tcp_rcv_state_process() (return 1 -> the caller sends a reset),
 * net/ipv4/tcp_ipv4.c tcp_v4_send_reset() (RST seq = the segment's ack_seq;
 * never a RST in answer to a RST), include/net/tcp.h TCP_TIMEOUT_MIN (2
 * jiffies) and TCP_TIMEOUT_INIT (1 s).
 */
#include "model/model.h"
#include "model/why.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


const char *synsent_verdict_str(enum synsent_verdict v)
{
	switch (v) {
	case SYNSENT_ACCEPT: return "accept";
	case SYNSENT_RESET: return "reset";
	case SYNSENT_DISCARD: return "discard";
	case SYNSENT_REFUSED: return "refused";
	}
	return "?";
}

/* Drop reasons: tcp_rcv_synsent_state_process() names them from 6.9; from
 * 5.17 to 6.8 the segment is still freed with kfree_skb_reason() by
 * tcp_v4_do_rcv()/tcp_v4_rcv(), as NOT_SPECIFIED (the 6.1 finding);
 * before 5.17 there is no reason at all. */
static const char *dr(const struct kprofile *k, const char *name)
{
	return k->synsent_drop_reasons ? name : k->drop_reasons ? "NOT_SPECIFIED" : NULL;
}

/* include/net/tcp.h between(): seq2 <= seq1 <= seq3 in u32 space. */
static bool between(uint32_t seq1, uint32_t seq2, uint32_t seq3)
{
	return seq3 - seq2 >= seq1 - seq2;
}

/* net/ipv4/tcp_timer.c tcp_retransmit_timer() (6.18): after a SYN
 * retransmission icsk_backoff++ and the RTO doubles only when
 * "sk->sk_state != TCP_SYN_SENT || icsk_backoff > tcp_syn_linear_timeouts"
 * (6.5+, ccce324dabfe); before 6.5 it always doubles. TCP_RTO_MAX caps it.
 * n = transmissions so far minus one (0: the first SYN is in flight). */
unsigned syn_rto_ms(const struct kprofile *k, int linear, unsigned n)
{
	unsigned lin = linear < 0 ? k->syn_linear_timeouts : (unsigned)linear;
	unsigned ms = k->syn_rto_initial_ms;

	for (unsigned b = 1; b <= n && ms < 120000; b++)
		if (b > lin)
			ms *= 2;
	return ms > 120000 ? 120000 : ms;   /* TCP_RTO_MAX */
}

/* tcp_write_timeout(): retry_until = tcp_syn_retries, and in SYN_SENT
 * (6.5+) max_retransmits += tcp_syn_linear_timeouts. */
unsigned syn_max_retransmits(const struct kprofile *k, int linear, unsigned syn_retries)
{
	unsigned lin = linear < 0 ? k->syn_linear_timeouts : (unsigned)linear;
	return syn_retries + (k->syn_linear_timeouts ? lin : 0);
}

/* reset_and_undo: the caller answers with tcp_v4_send_reset(). */
static void reset(const struct segment *seg, struct synsent_decision *d)
{
	if (seg->flags & TCPF_RST) {
		d->verdict = SYNSENT_DISCARD;
		why(&d->why, "the segment is itself a RST: no RST is sent back");
		return;
	}
	d->verdict = SYNSENT_RESET;
	d->reply.sent = true;
	d->reply.flags = TCPF_RST;
	d->reply.seq = seg->ack;
	why(&d->why, "answer: RST seq %u (= the segment's ack)", seg->ack);
}

static void decide(const struct kprofile *k, const struct synsent_sock *s,
		   const struct segment *seg, struct synsent_decision *d, bool quiet)
{
	uint8_t f = seg->flags;

	MODEL_DECISION_RESET(d, quiet);
	d->verdict = SYNSENT_DISCARD;
	d->next_syn_ms = syn_rto_ms(k, -1, s->retransmits);

	if (f & TCPF_ACK) {
		/* "If SEG.ACK =< ISS, or SEG.ACK > SND.NXT, send a reset" */
		bool le_iss = !seq_after(seg->ack, s->snd_una);
		bool gt_nxt = seq_after(seg->ack, s->snd_nxt);

		if (le_iss || gt_nxt) {
			if (le_iss)
				why(&d->why, "ACK not acceptable: !after(ack %u, snd_una %u): "
					     "(s32)(snd_una - ack) = %d >= 0 (SEG.ACK <= ISS)",
				    seg->ack, s->snd_una, u32_diff(s->snd_una, seg->ack));
			else
				why(&d->why, "ACK not acceptable: after(ack %u, snd_nxt %u): "
					     "(s32)(snd_nxt - ack) = %d < 0 (SEG.ACK > SND.NXT)",
				    seg->ack, s->snd_nxt, u32_diff(s->snd_nxt, seg->ack));
			d->drop_reason = dr(k, "TCP_INVALID_ACK_SEQUENCE");
			if (k->synsent_fast_retry && s->retransmits == 0) {
				/* "Previous FIN/ACK or RST/ACK might be ignored." */
				d->fast_retry = true;
				d->next_syn_ms = (2u * 1000u + k->hz - 1) / k->hz;
				why(&d->why, "SYN timer re-armed at TCP_TIMEOUT_MIN (2 jiffies = "
					     "%u ms at HZ=%u): the SYN is resent almost at once",
				    d->next_syn_ms, k->hz);
				why(&d->why, "that retransmission counts: the next SYN waits %u ms%s",
				    syn_rto_ms(k, -1, 1), k->syn_linear_timeouts
					? " (linear SYN timeouts: no doubling)" : " (RTO doubled)");
			} else {
				why(&d->why, "SYN timer untouched: next SYN after the RTO (%u ms)",
				    d->next_syn_ms);
			}
			reset(seg, d);
			return;
		}
		if (seg->has_ts && seg->tsecr) {
			uint32_t now = s->ts_now ? s->ts_now : s->ts_sent;
			if (!between(seg->tsecr, s->ts_sent, now)) {
				why(&d->why, "tsecr %u not between our SYN's tsval %u and now %u "
					     "(counter TcpExtPAWSActive)", seg->tsecr, s->ts_sent, now);
				d->drop_reason = dr(k, "TCP_RFC7323_PAWS");
				reset(seg, d);
				return;
			}
		}
		if (f & TCPF_RST) {
			d->verdict = SYNSENT_REFUSED;
			d->next_syn_ms = 0;
			why(&d->why, "RST with acceptable ack %u: connection refused", seg->ack);
			return;
		}
		if (!(f & TCPF_SYN)) {
			d->drop_reason = dr(k, "TCP_FLAGS");
			why(&d->why, "acceptable ACK without SYN or RST: dropped");
			return;
		}
		d->verdict = SYNSENT_ACCEPT;
		d->next_syn_ms = 0;
		d->reply.sent = true;
		d->reply.flags = TCPF_ACK;
		d->reply.seq = s->snd_nxt;
		d->reply.ack = seg->seq + 1;
		why(&d->why, "SYN-ACK acknowledging our SYN (ack %u): ESTABLISHED", seg->ack);
		return;
	}

	if (f & TCPF_RST) {
		why(&d->why, "RST without ACK in SYN_SENT: dropped");
		d->drop_reason = dr(k, "TCP_RESET");
		return;
	}
	if (f & TCPF_SYN) {
		d->verdict = SYNSENT_ACCEPT;
		d->next_syn_ms = 0;
		d->reply.sent = true;
		d->reply.flags = TCPF_SYN | TCPF_ACK;
		d->reply.seq = s->snd_una;
		d->reply.ack = seg->seq + 1;
		why(&d->why, "SYN without ACK: simultaneous open, SYN_RECV, SYN-ACK sent");
		return;
	}
	why(&d->why, "neither SYN nor RST nor ACK: dropped");
}

void synsent_process(const struct kprofile *k, const struct synsent_sock *s,
		     const struct segment *seg, struct synsent_decision *d)
{
	decide(k, s, seg, d, false);
}

void synsent_process_quiet(const struct kprofile *k, const struct synsent_sock *s,
			   const struct segment *seg, struct synsent_decision *d)
{
	decide(k, s, seg, d, true);
}
