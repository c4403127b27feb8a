/*
 * table.c - hash map, timer FIFO and heap for the simulator (table.h).
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
	if (bytes < HUGE)
		return calloc(1, bytes);
	bytes = (bytes + HUGE - 1) & ~(size_t)(HUGE - 1);
	p = aligned_alloc(HUGE, bytes);
	if (!p)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	memset(p, 0, bytes);
	return p;
}

#define hash64 tmap_hash

bool tmap_init(struct tmap *m, size_t cap)
{
	size_t c = 16;
	while (c < cap)
		c *= 2;
	memset(m, 0, sizeof *m);
	m->slot = table_alloc(c * sizeof *m->slot);
	m->keys = table_alloc(c * sizeof *m->keys);
	if (!m->slot || !m->keys) {
		free(m->slot);
		free(m->keys);
		return false;
	}
	m->cap = c;
	return true;
}

void tmap_free(struct tmap *m)
{
	free(m->slot);
	free(m->keys);
	memset(m, 0, sizeof *m);
}

struct tent *tmap_get(struct tmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = hash64(key) & mask;
	for (;; i = (i + 1) & mask) {
		uint64_t k = m->keys[i];
		if (k == key)
			return &m->slot[i];
		if (!k)
			return NULL;
	}
}

static bool grow(struct tmap *m)
{
	struct tmap n;
	if (!tmap_init(&n, m->cap * 2))
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t mask = n.cap - 1, j = hash64(m->keys[i]) & mask;
		while (n.keys[j])
			j = (j + 1) & mask;
		n.keys[j] = m->keys[i];
		n.slot[j] = m->slot[i];
	}
	n.n = m->n;
	n.peak = m->peak;
	free(m->slot);
	free(m->keys);
	*m = n;
	return true;
}

struct tent *tmap_put(struct tmap *m, uint64_t key, bool *created)
{
	size_t mask, i;

	if ((m->n + 1) * 2 > m->cap && !grow(m))
		return NULL;
	mask = m->cap - 1;
	for (i = hash64(key) & mask;; i = (i + 1) & mask) {
		struct tent *e = &m->slot[i];
		if (m->keys[i] == key) {
			if (created)
				*created = false;
			return e;
		}
		if (!m->keys[i]) {
			memset(e, 0, sizeof *e);
			e->key = key;
			m->keys[i] = key;
			if (++m->n > m->peak)
				m->peak = m->n;
			if (created)
				*created = true;
			return e;
		}
	}
}

void tmap_del(struct tmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = hash64(key) & mask, j;

	for (;; i = (i + 1) & mask) {
		if (m->keys[i] == key)
			break;
		if (!m->keys[i])
			return;
	}
	m->keys[i] = 0;
	m->slot[i].key = 0;
	m->n--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!m->keys[j])
			return;
		size_t k = hash64(m->keys[j]) & mask;
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			m->keys[i] = m->keys[j];
			m->slot[i] = m->slot[j];
			m->keys[j] = 0;
			m->slot[j].key = 0;
			i = j;
		}
	}
}

bool fifo_push(struct fifo *q, int64_t t, uint64_t key, uint64_t tag)
{
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 1024;
		struct fent *v = malloc(nc * sizeof *v);
		if (!v)
			return false;
		for (size_t i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) & (q->cap - 1)];
		free(q->v);
		q->v = v;
		q->cap = nc;
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

static void sift_down(struct heap *h, size_t i)
{
	struct hent x = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!less(&h->v[c], &x))
			break;
		h->v[i] = h->v[c];
		i = c;
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
		size_t p = (i - 1) / 2;
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

bool kmap_init(struct kmap *m, size_t cap)
{
	size_t c = 16;
	while (c < cap)
		c *= 2;
	memset(m, 0, sizeof *m);
	m->v = table_alloc(c * sizeof *m->v);
	if (!m->v)
		return false;
	m->cap = c;
	return true;
}

void kmap_free(struct kmap *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}

bool kmap_get(const struct kmap *m, uint64_t key, uint64_t *val)
{
	size_t mask = m->cap - 1, i = hash64(key) & mask;
	for (;; i = (i + 1) & mask) {
		if (m->v[i].key == key) {
			*val = m->v[i].val;
			return true;
		}
		if (!m->v[i].key)
			return false;
	}
}

static bool kgrow(struct kmap *m)
{
	struct kmap n;
	if (!kmap_init(&n, m->cap * 2))
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->v[i].key)
			continue;
		size_t mask = n.cap - 1, j = hash64(m->v[i].key) & mask;
		while (n.v[j].key)
			j = (j + 1) & mask;
		n.v[j] = m->v[i];
	}
	n.n = m->n;
	n.peak = m->peak;
	free(m->v);
	*m = n;
	return true;
}

bool kmap_set(struct kmap *m, uint64_t key, uint64_t val)
{
	if ((m->n + 1) * 2 > m->cap && !kgrow(m))
		return false;
	size_t mask = m->cap - 1, i = hash64(key) & mask;
	for (;; i = (i + 1) & mask) {
		if (m->v[i].key == key) {
			m->v[i].val = val;
			return true;
		}
		if (!m->v[i].key) {
			m->v[i].key = key;
			m->v[i].val = val;
			if (++m->n > m->peak)
				m->peak = m->n;
			return true;
		}
	}
}

void kmap_del(struct kmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = hash64(key) & mask, j;

	for (;; i = (i + 1) & mask) {
		if (m->v[i].key == key)
			break;
		if (!m->v[i].key)
			return;
	}
	m->v[i].key = 0;
	m->n--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!m->v[j].key)
			return;
		size_t k = hash64(m->v[j].key) & mask;
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			m->v[i] = m->v[j];
			m->v[j].key = 0;
			i = j;
		}
	}
}
