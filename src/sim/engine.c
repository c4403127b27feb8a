/*
 * engine.c - the discrete-event loop of `twlab sim` (sim.h).
 *
 * Time is one global clock in microseconds. The NAT and the firewall sit next
 * to the server (no delay between them); a client is rtt/2 away. An arrival
 * event happens when the client's first SYN reaches the server; the client
 * called connect() rtt/2 earlier.
 *
 * What happens to a connection, and who decides it:
 *   client port      port_alloc_connect()        (model/fleet.h, per version)
 *   client TSval/ISN tcp_tsval(), tcp_isn()       (model/fleet.h)
 *   NAT address      nat_overload_addr(), nat_one_to_one_pick(), static map
 *   NAT port         nat_pick_port()              (model/fleet.h, per preset)
 *   server           tw_process_quiet()           (model/timewait.c)
 *   firewall         fw_reply_passes()            (model/middlebox.c)
 *   client SYN_SENT  synsent_process_quiet()      (model/synsent.c)
 * The engine keeps the tables those functions read (TIME_WAIT by 4-tuple,
 * NAT mappings, client ports) and the timers; it never decides a verdict.
 * Timer values it applies itself, each cited where used: the SYN RTO
 * schedule (tcp_timer.c, from the kprofile), conntrack's SYN_SENT hold,
 * and conntrack reopening a client's own closed session.
 *
 * Events with a fixed delay (connection close, NAT hold end, TIME_WAIT end)
 * are appended in time order to rings; the clients' next arrivals sit in a
 * loser tree, and only the few SYN attempts that collided go through a heap. A clean connection allocates
 * nothing: every table grows by doubling to its peak and stays.
 */
#include "sim/sim.h"
#include "sim/table.h"
#include "sim/rexp.h"
#include "model/fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US 1000000LL
#define INF INT64_MAX

/* Request and response sizes (bytes): only sequence numbers and the pcap
 * see them. */
#define REQ_LEN 80u
#define RESP_LEN 240u

/* The wall clock at simulated time 0 (ISNs hash ktime_get_real): a fixed
 * date, so a run depends on its seed only. 2026-01-01T00:00:00Z. */
#define EPOCH_NS 1767225600000000000ull

/* nf_conntrack_proto_tcp.c tcp_timeouts[TCP_CONNTRACK_SYN_SENT] = 2 MINS
 * (every version read: 3.10 AndreiLux/ref-3.10, 6.18): a session whose SYN
 * never drew a SYN-ACK keeps its NAT tuple this long after the last SYN. */
#define SYN_SENT_HOLD_US (120 * US)

struct client {
	uint32_t addr;
	uint32_t o2o;                /* one-to-one: pool index + 1 held, 0 none */
	uint32_t sessions;           /* one-to-one: live sessions + held mappings */
	uint32_t ov_addr;            /* overload: its address (depends only on the
				      * client and the server: computed once) */
	struct port_alloc pa;
	struct host_clock clk;
	struct model_rng rng;        /* this host's own draws (port steps) */
	uint64_t conns, colls, touts;
};

/* A connection that got its SYN-ACK, until the FIN exchange ends. Closed in
 * the order accepted (constant lifetime), so a ring is its queue. */
struct conn {
	int64_t  t_close;
	uint32_t client;
	uint32_t nat_addr;
	uint16_t cport, nat_port;
	uint32_t isn, sisn;
	uint32_t ts_off;             /* the client's TS offset on this 4-tuple */
	bool     lazy;               /* isn, ts_off not computed (clock_later) */
	int64_t  c0;                 /* connect() time (client time) */
};

/* A server TIME_WAIT mini-socket. Entries are appended when they begin (or
 * are re-armed), so the ring is also their expiry queue; the index (pmap)
 * points at the current copy, and a copy it no longer points at is void. */
struct twe {
	uint64_t key;
	int64_t  exp;
	uint32_t rcv_nxt, snd_nxt, ts_recent;
	bool     ts_set;
	/* lazy: rcv_nxt and ts_recent not computed yet (clock_later): rcv_nxt
	 * holds the client, ts_recent the client's port, last_oow the
	 * connect() time; tw_find() computes them when a SYN finds the entry */
	bool     lazy;
	/* dead: killed, or re-armed (a newer copy): its expiry has nothing
	 * to remove, and skips the index */
	bool     dead;
	int64_t  ts_stamp;           /* when ts_recent was recorded */
	int64_t  last_oow;           /* last out-of-window ACK; INT64_MIN: never */
};

struct twring {
	struct twe *v;
	size_t cap;                  /* power of two */
	uint64_t head, tail;         /* sequence numbers: live copies in [head, tail) */
	size_t peak;
};

struct conn_ring {
	struct conn *v;
	size_t cap, head, n, peak;
};

/* A SYN attempt whose first SYN did not draw a SYN-ACK. */
struct attempt {
	bool     used;
	uint32_t gen;
	uint32_t client;
	uint32_t nat_addr;
	uint16_t cport, nat_port;
	uint32_t isn, tsval0, ts_off;
	int64_t  c0;                 /* client time of connect() */
	int64_t  deadline;           /* the application gives up (client time) */
	int64_t  next_send;          /* next SYN leaves the client (INF: none) */
	int64_t  t_ack;              /* a bare ACK reaches the client (INF: none) */
	int64_t  t_rst;              /* the client's RST reaches the server */
	uint32_t ack_seq, ack_ack, ack_tsecr, ack_tsval;
	bool     ack_has_ts;
	uint32_t rst_seq;
	unsigned retransmits;        /* SYNs sent after the first */
	uint32_t next_free;
};

enum { ID_ATTEMPT = 1ull << 63 };

struct pkt {                     /* a packet waiting for its time (pcap) */
	int64_t  t;
	uint64_t n;
	struct segment seg;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
};

struct sim {
	const struct sim_params *p;
	struct sim_result *r;
	int64_t now, end_arrivals, d, rtt, svc;
	int64_t tw_len, fw_hold;
	unsigned syn_max_retrans;
	uint32_t service_addr;       /* what the clients connect to (DNAT'ed) */
	uint16_t service_port;
	struct tcp_env env;
	struct model_rng rng_arrive, rng_nat, rng_ka;
	struct host_clock server_clk;
	struct nat_state nat;
	bool nat_table;              /* modes that share addresses: port table */
	/* A connection's ISN and TS offset (one keyed hash of its 4-tuple) are
	 * read only if a SYN finds its TIME_WAIT later (rcv_nxt, ts_recent),
	 * by a NAT's 6.5+ eviction rule (the new SYN's and the closed
	 * session's sequence end), or for the pcap: without the pcap, they
	 * are computed then, from the connection's client, port and connect()
	 * time (the host's clock is fixed), not at every connect. */
	bool clock_later;
	/* the last connection clock tw_find() computed for a lazy entry: a
	 * SYN that finds its client's own old TIME_WAIT on the same port (the
	 * usual case without a shared-address NAT) hashes the same 4-tuple:
	 * tcp_conn_clock() is a pure function of it, so on_arrival() reuses it */
	bool ccm_ok;
	/* the connect() nat_map() is placing (syn_seq_end_cb computes its ISN
	 * if the NAT's eviction rule asks) */
	uint32_t la_ci;
	uint16_t la_cport;
	int64_t la_c0;
	bool la_done;                /* la_end computed for this connect() */
	uint32_t la_end;
	uint16_t ccm_port;
	uint32_t ccm_client;
	struct conn_clock ccm;
	unsigned nclients;
	struct client *cl;
	uint32_t *perturb;           /* all clients' table_perturb, one block */
	size_t perturb_len;
	/* one-to-one pool */
	uint64_t *o2o_released;
	bool *o2o_busy;
	uint32_t pool_n;
	/* tables */
	struct tmap natmap, cport;
	/* Masquerade searches the NAT's ports (consecutive ones from a
	 * random start, in nf_nat_l4proto_unique_tuple; random-fully's
	 * random ones gain nothing from it, measured): a dense
	 * copy of what nat_tuple_cb() asks of each entry, per (address
	 * offset, port): 0 none, else the entry's exp, negated while the
	 * session is closing. Eight ports a cache line, and no probe: only a
	 * closing entry whose sequence end the NAT asks for reads the map.
	 * 512 KiB per NAT address (fixed, not per connection); NULL in the
	 * other modes. Kept by natx_set() wherever a map entry's exp or
	 * closing bit changes. */
	int64_t *natx;
	uint32_t natx_n;             /* addresses it covers */
	struct pmap twk;             /* TIME_WAIT: 4-tuple tag (tw_tag) -> low
				      * bits of the ring sequence number */
	unsigned tw_abits;           /* bits of a NAT address's pool offset */
	struct twring twr;           /* TIME_WAIT entries in the order they end */
	uint64_t tw_live;
	struct fifo nat_q;
	struct fifo nat_q2;           /* holds of sessions that never connected */
	struct conn_ring conns;
	struct heap heap;            /* attempts (collided SYNs) */
	/* on_attempt() runs with its entry still at the heap's top (the
	 * attempt's only entry: each event schedules the next one);
	 * att_schedule() replaces it, else the loop pops it */
	bool top_is_att;
	/* the index slot where tw_find() last found a tuple: tw_kill() and
	 * a re-arm write there without a second probe (pmap_*_at check that
	 * it still holds the tuple) */
	size_t tw_slot;
	struct ltree arr;            /* each client's next arrival (periodic) */
	/* Poisson arrivals: every client draws at the same rate, so the fleet's
	 * arrivals are one Poisson process at clients x rate whose every
	 * arrival is a uniformly chosen client (superposition and thinning of
	 * Poisson processes): one draw per arrival, no per-client queue. */
	bool     pooled;
	double   pooled_mean_us;     /* 1e6 / (clients x rate) */
	double   arr_clock;          /* the next arrival, us with fractions */
	int64_t  arr_t;              /* the next arrival (INF: none) */
	uint32_t arr_ci;             /* its client */
	struct rexp_tab rexp;
	struct attempt *att;
	size_t natt, att_cap, att_live;
	uint32_t att_free;
	/* TIME_WAIT occupancy, integrated over time */
	double tw_area;
	int64_t tw_last;
	/* packets (pcap) */
	struct pkt *pk;
	size_t npk, pk_cap;
	uint64_t pk_seq;
	uint32_t cl_cur;             /* the client port_taken_cb asks about */
	bool oom;
};

/* ---- small helpers */

static inline uint64_t tw_key(uint32_t nat_addr, uint16_t nat_port)
{
	return 1ull << 62 | (uint64_t)nat_addr << 16 | nat_port;
}
static inline uint64_t cport_key(uint32_t client, uint16_t port)
{
	return 1ull << 61 | (uint64_t)client << 16 | port;
}

/* A client-port entry's NAT mapping (tw_key), kept as its address (f; 0:
 * none: no pool address is 0) and port (d). */
static inline uint64_t cport_natkey(const struct tent *e)
{
	return e->f ? tw_key(e->f, e->d) : 0;
}
static inline void cport_set_natkey(struct tent *e, uint64_t natkey)
{
	e->f = natkey ? (uint32_t)(natkey >> 16) : 0;
	e->d = (uint16_t)natkey;
}

/* The TIME_WAIT index's tag of a 4-tuple: the NAT address as its offset in
 * the pool (every mode's addresses are p->nat_addr + k, k below the larger
 * of the client count and the pool size) and the port; never 0. An address
 * outside (none is, by construction) fails the run rather than alias. */
static inline uint64_t tw_tag(struct sim *s, uint32_t nat_addr, uint16_t nat_port)
{
	uint64_t k = (uint32_t)(nat_addr - s->p->nat_addr);
	if (k >> s->tw_abits)
		s->oom = true;
	return (k << 16 | nat_port) + 1;
}
static inline uint64_t tw_tag_of_key(struct sim *s, uint64_t key)
{
	return tw_tag(s, (uint32_t)(key >> 16), (uint16_t)key);
}

static void tw_count(struct sim *s)
{
	s->tw_area += (double)s->tw_live * (double)(s->now - s->tw_last);
	s->tw_last = s->now;
}

/* The fleet's next Poisson arrival and its client. The clock runs in
 * fractions of a microsecond (rounding each gap down would add arrivals
 * at the fleet's rate: 0.5 us a gap) and events take its whole part. */
static void pooled_next(struct sim *s)
{
	s->arr_clock += rexp_draw(&s->rexp, &s->rng_arrive) * s->pooled_mean_us;
	int64_t t = (int64_t)s->arr_clock;
	s->arr_t = t < s->end_arrivals ? t : INF;
	s->arr_ci = model_rng_below(&s->rng_arrive, s->nclients);
}

/* The interval before SYN retransmission number j+1 (j = 0: after the
 * first SYN): the model's syn_rto_ms() for the clients' kernel (doubling,
 * or linear for tcp_syn_linear_timeouts from 6.5). */
static int64_t syn_interval_us(const struct sim *s, unsigned j)
{
	return (int64_t)syn_rto_ms(s->p->client_k, -1, j) * 1000;
}

/* ---- packets: held in time order until the clock passes them */

static void pk_sift_up(struct pkt *v, size_t i)
{
	struct pkt x = v[i];
	while (i) {
		size_t p = (i - 1) / 2;
		if (v[p].t < x.t || (v[p].t == x.t && v[p].n < x.n))
			break;
		v[i] = v[p];
		i = p;
	}
	v[i] = x;
}

static void pk_pop(struct sim *s, struct pkt *out)
{
	struct pkt *v = s->pk;
	*out = v[0];
	struct pkt x = v[--s->npk];
	size_t i = 0, n = s->npk;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && (v[c + 1].t < v[c].t || (v[c + 1].t == v[c].t && v[c + 1].n < v[c].n)))
			c++;
		if (x.t < v[c].t || (x.t == v[c].t && x.n < v[c].n))
			break;
		v[i] = v[c];
		i = c;
	}
	if (n)
		v[i] = x;
}

static void emit_pkt(struct sim *s, int64_t t, bool from_client, uint32_t nat_addr,
		     uint16_t nat_port, uint8_t flags, uint32_t seq, uint32_t ack,
		     uint32_t len, bool has_ts, uint32_t tsval, uint32_t tsecr)
{
	if (s->npk == s->pk_cap) {
		size_t nc = s->pk_cap ? s->pk_cap * 2 : 4096;
		struct pkt *v = realloc(s->pk, nc * sizeof *v);
		if (!v) {
			s->oom = true;
			return;
		}
		s->pk = v;
		s->pk_cap = nc;
	}
	struct pkt *k = &s->pk[s->npk];
	memset(k, 0, sizeof *k);
	k->t = t;
	k->n = s->pk_seq++;
	k->seg.flags = flags;
	k->seg.seq = seq;
	k->seg.ack = ack;
	k->seg.len = len;
	k->seg.has_ts = has_ts;
	k->seg.tsval = tsval;
	k->seg.tsecr = tsecr;
	if (from_client) {
		k->saddr = nat_addr;
		k->sport = nat_port;
		k->daddr = s->p->server_addr;
		k->dport = s->p->server_port;
	} else {
		k->saddr = s->p->server_addr;
		k->sport = s->p->server_port;
		k->daddr = nat_addr;
		k->dport = nat_port;
	}
	pk_sift_up(s->pk, s->npk++);
}

/* Without --pcap a packet costs one test, not a call with twelve arguments. */
static inline __attribute__((always_inline))
void emit(struct sim *s, int64_t t, bool from_client, uint32_t nat_addr,
	  uint16_t nat_port, uint8_t flags, uint32_t seq, uint32_t ack,
	  uint32_t len, bool has_ts, uint32_t tsval, uint32_t tsecr)
{
	if (s->p->packet)
		emit_pkt(s, t, from_client, nat_addr, nat_port, flags, seq, ack, len, has_ts,
			 tsval, tsecr);
}

static void pk_flush(struct sim *s, int64_t upto)
{
	struct pkt k;
	while (s->npk && s->pk[0].t <= upto) {
		pk_pop(s, &k);
		s->p->packet(s->p->packet_arg, k.t, &k.seg, k.saddr, k.sport, k.daddr, k.dport);
	}
}

/* The client's TSval at time t (us) on a connection whose offset
 * tcp_conn_clock() gave (conn_tsval == tcp_tsval on that 4-tuple), and the
 * server's. */
static uint32_t cli_ts(const struct client *c, uint32_t ts_off, int64_t t)
{
	struct conn_clock k = { .ts_off = ts_off };
	return conn_tsval(&c->clk, &k, (uint64_t)(t / 1000));
}
static uint32_t srv_ts(const struct sim *s, uint32_t nat_addr, uint16_t nat_port, int64_t t)
{
	return tcp_tsval(&s->server_clk, s->p->server_addr, nat_addr, s->p->server_port,
			 nat_port, (uint64_t)(t / 1000));
}

/* ---- NAT: what the box's table holds for a reply tuple */

static inline int64_t *natx_at(const struct sim *s, uint64_t natkey)
{
	uint32_t k = (uint32_t)(natkey >> 16) - s->p->nat_addr;
	return k < s->natx_n ? &s->natx[(size_t)k << 16 | (uint16_t)natkey] : NULL;
}
/* The map entry for natkey now ends at exp (0: removed). */
static inline void natx_set(struct sim *s, uint64_t natkey, int64_t exp, bool closing)
{
	int64_t *x;
	if (s->natx && (x = natx_at(s, natkey)))
		*x = closing ? -exp : exp;
}

static enum nat_tuple nat_tuple_cb(void *ctx, uint32_t nat_addr, uint16_t nat_port,
				   uint32_t *old_seq_end)
{
	struct sim *s = ctx;
	const int64_t *x = s->natx ? natx_at(s, tw_key(nat_addr, nat_port)) : NULL;
	if (x) {
		int64_t v = *x, exp = v < 0 ? -v : v;
		if (!v || exp <= s->now)
			return NAT_TUPLE_FREE;
		if (v > 0)
			return NAT_TUPLE_USED;
		if (!old_seq_end)
			return NAT_TUPLE_USED_CLOSING;
		/* the sequence end is in the map entry */
	}
	struct tent *e = tmap_get(&s->natmap, tw_key(nat_addr, nat_port));
	if (!e || e->exp <= s->now)
		return NAT_TUPLE_FREE;
	if (!(e->a & 1))
		return NAT_TUPLE_USED;
	if (old_seq_end) {
		if (e->a & 2) {
			/* clock_later: the closed connection's td_end, from its
			 * client, port and connect() time (b, f), as close_conn()
			 * would have stored it */
			int64_t c0 = (int64_t)((uint64_t)e->f << 32 | e->b);
			struct client *c = &s->cl[e->c];
			struct conn_clock cc;
			tcp_conn_clock(&c->clk, c->addr, s->service_addr, (uint16_t)e->d, s->service_port, &cc);
			*old_seq_end = conn_isn(&cc, EPOCH_NS + (uint64_t)c0 * 1000) + REQ_LEN + 2;
		} else {
			*old_seq_end = e->b;
		}
	}
	return NAT_TUPLE_USED_CLOSING;
}

/* The new SYN's seq + 1 for the NAT's 6.5+ eviction rule (clock_later:
 * asked for only when the rule compares). */
static uint32_t syn_seq_end_cb(void *ctx)
{
	struct sim *s = ctx;
	if (!s->la_done) {
		struct client *c = &s->cl[s->la_ci];
		struct conn_clock cc;
		tcp_conn_clock(&c->clk, c->addr, s->service_addr, s->la_cport, s->service_port, &cc);
		s->la_end = conn_isn(&cc, EPOCH_NS + (uint64_t)s->la_c0 * 1000) + 1;
		s->la_done = true;
	}
	return s->la_end;
}

static bool port_taken_cb(void *ctx, uint16_t port)
{
	struct sim *s = ctx;
	struct tent *e = tmap_get(&s->cport, cport_key(s->cl_cur, port));
	return e && e->exp > s->now;
}

/* ---- attempts (collided SYNs): a pool, reused */

static struct attempt *att_new(struct sim *s, uint32_t *idx)
{
	if (s->att_free == UINT32_MAX) {
		size_t nc = s->att_cap ? s->att_cap * 2 : 256;
		struct attempt *v = realloc(s->att, nc * sizeof *v);
		if (!v) {
			s->oom = true;
			return NULL;
		}
		memset(v + s->att_cap, 0, (nc - s->att_cap) * sizeof *v);
		for (size_t i = s->att_cap; i < nc; i++)
			v[i].next_free = i + 1 < nc ? (uint32_t)(i + 1) : UINT32_MAX;
		s->att_free = (uint32_t)s->att_cap;
		s->att = v;
		s->att_cap = nc;
	}
	*idx = s->att_free;
	struct attempt *a = &s->att[*idx];
	s->att_free = a->next_free;
	uint32_t gen = a->gen + 1;
	memset(a, 0, sizeof *a);
	a->gen = gen;
	a->used = true;
	a->next_send = a->t_ack = a->t_rst = INF;
	if (++s->att_live > s->r->attempts_max)
		s->r->attempts_max = s->att_live;
	return a;
}

static void att_free(struct sim *s, uint32_t idx)
{
	struct attempt *a = &s->att[idx];
	a->used = false;
	a->gen++;
	a->next_free = s->att_free;
	s->att_free = idx;
	s->att_live--;
}

/* The attempt's next event in global time: a SYN reaching the server, a
 * bare ACK or RST arriving, or the application giving up. */
static int64_t att_next(const struct sim *s, const struct attempt *a)
{
	int64_t t = a->deadline;                 /* client time = global time */
	if (a->next_send != INF && a->next_send + s->d < t)
		t = a->next_send + s->d;
	if (a->t_ack < t)
		t = a->t_ack;
	if (a->t_rst < t)
		t = a->t_rst;
	return t;
}

static void att_schedule(struct sim *s, uint32_t idx)
{
	struct attempt *a = &s->att[idx];
	a->gen++;
	uint64_t id = ID_ATTEMPT | (uint64_t)a->gen << 32 | idx;
	if (s->top_is_att) {
		/* on_attempt() runs on the heap's top entry, this attempt's
		 * only one: one sift down in place of a pop and a push (the
		 * heap holds the same entries, so it pops in the same order) */
		s->top_is_att = false;
		heap_replace_top(&s->heap, att_next(s, a), id);
		return;
	}
	if (!heap_push(&s->heap, att_next(s, a), id))
		s->oom = true;
}

/* ---- NAT mappings */

/* The mapping ends `hold` after now: a Linux conntrack entry in TIME_WAIT
 * (after FINs) is "closing" (nf_nat_used_tuple_harder may evict it). */
static void nat_release(struct sim *s, uint32_t client, uint32_t nat_addr, uint16_t nat_port,
			int64_t hold, bool closing, uint32_t seq_end, bool lazy, int64_t c0)
{
	int64_t until = s->now + hold;
	/* each FIFO takes one fixed delay, so it stays in time order */
	struct fifo *q = closing ? &s->nat_q : &s->nat_q2;
	if (s->nat_table) {
		struct tent *e = tmap_get(&s->natmap, tw_key(nat_addr, nat_port));
		if (e) {
			e->exp = until;
			e->a = closing && s->nat.preset->netfilter;
			natx_set(s, e->key, until, e->a & 1);
			if (e->a && lazy) {
				/* seq_end not computed (clock_later): nat_tuple_cb
				 * computes it from the connect() time if asked */
				e->a |= 2;
				e->b = (uint32_t)c0;
				e->f = (uint32_t)((uint64_t)c0 >> 32);
			} else {
				e->b = seq_end;
			}
			if (!fifo_push(q, until, e->key, cport_key(e->c, (uint16_t)e->d)))
				s->oom = true;
		}
	} else if (s->p->fleet.snat.mode == SNAT_ONE_TO_ONE) {
		if (!fifo_push(q, until, client, 0))
			s->oom = true;
	}
}

static void nat_expire(struct sim *s, const struct fent *f)
{
	if (s->nat_table) {
		struct tent *e = tmap_get(&s->natmap, f->key);
		/* the mapping is the one released at f->t (tag: its client's
		 * port entry, for nat_expire_prefetch) */
		if (e && e->exp == f->t) {
			/* the client's record of this mapping goes with it */
			uint64_t ck = cport_key(e->c, (uint16_t)e->d);
			struct tent *ce = tmap_get(&s->cport, ck);
			natx_set(s, f->key, 0, false);
			tmap_del_at(&s->natmap, e);
			if (ce && cport_natkey(ce) == f->key && ce->exp <= s->now)
				tmap_del_at(&s->cport, ce);
		}
		return;
	}
	struct client *c = &s->cl[f->key];
	if (--c->sessions == 0 && c->o2o) {
		s->o2o_busy[c->o2o - 1] = false;
		s->o2o_released[c->o2o - 1] = (uint64_t)(s->now / 1000) + 1;
		c->o2o = 0;
	}
}

/* Start loading what nat_expire() will read 8 expiries ahead: the NAT
 * entry and the client's port entry (the FIFO entry's tag). */
static void nat_expire_prefetch(struct sim *s, const struct fifo *q)
{
	if (!s->nat_table || q->n <= 8)
		return;
	const struct fent *f = &q->v[(q->head + 8) & (q->cap - 1)];
	tmap_prefetch(&s->natmap, f->key);
	tmap_prefetch(&s->cport, f->tag);
}

/* Outside address and port for a new connection; false if the NAT has none
 * free (the SYN is dropped: conntrack insert_failed / pool exhausted). */
static bool nat_map(struct sim *s, uint32_t ci, uint16_t cport, uint32_t isn, struct tent *ce,
		    uint32_t *addr, uint16_t *port)
{
	struct client *c = &s->cl[ci];
	const struct fleet *f = &s->p->fleet;

	switch (f->snat.mode) {
	case SNAT_STATIC:
		*addr = s->p->nat_addr + ci;
		*port = cport;
		return true;
	case SNAT_ONE_TO_ONE:
		if (!c->o2o) {
			int i = nat_one_to_one_pick(s->o2o_released, s->o2o_busy, s->pool_n);
			if (i < 0)
				return false;
			s->o2o_busy[i] = true;
			c->o2o = (uint32_t)i + 1;
		}
		c->sessions++;
		*addr = s->p->nat_addr + c->o2o - 1;
		*port = cport;
		return true;
	case SNAT_OVERLOAD:
		*addr = c->ov_addr;
		break;
	case SNAT_MASQUERADE:
	case SNAT_RANDOM_FULLY:
	default:
		*addr = s->p->nat_addr;
		break;
	}
	/* The client's own earlier session on this addr:port, still in the
	 * box's table: net/netfilter/nf_conntrack_proto_tcp.c tcp_packet()
	 * (6.18): a SYN that matches an entry in TIME_WAIT (or later) after a
	 * close kills it and is looked up again (-NF_REPEAT): a new entry,
	 * whose NAT choice starts afresh; a SYN that matches an entry still in
	 * SYN_SENT is that entry's retransmission: its mapping stays. With a
	 * narrow port range a client comes back to its own ports within the
	 * box's TIME_WAIT. */
	/* ce: the client-port entry (on_arrival made it; a new one is zeroed) */
	if (ce->f && ce->e > s->now) {
		uint64_t nk = cport_natkey(ce);
		struct tent *ne = tmap_get(&s->natmap, nk);
		ce->f = 0;
		if (ne && ne->exp > s->now && ne->c == ci && ne->d == cport) {
			if (ce->a == 2) {
				ne->exp = INF;
				ne->a = 0;
				natx_set(s, nk, INF, false);
				*addr = (uint32_t)(nk >> 16);
				*port = (uint16_t)nk;
				return true;
			}
			natx_set(s, nk, 0, false);
			tmap_del(&s->natmap, nk);
		}
	}
	struct nat_req req = { .nat_addr = *addr, .client_port = cport, .syn_seq_end = isn + 1 };
	if (s->clock_later)
		req.syn_seq_end_fn = syn_seq_end_cb;      /* on_arrival set la_* */
	struct nat_pick pk = nat_pick_port(&s->nat, &req, &s->rng_nat, nat_tuple_cb, s);
	if (!pk.port)
		return false;
	*addr = pk.addr;
	s->r->nat_port_changed += !pk.preserved;
	bool created;
	struct tent *e = tmap_put(&s->natmap, tw_key(*addr, pk.port), &created);
	if (!e) {
		s->oom = true;
		return false;
	}
	/* an evicted closing entry (or an expired one) is simply replaced */
	e->exp = INF;
	e->a = 0;
	natx_set(s, e->key, INF, false);
	e->c = ci;
	e->d = cport;
	if (s->natmap.n > s->r->nat_max)
		s->r->nat_max = s->natmap.n;
	*port = pk.port;
	return true;
}

/* ---- server TIME_WAIT */

static struct twe *twr_at(const struct sim *s, uint64_t seq)
{
	return &s->twr.v[seq & (s->twr.cap - 1)];
}

/* Append a copy; returns its sequence number (UINT64_MAX: out of memory). */
static uint64_t twr_push(struct sim *s, const struct twe *x)
{
	struct twring *q = &s->twr;
	if (q->tail - q->head == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 1024;
		struct twe *v = malloc(nc * sizeof *v);
		if (!v) {
			s->oom = true;
			return UINT64_MAX;
		}
		for (uint64_t i = q->head; i < q->tail; i++)
			v[i & (nc - 1)] = q->v[i & (q->cap - 1)];
		free(q->v);
		q->v = v;
		q->cap = nc;
	}
	/* the index keeps only the low sbits of a sequence number (tw_find) */
	if (q->tail - q->head >= pmap_low_mask(&s->twk)) {
		s->oom = true;
		return UINT64_MAX;
	}
	uint64_t seq = q->tail++;
	q->v[seq & (q->cap - 1)] = *x;
	if (q->tail - q->head > q->peak)
		q->peak = q->tail - q->head;
	return seq;
}

static void tw_fill(const struct sim *s, const struct twe *e, struct tw_sock *tw)
{
	*tw = tw_sock_init(e->rcv_nxt, e->snd_nxt, e->ts_set, e->ts_recent,
			   (uint32_t)((s->now - e->ts_stamp) / US));
	tw->last_oow_ack_ms = e->last_oow == INT64_MIN ? -1 : (s->now - e->last_oow) / 1000;
}

static void tw_kill(struct sim *s, struct twe *e)
{
	tw_count(s);
	pmap_del_at(&s->twk, s->tw_slot, tw_tag_of_key(s, e->key));
	e->dead = true;
	s->tw_live--;
}

/* Apply a decision's effect on the mini-socket (e is its current copy). */
static void tw_apply(struct sim *s, struct twe *e, const struct tw_decision *d)
{
	if (d->tw_killed) {
		tw_kill(s, e);
		return;
	}
	if (d->next.ts_recent_age_s == 0 && d->next.ts_recent != e->ts_recent)
		e->ts_stamp = s->now;
	e->rcv_nxt = d->next.rcv_nxt;
	e->ts_recent = d->next.ts_recent;
	if (d->next.last_oow_ack_ms == 0)
		e->last_oow = s->now;
	if (d->timer_rearmed) {
		/* inet_twsk_reschedule(): a new copy at the end of the ring */
		struct twe x = *e;
		e->dead = true;              /* (e may move when the ring grows) */
		x.exp = s->now + s->tw_len;
		uint64_t seq = twr_push(s, &x);
		if (seq != UINT64_MAX && !pmap_set_at(&s->twk, s->tw_slot, tw_tag_of_key(s, x.key), seq))
			s->oom = true;
	}
}

/* The live TIME_WAIT mini-socket for the tuple, or NULL. */
static struct twe *tw_find(struct sim *s, uint32_t nat_addr, uint16_t nat_port)
{
	uint64_t low;
	if (!pmap_get_slot(&s->twk, tw_tag(s, nat_addr, nat_port), &low, &s->tw_slot))
		return NULL;
	/* the index points at a copy in [head, tail), a span shorter than
	 * 2^sbits (twr_push): the low bits give the whole number */
	uint64_t seq = s->twr.head + ((low - s->twr.head) & pmap_low_mask(&s->twk));
	struct twe *e = twr_at(s, seq);
	if (e->exp <= s->now)
		return NULL;
	if (e->lazy) {
		/* what close_conn() would have stored (clock_later) */
		const struct client *c = &s->cl[e->rcv_nxt];
		struct conn_clock cc;
		uint16_t cport = (uint16_t)e->ts_recent;
		tcp_conn_clock(&s->cl[e->rcv_nxt].clk, c->addr, s->service_addr, cport,
			       s->service_port, &cc);
		s->ccm_ok = true;
		s->ccm_client = e->rcv_nxt;
		s->ccm_port = cport;
		s->ccm = cc;
		e->rcv_nxt = conn_isn(&cc, EPOCH_NS + (uint64_t)e->last_oow * 1000) + REQ_LEN + 2;
		e->ts_recent = cli_ts(c, cc.ts_off, e->ts_stamp - s->d);
		e->last_oow = INT64_MIN;
		e->lazy = false;
	}
	return e;
}

/* Start loading the ring entry the index names for tag, if any (a guess:
 * only a prefetch, no state read for a decision). */
static inline void tw_prefetch_entry(const struct sim *s, uint64_t tag)
{
	uint64_t low;
	if (!pmap_get(&s->twk, tag, &low))
		return;
	uint64_t seq = s->twr.head + ((low - s->twr.head) & pmap_low_mask(&s->twk));
	const struct twe *e = twr_at(s, seq);
	__builtin_prefetch(e);
	__builtin_prefetch((const char *)(e + 1) - 1);   /* 48 bytes: may straddle */
}

/* The oldest copy in the ring ends: if the index still points at it, the
 * mini-socket is gone (else it was re-armed or killed before). */
static void tw_expire(struct sim *s)
{
	uint64_t at = s->twr.head++;
	const struct twe *e = twr_at(s, at);
	if (e->dead)                         /* the index no longer names it */
		return;
	if (pmap_del_if(&s->twk, tw_tag_of_key(s, e->key), at)) {
		tw_count(s);
		s->tw_live--;
	}
}

/* ---- connections */

/* The client's socket is gone: its port is free for its own allocator.
 * Where the NAT shares addresses, the entry stays while the box keeps the
 * session (kind 1: after FINs, 2: never answered), for nat_map() to find
 * when the client comes back to the same port. */
static void client_port_release(struct sim *s, uint32_t ci, uint16_t cport, uint64_t natkey,
				int64_t hold, uint32_t kind)
{
	uint64_t ck = cport_key(ci, cport);
	if (!s->nat_table) {
		tmap_del(&s->cport, ck);
		return;
	}
	struct tent *e = tmap_get(&s->cport, ck);
	if (!e)
		return;
	e->exp = s->now;
	cport_set_natkey(e, natkey);
	e->e = s->now + hold;
	e->a = kind;
}

/* The server accepted a SYN at s->now (SYN-ACK sent); c0 is the client's
 * connect() time. */
static void accept_conn(struct sim *s, uint32_t ci, uint16_t cport, uint32_t nat_addr,
			uint16_t nat_port, uint32_t isn, uint32_t tsval, uint32_t ts_off,
			uint32_t sisn, int64_t c0, bool collided, bool lazy)
{
	struct sim_result *r = s->r;
	int64_t lat = s->now + s->d - c0;
	uint64_t us = lat > 0 ? (uint64_t)lat : 0;

	r->established++;
	if (collided)
		r->delayed++;
	/* log-linear histogram: 32 steps per power of two, microseconds */
	{
		unsigned b;
		if (us < 32)
			b = (unsigned)us;
		else {
			unsigned e = 63u - (unsigned)__builtin_clzll(us);
			b = (e - 4) * 32 + (unsigned)((us >> (e - 5)) & 31);
		}
		if (b >= SIM_LAT_BUCKETS)
			b = SIM_LAT_BUCKETS - 1;
		r->lat_hist[b]++;
		if (lat / 1000.0 > r->lat_max_ms)
			r->lat_max_ms = lat / 1000.0;
	}
	if (s->p->packet) {
		uint32_t sts = srv_ts(s, nat_addr, nat_port, s->now);
		int64_t t1 = s->now + s->rtt, t2 = t1 + s->svc, t3 = t2 + s->rtt;
		struct client *c = &s->cl[ci];
		uint32_t cts1 = cli_ts(c, ts_off, t1 - s->d), cts3 = cli_ts(c, ts_off, t3 - s->d);
		emit(s, s->now, false, nat_addr, nat_port, TCPF_SYN | TCPF_ACK, sisn, isn + 1, 0, true, sts, tsval);
		emit(s, t1, true, nat_addr, nat_port, TCPF_ACK | TCPF_PSH, isn + 1, sisn + 1, REQ_LEN, true, cts1, sts);
		/* HTTP/1.0: the server answers and closes first */
		emit(s, t2, false, nat_addr, nat_port, TCPF_ACK | TCPF_PSH | TCPF_FIN, sisn + 1,
		     isn + 1 + REQ_LEN, RESP_LEN, true, sts + (uint32_t)((t2 - s->now) / 1000), cts1);
		emit(s, t3, true, nat_addr, nat_port, TCPF_ACK | TCPF_FIN, isn + 1 + REQ_LEN,
		     sisn + RESP_LEN + 2, 0, true, cts3, sts + (uint32_t)((t2 - s->now) / 1000));
		emit(s, t3, false, nat_addr, nat_port, TCPF_ACK, sisn + RESP_LEN + 2,
		     isn + REQ_LEN + 2, 0, true, sts + (uint32_t)((t3 - s->now) / 1000), cts3);
	}
	struct conn_ring *q = &s->conns;
	if (q->n == q->cap) {
		struct conn *v = ring_grow(q->v, q->head, q->n, q->cap, sizeof *v, &q->cap);
		if (!v) {
			s->oom = true;
			return;
		}
		q->v = v;
		q->head = 0;
	}
	struct conn *k = &q->v[(q->head + q->n) & (q->cap - 1)];
	if (++q->n > q->peak)
		q->peak = q->n;
	k->t_close = s->now + 2 * s->rtt + s->svc;
	k->client = ci;
	k->nat_addr = nat_addr;
	k->nat_port = nat_port;
	k->cport = cport;
	k->isn = isn;
	k->sisn = sisn;
	k->ts_off = ts_off;
	k->lazy = lazy;
	k->c0 = c0;
}

/* The FIN exchange ends: the server's TIME_WAIT begins, the NAT's session
 * goes to its TIME_WAIT, the client's port is free (it closed second: no
 * TIME_WAIT of its own). */
static void close_conn(struct sim *s, const struct conn *k)
{
	struct client *c = &s->cl[k->client];

	if (s->nat_table || s->p->fleet.snat.mode == SNAT_ONE_TO_ONE)
		nat_release(s, k->client, k->nat_addr, k->nat_port, s->fw_hold, true, k->isn + REQ_LEN + 2,
			    k->lazy, k->c0);
	client_port_release(s, k->client, k->cport, tw_key(k->nat_addr, k->nat_port), s->fw_hold, 1);
	/* net/ipv4/tcp_minisocks.c tcp_time_wait(): inet_twsk_alloc() fails
	 * past tcp_max_tw_buckets (TCPTimeWaitOverflow) and no mini-socket is
	 * left. */
	if (s->tw_live >= s->p->max_tw_buckets) {
		s->r->tw_overflow++;
		return;
	}
	tw_count(s);
	struct twe x = {
		.key = tw_key(k->nat_addr, k->nat_port),
		.exp = s->now + s->tw_len,
		.snd_nxt = k->sisn + RESP_LEN + 2,       /* after our FIN */
		.ts_set = true,
		.ts_stamp = s->now,
	};
	if (k->lazy) {
		/* tw_find() computes these if a SYN ever finds the entry */
		x.lazy = true;
		x.rcv_nxt = k->client;
		x.ts_recent = k->cport;
		x.last_oow = k->c0;
	} else {
		x.rcv_nxt = k->isn + REQ_LEN + 2;        /* after the client's FIN */
		/* the client's FIN (sent rtt/2 ago) carries the TSval the server
		 * records as ts_recent */
		x.ts_recent = cli_ts(c, k->ts_off, s->now - s->d);
		x.last_oow = INT64_MIN;
	}
	uint64_t seq = twr_push(s, &x);
	if (seq == UINT64_MAX)
		return;
	if (!pmap_set(&s->twk, tw_tag_of_key(s, x.key), seq)) {
		s->oom = true;
		return;
	}
	if (++s->tw_live > s->r->tw_max)
		s->r->tw_max = s->tw_live;
}

/* A SYN of attempt `a` (or of a new connection) reaches the server now.
 * Returns the decision's verdict class: true if a SYN-ACK went back. */
static bool server_syn(struct sim *s, struct twe *e, uint32_t nat_addr, uint16_t nat_port,
		       uint32_t isn, uint32_t tsval, uint32_t *sisn, struct tw_decision *d, bool *found)
{
	/* e: tw_find(s, nat_addr, nat_port) */
	*found = e != NULL;
	if (!e) {
		/* no TIME_WAIT: the listener answers with a fresh ISN */
		*sisn = s->p->packet ? tcp_isn(&s->server_clk, s->p->server_addr, nat_addr,
					       s->p->server_port, nat_port,
					       EPOCH_NS + (uint64_t)s->now * 1000) : 0;
		return true;
	}
	struct tw_sock tw;
	struct segment seg = { .flags = TCPF_SYN, .seq = isn, .has_ts = true, .tsval = tsval };
	tw_fill(s, e, &tw);
	tw_process_quiet(s->p->server_k, &s->env, &tw, &seg, d);
	if (d->verdict == TCP_TW_SYN) {
		*sisn = d->isn;
		s->r->tw_reopened++;
		tw_kill(s, e);
		return true;
	}
	if (d->reply.sent) {
		s->r->bare_acks++;
		/* the server's TSval (a keyed hash per 4-tuple) only for the
		 * pcap: an argument of emit() is computed even when it tests
		 * --pcap off */
		if (s->p->packet)
			emit(s, s->now, false, nat_addr, nat_port, d->reply.flags, d->reply.seq,
			     d->reply.ack, 0, d->reply.has_ts, srv_ts(s, nat_addr, nat_port, s->now),
			     d->reply.tsecr);
	} else if (d->rate_limited) {
		s->r->acks_rate_limited++;
	}
	tw_apply(s, e, d);
	return false;
}

/* After a SYN drew no SYN-ACK: the bare ACK's way back, and the client's
 * next retransmission. */
static void after_refused_syn(struct sim *s, uint32_t idx, const struct tw_decision *d)
{
	struct attempt *a = &s->att[idx];
	if (d->reply.sent) {
		if (fw_reply_passes(s->p->fw, d->reply.flags)) {
			a->t_ack = s->now + s->d;
			a->ack_seq = d->reply.seq;
			a->ack_ack = d->reply.ack;
			a->ack_has_ts = d->reply.has_ts;
			a->ack_tsecr = d->reply.tsecr;
			a->ack_tsval = srv_ts(s, a->nat_addr, a->nat_port, s->now);
		} else {
			s->r->bare_acks_dropped++;
		}
	}
}

/* Schedule the retransmission after SYN number `a->retransmits` left at
 * client time `sent` (the RTO timer). */
static void arm_rto(struct sim *s, struct attempt *a, int64_t sent)
{
	if (a->retransmits >= s->syn_max_retrans) {
		/* tcp_write_timeout(): the last RTO expires -> ETIMEDOUT */
		int64_t t = sent + syn_interval_us(s, a->retransmits);
		if (t < a->deadline)
			a->deadline = t;
		a->next_send = INF;
		return;
	}
	a->next_send = sent + syn_interval_us(s, a->retransmits);
	if (a->next_send >= a->deadline)
		a->next_send = INF;
}

/* The client's next arrival replaces this one at the top of the tree. */
static void next_arrival(struct sim *s, uint32_t ci)
{
	const struct fleet *f = &s->p->fleet;
	(void)ci;
	if (s->pooled) {
		pooled_next(s);
		return;
	}
	int64_t next = s->now + (int64_t)(1e6 / f->rate);
	ltree_replace_top(&s->arr, next < s->end_arrivals ? next : INF);
}

/* An arrival: the client's first SYN reaches the server now. The arrival is
 * still the tree's top; next_arrival() replaces it, after the TIME_WAIT
 * prefetch so that the tree's work hides part of the miss. */
static void on_arrival(struct sim *s, uint32_t ci)
{
	struct client *c = &s->cl[ci];
	struct sim_result *r = s->r;
	const struct fleet *f = &s->p->fleet;
	int64_t c0 = s->now - s->d;
	/* its own stream: the arrival times stay the same whatever the keep-alive
	 * share. A request on the client's kept-alive connection (HTTP/1.1, the
	 * client closes it at the end, as `lab load` does) needs no connect():
	 * no port, no SYN, no TIME_WAIT on the server. That connection's own
	 * handshake, once per client, is not simulated. */
	r->requests++;
	c->conns++;
	if (f->keepalive > 0 && model_rng_unit(&s->rng_ka) <= f->keepalive) {
		r->kept_alive++;
		next_arrival(s, ci);
		return;
	}
	r->connections++;
	/* connect(): the client's kernel picks the port */
	s->cl_cur = ci;
	struct port_pick pp = port_alloc_connect(&c->pa, c->addr, s->service_addr, s->service_port,
						 c->clk.boot_uptime_ms + (uint64_t)(c0 / 1000),
						 &c->rng, port_taken_cb, s);
	if (!pp.port) {
		r->client_ports_exhausted++;
		r->timed_out++;
		c->touts++;
		next_arrival(s, ci);
		return;
	}
	uint16_t cport = pp.port;
	/* the NAT usually keeps the port: start fetching that TIME_WAIT slot
	 * (and, where addresses are shared, the NAT's entry nat_map() asks
	 * about first) while the clock and ISN hashes run */
	uint32_t guess = f->snat.mode == SNAT_STATIC ? s->p->nat_addr + ci :
			 f->snat.mode == SNAT_OVERLOAD ? c->ov_addr :
			 f->snat.mode == SNAT_ONE_TO_ONE && c->o2o ? s->p->nat_addr + c->o2o - 1 :
			 s->p->nat_addr;
	uint64_t guess_tag = tw_tag(s, guess, cport);
	pmap_prefetch(&s->twk, guess_tag, true);
	if (s->nat_table)
		tmap_prefetch(&s->natmap, tw_key(guess, cport));
	/* the client-port entry this connection writes below */
	tmap_prefetch(&s->cport, cport_key(ci, cport));
	next_arrival(s, ci);
	/* second stage: by now the index slot has mostly arrived; a SYN that
	 * finds a TIME_WAIT then reads its ring entry (a second, dependent
	 * miss): start loading it here, so it overlaps the NAT's and the
	 * client-port table's misses instead of following them */
	tw_prefetch_entry(s, guess_tag);
	/* one keyed hash gives this connection's TS offset and ISN base
	 * (model/fleet.h tcp_conn_clock); the rest is the clock. With
	 * clock_later, only if the SYN finds a TIME_WAIT (below). */
	struct conn_clock cc = { 0, 0 };
	uint32_t tsval = 0, isn = 0;
	bool lazy = s->clock_later;
	if (!lazy) {
		tcp_conn_clock(&c->clk, c->addr, s->service_addr, cport, s->service_port, &cc);
		tsval = conn_tsval(&c->clk, &cc, (uint64_t)(c0 / 1000));
		isn = conn_isn(&cc, EPOCH_NS + (uint64_t)c0 * 1000);
	}
	uint32_t nat_addr;
	uint16_t nat_port;
	/* the client's port entry: one probe for nat_map()'s look at the
	 * client's earlier session on this port and for the new socket */
	bool created;
	struct tent *ce = tmap_put(&s->cport, cport_key(ci, cport), &created);
	if (!ce) {
		s->oom = true;
		return;
	}
	s->la_ci = ci;
	s->la_cport = cport;
	s->la_c0 = c0;
	s->la_done = false;
	if (!nat_map(s, ci, cport, isn, ce, &nat_addr, &nat_port)) {
		/* no socket: the port stays as it was (a new entry goes) */
		if (created)
			tmap_del_at(&s->cport, ce);
		r->nat_exhausted++;
		r->timed_out++;
		c->touts++;
		return;
	}
	ce->exp = INF;
	ce->f = 0;
	ce->e = 0;
	ce->a = 0;
	emit(s, s->now, true, nat_addr, nat_port, TCPF_SYN, isn, 0, 0, true, tsval, 0);

	struct tw_decision d;
	uint32_t sisn;
	bool found;
	struct twe *e = tw_find(s, nat_addr, nat_port);
	if (e && lazy) {
		if (s->ccm_ok && s->ccm_client == ci && s->ccm_port == cport)
			cc = s->ccm;
		else
			tcp_conn_clock(&c->clk, c->addr, s->service_addr, cport, s->service_port, &cc);
		tsval = conn_tsval(&c->clk, &cc, (uint64_t)(c0 / 1000));
		isn = conn_isn(&cc, EPOCH_NS + (uint64_t)c0 * 1000);
		lazy = false;
	}
	bool ok = server_syn(s, e, nat_addr, nat_port, isn, tsval, &sisn, &d, &found);
	r->port_reuses += found;
	if (ok) {
		accept_conn(s, ci, cport, nat_addr, nat_port, isn, tsval, cc.ts_off, sisn, c0, false, lazy);
		return;
	}
	/* a collision: the SYN found the 4-tuple in TIME_WAIT, no SYN-ACK */
	r->collisions++;
	r->collisions_paws += d.cause == TW_CAUSE_PAWS;
	r->collisions_seq += d.cause == TW_CAUSE_SEQ;
	c->colls++;
	uint32_t idx;
	struct attempt *a = att_new(s, &idx);
	if (!a)
		return;
	a->client = ci;
	a->nat_addr = nat_addr;
	a->nat_port = nat_port;
	a->cport = cport;
	a->isn = isn;
	a->tsval0 = tsval;
	a->ts_off = cc.ts_off;
	a->c0 = c0;
	a->deadline = c0 + (int64_t)(s->p->connect_timeout_s * US);
	arm_rto(s, a, c0);
	after_refused_syn(s, idx, &d);
	att_schedule(s, idx);
}

static void attempt_gives_up(struct sim *s, uint32_t idx)
{
	struct attempt *a = &s->att[idx];
	struct client *c = &s->cl[a->client];
	s->r->timed_out++;
	c->touts++;
	/* close() of a SYN_SENT socket sends nothing; the NAT's session stays
	 * in SYN_SENT until its own timer */
	int64_t hold = s->nat.preset->netfilter ? SYN_SENT_HOLD_US : s->fw_hold;
	client_port_release(s, a->client, a->cport, tw_key(a->nat_addr, a->nat_port), hold, 2);
	nat_release(s, a->client, a->nat_addr, a->nat_port, hold, false, a->isn + 1, false, 0);
	att_free(s, idx);
}

static void on_attempt(struct sim *s, uint32_t idx)
{
	struct attempt *a = &s->att[idx];
	struct client *c = &s->cl[a->client];
	int64_t t_syn = a->next_send != INF ? a->next_send + s->d : INF;

	if (a->t_rst <= s->now) {
		/* the client's RST reaches the server's TIME_WAIT */
		struct twe *e = tw_find(s, a->nat_addr, a->nat_port);
		a->t_rst = INF;
		emit(s, s->now, true, a->nat_addr, a->nat_port, TCPF_RST, a->rst_seq, 0, 0, false, 0, 0);
		if (e) {
			struct tw_sock tw;
			struct tw_decision d;
			struct segment seg = { .flags = TCPF_RST, .seq = a->rst_seq };
			tw_fill(s, e, &tw);
			tw_process_quiet(s->p->server_k, &s->env, &tw, &seg, &d);
			s->r->tw_killed_by_rst += d.tw_killed;
			tw_apply(s, e, &d);
		}
	} else if (a->t_ack <= s->now) {
		/* the bare ACK reaches the client in SYN_SENT */
		struct synsent_sock ss = {
			.snd_una = a->isn, .snd_nxt = a->isn + 1, .ts_enabled = true,
			.ts_sent = a->tsval0, .ts_now = cli_ts(c, a->ts_off, s->now),
			.retransmits = a->retransmits,
		};
		struct segment seg = {
			.flags = TCPF_ACK, .seq = a->ack_seq, .ack = a->ack_ack,
			.has_ts = a->ack_has_ts, .tsval = a->ack_tsval, .tsecr = a->ack_tsecr,
		};
		struct synsent_decision d;
		a->t_ack = INF;
		synsent_process_quiet(s->p->client_k, &ss, &seg, &d);
		if (d.verdict == SYNSENT_RESET && d.reply.sent) {
			s->r->client_rsts++;
			a->t_rst = s->now + s->d;
			a->rst_seq = d.reply.seq;
		}
		if (d.fast_retry && d.next_syn_ms) {
			/* the SYN timer re-armed at TCP_TIMEOUT_MIN */
			int64_t t = s->now + (int64_t)d.next_syn_ms * 1000;
			a->next_send = t < a->deadline ? t : INF;
		}
	} else if (t_syn <= s->now && t_syn <= a->deadline + s->d) {
		/* a retransmitted SYN reaches the server */
		struct tw_decision d;
		uint32_t sisn;
		bool found;
		int64_t sent = a->next_send;
		uint32_t tsval = cli_ts(c, a->ts_off, sent);
		a->retransmits++;
		s->r->syn_retransmits++;
		emit(s, s->now, true, a->nat_addr, a->nat_port, TCPF_SYN, a->isn, 0, 0, true, tsval, 0);
		if (server_syn(s, tw_find(s, a->nat_addr, a->nat_port), a->nat_addr, a->nat_port, a->isn,
			       tsval, &sisn, &d, &found)) {
			accept_conn(s, a->client, a->cport, a->nat_addr, a->nat_port, a->isn, tsval, a->ts_off,
				    sisn, a->c0, true, false);
			att_free(s, idx);
			return;
		}
		arm_rto(s, a, sent);
		after_refused_syn(s, idx, &d);
	} else if (s->now >= a->deadline) {
		attempt_gives_up(s, idx);
		return;
	}
	att_schedule(s, idx);
}

/* ---- set-up */

static uint32_t client_addr(uint32_t i)
{
	/* the lab's plan for its clients: client-N is 198.18.N.2 (N from 1);
	 * past the lab's range, 10.0.0.0/8 (inside addresses never leave the
	 * simulation; they only feed the NAT's hash) */
	if (i < 199)
		return 0xC6120002u | (i + 1) << 8;
	return 0x0A000000u + i;
}

/* Resolve a release string ("6.18.44", "rhel7.7", "3.10.0-1062.el7") to an
 * exact version for the clock and port models. */
static uint32_t kver_of(const char *release, const struct kprofile *k, bool *rhel)
{
	uint32_t v = 0;
	*rhel = false;
	if (release && !strncmp(release, "rhel7", 5)) {
		*rhel = true;
		return KVER(3, 10, 0);
	}
	if (release && kver_parse(release, &v)) {
		*rhel = v / 1000 == 3010;
		return v;
	}
	if (k && kver_parse(k->name, &v)) {
		*rhel = v / 1000 == 3010;
		return v;
	}
	return KVER(6, 18, 0);
}

const char *sim_preset_for(const struct sim_params *p)
{
	if (p->nat_preset)
		return p->nat_preset;
	return p->fleet.snat.mode == SNAT_RANDOM_FULLY ? "linux-random-fully" : "linux";
}

static void sim_free(struct sim *s)
{
	pmap_free(&s->twk);
	free(s->twr.v);
	tmap_free(&s->natmap);
	free(s->natx);
	tmap_free(&s->cport);
	fifo_free(&s->nat_q);
	fifo_free(&s->nat_q2);
	heap_free(&s->heap);
	ltree_free(&s->arr);
	free(s->conns.v);
	free(s->att);
	free(s->cl);
	free(s->perturb);
	free(s->o2o_released);
	free(s->o2o_busy);
	free(s->pk);
}

static int setup(struct sim *s, const struct sim_params *p, struct sim_result *r,
		 char *err, size_t errlen)
{
	const struct fleet *f = &p->fleet;
	struct model_rng root;
	bool rhel;
	uint32_t ckver = p->client_kver ? p->client_kver : kver_of(f->client_kernel, p->client_k, &rhel);
	uint32_t skver = p->server_kver ? p->server_kver : kver_of(f->server_kernel, p->server_k, &rhel);
	enum port_alg alg;

	memset(s, 0, sizeof *s);
	s->p = p;
	s->r = r;
	s->att_free = UINT32_MAX;
	s->d = (int64_t)(p->rtt_ms * 500.0);
	s->rtt = 2 * s->d;
	s->svc = (int64_t)(p->service_ms * 1000.0);
	s->tw_len = (int64_t)p->server_k->tw_len_s * US;
	s->fw_hold = (int64_t)(p->fw_time_wait_s * US);
	s->end_arrivals = (int64_t)(f->duration_s * US);
	s->syn_max_retrans = syn_max_retransmits(p->client_k, -1, p->client_k->syn_retries_default);
	s->service_addr = p->service_addr ? p->service_addr : p->server_addr;
	s->service_port = p->service_port ? p->service_port : p->server_port;
	s->env.invalid_ratelimit_ms = -1;
	s->nclients = f->clients;
	s->tw_last = 0;

	model_rng_seed(&root, p->seed);
	model_rng_seed(&s->rng_arrive, model_rng_next(&root));
	model_rng_seed(&s->rng_nat, model_rng_next(&root));
	model_rng_seed(&s->rng_ka, model_rng_next(&root));
	host_clock_init(&s->server_clk, skver, 1, 3600000ull + model_rng_below(&root, 30u * 86400u) * 1000ull, &root);

	const struct nat_preset *np = nat_preset_find(sim_preset_for(p));
	if (!np) {
		snprintf(err, errlen, "unknown NAT preset '%s'", sim_preset_for(p));
		return -1;
	}
	nat_state_init(&s->nat, np, KVER(6, 18, 0));
	s->nat_table = f->snat.mode == SNAT_OVERLOAD || f->snat.mode == SNAT_MASQUERADE ||
		       f->snat.mode == SNAT_RANDOM_FULLY;
	if (f->snat.mode == SNAT_MASQUERADE) {
		/* addresses p->nat_addr + 0 .. n-1; one outside is looked up
		 * in the map (natx_at); past 16 addresses (8 MiB) none */
		s->natx_n = f->snat.n ? f->snat.n : 1;
		if (s->natx_n <= 16) {
			s->natx = calloc((size_t)s->natx_n << 16, sizeof *s->natx);
			if (!s->natx)
				goto oom;
		} else {
			s->natx_n = 0;
		}
	}
	/* a shared-address NAT asks for ISNs only through syn_seq_end_cb and
	 * nat_tuple_cb (its 6.5+ eviction rule) */
	s->clock_later = !p->packet;

	if (!port_alg_for_release(f->client_kernel, &alg))
		alg = port_alg_for(ckver, ckver / 1000 == 3010);
	s->perturb_len = port_alloc_table_len(alg);
	s->cl = calloc(s->nclients, sizeof *s->cl);
	if (s->perturb_len)
		s->perturb = malloc(s->perturb_len * s->nclients * sizeof *s->perturb);
	if (!s->cl || (s->perturb_len && !s->perturb))
		goto oom;
	if (f->snat.mode == SNAT_ONE_TO_ONE) {
		s->pool_n = f->snat.n;
		s->o2o_released = calloc(s->pool_n, sizeof *s->o2o_released);
		s->o2o_busy = calloc(s->pool_n, sizeof *s->o2o_busy);
		if (!s->o2o_released || !s->o2o_busy)
			goto oom;
	}
	/* tag: 16 port bits and tw_abits address bits, plus one (never 0) */
	uint64_t span = s->nclients > f->snat.n ? s->nclients : f->snat.n;
	while ((1ull << s->tw_abits) < span)
		s->tw_abits++;
	if (!pmap_init(&s->twk, 1024, 64 - 17 - s->tw_abits) || !tmap_init(&s->natmap, 1024) ||
	    !tmap_init(&s->cport, 1024))
		goto oom;
	s->pooled = !f->periodic;
	int64_t *t0 = malloc((s->nclients ? s->nclients : 1) * sizeof *t0);
	if (!t0)
		goto oom;
	for (uint32_t i = 0; i < s->nclients; i++) {
		struct client *c = &s->cl[i];
		c->addr = i < p->nclient_addrs ? p->client_addrs[i] : client_addr(i);
		if (f->snat.mode == SNAT_OVERLOAD)
			c->ov_addr = nat_overload_addr(p->nat_addr, f->snat.n, c->addr, p->server_addr, 0, false);
		model_rng_seed(&c->rng, model_rng_next(&root));
		/* uptimes: an hour to 30 days, so 3.10 jiffies clocks differ */
		host_clock_init(&c->clk, ckver, 1,
				3600000ull + (uint64_t)model_rng_below(&c->rng, 30u * 86400u) * 1000ull,
				&c->rng);
		if (!port_alloc_init(&c->pa, alg, f->port_lo, f->port_hi,
				     s->perturb ? s->perturb + (size_t)i * s->perturb_len : NULL, &c->rng)) {
			snprintf(err, errlen, "port range %u-%u rejected by the allocator",
				 f->port_lo, f->port_hi);
			free(t0);
			return -1;
		}
		/* first arrival: periodic at a random phase (Poisson: pooled) */
		int64_t t = f->periodic ? (int64_t)(model_rng_unit(&s->rng_arrive) * 1e6 / f->rate) : INF;
		t0[i] = t < s->end_arrivals ? t : INF;
	}
	/* Poisson: the fleet's first arrival, from 0 */
	if (s->pooled) {
		rexp_init(&s->rexp);
		s->pooled_mean_us = 1e6 / ((double)s->nclients * f->rate);
		pooled_next(s);
	}
	bool ok = ltree_init(&s->arr, t0, s->nclients);
	free(t0);
	if (!ok)
		goto oom;
	r->clients = s->nclients;
	return 0;
oom:
	snprintf(err, errlen, "out of memory for %u clients", s->nclients);
	return -1;
}

/* ---- results */

static double lat_bucket_ms(unsigned b)
{
	uint64_t us;
	if (b < 32)
		us = b;
	else {
		unsigned e = b / 32 + 4, m = b % 32;
		us = (1ull << e) + ((uint64_t)m << (e - 5)) + (1ull << (e - 5)) / 2;
	}
	return us / 1000.0;
}

static double percentile(const struct sim_result *r, double q)
{
	uint64_t n = 0, want, acc = 0;
	for (unsigned b = 0; b < SIM_LAT_BUCKETS; b++)
		n += r->lat_hist[b];
	if (!n)
		return 0;
	want = (uint64_t)ceil(q * (double)n);
	if (want < 1)
		want = 1;
	for (unsigned b = 0; b < SIM_LAT_BUCKETS; b++) {
		acc += r->lat_hist[b];
		if (acc >= want)
			return fmin(lat_bucket_ms(b), r->lat_max_ms);
	}
	return r->lat_max_ms;
}

static int by_colls(const void *x, const void *y)
{
	const struct sim_client_stat *a = x, *b = y;
	if (a->collisions != b->collisions)
		return a->collisions < b->collisions ? 1 : -1;
	return a->client < b->client ? -1 : a->client > b->client;
}

static int by_u64_desc(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? 1 : a > b ? -1 : 0;
}

static void finish(struct sim *s)
{
	struct sim_result *r = s->r;
	uint64_t *cc = malloc(s->nclients * sizeof *cc);

	r->lat_p50_ms = percentile(r, 0.50);
	r->lat_p99_ms = percentile(r, 0.99);
	r->lat_p999_ms = percentile(r, 0.999);
	tw_count(s);
	r->sim_seconds = (double)s->now / US;
	r->tw_mean = s->now > 0 ? s->tw_area / (double)s->now : 0;
	/* per-client spread */
	struct sim_client_stat top[SIM_TOP_CLIENTS + 1];
	unsigned ntop = 0;
	for (uint32_t i = 0; i < s->nclients; i++) {
		const struct client *c = &s->cl[i];
		if (c->colls)
			r->clients_with_collisions++;
		if (c->conns && (double)c->colls / (double)c->conns > r->coll_rate_client_max)
			r->coll_rate_client_max = (double)c->colls / (double)c->conns;
		if (cc)
			cc[i] = c->colls;
		struct sim_client_stat st = { i, c->addr, c->conns, c->colls, c->touts };
		if (!c->colls)
			continue;
		if (ntop < SIM_TOP_CLIENTS) {
			top[ntop++] = st;
		} else if (by_colls(&st, &top[ntop - 1]) < 0) {
			top[ntop - 1] = st;
		} else {
			continue;
		}
		qsort(top, ntop, sizeof *top, by_colls);
	}
	r->ntop = ntop;
	memcpy(r->top, top, ntop * sizeof *top);
	if (cc && r->collisions) {
		/* share of collisions on the worst 10% of clients */
		qsort(cc, s->nclients, sizeof *cc, by_u64_desc);
		uint64_t sum = 0;
		uint32_t k = (s->nclients + 9) / 10;
		for (uint32_t i = 0; i < k; i++)
			sum += cc[i];
		r->coll_share_top10 = (double)sum / (double)r->collisions;
	}
	free(cc);
	r->peak_bytes = s->twk.cap * (sizeof *s->twk.v + 1) + s->twr.cap * sizeof(struct twe) +
			s->natmap.cap * (sizeof(struct tent) + 1) + ((size_t)s->natx_n << 16) * sizeof(int64_t) +
			s->cport.cap * (sizeof(struct tent) + 1) +
			(s->nat_q.cap + s->nat_q2.cap) * sizeof(struct fent) +
			s->heap.cap * sizeof(struct hent) +
			s->arr.cap * (sizeof *s->arr.t + sizeof *s->arr.loser) + s->conns.cap * sizeof(struct conn) +
			s->att_cap * sizeof(struct attempt) + s->nclients * sizeof(struct client) +
			s->perturb_len * s->nclients * sizeof(uint32_t) + s->pk_cap * sizeof(struct pkt);
}


/* ---- the loop */

/* The timers that only end state (TIME_WAIT ends, NAT holds end), in time
 * order up to and including t, all before an arrival, attempt or close at
 * t. TIME_WAIT ends touch only the TIME_WAIT table and its occupancy, NAT
 * hold ends only the NAT and client-port tables: the two streams are
 * independent, and each is run in its own order (the NAT's two FIFOs
 * merged: at equal times a never-connected session's hold first). */
static void expire_until(struct sim *s, int64_t t)
{
	while (s->twr.head < s->twr.tail) {
		int64_t te = twr_at(s, s->twr.head)->exp;
		if (te > t)
			break;
		s->now = te;
		s->r->events++;
		if (s->twr.tail - s->twr.head > 8) {
			const struct twe *ahead = twr_at(s, s->twr.head + 8);
			if (!ahead->dead)
				pmap_prefetch(&s->twk, tw_tag_of_key(s, ahead->key), true);
		}
		tw_expire(s);
	}
	for (;;) {
		int64_t tn = fifo_next(&s->nat_q), tn2 = fifo_next(&s->nat_q2);
		struct fifo *q = tn2 <= tn ? &s->nat_q2 : &s->nat_q;
		int64_t te = tn2 <= tn ? tn2 : tn;
		if (te > t || s->oom)
			return;
		s->now = te;
		s->r->events++;
		nat_expire_prefetch(s, q);
		nat_expire(s, fifo_peek(q));
		fifo_pop(q);
	}
}

int sim_run(const struct sim_params *p, struct sim_result *r, char *err, size_t errlen)
{
	struct sim s;

	memset(r, 0, sizeof *r);
	if (setup(&s, p, r, err, errlen) < 0) {
		sim_free(&s);
		return -1;
	}
	for (;;) {
		/* arrivals before attempts at the same time (ids: a client's
		 * index against ID_ATTEMPT | ...) */
		int64_t ta = s.pooled ? s.arr_t : ltree_next(&s.arr), tx = heap_next(&s.heap);
		int64_t th = ta <= tx ? ta : tx, tc = s.conns.n ? s.conns.v[s.conns.head].t_close : INF;
		int64_t t = th;
		int which = ta <= tx ? 0 : 4;
		if (tc < t) { t = tc; which = 1; }
		/* after the last arrival only what is in flight matters: stop
		 * once no connection or attempt is left (TIME_WAIT and NAT holds
		 * still ticking change no count) */
		if (th == INF && !s.conns.n)
			break;
		if (t == INF)
			break;
		/* the expiries due by then, first (expiries only end state: they
		 * schedule nothing before t) */
		expire_until(&s, t);
		if (s.oom)
			break;
		s.now = t;
		if (p->packet)
			pk_flush(&s, t - 1);
		r->events++;
		switch (which) {
		case 0:
			on_arrival(&s, s.pooled ? s.arr_ci : ltree_top(&s.arr));
			break;
		case 4: {
			struct hent h = s.heap.v[0];
			uint32_t idx = (uint32_t)h.id, gen = (uint32_t)(h.id >> 32) & 0x7fffffffu;
			/* a stale entry (none is made today: an attempt has
			 * one entry) is popped; a live one stays at the top
			 * while on_attempt() runs */
			bool live = s.att[idx].used && (s.att[idx].gen & 0x7fffffffu) == gen;
			s.top_is_att = live;
			if (live)
				on_attempt(&s, idx);
			if (!live || s.top_is_att) {
				/* stale, or freed: nothing replaced it */
				s.top_is_att = false;
				heap_pop(&s.heap, &h);
			}
			break;
		}
		case 1: {
			struct conn k = s.conns.v[s.conns.head];
			if (s.conns.n > 8) {
				const struct conn *ahead = &s.conns.v[(s.conns.head + 8) & (s.conns.cap - 1)];
				pmap_prefetch(&s.twk, tw_tag(&s, ahead->nat_addr, ahead->nat_port), false);
				/* close_conn() also reads the client's port entry
				 * and, where addresses are shared, the NAT's */
				tmap_prefetch(&s.cport, cport_key(ahead->client, ahead->cport));
				if (s.nat_table)
					tmap_prefetch(&s.natmap, tw_key(ahead->nat_addr, ahead->nat_port));
			}
			s.conns.head = (s.conns.head + 1) & (s.conns.cap - 1);
			s.conns.n--;
			close_conn(&s, &k);
			break;
		}
		}
		if (s.oom)
			break;
	}
	if (p->packet)
		pk_flush(&s, INF);
	finish(&s);
	sim_free(&s);
	if (s.oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
