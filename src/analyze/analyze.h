/*
 * analyze.h - TIME_WAIT collisions from packet captures: per-4-tuple
 * history, collision detection, outcome, NAT host counting. One streaming
 * pass; memory bounded by live tuples. Every kernel decision is asked of
 * src/model/ (tw_process), never re-derived here.
 */
#ifndef TWLAB_ANALYZE_H
#define TWLAB_ANALYZE_H
#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"
#include "model/model.h"

struct an_tuple {
	uint8_t  family;
	uint8_t  caddr[16], saddr[16];   /* client, server */
	uint16_t cport, sport;
};

enum an_outcome { AN_UNKNOWN, AN_RECOVERED, AN_TIMED_OUT };
const char *an_outcome_str(enum an_outcome o);

struct an_collision {
	double   ts;                   /* first SYN */
	struct an_tuple t;
	bool     server_evidence;      /* a bare ACK answering the SYN was captured */
	bool     prev_in_capture;      /* the earlier incarnation is in the capture */
	double   since_close;          /* s since it closed; <0 unknown */
	unsigned syns, acks;           /* SYNs sent, bare ACKs drawn (each re-arms on PAWS) */
	bool     client_rst;
	enum an_outcome outcome;
	double   delay_ms;             /* recovered: first SYN -> SYN-ACK */
	struct tw_sock tw;             /* what the server held, as rebuilt */
	struct segment syn;
	struct tw_decision d;          /* the model's verdict on the first SYN */
};

#define AN_MAX_LISTED 10000
#define AN_NAT_MAX_ADDRS 4096

struct an_nat {
	uint8_t  family, addr[16];
	unsigned hosts, conns;
};

struct an_result {
	uint64_t packets, segments, skipped;
	uint64_t connections;
	uint64_t port_reuses;          /* a SYN on a 4-tuple that closed <= TIME_WAIT + 60 s
					* ago (older ones cannot collide and are forgotten) */
	uint64_t collisions, coll_paws, coll_seq, coll_unknown;
	uint64_t recovered, timed_out, outcome_unknown;
	uint64_t other_bare_acks;      /* SYN answered by a bare ACK from a live socket */
	uint64_t unanswered;           /* SYN retransmitted, nothing came back, and no
					* earlier incarnation in the capture to judge it by
					* (a client behind a strict firewall sees only this) */
	uint64_t server_closed_first, client_closed_first;
	uint64_t reuse_hist[4];        /* <1 s, 1-10 s, 10-60 s, 60-120 s after the close */
	uint64_t peak_tuples;
	unsigned listed;
	struct an_collision *list;     /* up to AN_MAX_LISTED, in time order */
	unsigned nnat;
	struct an_nat *nat;
};

struct an_opts {
	const struct kprofile *kernel; /* the server's */
	bool     have_server;
	uint8_t  server_family, server_addr[16];
	uint16_t server_port;          /* 0: any */
	void   (*progress)(uint64_t packets, void *arg);
	void    *progress_arg;
};

struct analyzer;
struct analyzer *an_new(const struct an_opts *o);
void an_segment(struct analyzer *a, const struct tcp_seg *s);
/* Close open attempts at end of input and fill r (owned by the analyzer). */
const struct an_result *an_finish(struct analyzer *a);
void an_free(struct analyzer *a);
#endif
