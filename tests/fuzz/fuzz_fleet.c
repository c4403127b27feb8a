/*
 * fuzz_fleet.c - libFuzzer target for src/model/fleet.h: release strings
 * through port_alg_for_release(), and arbitrary port ranges, taken-sets and
 * NAT tables through port_alloc_connect() and nat_pick_port(), checking the
 * invariants that hold whatever the input: a returned port is inside the
 * range, not taken, not reserved; 0 only when no free port was left to find.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/fleet.h"

struct in { const uint8_t *p; size_t n; };
static uint32_t take(struct in *in, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v = v << 8 | *in->p;
	return v;
}

static uint8_t taken_map[8192];
static bool taken_cb(void *ctx, uint16_t port)
{
	(void)ctx;
	return (taken_map[port >> 3] >> (port & 7)) & 1;
}
static enum nat_tuple nat_cb(void *ctx, uint32_t addr, uint16_t port, uint32_t *old_end)
{
	(void)ctx; (void)addr;
	if (old_end)        /* NULL where the eviction rule does not read it (fleet.h) */
		*old_end = 1000;
	return (enum nat_tuple)((taken_map[port >> 3] >> (port & 7)) & 1 ? 1 + (port & 1) : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t table[65536];
	static uint64_t resv[1024];
	struct in in = { data, size };
	char rel[64];
	enum port_alg alg;

	/* 1. a release string (the --client-kernel value) */
	size_t rl = size < sizeof rel - 1 ? size : sizeof rel - 1;
	memcpy(rel, data, rl);
	rel[rl] = 0;
	if (port_alg_for_release(rel, &alg) && (unsigned)alg >= PORT_ALG_COUNT)
		abort();

	/* 2. an allocator on a fuzzed range and taken-set */
	uint32_t ctl = take(&in, 4);
	alg = (enum port_alg)(ctl % PORT_ALG_COUNT);
	uint16_t lo = (uint16_t)take(&in, 2), hi = (uint16_t)take(&in, 2);
	if (lo == 0)
		lo = 1;
	if (hi < lo)
		hi = lo;
	if (hi - lo > 600)      /* keep a run short: the scan is O(range) */
		hi = (uint16_t)(lo + 600);
	memset(taken_map, 0, sizeof taken_map);
	memset(resv, 0, sizeof resv);
	for (uint32_t p = lo; p <= hi; p++) {
		uint32_t b = take(&in, 1);
		if (b & 1)
			taken_map[p >> 3] |= (uint8_t)(1u << (p & 7));
		if (b & 2)
			resv[p >> 6] |= 1ull << (p & 63);
	}
	struct model_rng rng;
	struct port_alloc pa;
	model_rng_seed(&rng, ctl);
	if (!port_alloc_init(&pa, alg, lo, hi, (ctl & 0x100) ? NULL : table, &rng))
		abort();
	pa.reserved = resv;
	pa.hint = take(&in, 4);
	bool any_free = false;
	for (uint32_t p = lo; p <= hi; p++)
		any_free |= !taken_cb(NULL, (uint16_t)p) && !((resv[p >> 6] >> (p & 63)) & 1);
	for (int k = 0; k < 4; k++) {
		struct port_pick r = port_alloc_connect(&pa, take(&in, 4), take(&in, 4),
							(uint16_t)take(&in, 2), take(&in, 4), &rng,
							taken_cb, NULL);
		if (r.port) {
			if (r.port < lo || r.port > hi || taken_cb(NULL, r.port) ||
			    ((resv[r.port >> 6] >> (r.port & 63)) & 1))
				abort();
		} else if (any_free && (alg == PORT_ALG_HINT_310 || alg == PORT_ALG_HINT_EVEN ||
					alg == PORT_ALG_PERTURB64K_STEP1 || (hi - lo + 1) % 2 == 0)) {
			/* every port of the range is scanned (an odd-sized range
			 * loses its last port to the even/odd rounding) */
			abort();
		}
	}

	/* 3. a NAT box on the same taken-set */
	const struct nat_preset *const *ps = nat_preset_all();
	size_t np = 0;
	while (ps[np])
		np++;
	struct nat_state ns;
	nat_state_init(&ns, ps[ctl % np], take(&in, 4));
	if (ctl & 0x200) {
		ns.range_given = true;
		ns.port_lo = lo;
		ns.port_hi = hi;
	}
	for (int k = 0; k < 4; k++) {
		struct nat_req rq = { .nat_addr = 1, .client_port = (uint16_t)take(&in, 2),
				      .syn_seq_end = take(&in, 4) };
		if (ctl & 0x400) {
			rq.mapped_addr = 2;
			rq.mapped_port = (uint16_t)take(&in, 2);
		}
		if (ctl & 0x1000)
			rq.client_slot = take(&in, 2);
		struct nat_pick r = nat_pick_port(&ns, &rq, &rng, nat_cb, NULL);
		uint32_t dummy;
		if (r.port && !r.evicted && nat_cb(NULL, r.addr, r.port, &dummy) != NAT_TUPLE_FREE)
			abort();
		if (r.preserved && r.port != rq.client_port)
			abort();
	}
	uint32_t a = nat_overload_addr(take(&in, 4), (take(&in, 1) & 15) + 1, take(&in, 4),
				       take(&in, 4), (uint16_t)take(&in, 2), ctl & 0x800);
	(void)a;
	return 0;
}
