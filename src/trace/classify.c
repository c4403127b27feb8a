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

/* The socket as tcp_timewait_state_process() found it. BPF reads it after
 * the kernel processed the segment. For a SYN nothing the decision reads
 * has changed by then except tw_last_oow_ack_time, which
 * net/ipv4/tcp_input.c __tcp_oow_rate_limited() (6.18) sets to
 * tcp_jiffies32 only when the ACK is not rate-limited: a stamp of this very
 * jiffy means the ACK went out now (the stamp before is unknown: treat it as
 * old), an older one is the stamp the decision saw. (For other segments,
 * with --segments, an in-window FIN/ACK may already have moved ts_recent,
 * rcv_nxt or FIN_WAIT2 -> TIME_WAIT.) */
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
	tw->last_oow_ack_ms = e->tw_oow_ack_age_ms > 0 ? e->tw_oow_ack_age_ms : -1;
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
