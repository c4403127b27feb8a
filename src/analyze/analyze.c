/*
 * analyze.c - one pass over TCP segments: per-4-tuple history and TIME_WAIT
 * collisions.
 *
 * A collision is a SYN on a 4-tuple the server still holds in TIME_WAIT that
 * does not draw a SYN-ACK. Evidence, in order of strength:
 *   server side: the SYN is answered by a bare ACK (no payload) whose ack is
 *     not the SYN's ISN+1. With the earlier incarnation in the capture (and
 *     the server closing first) the TIME_WAIT state is rebuilt from it;
 *     without it, from the ACK itself: ack = tw_rcv_nxt, tsecr = tw_ts_recent.
 *     A bare ACK from a socket the capture shows still open (half-open or
 *     established: a challenge ACK) is not TIME_WAIT and is counted apart.
 *   client side: the SYN goes unanswered and is retransmitted, on a 4-tuple
 *     whose earlier incarnation the server closed first less than the
 *     TIME_WAIT length ago, and the model says that SYN would be refused.
 * The cause (paws/seq) is tw_process()'s, on those numbers.
 */
#include "analyze/analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Direction-independent key: the two endpoints in a fixed order, so one
 * lookup serves both directions. Five words, built and compared as words
 * (byte-wise stores read back as words stall the CPU): w[0..1] the lower
 * endpoint's address, w[2..3] the other's, w[4] ports and family. */
struct ckey {
	uint64_t w[5];
};

struct conn {
	bool     used;
	uint32_t hash;
	struct ckey k;
	bool     client_is_a;          /* the client is the key's first endpoint */
	struct an_tuple t;             /* oriented: client, server */
	double   last_t;
	/* the current or last incarnation */
	bool     est, closed, cli_fin, srv_fin, srv_tw;
	double   close_t;
	bool     cli_end_set, srv_end_set, cli_ts;
	uint32_t cli_end, srv_end, cli_tsval;
	uint32_t sa_ack;                /* ack of the incarnation's SYN-ACK */
	/* the SYN attempt in progress */
	bool     pending;
	double   syn_t, last_syn_t, last_answer_t;
	uint32_t syn_seq;
	unsigned syns, bare_acks;
	bool     answered;             /* any server segment for this attempt */
	bool     refused;              /* an earlier attempt was answered by a RST */
	bool     client_gave_up;
	bool     have_prev_tw;         /* the capture shows the server in TIME_WAIT */
	struct tw_sock prev_tw;
	double   prev_close;
	struct segment syn;
	struct an_collision *open;     /* the collision this attempt is, or NULL:
					* kept out of line so a tuple stays small */
};

#define NAT_HOSTS_PER_ADDR 64
struct nat_addr {                      /* per client address: its clocks */
	unsigned n;
	struct { double t; uint32_t ts; } h[NAT_HOSTS_PER_ADDR];
};

struct analyzer {
	struct an_opts o;
	struct nat_addr *clocks;               /* parallel to r.nat */
	struct an_result r;
	struct conn *tab;
	size_t cap, n;
	double now;
	uint64_t since_sweep;
};

const char *an_outcome_str(enum an_outcome o)
{
	return o == AN_RECOVERED ? "recovered" : o == AN_TIMED_OUT ? "timed_out" : "unknown";
}

static uint32_t hash_key(const struct ckey *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 5; i++) {
		h ^= k->w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h;
}

_Static_assert(sizeof(struct ckey) == 40, "ckey is hashed as five words");

static inline bool key_eq(const struct ckey *x, const struct ckey *y)
{
	const uint64_t *a = x->w, *b = y->w;
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]));
}

struct analyzer *an_new(const struct an_opts *o)
{
	struct analyzer *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->o = *o;
	a->cap = 1024;
	a->tab = calloc(a->cap, sizeof *a->tab);
	a->r.list = calloc(AN_MAX_LISTED, sizeof *a->r.list);
	a->r.nat = calloc(AN_NAT_MAX_ADDRS, sizeof *a->r.nat);
	a->clocks = calloc(AN_NAT_MAX_ADDRS, sizeof *a->clocks);
	if (!a->tab || !a->r.list || !a->r.nat || !a->clocks) {
		an_free(a);
		return NULL;
	}
	return a;
}

void an_free(struct analyzer *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->tab && i < a->cap; i++)
		if (a->tab[i].used)
			free(a->tab[i].open);
	free(a->tab);
	free(a->r.list);
	free(a->r.nat);
	free(a->clocks);
	free(a);
}

static struct conn *find(struct analyzer *a, const struct ckey *k, uint32_t h, bool create);
static void sweep(struct analyzer *a);

static void grow(struct analyzer *a)
{
	struct conn *old = a->tab;
	size_t ocap = a->cap;
	a->cap *= 2;
	a->tab = calloc(a->cap, sizeof *a->tab);
	if (!a->tab) {                      /* keep the old table */
		a->tab = old;
		a->cap = ocap;
		return;
	}
	a->n = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			*find(a, &old[i].k, old[i].hash, true) = old[i];
	free(old);
}

static struct conn *find(struct analyzer *a, const struct ckey *k, uint32_t h, bool create)
{
	size_t i = h & (a->cap - 1);
	for (;; i = (i + 1) & (a->cap - 1)) {
		struct conn *c = &a->tab[i];
		if (!c->used) {
			if (!create)
				return NULL;
			if ((a->n + 1) * 2 > a->cap) {
				/* full: forget what is past any TIME_WAIT first, grow
				 * only if that was not enough (memory follows the live
				 * tuples, and the table is walked only this often) */
				sweep(a);
				if ((a->n + 1) * 2 > a->cap * 3 / 4)
					grow(a);
				return find(a, k, h, true);
			}
			memset(c, 0, sizeof *c);
			c->used = true;
			c->hash = h;
			c->k = *k;
			a->n++;
			if (a->n > a->r.peak_tuples)
				a->r.peak_tuples = a->n;
			return c;
		}
		if (c->hash == h && key_eq(&c->k, k))
			return c;
	}
}

/* Linear-probing delete with backward shift: no tombstones. */
static void del(struct analyzer *a, size_t i)
{
	size_t j = i;
	a->tab[i].used = false;
	a->n--;
	for (;;) {
		j = (j + 1) & (a->cap - 1);
		if (!a->tab[j].used)
			return;
		size_t k = a->tab[j].hash & (a->cap - 1);
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			a->tab[i] = a->tab[j];
			a->tab[j].used = false;
			i = j;
		}
	}
}

static void record(struct analyzer *a, struct an_collision *c)
{
	struct an_result *r = &a->r;
	r->collisions++;
	r->coll_paws += c->d.cause == TW_CAUSE_PAWS;
	r->coll_seq += c->d.cause == TW_CAUSE_SEQ;
	r->coll_unknown += c->d.cause == TW_CAUSE_NONE;
	r->recovered += c->outcome == AN_RECOVERED;
	r->timed_out += c->outcome == AN_TIMED_OUT;
	r->outcome_unknown += c->outcome == AN_UNKNOWN;
	if (r->listed < AN_MAX_LISTED)
		r->list[r->listed++] = *c;
}

/* The SYN attempt ends: by a SYN-ACK, a new SYN with another ISN, expiry or
 * the end of the input. Decide client-side evidence and the outcome. */
static void close_attempt(struct analyzer *a, struct conn *c, bool synack, double t)
{
	if (!c->pending)
		return;
	if (!c->open && !c->answered && !synack && c->syns >= 2 && c->have_prev_tw &&
	    c->syn_t - c->prev_close < a->o.kernel->tw_len_s) {
		/* client-side capture: the answer never came back */
		struct an_collision *k = calloc(1, sizeof *k);
		if (!k)
			goto done;
		k->ts = c->syn_t;
		k->t = c->t;
		k->prev_in_capture = true;
		k->since_close = c->syn_t - c->prev_close;
		k->tw = c->prev_tw;
		k->syn = c->syn;
		tw_process(a->o.kernel, NULL, &k->tw, &k->syn, &k->d);
		if (k->d.verdict != TCP_TW_SYN)
			c->open = k;
		else
			free(k);
	}
	if (!c->open && !c->answered && !synack && c->syns >= 2)
		a->r.unanswered++;     /* no earlier incarnation to judge it by */
	if (c->open) {
		struct an_collision *k = c->open;
		k->syns = c->syns;
		k->acks = c->bare_acks;
		if (synack) {
			k->outcome = AN_RECOVERED;
			k->delay_ms = (t - c->syn_t) * 1000.0;
		} else if (c->client_gave_up || c->syns >= 3 || a->now - c->last_syn_t >= 1.0) {
			/* no SYN-ACK, and the client stopped trying or has been
			 * waiting through two retransmissions (>= 3 s) */
			k->outcome = AN_TIMED_OUT;
			k->delay_ms = (c->last_syn_t - c->syn_t) * 1000.0;
		} else {
			k->outcome = AN_UNKNOWN;
		}
		record(a, k);
		free(k);
		c->open = NULL;
	}
done:
	c->pending = false;
}

static void nat_count(struct analyzer *a, const struct an_tuple *t, double ts, uint32_t tsval);

static void new_incarnation(struct conn *c)
{
	c->est = true;
	c->closed = c->cli_fin = c->srv_fin = c->srv_tw = false;
	c->cli_end_set = c->srv_end_set = false;
}

static void on_client(struct analyzer *a, struct conn *c, const struct tcp_seg *s)
{
	uint32_t end = s->seq + s->len + !!(s->flags & TCPF_SYN) + !!(s->flags & TCPF_FIN);

	if ((s->flags & TCPF_SYN) && !(s->flags & (TCPF_ACK | TCPF_RST))) {
		if (c->pending && s->seq == c->syn_seq) {          /* retransmission */
			c->syns++;
			c->last_syn_t = s->ts;
			return;
		}
		if (c->est && !c->closed && s->seq + 1 == c->sa_ack)
			return;                      /* its SYN-ACK was captured first */
		close_attempt(a, c, false, s->ts);
		if (c->closed && s->ts - c->close_t > a->o.kernel->tw_len_s + 60.0) {
			/* closed long before any TIME_WAIT could remain: a fresh
			 * tuple, as if the sweep had already forgotten it */
			struct an_tuple keep = c->t;
			struct ckey kk = c->k;
			uint32_t hh = c->hash;
			bool cia = c->client_is_a;
			free(c->open);
			memset(c, 0, sizeof *c);
			c->used = true;
			c->hash = hh;
			c->k = kk;
			c->client_is_a = cia;
			c->t = keep;
			c->last_t = s->ts;
		}
		if (c->est || c->closed || c->refused) {
			a->r.port_reuses++;
			double gap = c->closed ? s->ts - c->close_t : -1;
			int b = gap < 0 ? -1 : gap < 1 ? 0 : gap < 10 ? 1 : gap < 60 ? 2 : 3;
			if (b >= 0)
				a->r.reuse_hist[b]++;
		}
		memset(&c->syn, 0, sizeof c->syn);
		c->syn.flags = s->flags;
		c->syn.seq = s->seq;
		c->syn.has_ts = s->has_ts;
		c->syn.tsval = s->tsval;
		c->syn.tsecr = s->tsecr;
		c->have_prev_tw = c->closed && c->srv_tw && c->cli_end_set;
		if (c->have_prev_tw) {
			struct tw_sock *tw = &c->prev_tw;
			memset(tw, 0, sizeof *tw);
			tw->rcv_nxt = c->cli_end;
			tw->snd_nxt = c->srv_end;
			tw->rcv_wnd = 65535;
			tw->ts_recent_stamp_set = c->cli_ts;
			tw->ts_recent = c->cli_tsval;
			tw->ts_recent_age_s = (uint32_t)fmax(0, s->ts - c->close_t);
			tw->last_oow_ack_ms = -1;
			c->prev_close = c->close_t;
		}
		c->pending = true;
		c->answered = c->client_gave_up = false;
		c->syn_t = c->last_syn_t = s->ts;
		c->syn_seq = s->seq;
		c->syns = 1;
		c->bare_acks = 0;
		if (s->has_ts)
			nat_count(a, &c->t, s->ts, s->tsval);
		return;
	}
	if (s->flags & TCPF_RST) {
		if (c->pending) {
			if (c->open)
				c->open->client_rst = true;
			else
				c->client_gave_up = true;
		}
		if (c->est && !c->closed) {
			c->closed = true;
			c->srv_tw = false;            /* a reset leaves no TIME_WAIT */
			c->close_t = s->ts;
		}
		return;
	}
	/* ACK / data / FIN of an incarnation */
	if (c->pending && !c->open && (s->flags & TCPF_ACK) && c->syns) {
		/* the handshake completed although the SYN-ACK is not in the capture */
		c->pending = false;
		if (!c->est || c->closed) {
			a->r.connections++;
			new_incarnation(c);
		}
	}
	if (c->pending)
		return;
	if (!c->cli_end_set || seq_after(end, c->cli_end))
		c->cli_end = end;
	c->cli_end_set = true;
	c->cli_ts = s->has_ts;
	c->cli_tsval = s->tsval;
	if ((s->flags & TCPF_FIN) && !c->cli_fin) {
		c->cli_fin = true;
		if (!c->srv_fin) {
			c->srv_tw = false;
			a->r.client_closed_first++;
		}
	}
	if (c->cli_fin && c->srv_fin && !c->closed) {
		c->closed = true;
		c->close_t = s->ts;
	}
}

static void on_server(struct analyzer *a, struct conn *c, const struct tcp_seg *s)
{
	uint32_t end = s->seq + s->len + !!(s->flags & TCPF_SYN) + !!(s->flags & TCPF_FIN);

	if ((s->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
		bool ours = c->pending && s->ack == c->syn_seq + 1;
		if (c->pending) {
			close_attempt(a, c, ours, s->ts);
		}
		if (!c->est || c->closed || ours) {
			a->r.connections++;
			new_incarnation(c);
		}
		c->srv_end = end;
		c->srv_end_set = true;
		c->sa_ack = s->ack;
		return;
	}
	if (c->pending) {
		c->answered = true;
		c->last_answer_t = s->ts;
		if (s->flags & TCPF_RST) {
			c->refused = true;
			if (!c->open)
				c->pending = false;
			return;
		}
		if (s->flags == TCPF_ACK && s->len == 0 && s->ack != c->syn_seq + 1) {
			c->bare_acks++;
			if (c->open)
				return;
			/* a live socket (the capture shows it open) answers with a
			 * challenge ACK: not TIME_WAIT */
			if (c->est && !c->closed) {
				a->r.other_bare_acks++;
				return;
			}
			if (c->closed && !c->srv_tw) {
				a->r.other_bare_acks++;
				return;
			}
			struct an_collision *k = calloc(1, sizeof *k);
			if (!k)
				return;
			k->ts = c->syn_t;
			k->t = c->t;
			k->server_evidence = true;
			k->syn = c->syn;
			if (c->have_prev_tw) {
				k->prev_in_capture = true;
				k->since_close = c->syn_t - c->prev_close;
				k->tw = c->prev_tw;
			} else {
				/* rebuilt from the ACK: tcp_v4_timewait_ack() sends
				 * ack = tw_rcv_nxt, tsecr = tw_ts_recent */
				k->since_close = -1;
				k->tw.rcv_nxt = s->ack;
				k->tw.snd_nxt = s->seq;
				k->tw.rcv_wnd = 65535;
				k->tw.ts_recent_stamp_set = s->has_ts;
				k->tw.ts_recent = s->tsecr;
				k->tw.last_oow_ack_ms = -1;
			}
			tw_process(a->o.kernel, NULL, &k->tw, &k->syn, &k->d);
			c->open = k;
		}
		return;
	}
	if (s->flags & TCPF_RST) {
		if (c->est && !c->closed) {
			c->closed = true;
			c->srv_tw = false;
			c->close_t = s->ts;
		}
		return;
	}
	if (!c->srv_end_set || seq_after(end, c->srv_end))
		c->srv_end = end;
	c->srv_end_set = true;
	if ((s->flags & TCPF_FIN) && !c->srv_fin) {
		c->srv_fin = true;
		if (!c->cli_fin) {
			c->srv_tw = true;
			a->r.server_closed_first++;
		}
	}
	if (c->cli_fin && c->srv_fin && !c->closed) {
		c->closed = true;
		c->close_t = s->ts;
	}
}

/* NAT hosts from timestamp clocks: connections from one address whose tsval
 * advances with time at ~1 kHz belong to one host. Hosts are kept per
 * address as (t, tsval) reference points. */

static void nat_count(struct analyzer *a, const struct an_tuple *t, double ts, uint32_t tsval)
{
	struct nat_addr *clocks = a->clocks;
	struct an_result *r = &a->r;
	unsigned i;

	for (i = 0; i < r->nnat; i++)
		if (r->nat[i].family == t->family && !memcmp(r->nat[i].addr, t->caddr, 16))
			break;
	if (i == r->nnat) {
		if (r->nnat == AN_NAT_MAX_ADDRS)
			return;
		r->nat[i].family = t->family;
		memcpy(r->nat[i].addr, t->caddr, 16);
		clocks[i].n = 0;
		r->nnat++;
	}
	r->nat[i].conns++;
	struct nat_addr *na = &clocks[i];
	for (unsigned h = 0; h < na->n; h++) {
		double dt = ts - na->h[h].t;
		double want = (double)na->h[h].ts + dt * 1000.0;
		double diff = fabs((double)(int32_t)(tsval - (uint32_t)(int64_t)want));
		if (dt >= -1 && diff <= 1000.0 + fabs(dt) * 20.0) {
			na->h[h].t = ts;
			na->h[h].ts = tsval;
			return;
		}
	}
	if (na->n < NAT_HOSTS_PER_ADDR) {
		na->h[na->n].t = ts;
		na->h[na->n].ts = tsval;
		na->n++;
	}
	r->nat[i].hosts = na->n;
}

static void sweep(struct analyzer *a)
{
	double horizon = a->now - (a->o.kernel->tw_len_s + 60.0);
	for (size_t i = 0; i < a->cap; i++) {
		struct conn *c = &a->tab[i];
		while (c->used && c->last_t < horizon) {
			close_attempt(a, c, false, a->now);
			del(a, i);                  /* may shift another entry into i */
		}
	}
}

static bool is_server(const struct analyzer *a, const struct tcp_seg *s, bool src)
{
	const uint8_t *addr = src ? s->saddr : s->daddr;
	uint16_t port = src ? s->sport : s->dport;
	return s->family == a->o.server_family && !memcmp(addr, a->o.server_addr, s->family == 4 ? 4 : 16) &&
	       (!a->o.server_port || port == a->o.server_port);
}

void an_segment(struct analyzer *a, const struct tcp_seg *s)
{
	struct ckey k;
	bool src_is_a, from_client;
	struct conn *c;

	a->r.segments++;
	a->now = s->ts;
	{
		uint64_t sa[2], da[2];         /* decode zeroes an IPv4 address's tail */
		memcpy(sa, s->saddr, 16);
		memcpy(da, s->daddr, 16);
		/* any fixed total order will do: by address words, then port */
		src_is_a = sa[0] != da[0] ? sa[0] < da[0] : sa[1] != da[1] ? sa[1] < da[1]
										 : s->sport <= s->dport;
		k.w[0] = src_is_a ? sa[0] : da[0];
		k.w[1] = src_is_a ? sa[1] : da[1];
		k.w[2] = src_is_a ? da[0] : sa[0];
		k.w[3] = src_is_a ? da[1] : sa[1];
		k.w[4] = (uint64_t)(src_is_a ? s->sport : s->dport) |
			 (uint64_t)(src_is_a ? s->dport : s->sport) << 16 | (uint64_t)s->family << 32;
	}
	c = find(a, &k, hash_key(&k), true);
	if (!c)
		return;
	if (!c->t.family) {
		/* a new tuple: which side is the client? */
		if (a->o.have_server) {
			if (is_server(a, s, false))
				from_client = true;
			else if (is_server(a, s, true))
				from_client = false;
			else {
				del(a, (size_t)(c - a->tab));
				return;
			}
		} else if ((s->flags & TCPF_SYN) && !(s->flags & TCPF_ACK)) {
			from_client = true;
		} else if ((s->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
			from_client = false;
		} else {
			from_client = s->dport < s->sport;    /* mid-stream: lower port serves */
		}
		c->client_is_a = from_client == src_is_a;
		c->t.family = s->family;
		memcpy(c->t.caddr, from_client ? s->saddr : s->daddr, 16);
		memcpy(c->t.saddr, from_client ? s->daddr : s->saddr, 16);
		c->t.cport = from_client ? s->sport : s->dport;
		c->t.sport = from_client ? s->dport : s->sport;
	} else {
		from_client = src_is_a == c->client_is_a;
	}
	c->last_t = s->ts;
	if (from_client)
		on_client(a, c, s);
	else
		on_server(a, c, s);
	if (++a->since_sweep >= 1 << 20) {
		a->since_sweep = 0;
		if (a->o.progress)
			a->o.progress(a->r.segments, a->o.progress_arg);
	}
}

static int by_time(const void *x, const void *y)
{
	double a = ((const struct an_collision *)x)->ts, b = ((const struct an_collision *)y)->ts;
	return a < b ? -1 : a > b;
}

const struct an_result *an_finish(struct analyzer *a)
{
	for (size_t i = 0; i < a->cap; i++)
		if (a->tab[i].used)
			close_attempt(a, &a->tab[i], false, a->now);
	qsort(a->r.list, a->r.listed, sizeof *a->r.list, by_time);
	return &a->r;
}
