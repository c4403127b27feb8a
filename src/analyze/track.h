/*
 * track.h - one TCP 4-tuple's incarnations as the server's end of it sees
 * them, from captured segments: each end's next sequence number, the
 * client's timestamp (the server's ts_recent), who sent FIN first and so
 * who holds TIME_WAIT, and when it closed. The one home of "is this SYN a
 * reuse of a closed incarnation the server holds in TIME_WAIT", of what
 * answer to a SYN counts as that TIME_WAIT's ACK, and of the TIME_WAIT
 * socket rebuilt from a capture. Used by analyze (every tuple of a capture)
 * and by lab repro (the lab server's ports); the kernel's decisions on the
 * rebuilt socket are src/model's (tw_process).
 *
 * No allocation, no I/O: a struct track is 24 bytes inside its user's
 * per-tuple state, which may keep its own flags in TRK_USER_BITS of st.
 */
#ifndef TWLAB_TRACK_H
#define TWLAB_TRACK_H
#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"
#include "model/model.h"

enum {                                 /* struct track.st */
	TRK_EST = 1 << 0,              /* an incarnation began (SYN-ACK or completed handshake) */
	TRK_CLOSED = 1 << 1,           /* both FINs, or a RST */
	TRK_CLI_FIN = 1 << 2,
	TRK_SRV_FIN = 1 << 3,
	TRK_SRV_TW = 1 << 4,           /* the server sent FIN first: it holds TIME_WAIT */
	TRK_CLI_END = 1 << 5,          /* cli_end is set */
	TRK_SRV_END = 1 << 6,          /* srv_end is set */
	TRK_CLI_TS = 1 << 7,           /* the client uses timestamps: cli_tsval is ts_recent */
	TRK_CLI_TS_UNK = 1 << 8,       /* the snaplen cut a client segment's options: ts_recent unknown */
	TRK_USER_BITS = 0xffff0000u,   /* left to the code that embeds the tracker */
};

struct track {
	double   close_t;              /* closed: when (the segment that closed it; for a
					* TIME_WAIT the server holds, also when ts_recent was
					* last stamped, see track.c) */
	uint32_t cli_end, srv_end;     /* each end's next sequence number (end_seq) */
	uint32_t cli_tsval;            /* the server's ts_recent: the client's newest TSval */
	uint32_t st;                   /* TRK_* | the embedding code's bits */
};
_Static_assert(sizeof(struct track) == 24, "a tracker adds 24 bytes to a tuple's state");

/* What a client's or a server's segment told (track_client, track_server). */
enum trk_event { TRK_EV_NONE = 0, TRK_EV_CLIENT_CLOSED_FIRST, TRK_EV_SERVER_CLOSED_FIRST };

/* A new incarnation begins: the earlier one's numbers are forgotten. */
void track_begin(struct track *t);
/* Does a SYN-ACK begin a new incarnation? When none is open, or it answers
 * the SYN in progress (answers_syn: its ack is that SYN's ISN + 1). */
bool track_synack_begins(const struct track *t, bool answers_syn);
/* A client's ACK, data or FIN of the incarnation (not a SYN, not a RST). */
enum trk_event track_client(struct track *t, const struct tcp_seg *s);
/* A server's SYN-ACK (after track_begin when it begins one), ACK, data or FIN
 * of the incarnation (not a RST, not an answer to a SYN in progress). */
enum trk_event track_server(struct track *t, const struct tcp_seg *s);
/* A RST either way: an open incarnation ends, leaving no TIME_WAIT. */
void track_reset(struct track *t, double ts);

static inline bool track_used(const struct track *t) { return t->st & TRK_EST; }
static inline bool track_open(const struct track *t)
{
	return (t->st & (TRK_EST | TRK_CLOSED)) == TRK_EST;
}
/* The rule: a SYN on this 4-tuple meets the server's TIME_WAIT when the last
 * incarnation closed, the server closed it first, and the client's end of
 * it is known. Whether TIME_WAIT has run out by then is the caller's (it
 * knows the kernel's length). */
static inline bool track_server_tw(const struct track *t)
{
	return (t->st & (TRK_CLOSED | TRK_SRV_TW | TRK_CLI_END)) == (TRK_CLOSED | TRK_SRV_TW | TRK_CLI_END);
}
/* The snaplen cut the options of a client segment that may have moved
 * ts_recent. */
static inline bool track_ts_unknown(const struct track *t) { return t->st & TRK_CLI_TS_UNK; }

/* The TIME_WAIT socket the server holds for a SYN at syn_t (when
 * track_server_tw): what tcp_time_wait() copied from the closing socket. */
struct tw_sock track_tw(const struct track *t, double syn_t);
/* The same rebuilt from the TIME_WAIT's own ACK, when the earlier
 * incarnation is not in the capture. */
struct tw_sock track_tw_from_ack(const struct tcp_seg *ack);

/* The server's answer to a SYN in progress (ISN syn_seq). */
enum trk_answer {
	TRK_ANS_SYNACK,                /* a SYN-ACK for it */
	TRK_ANS_RST,
	TRK_ANS_TW_ACK,                /* a bare ACK not for it, from no socket the capture
					* shows alive: a TIME_WAIT's (a collision) */
	TRK_ANS_LIVE_ACK,              /* a bare ACK from a socket the capture shows open, or
					* closed by the client first or by a RST: a challenge
					* ACK (RFC 5961), not TIME_WAIT */
	TRK_ANS_OTHER,                 /* anything else (data, an ACK of the SYN itself) */
};
enum trk_answer track_answer(const struct track *t, const struct tcp_seg *s, uint32_t syn_seq);
#endif
