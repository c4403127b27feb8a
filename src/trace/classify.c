/*
 * classify.c - a kernel event from twlab.bpf.c -> the model's decision.
 *
 * The BPF side only copies facts; here the segment is decoded by the
 * capture decoder (the event carries the IPv4 and TCP headers as received,
 * so it is a DLT_RAW packet), the TIME_WAIT socket is rebuilt as the model's
 * struct tw_sock, and src/model/ decides: verdict, cause, reply, ISN and
 * status names all come from there.
 */
#include "trace/classify.h"

#include <pcap/dlt.h>
#include <string.h>

const char *trace_kind_str(enum trace_kind k)
{
	static const char *const name[TK__N] = {
		[TK_IGNORED] = "ignored",
		[TK_TW_SYN_REJECTED] = "tw_syn_rejected",
		[TK_TW_SYN_NO_LISTENER] = "tw_syn_no_listener",
		[TK_TW_SEGMENT_DROPPED] = "tw_segment_dropped",
		[TK_TW_SYN_ACCEPTED] = "tw_syn_accepted",
		[TK_SYNSENT_RESET] = "synsent_reset",
		[TK_UNDECODED] = "undecoded",
	};
	return k < TK__N ? name[k] : "?";
}

static bool pure_syn(const struct segment *s)
{
	return (s->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN;
}

/* ms since tw_last_oow_ack_time as tcp_timewait_state_process() found it
 * (-1: never, or unknown and taken as old). net/ipv4/tcp_input.c
 * __tcp_oow_rate_limited() (6.18) rate-limits when 0 <= (s32)(tcp_jiffies32
 * - stamp) < tcp_invalid_ratelimit, and otherwise sends the ACK and sets
 * the stamp to tcp_jiffies32.
 *  - With the fentry snapshot (e->oow_entry) the stamp and the jiffy were
 *    read at the entry of tcp_timewait_state_process, before the kernel
 *    could change it: exact.
 *  - Without it the stamp was read after processing: if this segment's ACK
 *    went out, the stamp is the jiffy it went out in, and a tick may fall
 *    between the send and the read (seen under load and under qemu). A
 *    stamp at most one jiffy old at the read is taken as this segment's own
 *    ACK (the stamp before is unknown: treated as old). A real rate limit
 *    looks the same only if the previous ACK went out at most one jiffy
 *    before this segment: not a client's SYN fast retry (the client resets
 *    the ACK and re-arms its SYN timer at TCP_TIMEOUT_MIN, 2 jiffies,
 *    include/net/tcp.h, 6.18), nor any retransmission; only two SYNs of
 *    one 4-tuple within a jiffy (e.g. two NAT clients at once). The
 *    window it narrows is 1 jiffy of tcp_invalid_ratelimit's 500 ms
 *    default (125 jiffies at HZ=250). An older stamp is the one the
 *    decision saw: the kernel did not move it, no ACK went out. */
int64_t trace_oow_age_before_ms(const struct twlab_event *e)
{
	if (e->oow_entry)
		return e->tw_oow_ack_entry_age_ms >= 0 ? e->tw_oow_ack_entry_age_ms : -1;
	if (e->tw_oow_ack_age_ms < 0)
		return -1;
	if (e->tw_oow_ack_age_j >= 0 ? e->tw_oow_ack_age_j <= TRACE_OOW_TOLERANCE_J
				     : e->tw_oow_ack_age_ms == 0)
		return -1;
	return e->tw_oow_ack_age_ms;
}

/* The socket as tcp_timewait_state_process() found it. BPF reads it after
 * the kernel processed the segment. For a SYN nothing the decision reads
 * has changed by then except tw_last_oow_ack_time (trace_oow_age_before_ms).
 * (For other segments, with --segments, an in-window FIN/ACK may already
 * have moved ts_recent, rcv_nxt or FIN_WAIT2 -> TIME_WAIT.) */
static void tw_from_event(const struct twlab_event *e, struct tw_sock *tw)
{
	memset(tw, 0, sizeof(*tw));
	tw->substate = e->tw_fin_wait2 ? TW_FIN_WAIT2 : TW_TIME_WAIT;
	tw->rcv_nxt = e->tw_rcv_nxt;
	tw->snd_nxt = e->tw_snd_nxt;
	tw->rcv_wnd = e->tw_rcv_wnd;
	tw->ts_recent_stamp_set = e->tw_ts_recent_stamp != 0;
	tw->ts_recent = e->tw_ts_recent;
	tw->ts_recent_age_s = e->tw_ts_recent_age;
	tw->ts_offset = e->tw_ts_offset;
	tw->last_oow_ack_ms = trace_oow_age_before_ms(e);
}

static void env_from_event(const struct twlab_event *e, struct tcp_env *env)
{
	memset(env, 0, sizeof(*env));
	env->rfc1337 = e->rfc1337 > 0;
	env->invalid_ratelimit_ms = e->invalid_ratelimit_ms;   /* -1: profile default */
	env->timestamps_off = e->timestamps == 0;
}

static void kernel_said(const struct twlab_event *e, struct trace_decision *d)
{
	d->drop_reason_value = e->reason;
	d->kernel_paws = e->reason_paws && e->reason == e->reason_paws;
	if (d->kernel_paws)
		d->drop_reason = "TCP_RFC7323_TW_PAWS";
	else if (e->reason_unspec && e->reason == e->reason_unspec)
		d->drop_reason = "NOT_SPECIFIED";
	d->kernel_status = e->verdict >= 0 ? tw_status_str(e->verdict) : NULL;
}

static void classify_tw(const struct kprofile *k, const struct twlab_event *e,
			struct trace_decision *d)
{
	d->tw = true;
	tw_from_event(e, &d->tw_sock);
	env_from_event(e, &d->env);
	kernel_said(e, d);
	tw_process_quiet(k, &d->env, &d->tw_sock, &d->seg.m, &d->tw_d);
	if (e->type == TEV_TW_SYN_ACCEPTED) {
		/* Only SYNs reopen; the model gives the ISN. */
		d->kind = pure_syn(&d->seg.m) ? TK_TW_SYN_ACCEPTED : TK_IGNORED;
		d->model_agrees = d->tw_d.verdict == TCP_TW_SYN;
		return;
	}
	/* the kernel names TCP_RFC7323_TW_PAWS only from 6.15: compare with
	 * what the model says this kernel's reason is, not with paws_reject */
	d->model_agrees = d->kernel_paws == (d->tw_d.paws_reject && d->tw_d.drop_reason &&
					     !strcmp(d->tw_d.drop_reason, "TCP_RFC7323_TW_PAWS"));
	/* and, where fexit saw it, the status tcp_timewait_state_process
	 * returned: the model's for the socket it found (before the
	 * no-listener re-run below, which models tcp_v4_rcv(), not it) */
	if (e->verdict >= 0)
		d->model_agrees = d->model_agrees && e->verdict == tw_kernel_status(&d->tw_d);
	if (!pure_syn(&d->seg.m)) {
		d->kind = TK_TW_SEGMENT_DROPPED;
	} else if (d->tw_d.verdict == TCP_TW_SYN) {
		/* tcp_v4_rcv() frees an acceptable SYN only when no listener
		 * takes it: the model answers that case with the old ACK. */
		d->env.no_listener = true;
		tw_process_quiet(k, &d->env, &d->tw_sock, &d->seg.m, &d->tw_d);
		d->kind = TK_TW_SYN_NO_LISTENER;
	} else {
		d->kind = TK_TW_SYN_REJECTED;
	}
}

void trace_classify(const struct kprofile *k, const struct twlab_event *e,
		    struct trace_decision *d)
{
	size_t n = e->pkt_len < sizeof(e->pkt) ? e->pkt_len : sizeof(e->pkt);

	memset(d, 0, sizeof(*d));
	d->skip = seg_decode(DLT_RAW, e->pkt, n, &d->seg);
	if (d->skip != SKIP_NONE) {
		d->kind = TK_UNDECODED;
		return;
	}
	switch (e->type) {
	case TEV_TW_DROP:
	case TEV_TW_SYN_ACCEPTED:
		classify_tw(k, e, d);
		return;
	case TEV_SYNSENT_RESET:
		d->synsent = true;
		d->ss.snd_una = e->snd_una;
		d->ss.snd_nxt = e->snd_nxt;
		d->ss.retransmits = e->syn_retransmits;
		synsent_process_quiet(k, &d->ss, &d->seg.m, &d->ss_d);
		d->kind = TK_SYNSENT_RESET;
		d->model_agrees = d->ss_d.verdict == SYNSENT_RESET;
		return;
	}
	d->kind = TK_IGNORED;
}

void trace_count(struct trace_stats *st, const struct trace_decision *d)
{
	st->events++;
	switch (d->kind) {
	case TK_TW_SYN_REJECTED:
		if (d->tw_d.cause == TW_CAUSE_PAWS)
			st->rej_paws++;
		else if (d->tw_d.cause == TW_CAUSE_SEQ)
			st->rej_seq++;
		else
			st->rej_other++;
		break;
	case TK_TW_SYN_NO_LISTENER: st->no_listener++; break;
	case TK_TW_SYN_ACCEPTED: st->accepted++; break;
	case TK_SYNSENT_RESET: st->synsent_reset++; break;
	case TK_TW_SEGMENT_DROPPED: st->segments++; break;
	case TK_UNDECODED: st->undecoded++; break;
	case TK_IGNORED: case TK__N: break;
	}
	if ((d->kind == TK_TW_SYN_REJECTED || d->kind == TK_TW_SYN_NO_LISTENER) && !d->model_agrees)
		st->model_mismatch++;
}
