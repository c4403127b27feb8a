/*
 * table.c - hash maps, timer FIFO, heap and loser tree for the simulator
 * (table.h).
 */
#include "sim/table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Large tables go on transparent huge pages where the system allows it
 * (madvise mode): a TIME_WAIT lookup is a random access into megabytes, and
 * with 4 KiB pages most of them miss the TLB as well as the cache. */
#define HUGE (2u << 20)

static void *table_alloc(size_t bytes)
{
	void *p;
	if (bytes < HUGE) {
		/* whole cache lines: a 32-byte map entry never straddles two */
		bytes = (bytes + 63) & ~(size_t)63;
		p = aligned_alloc(64, bytes);
		if (p)
			memset(p, 0, bytes);
		return p;
	}
	bytes = (bytes + HUGE - 1) & ~(size_t)(HUGE - 1);
	p = aligned_alloc(HUGE, bytes);
	if (!p)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	memset(p, 0, bytes);
	return p;
}

#define hash64 tmap_hash

/* The fingerprint of a hash: its top 7 bits, plus one (never 0). */
static inline uint8_t fp_of(size_t h)
{
	return (uint8_t)((uint64_t)h >> 57) + 1;
}

bool tmap_init(struct tmap *m, size_t cap)
{
	size_t c = 16;
	while (c < cap)
		c *= 2;
	memset(m, 0, sizeof *m);
	m->slot = table_alloc(c * sizeof *m->slot);
	m->fp = table_alloc(c);
	if (!m->slot || !m->fp) {
		free(m->slot);
		free(m->fp);
		m->slot = NULL;
		m->fp = NULL;
		return false;
	}
	m->cap = c;
	return true;
}

void tmap_free(struct tmap *m)
{
	free(m->slot);
	free(m->fp);
	memset(m, 0, sizeof *m);
}

/* The slot holding key, or the empty slot where it would go (fp 0). */
static inline size_t tfind(const struct tmap *m, uint64_t key, uint8_t *fpv)
{
	size_t h = hash64(key), mask = m->cap - 1, i = h & mask;
	uint8_t f = fp_of(h);
	*fpv = f;
	for (;; i = (i + 1) & mask) {
		uint8_t b = m->fp[i];
		if (!b || (b == f && m->slot[i].key == key))
			return i;
	}
}

struct tent *tmap_get(struct tmap *m, uint64_t key)
{
	uint8_t f;
	size_t i = tfind(m, key, &f);
	return m->fp[i] ? &m->slot[i] : NULL;
}

static bool grow(struct tmap *m)
{
	struct tmap n;
	if (!tmap_init(&n, m->cap * 2))
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->fp[i])
			continue;
		uint8_t f;
		size_t j = tfind(&n, m->slot[i].key, &f);
		n.slot[j] = m->slot[i];
		n.fp[j] = f;
	}
	n.n = m->n;
	n.peak = m->peak;
	tmap_free(m);
	*m = n;
	return true;
}

struct tent *tmap_put(struct tmap *m, uint64_t key, bool *created)
{
	if ((m->n + 1) * 2 > m->cap && !grow(m))
		return NULL;
	uint8_t f;
	size_t i = tfind(m, key, &f);
	struct tent *e = &m->slot[i];
	if (m->fp[i]) {
		if (created)
			*created = false;
		return e;
	}
	m->fp[i] = f;
	memset(e, 0, sizeof *e);
	e->key = key;
	if (++m->n > m->peak)
		m->peak = m->n;
	if (created)
		*created = true;
	return e;
}

void tmap_del(struct tmap *m, uint64_t key)
{
	uint8_t f;
	size_t i = tfind(m, key, &f);
	if (m->fp[i])
		tmap_del_at(m, &m->slot[i]);
}

void tmap_del_at(struct tmap *m, struct tent *e)
{
	size_t mask = m->cap - 1, i = (size_t)(e - m->slot), j;

	m->fp[i] = 0;
	m->slot[i].key = 0;
	m->n--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!m->fp[j])
			return;
		size_t k = hash64(m->slot[j].key) & mask;
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			m->slot[i] = m->slot[j];
			m->fp[i] = m->fp[j];
			m->fp[j] = 0;
			m->slot[j].key = 0;
			i = j;
		}
	}
}

void *ring_grow(void *v, size_t head, size_t n, size_t cap, size_t elem, size_t *new_cap)
{
	size_t nc = cap ? cap * 2 : 1024;
	size_t first = n < cap - head ? n : cap - head;   /* head .. end of array */
	char *w = malloc(nc * elem);

	if (!w)
		return NULL;
	if (n) {
		memcpy(w, (char *)v + head * elem, first * elem);
		memcpy(w + first * elem, v, (n - first) * elem);
	}
	free(v);
	*new_cap = nc;
	return w;
}

bool fifo_push(struct fifo *q, int64_t t, uint64_t key, uint64_t tag)
{
	if (q->n == q->cap) {
		struct fent *v = ring_grow(q->v, q->head, q->n, q->cap, sizeof *v, &q->cap);
		if (!v)
			return false;
		q->v = v;
		q->head = 0;
	}
	struct fent *e = &q->v[(q->head + q->n) & (q->cap - 1)];
	e->t = t;
	e->key = key;
	e->tag = tag;
	if (++q->n > q->peak)
		q->peak = q->n;
	return true;
}

void fifo_free(struct fifo *q)
{
	free(q->v);
	memset(q, 0, sizeof *q);
}

static inline bool less(const struct hent *a, const struct hent *b)
{
	return a->t < b->t || (a->t == b->t && a->id < b->id);
}

/* A 4-ary heap: half the depth of a binary one, and a node's four children
 * share a cache line (16-byte entries), so a sift reads fewer lines. The
 * order it pops in is the total order (t, id): the same as any heap's. */
#define ARITY 4

static void sift_down(struct heap *h, size_t i)
{
	struct hent x = h->v[i];
	size_t n = h->n;
	for (;;) {
		size_t c = ARITY * i + 1, best;
		if (c >= n)
			break;
		best = c;
		if (c + ARITY <= n) {
			/* all four children present: no bound checks */
			if (less(&h->v[c + 1], &h->v[best]))
				best = c + 1;
			if (less(&h->v[c + 2], &h->v[best]))
				best = c + 2;
			if (less(&h->v[c + 3], &h->v[best]))
				best = c + 3;
		} else {
			for (size_t k = c + 1; k < n; k++)
				if (less(&h->v[k], &h->v[best]))
					best = k;
		}
		if (!less(&h->v[best], &x))
			break;
		h->v[i] = h->v[best];
		i = best;
	}
	h->v[i] = x;
}

bool heap_push(struct heap *h, int64_t t, uint64_t id)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 1024;
		struct hent *v = realloc(h->v, nc * sizeof *v);
		if (!v)
			return false;
		h->v = v;
		h->cap = nc;
	}
	struct hent x = { t, id };
	size_t i = h->n++;
	while (i) {
		size_t p = (i - 1) / ARITY;
		if (!less(&x, &h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = x;
	if (h->n > h->peak)
		h->peak = h->n;
	return true;
}

void heap_pop(struct heap *h, struct hent *out)
{
	*out = h->v[0];
	h->v[0] = h->v[--h->n];
	if (h->n)
		sift_down(h, 0);
}

void heap_replace_top(struct heap *h, int64_t t, uint64_t id)
{
	h->v[0].t = t;
	h->v[0].id = id;
	sift_down(h, 0);
}

void heap_free(struct heap *h)
{
	free(h->v);
	memset(h, 0, sizeof *h);
}

/* Build bottom-up: each internal node plays its two subtrees' winners,
 * keeps the loser, passes the winner up. */
bool ltree_init(struct ltree *lt, const int64_t *t0, uint32_t n)
{
	uint32_t cap = 1;
	while (cap < n)
		cap *= 2;
	memset(lt, 0, sizeof *lt);
	lt->t = malloc(cap * sizeof *lt->t);
	lt->loser = calloc(cap, sizeof *lt->loser);
	uint32_t *win = malloc(2 * cap * sizeof *win);
	if (!lt->t || !lt->loser || !win) {
		free(lt->t);
		free(lt->loser);
		free(win);
		return false;
	}
	lt->cap = cap;
	for (uint32_t i = 0; i < cap; i++) {
		lt->t[i] = i < n ? t0[i] : INT64_MAX;
		win[cap + i] = i;
	}
	for (uint32_t p = cap - 1; p >= 1; p--) {
		uint32_t a = win[2 * p], b = win[2 * p + 1];
		if (ltree_less(lt, a, b)) {
			win[p] = a;
			lt->loser[p] = b;
		} else {
			win[p] = b;
			lt->loser[p] = a;
		}
	}
	lt->win = cap > 1 ? win[1] : 0;
	free(win);
	return true;
}

void ltree_free(struct ltree *lt)
{
	free(lt->t);
	free(lt->loser);
	memset(lt, 0, sizeof *lt);
}

/* ---- pmap */

bool pmap_init(struct pmap *m, size_t cap, unsigned sbits)
{
	size_t c = 16;
	while (c < cap)
		c *= 2;
	memset(m, 0, sizeof *m);
	m->v = table_alloc(c * sizeof *m->v);
	m->fp = table_alloc(c);
	if (!m->v || !m->fp) {
		free(m->v);
		free(m->fp);
		m->v = NULL;
		m->fp = NULL;
		return false;
	}
	m->cap = c;
	m->sbits = sbits;
	return true;
}

void pmap_free(struct pmap *m)
{
	free(m->v);
	free(m->fp);
	memset(m, 0, sizeof *m);
}

static inline uint64_t ptag(const struct pmap *m, uint64_t w)
{
	return w >> m->sbits;
}

/* The fingerprint of a hash: its top 7 bits, plus one (never 0). */
static inline uint8_t pfp(size_t h)
{
	return (uint8_t)((uint64_t)h >> 57) + 1;
}

/* The slot holding tag, or the empty slot where it would go (fp 0). */
static inline size_t pfind(const struct pmap *m, uint64_t tag, uint8_t *fpv)
{
	size_t h = hash64(tag), mask = m->cap - 1, i = h & mask;
	uint8_t f = pfp(h);
	*fpv = f;
	for (;; i = (i + 1) & mask) {
		uint8_t b = m->fp[i];
		if (!b || (b == f && ptag(m, m->v[i]) == tag))
			return i;
	}
}

bool pmap_get(const struct pmap *m, uint64_t tag, uint64_t *low)
{
	uint8_t f;
	size_t i = pfind(m, tag, &f);
	if (!m->fp[i])
		return false;
	*low = m->v[i] & pmap_low_mask(m);
	return true;
}

bool pmap_get_slot(const struct pmap *m, uint64_t tag, uint64_t *low, size_t *slot)
{
	uint8_t f;
	size_t i = pfind(m, tag, &f);
	if (!m->fp[i])
		return false;
	*low = m->v[i] & pmap_low_mask(m);
	*slot = i;
	return true;
}

/* slot still holds tag (no insert or removal moved it since) */
static inline bool pslot_holds(const struct pmap *m, size_t slot, uint64_t tag)
{
	return slot < m->cap && m->fp[slot] && ptag(m, m->v[slot]) == tag;
}

static bool pgrow(struct pmap *m)
{
	struct pmap n;
	if (!pmap_init(&n, m->cap * 2, m->sbits))
		return false;
	for (size_t i = 0; i < m->cap; i++)
		if (m->fp[i]) {
			uint8_t f;
			size_t j = pfind(&n, ptag(m, m->v[i]), &f);
			n.v[j] = m->v[i];
			n.fp[j] = f;
		}
	n.n = m->n;
	n.peak = m->peak;
	pmap_free(m);
	*m = n;
	return true;
}

bool pmap_set(struct pmap *m, uint64_t tag, uint64_t low)
{
	if ((m->n + 1) * 2 > m->cap && !pgrow(m))
		return false;
	uint8_t f;
	size_t i = pfind(m, tag, &f);
	if (!m->fp[i]) {
		m->fp[i] = f;
		if (++m->n > m->peak)
			m->peak = m->n;
	}
	m->v[i] = tag << m->sbits | (low & pmap_low_mask(m));
	return true;
}

static void premove_at(struct pmap *m, size_t i)
{
	size_t mask = m->cap - 1, j;

	m->fp[i] = 0;
	m->n--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!m->fp[j])
			return;
		size_t k = hash64(ptag(m, m->v[j])) & mask;
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			m->v[i] = m->v[j];
			m->fp[i] = m->fp[j];
			m->fp[j] = 0;
			i = j;
		}
	}
}

void pmap_del(struct pmap *m, uint64_t tag)
{
	uint8_t f;
	size_t i = pfind(m, tag, &f);
	if (m->fp[i])
		premove_at(m, i);
}

bool pmap_set_at(struct pmap *m, size_t slot, uint64_t tag, uint64_t low)
{
	if (!pslot_holds(m, slot, tag))
		return pmap_set(m, tag, low);
	m->v[slot] = tag << m->sbits | (low & pmap_low_mask(m));
	return true;
}

void pmap_del_at(struct pmap *m, size_t slot, uint64_t tag)
{
	if (!pslot_holds(m, slot, tag)) {
		pmap_del(m, tag);
		return;
	}
	premove_at(m, slot);
}

bool pmap_del_if(struct pmap *m, uint64_t tag, uint64_t low)
{
	uint8_t f;
	size_t i = pfind(m, tag, &f);
	if (!m->fp[i] || (m->v[i] & pmap_low_mask(m)) != (low & pmap_low_mask(m)))
		return false;
	premove_at(m, i);
	return true;
}
