/*
 * table.h - the simulator's containers: a hash map keyed by a 64-bit word
 * (NAT mappings, client ports), a packed set for the server's TIME_WAIT
 * index, a FIFO of timers with a fixed delay (appended in time order, so a
 * ring is a priority queue), a 4-ary heap for timers with varying delays,
 * and a loser tree for the clients' next arrivals. None allocates
 * per operation: each grows by doubling and keeps its peak size, so memory
 * follows the live state, not the number of connections.
 */
#ifndef TWLAB_SIM_TABLE_H
#define TWLAB_SIM_TABLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- hash map: key (never 0) -> fixed payload */

struct tent {
	uint64_t key;                /* 0: empty slot */
	int64_t  exp;                /* when the entry ends (us); INT64_MAX: open */
	/* payload (meaning per table; the engine's two tables use disjoint
	 * parts of the union): 32 bytes an entry, two to a cache line */
	union {
		struct { uint32_t b, c; };
		int64_t e;
	};
	uint32_t f;
	uint16_t d;
	uint16_t a;
};
_Static_assert(sizeof(struct tent) == 32, "two map entries a cache line");

/* One array, the key inside its entry: the NAT and client-port lookups
 * mostly find their entry, and then read one cache line, not a key line
 * and an entry line. (The TIME_WAIT index, whose lookups mostly find
 * nothing, is the pmap below.) */
struct tmap {
	struct tent *slot;
	uint8_t *fp;                 /* per slot: 0 empty, else 1..128 from the
				      * key's hash (as pmap's): a look-up that
				      * finds nothing reads only these bytes */
	size_t cap, n, peak;
};

/* One multiply and one fold (Fibonacci hashing): the keys are a port in
 * the low 16 bits under an address or client index, and a product's low
 * bits depend only on the key's low bits, so the high half is folded
 * into them (the slot index is the low bits, the fingerprint the top 7). */
static inline size_t tmap_hash(uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ull;
	k ^= k >> 29;
	return (size_t)k;
}
/* Start loading key's home slot into the cache: a lookup due soon then
 * finds it there (the TIME_WAIT table is larger than the caches, and its
 * accesses are random: this hides the miss behind other work). */
static inline void tmap_prefetch(const struct tmap *m, uint64_t key)
{
	size_t i = tmap_hash(key) & (m->cap - 1);
	__builtin_prefetch(&m->fp[i]);
	__builtin_prefetch(&m->slot[i]);
}

bool tmap_init(struct tmap *m, size_t cap);
void tmap_free(struct tmap *m);
/* The entry for key, or NULL. */
struct tent *tmap_get(struct tmap *m, uint64_t key);
/* The entry for key, created (zeroed, key set) if absent; NULL if out of
 * memory. *created tells which. The pointer is valid until the next put. */
struct tent *tmap_put(struct tmap *m, uint64_t key, bool *created);
/* Remove key (backward-shift deletion: no tombstones). */
void tmap_del(struct tmap *m, uint64_t key);
/* Remove the entry e (from tmap_get/tmap_put, with no put since). */
void tmap_del_at(struct tmap *m, struct tent *e);

/* ---- pmap: a set of (tag, low) pairs packed in one 64-bit word a slot,
 * tag (never 0) in the high bits, `low` in the low `sbits`. Half the bytes
 * of a (key, value) slot: the server's TIME_WAIT index (tag: the compressed 4-tuple,
 * low: the low bits of the entry's ring sequence number), whose accesses
 * are random, so its size decides how often they miss the caches. Linear
 * probing, at most half full, backward-shift deletion (no tombstones). */

struct pmap {
	uint64_t *v;
	uint8_t  *fp;                /* per slot: 0 empty, else 1..128 from the
				      * tag's hash: a probe reads these bytes (an
				      * eighth of the slots' size, so mostly
				      * cached) and a slot only on a match: a
				      * look-up that finds nothing (most SYNs)
				      * touches no slot */
	size_t cap, n, peak;
	unsigned sbits;
};

static inline uint64_t pmap_low_mask(const struct pmap *m)
{
	return (1ull << m->sbits) - 1;
}
bool pmap_init(struct pmap *m, size_t cap, unsigned sbits);
void pmap_free(struct pmap *m);
/* The low bits stored with tag, or false. */
bool pmap_get(const struct pmap *m, uint64_t tag, uint64_t *low);
/* Insert or update; false if out of memory. */
bool pmap_set(struct pmap *m, uint64_t tag, uint64_t low);
void pmap_del(struct pmap *m, uint64_t tag);
/* pmap_get, also giving the slot that holds tag (for pmap_set_at and
 * pmap_del_at: no second probe while nothing was inserted or removed). */
bool pmap_get_slot(const struct pmap *m, uint64_t tag, uint64_t *low, size_t *slot);
/* pmap_set / pmap_del of a tag pmap_get_slot found at slot: in place if
 * the slot still holds tag, else (checked) the same as pmap_set/pmap_del. */
bool pmap_set_at(struct pmap *m, size_t slot, uint64_t tag, uint64_t low);
void pmap_del_at(struct pmap *m, size_t slot, uint64_t tag);
/* Remove tag if it holds low; true if it did. */
bool pmap_del_if(struct pmap *m, uint64_t tag, uint64_t low);
/* Start loading tag's home fingerprint (and, with slot, its slot: for a
 * tag known to be there). */
static inline void pmap_prefetch(const struct pmap *m, uint64_t tag, bool slot)
{
	size_t i = tmap_hash(tag) & (m->cap - 1);
	__builtin_prefetch(&m->fp[i]);
	if (slot)
		__builtin_prefetch(&m->v[i]);
}

/* ---- growable rings (power-of-two capacity, n entries from head) */

/* A full ring of elem-byte entries, doubled (1024 to start) into a new
 * array with head at 0; the old array is freed. NULL when out of memory
 * (the old array is kept). Both the timer FIFO and the open-connection
 * ring grow through it. */
void *ring_grow(void *v, size_t head, size_t n, size_t cap, size_t elem, size_t *new_cap);

/* ---- timer FIFO: (time, key, tag), appended with non-decreasing time */

struct fent {
	int64_t  t;
	uint64_t key;
	uint64_t tag;
};

struct fifo {
	struct fent *v;
	size_t cap, head, n, peak;   /* ring: n entries from head */
};

bool fifo_push(struct fifo *q, int64_t t, uint64_t key, uint64_t tag);
static inline const struct fent *fifo_peek(const struct fifo *q)
{
	return q->n ? &q->v[q->head] : NULL;
}
static inline int64_t fifo_next(const struct fifo *q)
{
	return q->n ? q->v[q->head].t : INT64_MAX;
}
static inline void fifo_pop(struct fifo *q)
{
	q->head = (q->head + 1) & (q->cap - 1);
	q->n--;
}
void fifo_free(struct fifo *q);

/* ---- min-heap of (time, id); ties broken by id (deterministic) */

struct hent {
	int64_t  t;
	uint64_t id;
};

struct heap {
	struct hent *v;
	size_t cap, n, peak;
};

bool heap_push(struct heap *h, int64_t t, uint64_t id);
static inline int64_t heap_next(const struct heap *h)
{
	return h->n ? h->v[0].t : INT64_MAX;
}
/* Remove the minimum into *out (h->n > 0). */
void heap_pop(struct heap *h, struct hent *out);
/* Replace the minimum by (t, id) and restore order: one sift instead of two. */
void heap_replace_top(struct heap *h, int64_t t, uint64_t id);
void heap_free(struct heap *h);

/* ---- loser tree over a fixed set of n sources, each with one pending time
 * (the clients' next arrivals): the minimum of (t, id = source) is at the
 * root, and replacing it costs one comparison per level, with no choice
 * between children to make. A source with nothing pending holds INT64_MAX. */

struct ltree {
	int64_t  *t;                 /* per source (padded to a power of two) */
	uint32_t *loser;             /* internal nodes 1 .. cap-1 */
	uint32_t cap, win;
};

/* All n sources with their first times t0[i]. */
bool ltree_init(struct ltree *lt, const int64_t *t0, uint32_t n);
static inline int64_t ltree_next(const struct ltree *lt)
{
	return lt->t[lt->win];
}
static inline uint32_t ltree_top(const struct ltree *lt)
{
	return lt->win;
}
static inline bool ltree_less(const struct ltree *lt, uint32_t a, uint32_t b)
{
	return lt->t[a] < lt->t[b] || (lt->t[a] == lt->t[b] && a < b);
}
/* The winner's next time is t (INT64_MAX: none); the new winner is found. */
static inline void ltree_replace_top(struct ltree *lt, int64_t t)
{
	uint32_t w = lt->win;
	lt->t[w] = t;
	for (uint32_t p = (w + lt->cap) >> 1; p; p >>= 1) {
		uint32_t l = lt->loser[p];
		if (ltree_less(lt, l, w)) {
			lt->loser[p] = w;
			w = l;
		}
	}
	lt->win = w;
}
void ltree_free(struct ltree *lt);
#endif
