/*
 * timewait.c - what the kernel does with a segment that finds a TIME_WAIT
 * (or FIN_WAIT2) mini-socket: tw_process().
 *
 * Source: net/ipv4/tcp_minisocks.c tcp_timewait_state_process() (3.10 and
 * 6.18 read side by side; the branch structure is the same in every profile,
 * the differences are in struct kprofile), include/net/tcp.h tcp_paws_check()
 * and tcp_paws_reject(), net/ipv4/tcp_input.c tcp_oow_rate_limited(),
 * net/ipv4/tcp_ipv4.c tcp_v4_rcv() (do_time_wait), tcp_v4_timewait_ack() and
 * tcp_v4_send_reset() for the segment that goes back.
 */
#include "model/model.h"
#include "model/why.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


static void count(struct tw_decision *d, const char *name)
{
	for (size_t i = 0; i + 1 < sizeof(d->counters) / sizeof(d->counters[0]); i++)
		if (!d->counters[i]) {
			d->counters[i] = name;
			return;
		}
}

const char *tw_verdict_str(enum tw_verdict v)
{
	switch (v) {
	case TCP_TW_SUCCESS: return "TCP_TW_SUCCESS";
	case TCP_TW_RST: return "TCP_TW_RST";
	case TCP_TW_ACK: return "TCP_TW_ACK";
	case TCP_TW_SYN: return "TCP_TW_SYN";
	}
	return "?";
}

const char *tw_cause_str(enum tw_cause c)
{
	return c == TW_CAUSE_PAWS ? "paws" : c == TW_CAUSE_SEQ ? "seq" : "none";
}

/* include/net/tcp.h: tcp_paws_check(rx_opt, 0) and tcp_paws_reject(). */
static bool paws_reject(const struct kprofile *k, const struct tw_sock *tw,
			const struct segment *seg, struct why *w)
{
	int32_t d = u32_diff(tw->ts_recent, seg->tsval);

	if (d <= 0) {
		why(w, "PAWS: (s32)(ts_recent %u - tsval %u) = %d <= 0, passes",
		    tw->ts_recent, seg->tsval, d);
		return false;
	}
	if (tw->ts_recent_age_s >= k->paws_wrap_s) {
		why(w, "PAWS: (s32)(ts_recent - tsval) = %d > 0, but ts_recent is %u s old "
		       "(>= %u s), passes", d, tw->ts_recent_age_s, k->paws_wrap_s);
		return false;
	}
	if (k->paws_ts_recent_zero_passes && tw->ts_recent == 0) {
		why(w, "PAWS: ts_recent is 0 (peer sent tsval 0), passes");
		return false;
	}
	if ((seg->flags & TCPF_RST) && tw->ts_recent_age_s >= k->paws_msl_s) {
		why(w, "PAWS: RST with (s32)(ts_recent - tsval) = %d > 0, but ts_recent is "
		       "%u s old (>= TCP_PAWS_MSL %u s), passes", d, tw->ts_recent_age_s,
		    k->paws_msl_s);
		return false;
	}
	why(w, "PAWS: (s32)(ts_recent %u - tsval %u) = %d > 0, rejected",
	    tw->ts_recent, seg->tsval, d);
	return true;
}

/* include/net/tcp.h (6.18) tcp_in_window(): is [seq, end_seq) acceptable
 * for a window [s_win, e_win)? */
static bool in_window(uint32_t seq, uint32_t end_seq, uint32_t s_win, uint32_t e_win)
{
	if (seq == s_win)
		return true;
	if (seq_after(end_seq, s_win) && seq_before(seq, e_win))
		return true;
	return seq == e_win && seq == end_seq;
}

/* The ACK from tcp_v4_timewait_ack(): seq = tw_snd_nxt, ack = tw_rcv_nxt,
 * and when timestamps are in use, tsecr = tw_ts_recent. */
static void ack_reply(const struct tw_sock *tw, struct reply *r)
{
	r->sent = true;
	r->flags = TCPF_ACK;
	r->seq = tw->snd_nxt;
	r->ack = tw->rcv_nxt;
	r->has_ts = tw->ts_recent_stamp_set && tw->ts_recent != 0;
	r->tsecr = r->has_ts ? tw->ts_recent : 0;
}

/* tcp_v4_send_reset(): never answers a RST; takes seq from the ACK field,
 * or answers RST|ACK acknowledging the segment. */
static void rst_reply(const struct segment *seg, struct reply *r)
{
	if (seg->flags & TCPF_RST)
		return;
	r->sent = true;
	if (seg->flags & TCPF_ACK) {
		r->flags = TCPF_RST;
		r->seq = seg->ack;
	} else {
		r->flags = TCPF_RST | TCPF_ACK;
		r->ack = segment_end_seq(seg);
	}
}

/* net/ipv4/tcp_minisocks.c tcp_timewait_check_oow_rate_limit() ->
 * net/ipv4/tcp_input.c tcp_oow_rate_limited(): at most one out-of-window
 * ACK per tcp_invalid_ratelimit; data without SYN is never limited. */
static void oow_ack(const struct kprofile *k, const struct tcp_env *env,
		    const struct tw_sock *tw, const struct segment *seg,
		    const char *skip_counter, struct tw_decision *d)
{
	uint32_t end_seq = segment_end_seq(seg);
	int limit = env->invalid_ratelimit_ms >= 0 ? env->invalid_ratelimit_ms
						   : (int)k->invalid_ratelimit_ms;

	d->verdict = TCP_TW_ACK;
	if (k->oow_ratelimit && !(seg->seq != end_seq && !(seg->flags & TCPF_SYN))) {
		if (tw->last_oow_ack_ms >= 0 && tw->last_oow_ack_ms < limit) {
			why(&d->why, "out-of-window ACK rate limit: last one %lld ms ago < "
				     "tcp_invalid_ratelimit %d ms, no ACK sent",
			    (long long)tw->last_oow_ack_ms, limit);
			d->verdict = TCP_TW_SUCCESS;
			d->rate_limited = true;
			count(d, skip_counter);
			return;
		}
		d->next.last_oow_ack_ms = 0;
	}
	/* 6.18: this path returns TCP_TW_ACK_OOW (ECN bits cleared), 3.10 has
	 * no rate limit and returns TCP_TW_ACK directly. */
	d->ack_oow = k->tw_ack_oow_status;
	ack_reply(tw, &d->reply);
	why(&d->why, "answer: ACK seq %u ack %u (the old connection's numbers)",
	    d->reply.seq, d->reply.ack);
}

static void fin_wait2(const struct kprofile *k, const struct tcp_env *env,
		      const struct tw_sock *tw, const struct segment *seg,
		      bool saw_ts, bool rej, struct tw_decision *d)
{
	uint8_t f = seg->flags;
	uint32_t end_seq = segment_end_seq(seg);

	if (rej || !in_window(seg->seq, end_seq, tw->rcv_nxt, tw->rcv_nxt + tw->rcv_wnd)) {
		if (!rej)
			why(&d->why, "FIN_WAIT2: seq %u..%u outside window [%u, %u)",
			    seg->seq, end_seq, tw->rcv_nxt, tw->rcv_nxt + tw->rcv_wnd);
		oow_ack(k, env, tw, seg, "TcpExtTCPACKSkippedFinWait2", d);
		return;
	}
	if (f & TCPF_RST) {
		why(&d->why, "FIN_WAIT2: in-window RST kills the socket");
		d->tw_killed = true;
		return;
	}
	if ((f & TCPF_SYN) && !seq_before(seg->seq, tw->rcv_nxt)) {
		why(&d->why, "FIN_WAIT2: SYN with seq %u not before rcv_nxt %u: reset",
		    seg->seq, tw->rcv_nxt);
		d->verdict = TCP_TW_RST;
		rst_reply(seg, &d->reply);
		d->tw_killed = true;
		return;
	}
	if (!(f & TCPF_ACK) || !seq_after(end_seq, tw->rcv_nxt) || end_seq == seg->seq) {
		why(&d->why, "FIN_WAIT2: duplicate ACK or nothing new, ignored");
		return;
	}
	if (!(f & TCPF_FIN) || end_seq != tw->rcv_nxt + 1) {
		why(&d->why, "FIN_WAIT2: new data after half-duplex close: reset");
		d->verdict = TCP_TW_RST;
		rst_reply(seg, &d->reply);
		d->tw_killed = true;
		return;
	}
	why(&d->why, "FIN_WAIT2: FIN at rcv_nxt %u: enter TIME_WAIT for %u s",
	    tw->rcv_nxt, k->tw_len_s);
	d->to_time_wait = true;
	d->next.substate = TW_TIME_WAIT;
	d->next.rcv_nxt = end_seq;
	if (saw_ts) {
		d->next.ts_recent = seg->tsval;
		d->next.ts_recent_age_s = 0;
	}
	d->timer_rearmed = true;
	d->verdict = TCP_TW_ACK;
	ack_reply(&d->next, &d->reply);
}

static void decide(const struct kprofile *k, const struct tcp_env *env,
		   const struct tw_sock *tw, const struct segment *seg,
		   struct tw_decision *d, bool quiet)
{
	static const struct tcp_env defaults = { .invalid_ratelimit_ms = -1 };
	uint8_t f = seg->flags;
	uint32_t end_seq = segment_end_seq(seg);
	bool saw_ts, rej = false;

	if (!env)
		env = &defaults;
	MODEL_DECISION_RESET(d, quiet);
	d->verdict = TCP_TW_SUCCESS;
	d->next = *tw;

	/* Options are parsed only if the TIME_WAIT socket has a ts_recent_stamp
	 * (the old connection used timestamps) and sysctl tcp_timestamps is on
	 * (tcp_parse_options(estab=0)). */
	saw_ts = seg->has_ts && tw->ts_recent_stamp_set && !env->timestamps_off;
	if (seg->has_ts && !saw_ts)
		why(&d->why, tw->ts_recent_stamp_set
			? "timestamp option ignored: net.ipv4.tcp_timestamps=0"
			: "TIME_WAIT socket has no timestamps (ts_recent_stamp 0): "
			  "the segment's timestamp option is not even parsed");
	if (saw_ts)
		rej = paws_reject(k, tw, seg, &d->why);
	d->paws_reject = rej;

	if (tw->substate == TW_FIN_WAIT2) {
		fin_wait2(k, env, tw, seg, saw_ts, rej, d);
		return;
	}

	/* In-window RST or bare ACK. */
	if (!rej && seg->seq == tw->rcv_nxt && (seg->seq == end_seq || (f & TCPF_RST))) {
		if (f & TCPF_RST) {
			if (!env->rfc1337) {
				why(&d->why, "RST at rcv_nxt %u: TIME_WAIT assassinated "
					     "(tcp_rfc1337=0), socket killed", tw->rcv_nxt);
				d->tw_killed = true;
				return;
			}
			why(&d->why, "RST at rcv_nxt %u ignored (tcp_rfc1337=1)", tw->rcv_nxt);
		} else {
			why(&d->why, "bare ACK at rcv_nxt %u: TIME_WAIT timer re-armed (%u s)",
			    tw->rcv_nxt, k->tw_len_s);
			d->timer_rearmed = true;
		}
		if (saw_ts) {
			d->next.ts_recent = seg->tsval;
			d->next.ts_recent_age_s = 0;
		}
		return;
	}

	/* A new SYN may reopen the 4-tuple. */
	if ((f & TCPF_SYN) && !(f & (TCPF_RST | TCPF_ACK)) && !rej) {
		bool seq_ok = seq_after(seg->seq, tw->rcv_nxt);
		bool ts_ok = saw_ts && u32_diff(tw->ts_recent, seg->tsval) < 0;

		why(&d->why, "seq: after(seq %u, rcv_nxt %u): (s32)(rcv_nxt - seq) = %d %s",
		    seg->seq, tw->rcv_nxt, u32_diff(tw->rcv_nxt, seg->seq),
		    seq_ok ? "< 0, true" : ">= 0, false");
		if (saw_ts)
			why(&d->why, "timestamps: (s32)(ts_recent %u - tsval %u) = %d %s",
			    tw->ts_recent, seg->tsval, u32_diff(tw->ts_recent, seg->tsval),
			    ts_ok ? "< 0, newer" : ">= 0, not newer");
		if (seq_ok || ts_ok) {
			uint32_t isn = tw->snd_nxt + 65535 + 2;
			if (isn == 0)
				isn = 1;
			if (!env->no_listener) {
				d->verdict = TCP_TW_SYN;
				d->isn = isn;
				d->tw_killed = true;
				d->reply.sent = true;
				d->reply.flags = TCPF_SYN | TCPF_ACK;
				d->reply.seq = isn;
				d->reply.ack = seg->seq + 1;
				if (k->tw_isn_lost) {
					/* tcp_v4_rcv(): tcp_v4_restore_cb() and the
					 * second tcp_v4_fill_cb() zero tcp_tw_isn, so
					 * tcp_conn_request() picks a fresh ISN. */
					d->isn_lost = true;
					d->reply.seq = 0;
					why(&d->why, "SYN accepted: TIME_WAIT reopened; tcp_timewait_state_process "
						     "chose ISN %u but this kernel loses it (tcp_tw_isn zeroed): "
						     "the SYN-ACK carries a fresh ISN", isn);
					return;
				}
				why(&d->why, "SYN accepted: TIME_WAIT reopened, SYN-ACK with "
					     "ISN tw_snd_nxt %u + 65535 + 2 = %u", tw->snd_nxt, isn);
				return;
			}
			/* tcp_v4_rcv(): no listener -> "to ACK", fallthrough to
			 * tcp_v4_timewait_ack() without rate limit or re-arm. */
			d->verdict = TCP_TW_ACK;
			ack_reply(tw, &d->reply);
			why(&d->why, "SYN acceptable but nothing listens on the port: "
				     "answered with the old ACK");
			return;
		} else {
			d->cause = TW_CAUSE_SEQ;
			why(&d->why, "SYN not accepted: seq not after rcv_nxt%s",
			    saw_ts ? " and tsval not newer than ts_recent" : ", no timestamps");
		}
	} else if ((f & TCPF_SYN) && !(f & (TCPF_RST | TCPF_ACK)) && rej) {
		d->cause = TW_CAUSE_PAWS;
		why(&d->why, "SYN not accepted: PAWS rejected it (its seq does not matter)");
	}

	if (rej) {
		d->drop_reason = k->paws_tw_drop_reason;
		count(d, k->paws_tw_counter);
	}
	if (f & TCPF_RST) {
		why(&d->why, "out-of-window or PAWS-rejected RST ignored");
		return;
	}
	/* "If it is ACKless SYN it may be both old duplicate and new good SYN
	 * with random sequence number <rcv_nxt. Do not reschedule in the last
	 * case." */
	if (rej || (f & TCPF_ACK) || !k->syn_no_ack_rearm_exempt) {
		d->timer_rearmed = true;
		why(&d->why, "TIME_WAIT timer re-armed: %u s from now", k->tw_len_s);
	} else {
		why(&d->why, "TIME_WAIT timer not re-armed (ACK-less SYN, no PAWS rejection)");
	}
	oow_ack(k, env, tw, seg, k->oow_skip_counter, d);
}

/* net/ipv4/tcp_ipv4.c tcp_v4_rcv() do_time_wait: every segment that does
 * not reopen the 4-tuple (TCP_TW_SYN with a listener) ends at discard_it,
 * kfree_skb_reason(skb, drop_reason): NOT_SPECIFIED unless the TIME_WAIT
 * code named one (TCP_RFC7323_TW_PAWS, 6.15). Before 5.17: kfree_skb(), no
 * reason. */
static void drop_reason(const struct kprofile *k, struct tw_decision *d)
{
	if (d->drop_reason || !k->drop_reasons)
		return;
	if (d->verdict == TCP_TW_SYN)
		return;
	d->drop_reason = "NOT_SPECIFIED";
}

void tw_process(const struct kprofile *k, const struct tcp_env *env,
		const struct tw_sock *tw, const struct segment *seg,
		struct tw_decision *d)
{
	decide(k, env, tw, seg, d, false);
	drop_reason(k, d);
}

void tw_process_quiet(const struct kprofile *k, const struct tcp_env *env,
		      const struct tw_sock *tw, const struct segment *seg,
		      struct tw_decision *d)
{
	decide(k, env, tw, seg, d, true);
	drop_reason(k, d);
}

/* net/ipv4/tcp_minisocks.c tcp_time_wait() (3.10: tcp_death_row.tw_count <
 * sysctl_max_tw_buckets; 4.x+: inet_twsk_alloc() refuses past
 * sysctl_max_tw_buckets) -> LINUX_MIB_TCPTIMEWAITOVERFLOW and the socket is
 * closed at once. 3.10 with tcp_tw_recycle=1 and timestamps in use
 * (recycle_ok): timeo = rto * 3.5 ((rto << 2) - (rto >> 1)) instead of
 * TCP_TIMEWAIT_LEN; < 4.1 the 8-slot death row reaps it 52.5-60 s later. */
void tw_create(const struct kprofile *k, const struct tcp_env *env, unsigned tw_count,
	       bool ts_in_use, unsigned rto_ms, struct tw_created *out)
{
	memset(out, 0, sizeof *out);
	if (env && env->max_tw_buckets && tw_count >= env->max_tw_buckets) {
		out->overflow = true;
		out->counter = "TcpExtTCPTimeWaitOverflow";
		return;
	}
	out->made = true;
	out->min_ms = k->tw_len_min_ms;
	out->max_ms = k->tw_len_max_ms;
	if (env && env->tw_recycle && k->has_tw_recycle && ts_in_use) {
		out->recycled = true;
		out->min_ms = out->max_ms = rto_ms * 4 - rto_ms / 2;
	}
}

/* 3.10 net/ipv4/tcp_ipv4.c tcp_v4_conn_request(): with tcp_tw_recycle and a
 * timestamp on the SYN, tcp_peer_is_proven(req, dst, true)
 * (net/ipv4/tcp_metrics.c) refuses the SYN when the peer *address* sent a
 * newer tsval within TCP_PAWS_MSL (60 s): (s32)(tcpm_ts - tsval) >
 * TCP_PAWS_WINDOW (1). Counter PAWSPassive; the SYN is dropped silently. */
bool listen_recycle_drop(const struct kprofile *k, const struct tcp_env *env,
			 bool peer_known, uint32_t peer_ts, uint32_t peer_ts_age_s,
			 const struct segment *syn)
{
	if (!env || !env->tw_recycle || !k->has_tw_recycle || !syn->has_ts)
		return false;
	return peer_known && peer_ts_age_s < k->paws_msl_s && u32_diff(peer_ts, syn->tsval) > 1;
}
