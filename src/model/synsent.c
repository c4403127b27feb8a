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

/* Drop reasons exist in this function only on newer kernels. */
static const char *dr(const struct kprofile *k, const char *name)
{
	return k->synsent_drop_reasons ? name : NULL;
}

/* include/net/tcp.h between(): seq2 <= seq1 <= seq3 in u32 space. */
static bool between(uint32_t seq1, uint32_t seq2, uint32_t seq3)
{
	return seq3 - seq2 >= seq1 - seq2;
}

/* When the SYN goes out again if nothing else happens: the RTO of the
 * retransmission in flight (TCP_TIMEOUT_INIT doubled per retransmission). */
static unsigned syn_rto_ms(const struct kprofile *k, unsigned retransmits)
{
	unsigned ms = k->syn_rto_initial_ms;
	for (unsigned i = 0; i < retransmits && ms < 120000; i++)
		ms *= 2;
	return ms > 120000 ? 120000 : ms;   /* TCP_RTO_MAX */
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
	d->next_syn_ms = syn_rto_ms(k, s->retransmits);

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
