/*
 * table.h - the simulator's containers: a hash map keyed by a 64-bit word
 * (TIME_WAIT entries by 4-tuple, NAT mappings, client ports), a FIFO of
 * timers with a fixed delay (appended in time order, so a ring is a priority
 * queue), and a binary heap for timers with varying delays. None allocates
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
	uint32_t a, b, c, d;         /* payload (meaning per table) */
	int64_t  e, f;
};

/* Keys apart from their entries: a lookup that finds nothing (the usual
 * case: most SYNs meet no TIME_WAIT) reads only the key array, 8 bytes a
 * slot, small enough to stay in the cache; entries are read on a hit. */
struct tmap {
	uint64_t *keys;
	struct tent *slot;           /* slot[i].key == keys[i] */
	size_t cap, n, peak;
};

static inline size_t tmap_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return (size_t)k;
}
/* Start loading key's home slot into the cache: a lookup due soon then
 * finds it there (the TIME_WAIT table is larger than the caches, and its
 * accesses are random: this hides the miss behind other work). */
static inline void tmap_prefetch(const struct tmap *m, uint64_t key)
{
	__builtin_prefetch(&m->keys[tmap_hash(key) & (m->cap - 1)]);
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

/* ---- kmap: key (never 0) -> 64-bit value, 16 bytes a slot. The server's
 * TIME_WAIT index: a SYN's lookup reads one small slot, and the entries
 * themselves live in a ring in time order (engine.c). */

struct kslot {
	uint64_t key, val;
};

struct kmap {
	struct kslot *v;
	size_t cap, n, peak;
};

bool kmap_init(struct kmap *m, size_t cap);
void kmap_free(struct kmap *m);
bool kmap_get(const struct kmap *m, uint64_t key, uint64_t *val);
/* Insert or update; false if out of memory. */
bool kmap_set(struct kmap *m, uint64_t key, uint64_t val);
void kmap_del(struct kmap *m, uint64_t key);
static inline void kmap_prefetch(const struct kmap *m, uint64_t key)
{
	__builtin_prefetch(&m->v[tmap_hash(key) & (m->cap - 1)]);
}

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
#endif
