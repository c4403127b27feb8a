/*
 * track.c - one TCP 4-tuple's incarnations, from captured segments (see
 * track.h): the state a server's socket, and after it the server's
 * TIME_WAIT socket, holds for the client; analyze and lab repro both read
 * it from here.
 *
 * ts_recent and its stamp. The server's full socket stores the client's
 * TSval as ts_recent, with the time it did (ts_recent_stamp), when an
 * in-window segment carries a TSval not older than ts_recent
 * (net/ipv4/tcp_input.c: tcp_replace_ts_recent(), tcp_store_ts_recent();
 * read in mainline 6.x, the stored 6.18 tree has no tcp_input.c).
 * tcp_time_wait() copies both into the TIME_WAIT socket (tw_ts_recent,
 * tw_ts_recent_stamp), and a TIME_WAIT socket re-stamps them only for an
 * in-window segment without data: seq == tw_rcv_nxt, no SYN or FIN (which
 * also re-arms its timer); a FIN_WAIT2 one stamps them when the client's
 * FIN moves it to TIME_WAIT (net/ipv4/tcp_minisocks.c:
 * tcp_timewait_state_process(), tcp_time_wait(), 6.18, 6952350/linux-6.18.y).
 * The server holds TIME_WAIT when it sent FIN first; the incarnation then
 * closes with the client's FIN, the client's last segment, which is that
 * stamp. So one time serves as both: close_t is when it closed, and for a
 * TIME_WAIT the server holds, the ts_recent stamp; ts_recent_age is the
 * SYN's time minus close_t. (The timer re-armed by an out-of-window ACK,
 * e.g. a retransmitted FIN, is not followed: it moves no stamp.)
 */
#include "analyze/track.h"

#include <math.h>

void track_begin(struct track *t)
{
	t->st |= TRK_EST;
	t->st &= ~(uint32_t)(TRK_CLOSED | TRK_CLI_FIN | TRK_SRV_FIN | TRK_SRV_TW | TRK_CLI_END | TRK_SRV_END |
			     TRK_CLI_TS | TRK_CLI_TS_UNK);
}

bool track_synack_begins(const struct track *t, bool answers_syn)
{
	return !track_open(t) || answers_syn;
}

/* ts_recent from a client segment the socket took in: a TSval not older
 * than ts_recent replaces it (tcp_paws_check(), tcp_replace_ts_recent()).
 * Every segment counts as in window: in a capture that dropped packets a
 * gap before a segment does not mean the server saw one. */
static void ts_recent(struct track *t, const struct tcp_seg *s)
{
	if (s->opts_cut) {
		t->st |= TRK_CLI_TS_UNK;
		return;
	}
	if (!s->has_ts)
		return;
	if (!(t->st & TRK_CLI_TS) || u32_diff(s->tsval, t->cli_tsval) >= 0) {
		t->cli_tsval = s->tsval;
		t->st |= TRK_CLI_TS;
		t->st &= ~(uint32_t)TRK_CLI_TS_UNK;
	}
}

static void close_if_both_fins(struct track *t, double ts)
{
	if ((t->st & (TRK_CLI_FIN | TRK_SRV_FIN | TRK_CLOSED)) == (TRK_CLI_FIN | TRK_SRV_FIN)) {
		t->st |= TRK_CLOSED;
		t->close_t = ts;
	}
}

/* One end's segment: its next sequence number moves on, and its FIN, when
 * the other end has sent none, makes it the active closer (true). */
static bool end_and_fin(struct track *t, const struct tcp_seg *s, uint32_t *end_seq, uint32_t end_bit,
			uint32_t fin_bit, uint32_t peer_fin_bit)
{
	uint32_t end = tcp_end_seq(s->seq, s->flags, s->len);
	bool first = (s->flags & TCPF_FIN) && !(t->st & (fin_bit | peer_fin_bit));

	if (!(t->st & end_bit) || seq_after(end, *end_seq))
		*end_seq = end;
	t->st |= end_bit;
	if (s->flags & TCPF_FIN)
		t->st |= fin_bit;
	return first;
}

enum trk_event track_client(struct track *t, const struct tcp_seg *s)
{
	enum trk_event ev = TRK_EV_NONE;

	if (!(t->st & TRK_CLOSED)) {
		ts_recent(t, s);
	} else if ((t->st & (TRK_SRV_TW | TRK_CLI_END)) == (TRK_SRV_TW | TRK_CLI_END) &&
		   tcp_end_seq(s->seq, s->flags, s->len) == s->seq && s->seq == t->cli_end) {
		/* in window for the server's TIME_WAIT: it re-stamps ts_recent
		 * and starts its 60 s again */
		t->close_t = s->ts;
		ts_recent(t, s);
	}
	if (end_and_fin(t, s, &t->cli_end, TRK_CLI_END, TRK_CLI_FIN, TRK_SRV_FIN)) {
		t->st &= ~(uint32_t)TRK_SRV_TW;
		ev = TRK_EV_CLIENT_CLOSED_FIRST;
	}
	close_if_both_fins(t, s->ts);
	return ev;
}

enum trk_event track_server(struct track *t, const struct tcp_seg *s)
{
	enum trk_event ev = TRK_EV_NONE;

	if ((s->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
		t->srv_end = tcp_end_seq(s->seq, s->flags, s->len);
		t->st |= TRK_SRV_END;
		return ev;
	}
	if (end_and_fin(t, s, &t->srv_end, TRK_SRV_END, TRK_SRV_FIN, TRK_CLI_FIN)) {
		t->st |= TRK_SRV_TW;
		ev = TRK_EV_SERVER_CLOSED_FIRST;
	}
	close_if_both_fins(t, s->ts);
	return ev;
}

void track_reset(struct track *t, double ts)
{
	if (!track_open(t))
		return;
	t->st |= TRK_CLOSED;
	t->st &= ~(uint32_t)TRK_SRV_TW;        /* a reset leaves no TIME_WAIT */
	t->close_t = ts;
}

/* tcp_time_wait(): tw_rcv_nxt = rcv_nxt (the client's end), tw_snd_nxt =
 * snd_nxt (the server's), tw_ts_recent(_stamp) = ts_recent(_stamp). */
struct tw_sock track_tw(const struct track *t, double syn_t)
{
	return tw_sock_init(t->cli_end, t->srv_end, t->st & TRK_CLI_TS, t->cli_tsval,
			    (uint32_t)fmax(0, syn_t - t->close_t));
}

/* tcp_v4_timewait_ack() (net/ipv4/tcp_ipv4.c, 6.18) sends seq =
 * tw_snd_nxt, ack = tw_rcv_nxt, tsecr = tw_ts_recent. */
struct tw_sock track_tw_from_ack(const struct tcp_seg *ack)
{
	return tw_sock_init(ack->ack, ack->seq, ack->has_ts, ack->tsecr, 0);
}

enum trk_answer track_answer(const struct track *t, const struct tcp_seg *s, uint32_t syn_seq)
{
	if ((s->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK))
		return TRK_ANS_SYNACK;
	if (s->flags & TCPF_RST)
		return TRK_ANS_RST;
	if (s->flags != TCPF_ACK || s->len || s->ack == syn_seq + 1)
		return TRK_ANS_OTHER;
	/* a live socket (the capture shows it open, or closed without the
	 * server's TIME_WAIT) answers an unacceptable SYN with a challenge
	 * ACK too */
	if (track_open(t) || ((t->st & TRK_CLOSED) && !(t->st & TRK_SRV_TW)))
		return TRK_ANS_LIVE_ACK;
	return TRK_ANS_TW_ACK;
}
