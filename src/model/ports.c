/*
 * ports.c - which ephemeral port a Linux client's connect() takes, per kernel
 * version (net/ipv4/inet_hashtables.c __inet_hash_connect()), and the small
 * seeded PRNG and keyed hash every model/fleet.h rule draws from.
 *
 * Why it matters: behind a port-preserving NAT the client's own allocator
 * decides how soon two client hosts hand the server the same source port.
 * 3.10's +1 walk, 4.6's even-only +2 walk and the 2022 randomised table give
 * measurably different collision rates (bench/sim-arith prints them).
 *
 * Secrets: the kernel keys port_offset with net_secret (random per boot) and
 * fills table_perturb with random bytes. Nobody outside the host can know
 * them, so the model draws both from the caller's PRNG; the hash is SipHash
 * as the kernel's since 4.11 (3.10 used MD5: with an unknown key the two are
 * equally uniform, so one keyed hash serves every version).
 */
#include "model/fleet.h"

/* ---- PRNG: xoshiro256** (Blackman/Vigna), seeded through splitmix64 */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void model_rng_seed(struct model_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

void model_key_draw(struct model_key *k, struct model_rng *r)
{
	k->k0 = model_rng_next(r);
	k->k1 = model_rng_next(r);
}

/* ---- SipHash-2-4 (Aumasson/Bernstein), written from the paper: message
 * read as little-endian u64 words, the length in the top byte of the last
 * block. The kernel's siphash_4u32(a,b,c,d) hashes the 16 bytes a|b|c|d,
 * siphash_3u32(a,b,c) the 12 bytes a|b|c (include/linux/siphash.h). */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t sip24(const uint64_t *w, unsigned nw, uint64_t last,
		      const struct model_key *k)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k->k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k->k0;
	uint64_t v3 = 0x7465646279746573ull ^ k->k1;

	for (unsigned i = 0; i < nw; i++) {
		v3 ^= w[i];
		SIPROUND; SIPROUND;
		v0 ^= w[i];
	}
	v3 ^= last;
	SIPROUND; SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND; SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t model_siphash_4u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d,
			    const struct model_key *k)
{
	uint64_t w[2] = { (uint64_t)b << 32 | a, (uint64_t)d << 32 | c };
	return sip24(w, 2, (uint64_t)16 << 56, k);
}

uint64_t model_siphash_3u32(uint32_t a, uint32_t b, uint32_t c,
			    const struct model_key *k)
{
	uint64_t w[1] = { (uint64_t)b << 32 | a };
	return sip24(w, 1, ((uint64_t)12 << 56) | c, k);
}

uint64_t model_siphash_2u32(uint32_t a, uint32_t b, const struct model_key *k)
{
	uint64_t w[1] = { (uint64_t)b << 32 | a };
	return sip24(w, 1, (uint64_t)8 << 56, k);
}

/* ---- which allocator a release runs */

/* The 2022 fix (CVE-2022-1012: commits 4c2c8f03a5ab "increase source port
 * perturb table to 2^16", 9e9b70ae923b "add small random increments",
 * ca7af0402550 "use different parts of the port_offset", 4dfa9b438ee3
 * "resalt the secret every 10 seconds") is in mainline 5.18 and was
 * backported, together with 5.12's table (190cc82489f4), to these stable
 * lines. SIM.md names 4.9.320, 4.14.285, 5.4.197 and says 5.10.198 has it;
 * the 4.19, 5.10, 5.15 and 5.17 thresholds are the June 2022 stable
 * releases and are NOT confirmed from a stored tree: a profile keyed to an
 * exact release should be checked against that release's
 * net/ipv4/inet_hashtables.c (is table_perturb 1 << 16 and indexed by
 * port_offset & (SIZE - 1)?). */
static const struct { uint32_t line, first_fixed; } fix_2022[] = {
	{ KVER(4, 9, 0),  KVER(4, 9, 320) },
	{ KVER(4, 14, 0), KVER(4, 14, 285) },
	{ KVER(4, 19, 0), KVER(4, 19, 249) },   /* unconfirmed */
	{ KVER(5, 4, 0),  KVER(5, 4, 197) },
	{ KVER(5, 10, 0), KVER(5, 10, 121) },   /* unconfirmed */
	{ KVER(5, 15, 0), KVER(5, 15, 46) },    /* unconfirmed */
	{ KVER(5, 17, 0), KVER(5, 17, 14) },    /* unconfirmed */
};

static bool has_2022_fix(uint32_t kver)
{
	if (kver >= KVER(5, 18, 0))
		return true;
	for (size_t i = 0; i < sizeof fix_2022 / sizeof fix_2022[0]; i++)
		if (kver / 1000 == fix_2022[i].line / 1000)
			return kver >= fix_2022[i].first_fixed;
	return false;
}

enum port_alg port_alg_for(uint32_t kver, bool rhel)
{
	if (has_2022_fix(kver))
		return PORT_ALG_PERTURB64K;
	/* 5.12: 190cc82489f4 "tcp: change source port randomizarion at
	 * connect() time" (RFC 6056 algorithm 4, 256 entries). */
	if (kver >= KVER(5, 12, 0))
		return PORT_ALG_PERTURB256;
	/* 4.6: 1580ab63fc9a "tcp/dccp: better use of ephemeral ports in
	 * connect()": even ports first, +2 scan, then the odd ones. */
	if (kver >= KVER(4, 6, 0))
		return PORT_ALG_EVEN_ODD;
	/* 4.2: 07f4c90062f8 "tcp/dccp: try to not exhaust
	 * ip_local_port_range in connect()"; RHEL 7.7 carries it. */
	if (kver >= KVER(4, 2, 0) || rhel)
		return PORT_ALG_HINT_EVEN;
	return PORT_ALG_HINT_310;
}

static bool has_prefix_ci(const char *s, const char *p)
{
	for (; *p; s++, p++) {
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *p)
			return false;
	}
	return true;
}

static bool contains(const char *s, const char *needle)
{
	for (; *s; s++)
		if (has_prefix_ci(s, needle))
			return true;
	return false;
}

bool port_alg_for_release(const char *release, enum port_alg *out)
{
	uint32_t v;

	if (!release)
		return false;
	if (has_prefix_ci(release, "rhel7") || has_prefix_ci(release, "centos7")) {
		*out = PORT_ALG_HINT_EVEN;
		return true;
	}
	if (!kver_parse(release, &v))
		return false;
	/* The project's "3.10" profile is RHEL 7.7; 3.10.0 is only shipped
	 * by RHEL/CentOS 7 (upstream stable is 3.10.1 .. 3.10.108). */
	*out = port_alg_for(v, v == KVER(3, 10, 0) || contains(release, ".el7"));
	return true;
}

const char *port_alg_str(enum port_alg a)
{
	switch (a) {
	case PORT_ALG_HINT_310: return "hint+1";
	case PORT_ALG_HINT_EVEN: return "hint-even";
	case PORT_ALG_EVEN_ODD: return "even-odd+2";
	case PORT_ALG_PERTURB256: return "perturb256";
	case PORT_ALG_PERTURB64K: return "perturb64k";
	case PORT_ALG_PERTURB64K_STEP1: return "perturb64k-step1";
	}
	return "?";
}

size_t port_alloc_table_len(enum port_alg a)
{
	return a == PORT_ALG_PERTURB256 ? 256 : 0;
}

/* entries of a caller's table for this allocator */
static size_t table_entries(enum port_alg a)
{
	switch (a) {
	case PORT_ALG_PERTURB256: return 256;
	case PORT_ALG_PERTURB64K:
	case PORT_ALG_PERTURB64K_STEP1: return PORT_TABLE_FULL;
	default: return 0;
	}
}

bool port_alloc_init(struct port_alloc *pa, enum port_alg alg, uint16_t lo,
		     uint16_t hi, uint32_t *table, struct model_rng *rng)
{
	size_t n = table_entries(alg);

	if (lo == 0 || lo > hi)
		return false;
	*pa = (struct port_alloc){ .alg = alg, .lo = lo, .hi = hi, .hz = 250,
				   .table = n ? table : NULL };
	model_key_draw(&pa->secret, rng);
	model_key_draw(&pa->table_key, rng);
	/* net_get_random_once(table_perturb, ...): random bytes, once */
	for (size_t i = 0; pa->table && i < n; i += 2) {
		uint64_t r = model_rng_next(rng);
		table[i] = (uint32_t)r;
		if (i + 1 < n)
			table[i + 1] = (uint32_t)(r >> 32);
	}
	return true;
}

/* inet_sk_port_offset(): the keyed hash of (saddr, daddr, dport[, salt]),
 * memoised for the last input. */
static uint64_t port_offset(struct port_alloc *pa, uint32_t saddr, uint32_t daddr,
			    uint16_t dport, uint32_t salt, bool salted)
{
	if (pa->memo_ok && pa->memo_in[0] == saddr && pa->memo_in[1] == daddr &&
	    pa->memo_in[2] == dport && pa->memo_in[3] == salt)
		return pa->memo_out;
	pa->memo_out = salted ? model_siphash_4u32(saddr, daddr, dport, salt, &pa->secret)
			      : model_siphash_3u32(saddr, daddr, dport, &pa->secret);
	pa->memo_in[0] = saddr;
	pa->memo_in[1] = daddr;
	pa->memo_in[2] = dport;
	pa->memo_in[3] = salt;
	pa->memo_ok = true;
	return pa->memo_out;
}

/* The table entry for idx: the caller's table, or the compact one. */
static uint32_t *perturb_slot(struct port_alloc *pa, uint32_t idx)
{
	if (pa->table)
		return &pa->table[idx];
	for (uint32_t k = 0; k < pa->hot_n; k++)
		if (pa->hot[k].idx == idx)
			return &pa->hot[k].val;
	uint32_t k = pa->hot_n < PORT_ALLOC_HOT ? pa->hot_n++ : pa->hot_next++ % PORT_ALLOC_HOT;
	pa->hot[k].idx = idx;
	/* the initial random bytes of entry idx: a 64-bit finaliser of
	 * (key, idx) (splitmix64's), cheaper than a SipHash and as uniform */
	uint64_t z = pa->table_key.k0 + (idx + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	pa->hot[k].val = (uint32_t)(z ^ (z >> 31));
	return &pa->hot[k].val;
}

static inline bool reserved(const struct port_alloc *pa, uint32_t port)
{
	return pa->reserved && (pa->reserved[port >> 6] >> (port & 63)) & 1;
}

/* 3.10 .. 4.5: one sequential walk over [lo, hi], both parities.
 * Upstream 3.10 (read from a 3.x-4.1 copy of inet_hashtables.c,
 * __inet_hash_connect): offset = hint + port_offset; for (i = 1; i <=
 * remaining; i++) port = low + (i + offset) % remaining; ok: hint += i.
 * 4.2 (07f4c90062f8, as read in a 4.4/4.5 copy of inet_hashtables.c; RHEL 7.7
 * carries it per SIM.md -- the RHEL 7.7 source file is not in the stored
 * trees (dcui/RHEL77 holds headers and .mod.c only), so that is unverified):
 * offset &= ~1; for (i = 0; i < remaining; i++) ...; ok:
 * hint += (i + 2) & ~1. */
static struct port_pick hint_walk(struct port_alloc *pa, uint32_t port_offset,
				  bool even, port_taken_fn taken, void *ctx)
{
	uint32_t remaining = (uint32_t)pa->hi - pa->lo + 1;
	uint32_t offset = pa->hint + port_offset;
	uint32_t first = even ? 0 : 1, last = even ? remaining - 1 : remaining;
	struct port_pick r = { 0, 0 };

	if (even)
		offset &= ~1u;
	for (uint32_t i = first; i <= last; i++) {
		uint32_t port = pa->lo + (i + offset) % remaining;
		if (reserved(pa, port))
			continue;
		r.probes++;
		if (taken(ctx, (uint16_t)port))
			continue;
		pa->hint += even ? (i + 2) & ~1u : i;
		r.port = (uint16_t)port;
		return r;
	}
	return r;
}

/* 4.6 and later: even/odd split scan. Read from 4.x (4.19 text, same
 * 4.6-5.11), 5.12 and 6.x (torvalds/linux 00c1d298, 6.8+) copies of
 * __inet_hash_connect:
 *   high++; remaining = high - low; if (remaining > 1) remaining &= ~1;
 *   offset = <per version> % remaining; offset &= ~1;
 * other_parity_scan:
 *   port = low + offset;
 *   for (i = 0; i < remaining; i += step, port += step) {
 *     if (port >= high) port -= remaining; skip reserved; try port }
 *   offset++; if ((offset & 1) && remaining > 1) goto other_parity_scan;
 * `step` is 2 except for a 6.8+ socket with IP_LOCAL_PORT_RANGE (1, no
 * parity rounding, one pass). Returns i of the successful pass in *i_out. */
static struct port_pick split_scan(const struct port_alloc *pa, uint32_t offset,
				   unsigned step, port_taken_fn taken, void *ctx,
				   uint32_t *i_out)
{
	uint32_t low = pa->lo, high = (uint32_t)pa->hi + 1;
	uint32_t remaining = high - low;
	struct port_pick r = { 0, 0 };

	if (step == 2 && remaining > 1)
		remaining &= ~1u;
	offset %= remaining;
	if (step == 2)
		offset &= ~1u;
	for (;;) {
		uint32_t port = low + offset;
		for (uint32_t i = 0; i < remaining; i += step, port += step) {
			if (port >= high)
				port -= remaining;
			if (reserved(pa, port))
				continue;
			r.probes++;
			if (taken(ctx, (uint16_t)port))
				continue;
			r.port = (uint16_t)port;
			*i_out = i;
			return r;
		}
		if (step != 2)
			return r;
		offset++;
		if (!((offset & 1) && remaining > 1))
			return r;
	}
}

/* include/linux/hash.h hash_32(): multiply by GOLDEN_RATIO_32, top bits. */
static inline uint32_t hash_32(uint32_t v, unsigned bits)
{
	return (v * 0x61C88647u) >> (32 - bits);
}

/* jiffies on a 64-bit kernel: INITIAL_JIFFIES = (unsigned long)(unsigned
 * int)(-300 * HZ) (include/linux/jiffies.h) plus HZ ticks per second. */
static inline uint64_t jiffies_at(unsigned hz, uint64_t uptime_ms)
{
	return (uint64_t)(uint32_t)(-(int32_t)(300 * hz)) + uptime_ms * hz / 1000;
}

struct port_pick port_alloc_connect(struct port_alloc *pa, uint32_t saddr,
				    uint32_t daddr, uint16_t dport,
				    uint64_t uptime_ms, struct model_rng *rng,
				    port_taken_fn taken, void *ctx)
{
	/* inet_sk_port_offset() hashes the network-order words; with a
	 * random key the byte order changes nothing, so host order is used. */
	struct port_pick r;
	uint32_t i = 0;
	uint64_t off64;

	switch (pa->alg) {
	case PORT_ALG_HINT_310:
	case PORT_ALG_HINT_EVEN:
		return hint_walk(pa, (uint32_t)port_offset(pa, saddr, daddr, dport, 0, false),
				 pa->alg == PORT_ALG_HINT_EVEN, taken, ctx);
	case PORT_ALG_EVEN_ODD: {
		/* 4.6-5.11: offset = (hint + port_offset) % remaining; ok:
		 * hint += i + 2 (4.19 __inet_hash_connect) */
		uint32_t po = (uint32_t)port_offset(pa, saddr, daddr, dport, 0, false);
		uint32_t remaining = (uint32_t)pa->hi + 1 - pa->lo;
		if (remaining > 1)
			remaining &= ~1u;
		r = split_scan(pa, (pa->hint + po) % remaining, 2, taken, ctx, &i);
		if (r.port)
			pa->hint += i + 2;
		return r;
	}
	case PORT_ALG_PERTURB256: {
		/* 5.12 (190cc82489f4): index = hash_32(port_offset, 8);
		 * offset = (table_perturb[index] + port_offset) % remaining;
		 * ok: table_perturb[index] += i + 2 */
		uint32_t po = (uint32_t)port_offset(pa, saddr, daddr, dport, 0, false);
		uint32_t remaining = (uint32_t)pa->hi + 1 - pa->lo;
		if (remaining > 1)
			remaining &= ~1u;
		uint32_t *slot = perturb_slot(pa, hash_32(po, 8));
		r = split_scan(pa, (*slot + po) % remaining, 2, taken, ctx, &i);
		if (r.port)
			*slot += i + 2;
		return r;
	}
	case PORT_ALG_PERTURB64K:
	case PORT_ALG_PERTURB64K_STEP1: {
		/* 2022 fix / 6.x (torvalds/linux 00c1d298): port_offset =
		 * siphash_4u32(saddr, daddr, dport, jiffies /
		 * EPHEMERAL_PORT_SHUFFLE_PERIOD) (net/core/secure_seq.c
		 * secure_ipv4_port_ephemeral, period 10 * HZ);
		 * index = port_offset & (INET_TABLE_PERTURB_SIZE - 1);
		 * offset = table_perturb[index] + (port_offset >> 32);
		 * ok: i = max_t(int, i, get_random_u32_below(8) * step);
		 *     table_perturb[index] += i + step; */
		unsigned step = pa->alg == PORT_ALG_PERTURB64K ? 2 : 1;
		unsigned hz = pa->hz ? pa->hz : 250;
		uint32_t salt = (uint32_t)(jiffies_at(hz, uptime_ms) / (10ull * hz));
		off64 = port_offset(pa, saddr, daddr, dport, salt, true);
		uint32_t *slot = perturb_slot(pa, (uint32_t)off64 & 0xFFFF);
		r = split_scan(pa, *slot + (uint32_t)(off64 >> 32), step, taken, ctx, &i);
		if (r.port) {
			uint32_t jitter = model_rng_below(rng, 8) * step;
			if (jitter > i)
				i = jitter;
			*slot += i + step;
		}
		return r;
	}
	}
	r.port = 0;
	r.probes = 0;
	return r;
}
