/*
 * analyze.c - one pass over TCP segments: per-4-tuple history and TIME_WAIT
 * collisions.
 *
 * A collision is a SYN on a 4-tuple the server still holds in TIME_WAIT that
 * does not draw a SYN-ACK. Evidence, in order of strength:
 *   server side: the SYN is answered by a bare ACK (no payload) whose ack is
 *     not the SYN's ISN+1. With the earlier incarnation in the capture (and
 *     the server closing first) the TIME_WAIT state is rebuilt from it (a
 *     tuple's incarnations, and that rule, are track.c's, shared with lab);
 *     without it, from the ACK itself: ack = tw_rcv_nxt, tsecr = tw_ts_recent.
 *     A bare ACK from a socket the capture shows still open (half-open or
 *     established: a challenge ACK) is not TIME_WAIT and is counted apart.
 *   client side: the SYN goes unanswered and is retransmitted, on a 4-tuple
 *     whose earlier incarnation the server closed first less than the
 *     TIME_WAIT length ago, and the model says that SYN would be refused.
 * The cause is tw_process()'s (paws/seq) on those numbers; numbers it would
 * have accepted make the cause not_timewait; timestamps the snaplen cut off
 * make it unknown.
 *
 * Memory. A tuple's state is 96 bytes in one open-addressing table, with no
 * allocation per connection; an IPv4 tuple that has seen only its client's
 * SYN (and retransmissions of it: a scan's or a flood's tuples) is 40 bytes
 * in a second table until any other segment moves it to the first. State ends on time, as the kernel's would: a
 * SYN attempt when its next retransmission is overdue, everything else
 * TIME_WAIT + 60 s after the tuple's last segment (a later SYN cannot
 * collide with it). Expiry is decided on the tuple's own clock whenever it
 * is touched, and a sweep reclaims the slots of the others; so results do
 * not depend on when sweeps run. Above max_memory the oldest state is
 * forgotten and counted (evicted); an allocation that fails ends the pass
 * with an error, keeping what was found so far.
 */
#include "analyze/analyze.h"
#include "analyze/track.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A client's SYN retransmission is overdue its RTO + 1 s after the last
 * one. The first RTO is 1 s on Linux (TCP_TIMEOUT_INIT, include/net/tcp.h)
 * and 3 s on older stacks and Windows: take the longer, doubling per
 * retransmission, at most TCP_RTO_MAX (120 s). */
#define SYN_RTO_FIRST_S 3.0
#define SYN_RTO_MAX_S   120.0

/* A SYN attempt's flags, kept in the tracker's user bits (struct
 * track.st): the incarnation's own are track.h's TRK_*. */
enum {
	ST_PENDING = 1 << 16,          /* a SYN attempt in progress */
	ST_ANSWERED = 1 << 17,         /* any server segment for this attempt */
	ST_REFUSED = 1 << 18,          /* an attempt was answered by a RST */
	ST_GAVE_UP = 1 << 19,          /* the client reset its own attempt */
	ST_PREV_TW = 1 << 20,          /* the attempt follows a TIME_WAIT in the capture */
	ST_SYN_TS = 1 << 21,           /* the attempt's SYN had timestamps */
	ST_SYN_TS_UNK = 1 << 22,
	ST_HISTORY = TRK_EST | TRK_CLOSED | ST_REFUSED | TRK_CLI_END | TRK_SRV_END | TRK_CLI_FIN | TRK_SRV_FIN,
					/* anything a later SYN is judged by */
};
_Static_assert((ST_PENDING | ST_ANSWERED | ST_REFUSED | ST_GAVE_UP | ST_PREV_TW | ST_SYN_TS | ST_SYN_TS_UNK) ==
	       ((ST_PENDING | ST_ANSWERED | ST_REFUSED | ST_GAVE_UP | ST_PREV_TW | ST_SYN_TS | ST_SYN_TS_UNK) &
		TRK_USER_BITS), "the attempt's flags stay out of the tracker's");

/* One 4-tuple, oriented (client, server). family 0 marks a free slot. */
struct conn {
	/* what a sweep reads first, within 32 bytes: one cache line whether
	 * the slot starts on a line or half way (96-byte slots) */
	uint8_t  family, syns, bare_acks, syn_flags;
	uint32_t idle_until;           /* s after base: forgotten after this */
	struct track trk;              /* the incarnations (track.h: close_t first, st
					* last); trk.st also holds ST_* */
	uint16_t cport, sport;
	float    last_syn_dt;          /* last SYN of the attempt - syn_t */
	uint8_t  caddr[16], saddr[16];
	double   syn_t;
	uint32_t sa_ack, syn_seq, syn_tsval;
	uint32_t open;                 /* 1 + pool index of the collision this attempt is */
};
_Static_assert(sizeof(struct conn) <= 100, "per-tuple state stays under 100 bytes");
_Static_assert(offsetof(struct conn, trk) + sizeof(struct track) <= 32, "a sweep reads one cache line");

/* An IPv4 tuple that has seen nothing but its client's first SYN and that
 * SYN's retransmissions (a scan's or a SYN flood's tuples never see more):
 * kept in a table of its own, 40 bytes a slot, until a second kind of
 * segment arrives and it moves to a struct conn (promote()). Its state is
 * exactly what on_client() leaves in a fresh struct conn after a SYN: an
 * attempt in progress, no history. fam 0 marks a free slot. */
enum { CC_TS = 1, CC_TS_UNK = 2 };
struct cconn {
	uint32_t caddr, saddr;         /* the first 4 of 16 address bytes; the rest are 0 */
	uint16_t cport, sport;
	uint32_t idle_until;
	double   syn_t;
	float    last_syn_dt;
	uint32_t syn_seq, syn_tsval;
	uint8_t  fam, syns, syn_flags, fl;     /* fl: CC_* */
};
_Static_assert(sizeof(struct cconn) == 40, "a SYN-only tuple is 40 bytes");

struct nat_clock { double t; uint32_t ts; uint16_t port; bool multi_port; };
#define NAT_FP_MAX 16                  /* fingerprints, TTLs and IP ID counters told apart */
struct nat_more {                      /* the second and later of each trait */
	uint32_t fp[NAT_FP_MAX - 1];
	uint16_t ipid[NAT_FP_MAX - 1];
	uint8_t  ttl[NAT_FP_MAX - 1];
};
/* Per client address: its clocks and SYN traits, in one 64-byte slot of an
 * open-addressing table keyed by the address (a SYN from a new address is
 * one cache miss, prefetched with its tuple); family 0 marks a free slot.
 * The first clock and the first value of each trait stay inline (a scan's
 * million addresses send one SYN each); further clocks are in a block of
 * a->clk (4, 8, .. 64 clocks: the block for n - 1 of them), further traits
 * in a->xs, both taken when an address shows a second one. */
enum { NS_CAPPED = 1, NS_FIRST_MULTI = 2 };
struct nat_slot {
	uint8_t  addr[16];
	uint8_t  family;
	uint8_t  nfp, nttl, nipid;
	uint8_t  ttl0;
	uint8_t  fl;                   /* NS_* */
	uint16_t n;                    /* clocks */
	uint32_t fp0;
	uint32_t conns;
	uint32_t order;                /* index in r.nat (first SYN first) */
	uint32_t more;                 /* clocks 2..n: their block in a->clk; 0 none */
	uint32_t x;                    /* 1 + index in a->xs; 0: none */
	uint16_t ipid0;                /* each counter's last value: the first here */
	uint16_t ipid_syns, ipid_cont; /* SYNs with an IP ID; of which continued a counter
					* (both halved together past 65535) */
	uint16_t first_port;           /* the first clock */
	uint32_t first_ts;
	double   first_t;
};
_Static_assert(sizeof(struct nat_slot) == 64, "one cache line per address");

/* A SYN (ISN, timestamp) or a bare ACK (seq, ack, tsecr) seen in one
 * file, and when last: NAT rewrites addresses and ports, not these. The
 * time matters: a TIME_WAIT's bare ACK repeats the numbers of the earlier
 * connection's last ACK, which the earlier client's capture holds too. */
struct sighting { uint64_t key; double t; };

struct analyzer {
	struct an_opts o;
	struct an_result r;
	const char *err;
	char errbuf[160];
	/* tuples */
	struct conn *tab;
	size_t cap, n;                 /* n: tuples in both tables */
	size_t nf;                     /* of which in tab */
	struct cconn *ctab;            /* SYN-only IPv4 tuples */
	size_t ccap, cn;
	size_t cn_resent;              /* of which with syns >= 2 */
	double base, now, last_sweep;
	bool have_base;
	uint64_t since_sweep, since_progress;
	/* collisions being built (one per colliding attempt in progress) */
	struct an_collision *pool;
	uint32_t *pool_free;
	uint32_t pool_cap, pool_nfree;
	unsigned list_cap;
	/* NAT clocks per client address (r.nat is filled from them at the end) */
	struct nat_slot *nat;
	size_t nat_cap;                /* slots, a power of two; 0 before the first */
	struct nat_clock *clk;         /* blocks of further clocks; [0] unused */
	uint32_t clk_cap, clk_n, clk_free[5];   /* free blocks per size (linked by .ts) */
	struct nat_more *xs;
	uint32_t xs_cap, xs_n;
	/* several vantage points: the segments seen where (see vantage.c) */
	bool multi;
	struct sighting *sight;
	size_t sight_cap, sight_n;
	uint64_t mem;                  /* bytes held */
	uint64_t nat_mem;              /* of which the NAT clocks */
};

const char *an_outcome_str(enum an_outcome o)
{
	return o == AN_RECOVERED ? "recovered" : o == AN_TIMED_OUT ? "timed_out" : "unknown";
}

const char *an_cause_str(enum an_cause c)
{
	switch (c) {
	case AN_CAUSE_PAWS: return "paws";
	case AN_CAUSE_SEQ: return "seq";
	case AN_CAUSE_NOT_TIMEWAIT: return "not_timewait";
	default: return "unknown";
	}
}

void an_collision_decide(const struct kprofile *k, const struct an_collision *c, struct tw_decision *out)
{
	tw_process(k, NULL, &c->tw, &c->syn, out);
}

const char *an_error(const struct analyzer *a) { return a->err; }

static void oom(struct analyzer *a, const char *what)
{
	if (a->err)
		return;
	snprintf(a->errbuf, sizeof a->errbuf, "out of memory (%s) after %llu segments, %zu live tuples",
		 what, (unsigned long long)a->r.segments, a->n);
	a->err = a->errbuf;
}

static void mem_add(struct analyzer *a, int64_t bytes)
{
	a->mem = (uint64_t)((int64_t)a->mem + bytes);
	if (a->mem > a->r.peak_memory)
		a->r.peak_memory = a->mem;
}

/* ---- the tuple table */

/* Symmetric in the two endpoints, so one lookup serves both directions. */
static uint64_t hash_ends(uint8_t fam, const uint8_t *a1, uint16_t p1, const uint8_t *a2, uint16_t p2)
{
	uint64_t x[2], y[2], h = 0x9e3779b97f4a7c15ull ^ fam;
	memcpy(x, a1, 16);
	memcpy(y, a2, 16);
	uint64_t e1 = x[0] * 0xff51afd7ed558ccdull ^ x[1] * 0xc4ceb9fe1a85ec53ull ^ p1;
	uint64_t e2 = y[0] * 0xff51afd7ed558ccdull ^ y[1] * 0xc4ceb9fe1a85ec53ull ^ p2;
	e1 *= 0x9e3779b97f4a7c15ull;
	e2 *= 0x9e3779b97f4a7c15ull;
	h ^= (e1 ^ (e1 >> 29)) + (e2 ^ (e2 >> 29));
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

/* ceil(x) for 0 <= x < 2^32, without a libm call (x86-64's baseline has no
 * rounding instruction): the same integer; beyond, UINT32_MAX (a pcapng's
 * 64-bit timestamps may lie centuries apart). */
static inline uint32_t ceil_u32(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 4294967295.0)
		return UINT32_MAX;
	uint32_t r = (uint32_t)x;
	return r + ((double)r < x);
}

static uint64_t conn_hash(const struct conn *c)
{
	return hash_ends(c->family, c->caddr, c->cport, c->saddr, c->sport);
}

/* Linear-probing delete with backward shift: no tombstones. */
static void del(struct analyzer *a, size_t i)
{
	size_t mask = a->cap - 1, j = i;
	a->tab[i].family = 0;
	a->n--;
	a->nf--;
	for (;;) {
		j = (j + 1) & mask;
		if (!a->tab[j].family)
			return;
		size_t k = conn_hash(&a->tab[j]) & mask;
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			a->tab[i] = a->tab[j];
			a->tab[j].family = 0;
			i = j;
		}
	}
}

static void insert_moved(struct conn *tab, size_t cap, const struct conn *c)
{
	size_t i = conn_hash(c) & (cap - 1);
	while (tab[i].family)
		i = (i + 1) & (cap - 1);
	tab[i] = *c;
}

/* Zeroed memory for a table; on huge pages where the kernel gives them
 * (a lookup is one random access; 4 KiB pages add a TLB miss to it). */
static void *big_zalloc(size_t len)
{
	if (len < (2u << 20)) {
		void *p = aligned_alloc(64, len);
		if (p)
			memset(p, 0, len);
		return p;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

static void big_free(void *p, size_t len)
{
	if (!p)
		return;
	if (len < (2u << 20))
		free(p);
	else
		munmap(p, len);
}

static bool grow(struct analyzer *a, size_t ncap)
{
	struct conn *t = big_zalloc(ncap * sizeof *t);
	if (!t)
		return false;
	mem_add(a, (int64_t)(ncap * sizeof *t));
	for (size_t i = 0; a->tab && i < a->cap; i++)
		if (a->tab[i].family)
			insert_moved(t, ncap, &a->tab[i]);
	big_free(a->tab, a->cap * sizeof *t);
	mem_add(a, -(int64_t)(a->cap * sizeof *t));
	a->tab = t;
	a->cap = ncap;
	return true;
}

/* ---- collisions */

static struct an_collision *coll(struct analyzer *a, const struct conn *c)
{
	return c->open ? &a->pool[c->open - 1] : NULL;
}

static struct an_collision *coll_new(struct analyzer *a, struct conn *c)
{
	if (!a->pool_nfree) {
		uint32_t ncap = a->pool_cap ? a->pool_cap * 2 : 64;
		struct an_collision *p = realloc(a->pool, ncap * sizeof *p);
		if (!p)
			return oom(a, "collisions"), NULL;
		a->pool = p;
		uint32_t *f = realloc(a->pool_free, ncap * sizeof *f);
		if (!f)
			return oom(a, "collisions"), NULL;
		a->pool_free = f;
		mem_add(a, (int64_t)((ncap - a->pool_cap) * (sizeof *p + sizeof *f)));
		for (uint32_t i = ncap; i > a->pool_cap; i--)
			a->pool_free[a->pool_nfree++] = i - 1;
		a->pool_cap = ncap;
	}
	uint32_t i = a->pool_free[--a->pool_nfree];
	c->open = i + 1;
	memset(&a->pool[i], 0, sizeof a->pool[i]);
	return &a->pool[i];
}

static void coll_drop(struct analyzer *a, struct conn *c)
{
	if (c->open)
		a->pool_free[a->pool_nfree++] = c->open - 1;
	c->open = 0;
}

static void record(struct analyzer *a, const struct an_collision *k)
{
	struct an_result *r = &a->r;
	r->collisions++;
	r->coll_paws += k->cause == AN_CAUSE_PAWS;
	r->coll_seq += k->cause == AN_CAUSE_SEQ;
	r->coll_not_timewait += k->cause == AN_CAUSE_NOT_TIMEWAIT;
	r->coll_unknown += k->cause == AN_CAUSE_UNKNOWN;
	r->recovered += k->outcome == AN_RECOVERED;
	r->timed_out += k->outcome == AN_TIMED_OUT;
	r->outcome_unknown += k->outcome == AN_UNKNOWN;
	if (r->listed == AN_MAX_LISTED) {
		r->unlisted++;
		return;
	}
	if (r->listed == a->list_cap) {
		unsigned ncap = a->list_cap ? a->list_cap * 2 : 64;
		if (ncap > AN_MAX_LISTED)
			ncap = AN_MAX_LISTED;
		struct an_collision *l = realloc(r->list, ncap * sizeof *l);
		if (!l) {
			oom(a, "collision list");
			r->unlisted++;
			return;
		}
		mem_add(a, (int64_t)((ncap - a->list_cap) * sizeof *l));
		r->list = l;
		a->list_cap = ncap;
	}
	r->list[r->listed++] = *k;
}

static void conn_tuple(const struct conn *c, struct an_tuple *t)
{
	t->family = c->family;
	memcpy(t->caddr, c->caddr, 16);
	memcpy(t->saddr, c->saddr, 16);
	t->cport = c->cport;
	t->sport = c->sport;
}

static void conn_syn(const struct conn *c, struct segment *syn)
{
	memset(syn, 0, sizeof *syn);
	syn->flags = c->syn_flags;
	syn->seq = c->syn_seq;
	syn->has_ts = c->trk.st & ST_SYN_TS;
	syn->tsval = c->syn_tsval;
}

/* The model's verdict on the collision's SYN, and the cause it gives. */
static void decide(struct analyzer *a, struct an_collision *k, bool ts_unknown)
{
	struct tw_decision d;
	tw_process_quiet(a->o.kernel, NULL, &k->tw, &k->syn, &d);
	k->d.verdict = d.verdict;
	k->d.cause = ts_unknown ? TW_CAUSE_NONE : d.cause;
	k->d.paws_reject = d.paws_reject;
	if (ts_unknown) {
		k->cause = AN_CAUSE_UNKNOWN;
		k->note = "timestamps unknown: the snaplen cut the TCP options off";
	} else if (d.verdict == TCP_TW_SYN) {
		k->cause = AN_CAUSE_NOT_TIMEWAIT;
		if (!k->prev_in_capture)
			k->note = "a Linux TIME_WAIT holding the ACK's numbers would have accepted this SYN: "
				  "likely a half-open (ESTABLISHED) peer's challenge ACK (RFC 5961) "
				  "or a non-Linux stack";
		else if (k->server_evidence && k->ack_ack != k->tw.rcv_nxt)
			k->note = "the ACK does not carry the earlier connection's numbers: another socket "
				  "sent it (likely a half-open peer's challenge ACK, RFC 5961)";
		else
			k->note = "the ACK carries the earlier connection's numbers, but a Linux TIME_WAIT "
				  "would have accepted this SYN: a non-Linux stack, or another kernel profile";
	} else if (d.cause == TW_CAUSE_PAWS) {
		k->cause = AN_CAUSE_PAWS;
	} else if (d.cause == TW_CAUSE_SEQ) {
		k->cause = AN_CAUSE_SEQ;
	} else {
		k->cause = AN_CAUSE_UNKNOWN;
		k->note = "the model names no cause for this SYN";
	}
}

/* The SYN attempt ends at time `at`: by a SYN-ACK, a new SYN with another
 * ISN, expiry or the end of the input. Decide client-side evidence and the
 * outcome. */
static void close_attempt(struct analyzer *a, struct conn *c, bool synack, double at)
{
	if (!(c->trk.st & ST_PENDING))
		return;
	double last_syn_t = c->syn_t + c->last_syn_dt;
	bool silent = !(c->trk.st & ST_ANSWERED) && !synack && c->syns >= 2;
	if (!c->open && silent && (c->trk.st & ST_PREV_TW) && c->syn_t - c->trk.close_t < a->o.kernel->tw_len_s) {
		/* client-side capture: the answer never came back */
		struct an_collision *k = coll_new(a, c);
		if (k) {
			k->ts = c->syn_t;
			conn_tuple(c, &k->t);
			k->prev_in_capture = true;
			k->since_close = c->syn_t - c->trk.close_t;
			k->tw = track_tw(&c->trk, c->syn_t);
			conn_syn(c, &k->syn);
			decide(a, k, c->trk.st & (ST_SYN_TS_UNK | TRK_CLI_TS_UNK));
			if (k->d.verdict == TCP_TW_SYN && k->cause != AN_CAUSE_UNKNOWN)
				coll_drop(a, c);    /* the model accepts it: not this */
		}
	}
	if (!c->open && silent)
		a->r.unanswered++;     /* no earlier incarnation to judge it by */
	if (c->open) {
		struct an_collision *k = coll(a, c);
		k->syns = c->syns;
		k->acks = c->bare_acks;
		if (synack) {
			k->outcome = AN_RECOVERED;
			k->delay_ms = (at - c->syn_t) * 1000.0;
		} else if ((c->trk.st & ST_GAVE_UP) || c->syns >= 3 || at - last_syn_t >= 1.0) {
			/* no SYN-ACK, and the client stopped trying or has been
			 * waiting through two retransmissions (>= 3 s) */
			k->outcome = AN_TIMED_OUT;
			k->delay_ms = (last_syn_t - c->syn_t) * 1000.0;
		} else {
			k->outcome = AN_UNKNOWN;
		}
		record(a, k);
		coll_drop(a, c);
	}
	c->trk.st &= ~ST_PENDING;
}

static double deadline_of(uint8_t syns, double syn_t, float last_syn_dt)
{
	unsigned rx = syns ? syns - 1u : 0;
	double rto = SYN_RTO_FIRST_S * (double)(1u << (rx > 6 ? 6 : rx));
	if (rto > SYN_RTO_MAX_S)
		rto = SYN_RTO_MAX_S;
	return syn_t + last_syn_dt + rto + 1.0;
}

static double attempt_deadline(const struct conn *c)
{
	return deadline_of(c->syns, c->syn_t, c->last_syn_dt);
}

/* ---- the SYN-only tuples (struct cconn) */

static void cc_addrs(const struct cconn *e, uint8_t ca[16], uint8_t sa[16])
{
	memset(ca, 0, 16);
	memset(sa, 0, 16);
	memcpy(ca, &e->caddr, 4);
	memcpy(sa, &e->saddr, 4);
}

static uint64_t cc_hash(const struct cconn *e)
{
	uint8_t ca[16], sa[16];
	cc_addrs(e, ca, sa);
	return hash_ends(4, ca, e->cport, sa, e->sport);
}

static void cc_del(struct analyzer *a, size_t i)
{
	size_t mask = a->ccap - 1, j = i;
	a->ctab[i].fam = 0;
	a->n--;
	a->cn--;
	for (;;) {
		j = (j + 1) & mask;
		if (!a->ctab[j].fam)
			return;
		size_t k = cc_hash(&a->ctab[j]) & mask;
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			a->ctab[i] = a->ctab[j];
			a->ctab[j].fam = 0;
			i = j;
		}
	}
}

/* Its attempt ends unanswered (at its deadline, by eviction or at the end
 * of the input): what close_attempt() does for one. */
static void cc_close(struct analyzer *a, const struct cconn *e)
{
	if (e->syns >= 2) {
		a->r.unanswered++;
		a->cn_resent--;
	}
}

/* Does a segment's tuple fit a struct cconn: IPv4, 12 zero bytes after each address? */
static bool cc_fits(const struct tcp_seg *s)
{
	static const uint8_t z[12];
	return s->family == 4 && !memcmp(s->saddr + 4, z, 12) && !memcmp(s->daddr + 4, z, 12);
}

/* Bring c to time `now`: an overdue attempt ends; true when nothing that
 * could still matter is left (the caller deletes it). */
static bool expire(struct analyzer *a, struct conn *c, double now)
{
	if (c->trk.st & ST_PENDING) {
		double dl = attempt_deadline(c);
		if (now < dl)
			return false;
		close_attempt(a, c, false, dl);
	}
	if (!(c->trk.st & ST_HISTORY))
		return true;           /* an attempt that ended unanswered */
	if (now - a->base > (double)c->idle_until)
		return true;
	if ((c->trk.st & TRK_CLOSED) && now - c->trk.close_t > a->o.kernel->tw_len_s + 60.0)
		return true;
	return false;
}

static void sweep(struct analyzer *a)
{
	a->last_sweep = a->now;
	a->since_sweep = 0;
	/* most tuples are a closed connection held for TIME_WAIT: kept, by
	 * the same tests as expire() makes, without calling it */
	double rel = a->now - a->base, hold = a->o.kernel->tw_len_s + 60.0;
	uint32_t need = ceil_u32(rel);   /* rel <= idle_until */
	for (size_t i = 0; i < a->cap; i++) {
		const struct conn *c = &a->tab[i];
		if (!c->family)
			continue;
		if (!(c->trk.st & ST_PENDING) && (c->trk.st & ST_HISTORY) && need <= c->idle_until &&
		    !((c->trk.st & TRK_CLOSED) && a->now - c->trk.close_t > hold))
			continue;
		while (a->tab[i].family && expire(a, &a->tab[i], a->now)) {
			coll_drop(a, &a->tab[i]);
			del(a, i);     /* may shift another entry into i */
		}
	}
	for (size_t i = 0; i < a->ccap; i++)
		while (a->ctab[i].fam && a->now >= deadline_of(a->ctab[i].syns, a->ctab[i].syn_t,
								a->ctab[i].last_syn_dt)) {
			cc_close(a, &a->ctab[i]);
			cc_del(a, i);  /* may shift another entry into i */
		}
}

/* Over the memory cap: forget the least recently active third or so of the
 * tuples, and count them. */
static void evict(struct analyzer *a)
{
	enum { NB = 256 };
	uint64_t hist[NB] = { 0 };
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t i = 0; i < a->cap; i++)
		if (a->tab[i].family) {
			uint32_t u = a->tab[i].idle_until;
			lo = u < lo ? u : lo;
			hi = u > hi ? u : hi;
		}
	for (size_t i = 0; i < a->ccap; i++)
		if (a->ctab[i].fam) {
			uint32_t u = a->ctab[i].idle_until;
			lo = u < lo ? u : lo;
			hi = u > hi ? u : hi;
		}
	if (lo > hi)
		return;
	uint32_t w = (hi - lo) / NB + 1, thr = 0;
	for (size_t i = 0; i < a->cap; i++)
		if (a->tab[i].family)
			hist[(a->tab[i].idle_until - lo) / w]++;
	for (size_t i = 0; i < a->ccap; i++)
		if (a->ctab[i].fam)
			hist[(a->ctab[i].idle_until - lo) / w]++;
	uint64_t want = a->n / 3 + 1, got = 0;
	for (thr = 0; thr < NB - 1 && (got += hist[thr]) < want; thr++)
		;
	uint32_t cut = lo + (thr + 1) * w;     /* idle_until below this goes */
	double idle = a->now - a->base - ((double)cut - 1 - a->o.kernel->tw_len_s - 60.0);
	if (!a->r.evicted || idle < a->r.evicted_idle_s)
		a->r.evicted_idle_s = idle > 0 ? idle : 0;
	for (size_t i = 0; i < a->cap; i++)
		while (a->tab[i].family && a->tab[i].idle_until < cut) {
			close_attempt(a, &a->tab[i], false, a->now);
			coll_drop(a, &a->tab[i]);
			a->r.evicted++;
			del(a, i);
		}
	for (size_t i = 0; i < a->ccap; i++)
		while (a->ctab[i].fam && a->ctab[i].idle_until < cut) {
			cc_close(a, &a->ctab[i]);
			a->r.evicted++;
			cc_del(a, i);
		}
}

/* Linear probing stays short up to 3/4 full (4.5 probes for a miss on
 * average at 2/3, where a table is left after a sweep): past that, expire,
 * then grow within the cap, else evict. */
#define TAB_FULL(n, cap) (((n) + 1) * 4 > (cap) * 3)
/* One table's policy, for either table: *n of *cap slots used (read again
 * after the sweep), entries of esz bytes, grow_fn doubling it. */
static bool room_in(struct analyzer *a, const size_t *n, const size_t *cap, size_t esz,
		    bool (*grow_fn)(struct analyzer *, size_t))
{
	if (!TAB_FULL(*n, *cap))
		return true;
	sweep(a);
	if ((*n + 1) * 3 <= *cap * 2)
		return true;
	/* growing holds the old and the new table at once */
	uint64_t need = a->mem + (uint64_t)*cap * 2 * esz;
	if (need <= a->r.max_memory || *cap < 1024) {
		if (grow_fn(a, *cap * 2))
			return true;
		oom(a, "tuple table");
		return false;
	}
	evict(a);
	return !TAB_FULL(*n, *cap);
}

static bool make_room(struct analyzer *a)
{
	return room_in(a, &a->nf, &a->cap, sizeof(struct conn), grow);
}

static bool cc_grow(struct analyzer *a, size_t ncap)
{
	struct cconn *t = big_zalloc(ncap * sizeof *t);
	if (!t)
		return false;
	mem_add(a, (int64_t)(ncap * sizeof *t));
	for (size_t i = 0; a->ctab && i < a->ccap; i++)
		if (a->ctab[i].fam) {
			size_t j = cc_hash(&a->ctab[i]) & (ncap - 1);
			while (t[j].fam)
				j = (j + 1) & (ncap - 1);
			t[j] = a->ctab[i];
		}
	big_free(a->ctab, a->ccap * sizeof *t);
	mem_add(a, -(int64_t)(a->ccap * sizeof *t));
	a->ctab = t;
	a->ccap = ncap;
	return true;
}

/* make_room() for the SYN-only table */
static bool cc_make_room(struct analyzer *a)
{
	return room_in(a, &a->cn, &a->ccap, sizeof(struct cconn), cc_grow);
}

static void nat_count(struct analyzer *a, uint8_t family, const uint8_t *caddr, const struct tcp_seg *s);

/* A SYN-only tuple x (out of its table) gets a struct conn: h is its hash. */
static struct conn *promote(struct analyzer *a, const struct cconn *x, uint64_t h)
{
	if (TAB_FULL(a->nf, a->cap) && !make_room(a))
		return NULL;
	size_t i = h & (a->cap - 1);
	while (a->tab[i].family)
		i = (i + 1) & (a->cap - 1);
	struct conn *c = &a->tab[i];
	memset(c, 0, sizeof *c);
	c->family = 4;
	memcpy(c->caddr, &x->caddr, 4);
	memcpy(c->saddr, &x->saddr, 4);
	c->cport = x->cport;
	c->sport = x->sport;
	c->idle_until = x->idle_until;
	c->trk.st = ST_PENDING | (x->fl & CC_TS ? ST_SYN_TS : 0) | (x->fl & CC_TS_UNK ? ST_SYN_TS_UNK : 0);
	c->syn_flags = x->syn_flags;
	c->syn_seq = x->syn_seq;
	c->syn_tsval = x->syn_tsval;
	c->syn_t = x->syn_t;
	c->last_syn_dt = x->last_syn_dt;
	c->syns = x->syns;
	a->n++;
	a->nf++;
	if (a->n > a->r.peak_tuples)
		a->r.peak_tuples = a->n;
	return c;
}

/* The tuple of segment s, created when new; *from_client says the
 * direction. NULL: out of memory, (with --server) not the server's, or
 * *done: the segment was a SYN-only tuple's and is fully accounted for
 * (its first SYN, or a retransmission of it). */
static struct conn *lookup(struct analyzer *a, const struct tcp_seg *s, uint64_t h, bool *from_client,
			   bool *done)
{
	*done = false;
	for (;;) {
		size_t mask = a->cap - 1, i = h & mask;
		for (;; i = (i + 1) & mask) {
			struct conn *c = &a->tab[i];
			if (!c->family)
				break;
			if (c->family != s->family)
				continue;
			if (c->cport == s->sport && c->sport == s->dport && !memcmp(c->caddr, s->saddr, 16) &&
			    !memcmp(c->saddr, s->daddr, 16)) {
				*from_client = true;
			} else if (c->cport == s->dport && c->sport == s->sport &&
				   !memcmp(c->caddr, s->daddr, 16) && !memcmp(c->saddr, s->saddr, 16)) {
				*from_client = false;
			} else {
				continue;
			}
			/* the usual case, kept by expire()'s own tests without the call */
			if (!(c->trk.st & ST_PENDING) && (c->trk.st & ST_HISTORY) &&
			    !(s->ts - a->base > (double)c->idle_until) &&
			    !((c->trk.st & TRK_CLOSED) && s->ts - c->trk.close_t > a->o.kernel->tw_len_s + 60.0))
				return c;
			if (!expire(a, c, s->ts))
				return c;
			coll_drop(a, c);       /* its time is past: a fresh tuple */
			del(a, i);
			break;
		}
		bool syn_only = (s->flags & TCPF_SYN) && !(s->flags & (TCPF_ACK | TCPF_RST));
		bool fits = cc_fits(s);
		uint32_t sa4 = 0, da4 = 0;
		if (fits) {
			memcpy(&sa4, s->saddr, 4);
			memcpy(&da4, s->daddr, 4);
		}
		for (size_t j = h & (a->ccap - 1); fits && a->cn && a->ctab[j].fam; j = (j + 1) & (a->ccap - 1)) {
			struct cconn *e = &a->ctab[j];
			bool fwd = e->cport == s->sport && e->sport == s->dport && e->caddr == sa4 && e->saddr == da4;
			bool rev = !fwd && e->cport == s->dport && e->sport == s->sport && e->caddr == da4 &&
				   e->saddr == sa4;
			if (!fwd && !rev)
				continue;
			/* expire()'s: the attempt is overdue, nothing else is kept */
			if (s->ts >= deadline_of(e->syns, e->syn_t, e->last_syn_dt)) {
				cc_close(a, e);
				cc_del(a, j);
				break;         /* a fresh tuple */
			}
			if (fwd && syn_only && s->seq == e->syn_seq) {
				/* on_client()'s retransmission */
				e->idle_until = ceil_u32(s->ts - a->base) + a->o.kernel->tw_len_s + 60;
				a->cn_resent += e->syns == 1;
				if (e->syns < 255)
					e->syns++;
				e->last_syn_dt = (float)(s->ts - e->syn_t);
				*done = true;
				return NULL;
			}
			struct cconn x = *e;   /* anything else: a struct conn takes over */
			a->cn_resent -= x.syns >= 2;
			cc_del(a, j);
			struct conn *c = promote(a, &x, h);
			*from_client = fwd;
			return c;
		}
		/* a new tuple: which side is the client? */
		bool fc;
		if (a->o.have_server) {
			bool dst = s->family == a->o.server_family &&
				   !memcmp(s->daddr, a->o.server_addr, s->family == 4 ? 4 : 16) &&
				   (!a->o.server_port || s->dport == a->o.server_port);
			bool src = s->family == a->o.server_family &&
				   !memcmp(s->saddr, a->o.server_addr, s->family == 4 ? 4 : 16) &&
				   (!a->o.server_port || s->sport == a->o.server_port);
			if (!dst && !src) {
				a->r.not_server++;
				return NULL;
			}
			fc = dst;
		} else if ((s->flags & TCPF_SYN) && !(s->flags & TCPF_ACK)) {
			fc = true;
		} else if ((s->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
			fc = false;
		} else {
			fc = s->dport < s->sport;      /* mid-stream: lower port serves */
		}
		if (fc && fits && syn_only) {
			/* on_client()'s first SYN of a fresh tuple, in a struct cconn */
			if (TAB_FULL(a->cn, a->ccap)) {
				if (!cc_make_room(a))
					return NULL;
				continue;              /* the tables changed: probe again */
			}
			size_t j = h & (a->ccap - 1);
			while (a->ctab[j].fam)
				j = (j + 1) & (a->ccap - 1);
			struct cconn *e = &a->ctab[j];
			e->caddr = sa4;
			e->saddr = da4;
			e->cport = s->sport;
			e->sport = s->dport;
			e->idle_until = ceil_u32(s->ts - a->base) + a->o.kernel->tw_len_s + 60;
			e->syn_t = s->ts;
			e->last_syn_dt = 0;
			e->syn_seq = s->seq;
			e->syn_tsval = s->tsval;
			e->syns = 1;
			e->syn_flags = s->flags;
			e->fl = (uint8_t)((s->has_ts ? CC_TS : 0) | (s->opts_cut ? CC_TS_UNK : 0));
			e->fam = 4;
			a->n++;
			a->cn++;
			if (a->n > a->r.peak_tuples)
				a->r.peak_tuples = a->n;
			nat_count(a, 4, s->saddr, s);
			*done = true;
			return NULL;
		}
		if (TAB_FULL(a->n, a->cap)) {
			if (!make_room(a))
				return NULL;
			continue;                      /* the table changed: probe again */
		}
		i = h & (a->cap - 1);
		while (a->tab[i].family)
			i = (i + 1) & (a->cap - 1);
		struct conn *c = &a->tab[i];
		memset(c, 0, sizeof *c);
		c->family = s->family;
		memcpy(c->caddr, fc ? s->saddr : s->daddr, 16);
		memcpy(c->saddr, fc ? s->daddr : s->saddr, 16);
		c->cport = fc ? s->sport : s->dport;
		c->sport = fc ? s->dport : s->sport;
		a->n++;
		a->nf++;
		if (a->n > a->r.peak_tuples)
			a->r.peak_tuples = a->n;
		*from_client = fc;
		return c;
	}
}

/* ---- NAT hosts from timestamp clocks: connections from one address whose
 * tsval advances with time at ~1 kHz belong to one host. Hosts are kept per
 * address as (t, tsval) reference points. */

static uint64_t addr_hash(uint8_t fam, const uint8_t *addr)
{
	uint64_t x[2];
	memcpy(x, addr, 16);
	uint64_t h = (x[0] ^ fam) * 0xff51afd7ed558ccdull ^ x[1] * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 31);
}

/* The clocks may take a quarter of the cap; beyond it, addresses and
 * clocks go uncounted. */
static bool nat_fits(const struct analyzer *a, uint64_t more)
{
	return a->nat_mem + more <= a->r.max_memory / 4;
}

static bool nat_grow(struct analyzer *a)
{
	size_t ncap = a->nat_cap ? a->nat_cap * 2 : 64;
	if (a->nat_cap && !nat_fits(a, (ncap - a->nat_cap) * sizeof(struct nat_slot)))
		return false;
	struct nat_slot *t = big_zalloc(ncap * sizeof *t);
	if (!t)
		return oom(a, "NAT clocks"), false;
	for (size_t i = 0; i < a->nat_cap; i++)
		if (a->nat[i].family) {
			size_t j = addr_hash(a->nat[i].family, a->nat[i].addr) & (ncap - 1);
			while (t[j].family)
				j = (j + 1) & (ncap - 1);
			t[j] = a->nat[i];
		}
	big_free(a->nat, a->nat_cap * sizeof *t);
	int64_t add = (int64_t)((ncap - a->nat_cap) * sizeof *t);
	mem_add(a, add);
	a->nat_mem += (uint64_t)add;
	a->nat = t;
	a->nat_cap = ncap;
	return true;
}

static struct nat_clock clock_at(const struct analyzer *a, const struct nat_slot *na, unsigned k)
{
	if (k)
		return a->clk[na->more + k - 1];
	return (struct nat_clock){ na->first_t, na->first_ts, na->first_port, na->fl & NS_FIRST_MULTI };
}

static void clock_put(struct analyzer *a, struct nat_slot *na, unsigned k, struct nat_clock c)
{
	if (k) {
		a->clk[na->more + k - 1] = c;
		return;
	}
	na->first_t = c.t;
	na->first_ts = c.ts;
	na->first_port = c.port;
	na->fl = (uint8_t)((na->fl & ~NS_FIRST_MULTI) | (c.multi_port ? NS_FIRST_MULTI : 0));
}

/* The block size class holding m further clocks: 4 << class >= m. */
static unsigned clk_class(unsigned m)
{
	unsigned c = 0;
	while ((4u << c) < m)
		c++;
	return c;
}

/* A block of 4 << cls clocks: its index in a->clk, 0 when the clocks'
 * share of the cap is used up or memory ran out. */
static uint32_t clk_take(struct analyzer *a, unsigned cls)
{
	uint32_t size = 4u << cls, i = a->clk_free[cls];
	if (i) {
		a->clk_free[cls] = a->clk[i].ts;
		return i;
	}
	if (a->clk_n + size > a->clk_cap) {
		uint32_t ncap = a->clk_cap ? a->clk_cap : 256;
		while (a->clk_n + size > ncap)
			ncap *= 2;
		if (!nat_fits(a, (uint64_t)(ncap - a->clk_cap) * sizeof(struct nat_clock)))
			return 0;
		struct nat_clock *m = realloc(a->clk, ncap * sizeof *m);
		if (!m)
			return oom(a, "NAT clocks"), 0;
		mem_add(a, (int64_t)((ncap - a->clk_cap) * sizeof *m));
		a->nat_mem += (uint64_t)(ncap - a->clk_cap) * sizeof *m;
		a->clk = m;
		a->clk_cap = ncap;
		if (!a->clk_n)
			a->clk_n = 1;          /* 0 means none */
	}
	i = a->clk_n;
	a->clk_n += size;
	return i;
}

static bool clock_matches(const struct nat_clock *h, double ts, uint32_t tsval)
{
	double dt = ts - h->t;
	double want = (double)h->ts + dt * 1000.0;
	double diff = fabs((double)(int32_t)(tsval - (uint32_t)(int64_t)want));
	return dt >= -1 && diff <= 1000.0 + fabs(dt) * 20.0;
}

const char *an_evidence_str(unsigned bit)
{
	switch (bit) {
	case AN_EV_TIMESTAMPS: return "timestamps";
	case AN_EV_TTL: return "ttl";
	case AN_EV_SYN_OPTIONS: return "syn_options";
	case AN_EV_IP_ID: return "ip_id";
	default: return "?";
	}
}

static uint32_t syn_fingerprint(const struct tcp_seg *s)
{
	uint64_t h = (uint64_t)s->ttl << 56 ^ (uint64_t)s->win << 40 ^ (uint64_t)s->mss << 24 ^
		     (uint64_t)(uint8_t)s->wscale << 16 ^ (uint64_t)s->sack_ok << 8 ^ s->has_ts;
	h = (h ^ s->opt_order) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

/* The SYN's traits other than its clock. An IP ID continues a counter
 * when it is a little above that counter's last value (a host's other
 * traffic moves it on between SYNs). The first value of each trait is
 * kept inline: a scan's million addresses send one SYN each. */
static struct nat_more *nat_more(struct analyzer *a, struct nat_slot *na)
{
	if (na->x)
		return &a->xs[na->x - 1];
	if (a->xs_n == a->xs_cap) {
		uint32_t ncap = a->xs_cap ? a->xs_cap * 2 : 64;
		if (!nat_fits(a, (uint64_t)(ncap - a->xs_cap) * sizeof(struct nat_more)))
			return NULL;
		struct nat_more *m = realloc(a->xs, ncap * sizeof *m);
		if (!m)
			return oom(a, "NAT clocks"), NULL;
		mem_add(a, (int64_t)((ncap - a->xs_cap) * sizeof *m));
		a->nat_mem += (uint64_t)(ncap - a->xs_cap) * sizeof *m;
		a->xs = m;
		a->xs_cap = ncap;
	}
	memset(&a->xs[a->xs_n], 0, sizeof a->xs[0]);
	na->x = ++a->xs_n;
	return &a->xs[na->x - 1];
}

static void nat_traits(struct analyzer *a, struct nat_slot *na, const struct tcp_seg *s)
{
	const struct nat_more *x = na->x ? &a->xs[na->x - 1] : NULL;
	struct nat_more *w;
	uint32_t fp = syn_fingerprint(s);
	bool have = na->nfp && na->fp0 == fp;
	for (unsigned i = 1; !have && i < na->nfp; i++)
		have = x->fp[i - 1] == fp;
	if (!have && !na->nfp) {
		na->fp0 = fp;
		na->nfp = 1;
	} else if (!have && na->nfp < NAT_FP_MAX && (w = nat_more(a, na))) {
		w->fp[na->nfp++ - 1] = fp;
	}
	x = na->x ? &a->xs[na->x - 1] : NULL;
	have = na->nttl && na->ttl0 == s->ttl;
	for (unsigned i = 1; !have && i < na->nttl; i++)
		have = x->ttl[i - 1] == s->ttl;
	if (!have && !na->nttl) {
		na->ttl0 = s->ttl;
		na->nttl = 1;
	} else if (!have && na->nttl < NAT_FP_MAX && (w = nat_more(a, na))) {
		w->ttl[na->nttl++ - 1] = s->ttl;
	}
	if (!s->has_ipid || !s->ipid)
		return;                /* IPv6, or a stack that sends 0 */
	if (na->ipid_syns == UINT16_MAX) {
		na->ipid_syns /= 2;
		na->ipid_cont /= 2;
	}
	na->ipid_syns++;
	for (unsigned i = 0; i < na->nipid; i++) {
		uint16_t *last = i ? &a->xs[na->x - 1].ipid[i - 1] : &na->ipid0;
		uint16_t d = (uint16_t)(s->ipid - *last);
		if (d >= 1 && d <= 2048) {
			*last = s->ipid;
			na->ipid_cont++;
			return;
		}
	}
	if (!na->nipid) {
		na->ipid0 = s->ipid;
		na->nipid = 1;
	} else if (na->nipid < NAT_FP_MAX && (w = nat_more(a, na))) {
		w->ipid[na->nipid++ - 1] = s->ipid;
	}
}

/* How many hosts, and on what evidence (at the end of the pass). */
static void nat_decide(const struct analyzer *a, struct an_nat *r, const struct nat_slot *na)
{
	unsigned multi = 0, single = 0, most = 0;
	bool two_ports = false;
	for (unsigned k = 0; k < na->n; k++) {
		struct nat_clock x = clock_at(a, na, k);
		if (x.multi_port) {
			multi++;
			continue;
		}
		single++;
		unsigned same = 0;
		for (unsigned j = 0; j < na->n; j++) {
			struct nat_clock y = clock_at(a, na, j);
			same += !y.multi_port && y.port == x.port;
			two_ports |= !y.multi_port && y.port != x.port;
		}
		if (same > most)
			most = same;
	}
	r->clocks = na->n;
	r->clocks_one_port = (uint16_t)most;
	/* several clocks, none seen on two ports: per-4-tuple offsets. They
	 * then count only the hosts that shared a port pair. */
	r->clock_per_tuple = single >= 3 && two_ports && !r->hosts_capped;
	unsigned by_clock = r->clock_per_tuple ? multi + most : na->n;
	r->ttls = na->nttl;
	r->fingerprints = na->nfp;
	/* counters: most SYNs continue one (random IP IDs rarely land within
	 * 2048 above another: about 1 in 32 per counter) */
	unsigned starts = na->ipid_syns - na->ipid_cont;
	r->ipid_counters = (uint8_t)(na->ipid_syns >= 4 && (unsigned)na->ipid_cont * 2 >= na->ipid_syns &&
				     starts <= NAT_FP_MAX ? starts : 0);
	unsigned h = by_clock;
	if (r->fingerprints > h)
		h = r->fingerprints;
	if (r->ipid_counters > h)
		h = r->ipid_counters;
	if (!h)
		h = 1;
	r->hosts = h;
	r->evidence = 0;
	if (by_clock == h && na->n)
		r->evidence |= AN_EV_TIMESTAMPS;
	if (r->ttls == h)
		r->evidence |= AN_EV_TTL;
	if (r->fingerprints == h)
		r->evidence |= AN_EV_SYN_OPTIONS;
	if (r->ipid_counters == h)
		r->evidence |= AN_EV_IP_ID;
	r->lower_bound = r->clock_per_tuple || r->hosts_capped;
}

static void nat_count(struct analyzer *a, uint8_t family, const uint8_t *caddr, const struct tcp_seg *s)
{
	double ts = s->ts;
	uint32_t tsval = s->tsval;
	uint64_t h = addr_hash(family, caddr);
	struct nat_slot *na;
	size_t j;

	if (a->nat_cap) {
		for (j = h & (a->nat_cap - 1); a->nat[j].family; j = (j + 1) & (a->nat_cap - 1)) {
			na = &a->nat[j];
			if (na->family == family && !memcmp(na->addr, caddr, 16))
				goto found;
		}
	}
	if ((a->r.nnat + 1) * 2 > a->nat_cap && !nat_grow(a)) {
		a->r.nat_uncounted++;
		return;
	}
	for (j = h & (a->nat_cap - 1); a->nat[j].family; j = (j + 1) & (a->nat_cap - 1))
		;
	na = &a->nat[j];
	na->family = family;
	memcpy(na->addr, caddr, 16);
	na->order = a->r.nnat++;
	na->conns = 1;
	nat_traits(a, na, s);
	if (s->has_ts) {
		clock_put(a, na, 0, (struct nat_clock){ ts, tsval, s->sport, false });
		na->n = 1;
	}
	return;
found:
	na->conns++;
	nat_traits(a, na, s);
	if (!s->has_ts)
		return;
	for (unsigned k = 0; k < na->n; k++) {
		struct nat_clock hc = clock_at(a, na, k);
		if (clock_matches(&hc, ts, tsval)) {
			bool mp = hc.multi_port || hc.port != s->sport;
			clock_put(a, na, k, (struct nat_clock){ ts, tsval, s->sport, mp });
			return;
		}
	}
	if (!na->n) {
		clock_put(a, na, 0, (struct nat_clock){ ts, tsval, s->sport, false });
		na->n = 1;
		return;
	}
	if (na->n == AN_NAT_HOSTS_MAX) {
		na->fl |= NS_CAPPED;
		return;
	}
	unsigned m = na->n - 1u;       /* further clocks held */
	if (!m || (m >= 4 && !(m & (m - 1)))) {
		/* none yet, or the block is full: the next size */
		unsigned cls = clk_class(m + 1);
		uint32_t b = clk_take(a, cls);
		if (!b) {
			a->r.nat_uncounted++;  /* the clocks' share of the cap is used up */
			return;
		}
		if (m) {
			memcpy(&a->clk[b], &a->clk[na->more], m * sizeof *a->clk);
			unsigned old = clk_class(m);
			a->clk[na->more].ts = a->clk_free[old];
			a->clk_free[old] = na->more;
		}
		na->more = b;
	}
	a->clk[na->more + m] = (struct nat_clock){ ts, tsval, s->sport, false };
	na->n++;
}

/* ---- one incarnation after another */

static void new_incarnation(struct analyzer *a, struct conn *c)
{
	a->r.connections++;
	track_begin(&c->trk);
}

static void closed_first(struct analyzer *a, enum trk_event ev)
{
	a->r.client_closed_first += ev == TRK_EV_CLIENT_CLOSED_FIRST;
	a->r.server_closed_first += ev == TRK_EV_SERVER_CLOSED_FIRST;
}

static void on_client(struct analyzer *a, struct conn *c, const struct tcp_seg *s)
{
	if ((s->flags & TCPF_SYN) && !(s->flags & (TCPF_ACK | TCPF_RST))) {
		if ((c->trk.st & ST_PENDING) && s->seq == c->syn_seq) {          /* retransmission */
			if (c->syns < 255)
				c->syns++;
			c->last_syn_dt = (float)(s->ts - c->syn_t);
			return;
		}
		if (track_open(&c->trk) && s->seq + 1 == c->sa_ack)
			return;                      /* its SYN-ACK was captured first */
		close_attempt(a, c, false, s->ts);
		/* refused by a RST and sent again with the same ISN: the same
		 * attempt (a retry, as tshark sees it), not a reuse of the pair */
		bool retry = (c->trk.st & ST_REFUSED) && !(c->trk.st & ST_PENDING) && s->seq == c->syn_seq &&
			     c->syns;
		if (!retry && (track_used(&c->trk) || (c->trk.st & (TRK_CLOSED | ST_REFUSED)))) {
			a->r.port_reuses++;
			double gap = (c->trk.st & TRK_CLOSED) ? s->ts - c->trk.close_t : -1;
			int b = gap < 0 ? -1 : gap < 1 ? 0 : gap < 10 ? 1 : gap < 60 ? 2 : 3;
			if (b >= 0) {
				a->r.reuse_hist[b]++;
				a->r.reuse_gap_s[gap < 120 ? (unsigned)gap : 120]++;
			}
		}
		uint32_t keep = c->trk.st & ~(uint32_t)(ST_PENDING | ST_ANSWERED | ST_GAVE_UP | ST_PREV_TW |
							ST_SYN_TS | ST_SYN_TS_UNK);
		if (track_server_tw(&c->trk))
			keep |= ST_PREV_TW;
		keep |= ST_PENDING;
		if (s->has_ts)
			keep |= ST_SYN_TS;
		if (s->opts_cut)
			keep |= ST_SYN_TS_UNK;
		c->trk.st = keep;
		c->syn_flags = s->flags;
		c->syn_seq = s->seq;
		c->syn_tsval = s->tsval;
		c->syn_t = s->ts;
		c->last_syn_dt = 0;
		c->syns = 1;
		c->bare_acks = 0;
		nat_count(a, c->family, c->caddr, s);
		return;
	}
	if (s->flags & TCPF_RST) {
		if (c->trk.st & ST_PENDING) {
			if (c->open)
				coll(a, c)->client_rst = true;
			else
				c->trk.st |= ST_GAVE_UP;
		}
		track_reset(&c->trk, s->ts);
		return;
	}
	/* ACK / data / FIN of an incarnation */
	if ((c->trk.st & ST_PENDING) && !c->open && (s->flags & TCPF_ACK) && c->syns) {
		/* the handshake completed although the SYN-ACK is not in the capture */
		c->trk.st &= ~(uint32_t)ST_PENDING;
		if (!track_open(&c->trk))
			new_incarnation(a, c);
	}
	if (c->trk.st & ST_PENDING)
		return;
	closed_first(a, track_client(&c->trk, s));
}

static void on_server(struct analyzer *a, struct conn *c, const struct tcp_seg *s)
{
	if ((s->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
		bool ours = (c->trk.st & ST_PENDING) && s->ack == c->syn_seq + 1;
		close_attempt(a, c, ours, s->ts);
		if (track_synack_begins(&c->trk, ours))
			new_incarnation(a, c);
		track_server(&c->trk, s);
		c->sa_ack = s->ack;
		return;
	}
	if (c->trk.st & ST_PENDING) {
		c->trk.st |= ST_ANSWERED;
		enum trk_answer ans = track_answer(&c->trk, s, c->syn_seq);
		if (ans == TRK_ANS_RST) {
			c->trk.st |= ST_REFUSED;
			if (!c->open)
				c->trk.st &= ~(uint32_t)ST_PENDING;
			return;
		}
		if (ans != TRK_ANS_TW_ACK && ans != TRK_ANS_LIVE_ACK)
			return;
		if (c->bare_acks < 255)
			c->bare_acks++;
		if (c->open)
			return;
		if (ans == TRK_ANS_LIVE_ACK) {
			a->r.other_bare_acks++;
			return;
		}
		struct an_collision *k = coll_new(a, c);
		if (!k)
			return;
		k->ts = c->syn_t;
		conn_tuple(c, &k->t);
		k->server_evidence = true;
		k->ack_ack = s->ack;
		k->ack_seq = s->seq;
		k->ack_has_ts = s->has_ts;
		k->ack_tsval = s->tsval;
		k->ack_tsecr = s->tsecr;
		conn_syn(c, &k->syn);
		bool ts_unknown = (c->trk.st & ST_SYN_TS_UNK) != 0;
		if (c->trk.st & ST_PREV_TW) {
			k->prev_in_capture = true;
			k->since_close = c->syn_t - c->trk.close_t;
			k->tw = track_tw(&c->trk, c->syn_t);
			ts_unknown |= track_ts_unknown(&c->trk);
		} else {
			k->since_close = -1;
			k->tw = track_tw_from_ack(s);
			ts_unknown |= s->opts_cut;
		}
		decide(a, k, ts_unknown);
		return;
	}
	if (s->flags & TCPF_RST) {
		track_reset(&c->trk, s->ts);
		return;
	}
	closed_first(a, track_server(&c->trk, s));
}

/* ---- vantage points: where each SYN and bare ACK was seen */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (h ^ (h >> 33)) | 1;    /* never 0: 0 marks a free slot */
}

static uint64_t syn_key(uint32_t seq, bool has_ts, uint32_t tsval)
{
	return mix(((uint64_t)seq << 32 | (has_ts ? tsval : 0)) ^ (has_ts ? 0x5a5a000000000000ull : 0x1111));
}

/* The bare ACKs a TIME_WAIT sends for one collision share seq, ack and
 * tsecr (= ts_recent); their tsval moves on. */
static uint64_t ack_key(uint32_t seq, uint32_t ack, bool has_ts, uint32_t tsecr)
{
	return mix(mix((uint64_t)seq << 32 | ack) ^ ((uint64_t)(has_ts ? tsecr : 0) << 1) ^ (has_ts ? 7 : 3));
}

static struct sighting *sight_find(const struct analyzer *a, uint64_t key)
{
	if (!a->sight_cap)
		return NULL;
	for (size_t i = key & (a->sight_cap - 1);; i = (i + 1) & (a->sight_cap - 1)) {
		if (a->sight[i].key == key)
			return &a->sight[i];
		if (!a->sight[i].key)
			return NULL;
	}
}

static uint64_t in_file(uint64_t key, unsigned file)
{
	return mix(key + 0x9e3779b97f4a7c15ull * (file + 1));
}

static void sight_add(struct analyzer *a, uint64_t key, double t)
{
	if ((a->sight_n + 1) * 2 > a->sight_cap) {
		size_t ncap = a->sight_cap ? a->sight_cap * 2 : 4096;
		if (a->mem + ncap * sizeof(struct sighting) > a->r.max_memory / 4) {
			struct sighting *x = sight_find(a, key);
			if (x)
				x->t = t;
			else
				a->r.sightings_capped++;
			return;
		}
		struct sighting *t = calloc(ncap, sizeof *t);
		if (!t) {
			oom(a, "vantage sightings");
			return;
		}
		for (size_t i = 0; i < a->sight_cap; i++)
			if (a->sight[i].key) {
				size_t j = a->sight[i].key & (ncap - 1);
				while (t[j].key)
					j = (j + 1) & (ncap - 1);
				t[j] = a->sight[i];
			}
		free(a->sight);
		mem_add(a, (int64_t)((ncap - a->sight_cap) * sizeof *t));
		a->sight = t;
		a->sight_cap = ncap;
	}
	size_t i = key & (a->sight_cap - 1);
	while (a->sight[i].key && a->sight[i].key != key)
		i = (i + 1) & (a->sight_cap - 1);
	if (!a->sight[i].key) {
		a->sight[i].key = key;
		a->sight_n++;
	}
	a->sight[i].t = t;
}

static void sight(struct analyzer *a, const struct tcp_seg *s)
{
	if ((s->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)) == TCPF_SYN)
		sight_add(a, in_file(syn_key(s->seq, s->has_ts, s->tsval), s->file), s->ts);
	else if (s->flags == TCPF_ACK && s->len == 0)
		sight_add(a, in_file(ack_key(s->seq, s->ack, s->has_ts, s->tsecr), s->file), s->ts);
}

/* The files that saw key at or after `after`. */
static uint64_t seen_in(const struct analyzer *a, uint64_t key, double after)
{
	uint64_t bits = 0;
	for (size_t i = 0; i < a->o.nvantage; i++) {
		const struct sighting *x = sight_find(a, in_file(key, (unsigned)i));
		if (x && x->t >= after)
			bits |= 1ull << i;
	}
	return bits;
}

/* Walk the way back from the server to the client that sent the SYN:
 * where the collision's bare ACK was seen last, and the first capture
 * after that which never saw it. */
static void trace_path(const struct analyzer *a, struct an_collision *k)
{
	const struct an_vantage *v = a->o.vantage;
	struct an_path *p = &k->path;
	/* captures on other hosts may run a little apart: a second, or half
	 * the time since the earlier connection closed when that is less */
	double slack = k->since_close >= 0 && k->since_close < 2.0 ? k->since_close / 2 : 1.0;

	memset(p, 0, sizeof *p);
	p->client_file = p->last_seen = p->lost_before = -1;
	p->syn_seen = seen_in(a, syn_key(k->syn.seq, k->syn.has_ts, k->syn.tsval), k->ts - slack);
	if (!k->server_evidence)
		return;                /* no bare ACK captured to follow */
	p->ack_seen = seen_in(a, ack_key(k->ack_seq, k->ack_ack, k->ack_has_ts, k->ack_tsecr), k->ts - slack);
	for (size_t i = 0; i < a->o.nvantage; i++)
		if (v[i].role == AN_ROLE_CLIENT && (p->syn_seen >> i & 1)) {
			p->client_file = (int)i;
			break;
		}
	p->known = true;
	for (int r = AN_ROLE_SERVER; r >= AN_ROLE_CLIENT; r--) {
		int seen = -1, any = -1;
		for (size_t i = 0; i < a->o.nvantage; i++) {
			if (v[i].role != (enum an_role)r)
				continue;
			if (r == AN_ROLE_CLIENT && (int)i != p->client_file)
				continue;
			if (any < 0)
				any = (int)i;
			if (seen < 0 && (p->ack_seen >> i & 1))
				seen = (int)i;
		}
		if (any < 0)
			continue;      /* no capture at this point */
		if (seen >= 0 && p->lost_before < 0) {
			p->last_seen = seen;
			continue;
		}
		if (seen < 0 && p->lost_before < 0 && p->last_seen >= 0)
			p->lost_before = any;
	}
}

/* ---- the pass */

struct analyzer *an_new(const struct an_opts *o)
{
	struct analyzer *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->o = *o;
	a->r.max_memory = o->max_memory ? o->max_memory : AN_DEFAULT_MAX_MEMORY;
	mem_add(a, sizeof *a);
	/* several vantage points told apart: count where the capture is
	 * nearest the server, follow segments in all */
	if (o->nvantage >= 2 && o->nvantage <= AN_MAX_VANTAGE) {
		enum an_role top = AN_ROLE_UNKNOWN;
		bool all = true;
		for (size_t i = 0; i < o->nvantage; i++) {
			all &= o->vantage[i].role != AN_ROLE_UNKNOWN;
			if (o->vantage[i].role > top)
				top = o->vantage[i].role;
		}
		if (all) {
			a->multi = true;
			a->r.counted_role = top;
		}
	}
	if (!grow(a, 1024) || !cc_grow(a, 1024)) {
		big_free(a->tab, a->cap * sizeof *a->tab);
		free(a);
		return NULL;
	}
	return a;
}

void an_free(struct analyzer *a)
{
	if (!a)
		return;
	big_free(a->tab, a->cap * sizeof *a->tab);
	big_free(a->ctab, a->ccap * sizeof *a->ctab);
	big_free(a->nat, a->nat_cap * sizeof *a->nat);
	free(a->clk);
	free(a->xs);
	free(a->pool);
	free(a->pool_free);
	free(a->r.list);
	free(a->r.nat);
	free(a->sight);
	free(a);
}

uint64_t an_prefetch(const struct analyzer *a, const struct tcp_seg *s)
{
	uint64_t h = hash_ends(s->family, s->saddr, s->sport, s->daddr, s->dport);
	const char *slot = (const char *)&a->tab[h & (a->cap - 1)];
	__builtin_prefetch(slot);
	__builtin_prefetch(slot + sizeof(struct conn) - 1);   /* it may span two lines */
	/* a SYN or SYN-ACK: the tuple may be (or become) a SYN-only one */
	if (s->flags & TCPF_SYN) {
		const char *e = (const char *)&a->ctab[h & (a->ccap - 1)];
		__builtin_prefetch(e);
		__builtin_prefetch(e + sizeof(struct cconn) - 1);
	}
	/* a SYN opens an attempt: its address's NAT slot is read too */
	if ((s->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN && a->nat_cap)
		__builtin_prefetch(&a->nat[addr_hash(s->family, s->saddr) & (a->nat_cap - 1)]);
	return h;
}

/* Its NAT slot was fetched a few segments ago: fetch the clocks it points
 * to (a scan's addresses hold several each). */
void an_prefetch_more(const struct analyzer *a, const struct tcp_seg *s)
{
	if ((s->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) != TCPF_SYN || !a->nat_cap)
		return;
	const struct nat_slot *na = &a->nat[addr_hash(s->family, s->saddr) & (a->nat_cap - 1)];
	if (na->family != s->family || na->n < 2 || memcmp(na->addr, s->saddr, 16))
		return;                /* not the first in its chain: left to the miss */
	const char *b = (const char *)&a->clk[na->more];
	size_t len = (size_t)(na->n - 1) * sizeof(struct nat_clock);
	for (size_t o = 0; o < len; o += 64)
		__builtin_prefetch(b + o);
	__builtin_prefetch(b + len - 1);
}

static int segment(struct analyzer *a, const struct tcp_seg *s, uint64_t h);

int an_segment(struct analyzer *a, const struct tcp_seg *s)
{
	return segment(a, s, hash_ends(s->family, s->saddr, s->sport, s->daddr, s->dport));
}

int an_segment_hinted(struct analyzer *a, const struct tcp_seg *s, uint64_t hint)
{
	return segment(a, s, hint);
}

static int segment(struct analyzer *a, const struct tcp_seg *s, uint64_t h)
{
	bool from_client, done;
	struct conn *c;

	if (a->err)
		return -1;
	a->r.segments++;
	if (!a->have_base) {
		a->base = a->now = a->last_sweep = s->ts;
		a->have_base = true;
	}
	if (s->ts > a->now)
		a->now = s->ts;
	a->r.ts_unknown_segs += s->opts_cut;
	if (a->multi) {
		sight(a, s);
		if (s->file >= a->o.nvantage || a->o.vantage[s->file].role != a->r.counted_role)
			return a->err ? -1 : 0;
	}
	c = lookup(a, s, h, &from_client, &done);
	if (!c && !done)
		return a->err ? -1 : 0;
	if (c) {
		double rel = s->ts - a->base;
		c->idle_until = ceil_u32(rel) + a->o.kernel->tw_len_s + 60;
		if (from_client)
			on_client(a, c, s);
		else
			on_server(a, c, s);
	}
	/* reclaim expired slots once the capture's clock has moved on and
	 * enough segments passed for the walk to cost O(1) each */
	if (++a->since_sweep >= a->cap + a->ccap && a->now - a->last_sweep >= 1.0)
		sweep(a);
	if (++a->since_progress >= 1 << 20) {
		a->since_progress = 0;
		if (a->o.progress)
			a->o.progress(a->r.segments, a->o.progress_arg);
	}
	return a->err ? -1 : 0;
}

static int by_time(const void *x, const void *y)
{
	double a = ((const struct an_collision *)x)->ts, b = ((const struct an_collision *)y)->ts;
	return a < b ? -1 : a > b;
}

const struct an_result *an_finish(struct analyzer *a)
{
	for (size_t i = 0; i < a->cap; i++)
		if (a->tab[i].family) {
			struct conn *c = &a->tab[i];
			if ((c->trk.st & ST_PENDING) && a->now >= attempt_deadline(c))
				close_attempt(a, c, false, attempt_deadline(c));
			else
				close_attempt(a, c, false, a->now);
			coll_drop(a, c);
		}
	a->r.unanswered += a->cn_resent;       /* cc_close() of every SYN-only tuple left */
	if (a->r.listed)
		qsort(a->r.list, a->r.listed, sizeof *a->r.list, by_time);
	/* r.nat in the order the addresses were first seen */
	if (a->r.nnat && !a->r.nat && !(a->r.nat = calloc(a->r.nnat, sizeof *a->r.nat))) {
		oom(a, "NAT hosts");
		a->r.nnat = 0;
	}
	for (size_t j = 0; a->r.nnat && j < a->nat_cap; j++) {
		const struct nat_slot *na = &a->nat[j];
		if (!na->family)
			continue;
		struct an_nat *n = &a->r.nat[na->order];
		n->family = na->family;
		memcpy(n->addr, na->addr, 16);
		n->conns = na->conns;
		n->hosts_capped = na->fl & NS_CAPPED;
		nat_decide(a, n, na);
	}
	for (unsigned i = 0; a->multi && i < a->r.listed; i++) {
		struct an_collision *k = &a->r.list[i];
		trace_path(a, k);
		if (!k->path.known || (k->path.lost_before < 0 && k->path.client_file < 0))
			a->r.acks_untraced++;      /* not followed to the client that sent the SYN */
		else if (k->path.lost_before < 0)
			a->r.acks_delivered++;
		else {
			a->r.acks_lost++;
			const char *d = an_path_drop_str(&k->path, a->o.vantage);
			a->r.acks_lost_fw += d && !strcmp(d, "firewall");
		}
	}
	return &a->r;
}
