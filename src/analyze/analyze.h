/*
 * analyze.h - TIME_WAIT collisions from packet captures: per-4-tuple
 * history, collision detection, cause, outcome, NAT host counting. One
 * streaming pass; memory bounded by the live tuples and by a cap
 * (an_opts.max_memory). Every kernel decision is asked of src/model/
 * (tw_process), never re-derived here.
 *
 * Usable from other code (sim writes pcaps that analyze must count
 * exactly): an_new, an_segment per TCP segment in time order, an_finish.
 */
#ifndef TWLAB_ANALYZE_H
#define TWLAB_ANALYZE_H
#include <stdbool.h>
#include <stddef.h>
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

/* Why the SYN drew no SYN-ACK. paws/seq: a Linux TIME_WAIT with these numbers
 * refuses it (tw_process). not_timewait: it would have accepted it, so the
 * bare ACK came from something else. unknown: not enough evidence. */
enum an_cause { AN_CAUSE_UNKNOWN = 0, AN_CAUSE_PAWS, AN_CAUSE_SEQ, AN_CAUSE_NOT_TIMEWAIT };
const char *an_cause_str(enum an_cause c);   /* "unknown" "paws" "seq" "not_timewait" */

/* Vantage points: which capture is which. Along the path a SYN travels:
 * client -> firewall inside -> (NAT) -> firewall outside -> server. */
enum an_role { AN_ROLE_UNKNOWN = 0, AN_ROLE_CLIENT, AN_ROLE_FW_INSIDE, AN_ROLE_FW_OUTSIDE, AN_ROLE_SERVER,
	       AN_ROLE__N };
const char *an_role_str(enum an_role r);      /* "client" "firewall-inside" ... */
bool an_role_parse(const char *s, enum an_role *out);   /* also "firewall" = outside */
#define AN_MAX_VANTAGE 64                     /* files told apart */

/* Where a collision's SYN and bare ACK were seen (bits: input files). */
struct an_path {
	bool     known;                /* several vantage points, and the ACK known */
	uint64_t syn_seen, ack_seen;
	int      client_file;          /* the client capture that sent the SYN; -1 none */
	int      last_seen;            /* file that saw the ACK nearest the client; -1 */
	int      lost_before;          /* first file after it that did not see it; -1:
					* it reached every capture along the path */
	enum an_role dropped_by;       /* UNKNOWN when delivered or unknown; FW_INSIDE
					* or FW_OUTSIDE: between those two points. The
					* text says it (an_path_text) */
};

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
	enum an_cause cause;
	const char *note;              /* unknown / not_timewait: the evidence, or the
					* likely source of the ACK (static text) */
	uint32_t ack_ack;              /* the bare ACK's ack (server evidence) */
	struct tw_sock tw;             /* what the server held, as rebuilt */
	struct segment syn;
	/* the bare ACK as the counting capture saw it (server evidence), to
	 * find it in the other vantage points: NAT keeps seq, ack and
	 * timestamps */
	uint32_t ack_seq, ack_tsval, ack_tsecr;
	bool     ack_has_ts;
	struct an_path path;           /* several vantage points: where it went */
	struct {                       /* tw_process() on the first SYN: its verdict and
					* cause (TW_CAUSE_NONE when timestamps are unknown
					* or it would have accepted the SYN) */
		enum tw_verdict verdict;
		enum tw_cause cause;
		bool paws_reject;
	} d;
};
/* The model's whole decision on a collision, with its why lines (not kept
 * per collision: 2 KB of text each). */
void an_collision_decide(const struct kprofile *k, const struct an_collision *c,
			 struct tw_decision *out);

#define AN_MAX_LISTED 10000
#define AN_NAT_HOSTS_MAX 64            /* clocks told apart per address */
#define AN_DEFAULT_MAX_MEMORY (400u << 20)

/* What a NAT host count rests on (an_nat.evidence bits). */
enum { AN_EV_TIMESTAMPS = 1, AN_EV_TTL = 2, AN_EV_SYN_OPTIONS = 4, AN_EV_IP_ID = 8 };
const char *an_evidence_str(unsigned bit);   /* "timestamps" "ttl" "syn_options" "ip_id" */

/* Hosts behind one source address. Timestamp clocks tell hosts apart
 * while a host's offset is per (saddr, daddr) (Linux 4.11 to 6.18.16);
 * from 6.18.17 / 7.0 it is per 4-tuple, so clocks then only separate
 * hosts that used the same port pair. The other evidence: the SYN's TTL
 * (initial TTL and hop count), its window, MSS, window scale and the
 * order of its options (the stack and its settings), and IP IDs that run
 * as one counter per host (Windows, old Linux; modern Linux picks a
 * random one per connection, which tells nothing). hosts is the largest
 * count any of them supports; evidence names those that support it. */
struct an_nat {
	uint8_t  family, addr[16];
	unsigned hosts, conns;
	bool     hosts_capped;         /* AN_NAT_HOSTS_MAX reached: at least that many */
	uint16_t clocks;               /* timestamp clocks told apart */
	uint16_t clocks_one_port;      /* most clocks on one client port */
	bool     clock_per_tuple;      /* the clocks look per 4-tuple: none spans two
					* client ports, several ports seen */
	uint8_t  ttls, fingerprints;   /* distinct SYN TTLs; distinct (TTL, window, MSS,
					* wscale, SACK, options order), at most 16 each */
	uint8_t  ipid_counters;        /* IP ID counters; 0: random per connection or absent */
	uint8_t  evidence;             /* AN_EV_* supporting hosts */
	bool     lower_bound;          /* per-4-tuple clocks: at least hosts */
};

struct an_result {
	uint64_t packets, segments, skipped;
	uint64_t connections;
	uint64_t port_reuses;          /* a SYN on a 4-tuple that closed <= TIME_WAIT + 60 s
					* ago (older ones cannot collide and are forgotten) */
	uint64_t collisions, coll_paws, coll_seq, coll_not_timewait, coll_unknown;
	uint64_t recovered, timed_out, outcome_unknown;
	uint64_t other_bare_acks;      /* SYN answered by a bare ACK from a live socket */
	uint64_t unanswered;           /* SYN retransmitted, nothing came back, and no
					* earlier incarnation in the capture to judge it by
					* (a client behind a strict firewall sees only this) */
	uint64_t server_closed_first, client_closed_first;
	uint64_t reuse_hist[4];        /* <1 s, 1-10 s, 10-60 s, 60-120 s after the close */
	uint64_t reuse_gap_s[121];     /* the same per whole second, 0..120 */
	uint64_t peak_tuples;
	uint64_t not_server;           /* segments that did not match --server */
	uint64_t ts_unknown_segs;      /* segments whose timestamps the snaplen cut */
	/* memory: the cap, the peak, and what the cap made the analyzer forget */
	uint64_t max_memory, peak_memory;
	uint64_t evicted;              /* tuples forgotten early to stay under the cap */
	double   evicted_idle_s;       /* every one had been idle at least this long */
	uint64_t nat_uncounted;        /* SYNs from addresses not tracked (cap) */
	uint64_t unlisted;             /* collisions beyond AN_MAX_LISTED */
	unsigned listed;
	struct an_collision *list;     /* up to AN_MAX_LISTED, in time order */
	unsigned nnat;
	struct an_nat *nat;
	/* vantage points: the role counted, and where bare ACKs ended */
	enum an_role counted_role;     /* UNKNOWN: one vantage point (or not told apart) */
	uint64_t acks_delivered;       /* listed collisions whose bare ACK reached the client's capture */
	uint64_t acks_lost, acks_lost_fw;  /* ... was lost on the way; of which in the firewall */
	uint64_t acks_untraced;        /* no bare ACK captured, or no capture of its client */
	uint64_t sightings_capped;     /* segments not indexed (a quarter of the cap) */
};

struct an_vantage {                   /* one input file */
	const char  *name;
	enum an_role role;
	bool         named;            /* given on the command line, not detected */
	const char  *why;              /* how it was detected (static text) */
};

/* Detect the role of each file whose role is UNKNOWN in v[] (the others
 * are kept) from a look at its first SYNs: the same SYN (ISN and
 * timestamp) in several files, its addresses (NAT rewrites them), the TTLs
 * (each router hop takes one off) and the times. 0, or -1 when some
 * could not be told (their role stays UNKNOWN; err says which). */
int an_vantage_detect(struct an_vantage *v, size_t n, char *err, size_t errlen);
/* "left the server, reached the firewall's outside interface, never
 * reached client-2: dropped by the firewall" */
void an_path_text(const struct an_path *p, const struct an_vantage *v, size_t n, char *buf, size_t len);
/* Where it was lost: "firewall" (in at the outside, never out), "before_firewall",
 * "after_firewall", "between" (no capture between the two points); NULL:
 * delivered or not traced. */
const char *an_path_drop_str(const struct an_path *p, const struct an_vantage *v);

struct an_opts {
	/* several vantage points (nvantage >= 2, roles known): only the files
	 * nearest the server are counted; the others say where segments went */
	const struct an_vantage *vantage;
	size_t   nvantage;
	const struct kprofile *kernel; /* the server's */
	bool     have_server;
	uint8_t  server_family, server_addr[16];
	uint16_t server_port;          /* 0: any */
	uint64_t max_memory;           /* bytes; 0: AN_DEFAULT_MAX_MEMORY */
	void   (*progress)(uint64_t packets, void *arg);
	void    *progress_arg;
};

struct analyzer;
struct analyzer *an_new(const struct an_opts *o);
/* 0, or -1 when memory ran out (an_error() says what; the result so far
 * stays valid and an_finish() may still be called). */
int an_segment(struct analyzer *a, const struct tcp_seg *s);
const char *an_error(const struct analyzer *a);   /* NULL: none */
/* A hint that s will be passed to an_segment() soon: its tuple's slot (and
 * for a SYN its address's NAT slot) is fetched into the cache meanwhile (a
 * lookup in a large table is a miss). Returns the tuple's hash, which
 * an_segment_hinted() takes instead of computing it again. */
uint64_t an_prefetch(const struct analyzer *a, const struct tcp_seg *s);
int an_segment_hinted(struct analyzer *a, const struct tcp_seg *s, uint64_t hint);
/* The second step, a few segments after an_prefetch(s): what the fetched
 * slots point to (a SYN's further NAT clocks). */
void an_prefetch_more(const struct analyzer *a, const struct tcp_seg *s);
/* Close open attempts at end of input and fill r (owned by the analyzer). */
const struct an_result *an_finish(struct analyzer *a);
void an_free(struct analyzer *a);
#endif
