/*
 * test_model_nat.c - the NAT model: netfilter's overload address hash (jhash2
 * against lookup3's published values, spread, stickiness), get_unique_tuple's
 * port choice (keep if free, random probe with 128/64/32/16/8 attempts, the
 * 6.5+ TIME_WAIT eviction, the pre-5.10 rover), FortiGate's next port, the
 * presets and the one-to-one pick.
 *
 * The overload hash is meant to be bit-exact with the kernel; the check
 * against a real kernel (SNAT to an address range, `conntrack -L` shows which
 * address each client got) belongs to the lab; see the README.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/fleet.h"

#define POOL 0xC6130000u     /* 198.19.0.0 */
#define SERVER 0xC6130064u   /* 198.19.0.100 */

/* lookup3.c's driver: hashlittle("Four score and seven years ago", 30, 0)
 * = 0x17770551 and (.., 1) = 0xcd628161. On a little-endian machine
 * hashlittle reads the 30 bytes as 7 words and a 2-byte tail, which is
 * jhash2() over the zero-padded 8 words with initval - 2 (the initial value
 * adds the length in bytes, 30, where jhash2 adds 8 words << 2 = 32). */
static void jhash2_matches_lookup3_published_values(void **st)
{
	uint32_t w[8] = { 0 };
	(void)st;
	memcpy(w, "Four score and seven years ago", 30);
	assert_true(model_jhash2(w, 8, 0u - 2) == 0x17770551u);
	assert_true(model_jhash2(w, 8, 1u - 2) == 0xcd628161u);
	/* zero length: just the initial value */
	assert_true(model_jhash2(w, 0, 0) == 0xdeadbeefu);
}

static void one_address_pool_always_gives_it(void **st)
{
	(void)st;
	for (uint32_t c = 0; c < 100; c++)
		assert_true(nat_overload_addr(POOL, 1, 0x0A000000u + c, SERVER, 0, false) == POOL);
}

static void overload_address_is_in_pool_and_spread_evenly(void **st)
{
	unsigned cnt[4] = { 0 };
	(void)st;
	for (uint32_t c = 0; c < 40000; c++) {
		uint32_t a = nat_overload_addr(POOL, 4, 0x0A000000u + c, SERVER, 0, false);
		assert_in_range(a, POOL, POOL + 3);
		cnt[a - POOL]++;
	}
	for (int i = 0; i < 4; i++)
		assert_in_range(cnt[i], 9500, 10500);
}

static void a_client_keeps_its_address_toward_one_server(void **st)
{
	(void)st;
	for (uint32_t c = 0; c < 1000; c++) {
		uint32_t cl = 0xAC100000u + c * 7;
		uint32_t a = nat_overload_addr(POOL, 2, cl, SERVER, 0, false);
		for (int k = 0; k < 3; k++)
			assert_true(nat_overload_addr(POOL, 2, cl, SERVER, 0, false) == a);
	}
}

static void server_and_zone_change_the_mapping_persistent_ignores_them(void **st)
{
	unsigned moved_server = 0, moved_zone = 0;
	(void)st;
	for (uint32_t c = 0; c < 2000; c++) {
		uint32_t cl = 0x0A010000u + c;
		uint32_t a = nat_overload_addr(POOL, 16, cl, SERVER, 0, false);
		moved_server += a != nat_overload_addr(POOL, 16, cl, SERVER + 1, 0, false);
		moved_zone += a != nat_overload_addr(POOL, 16, cl, SERVER, 1, false);
		uint32_t p = nat_overload_addr(POOL, 16, cl, SERVER, 0, true);
		assert_true(p == nat_overload_addr(POOL, 16, cl, SERVER + 1, 7, true));
	}
	/* a different initval remaps 15 of 16 clients on average */
	assert_in_range(moved_server, 1700, 1950);
	assert_in_range(moved_zone, 1700, 1950);
}

/* ---- ports: a table of used reply tuples on one address */

struct tab {
	uint8_t used[65536];     /* 0 free, 1 used, 2 closing */
	uint32_t old_end;
	unsigned calls;
};
static enum nat_tuple tab_cb(void *ctx, uint32_t addr, uint16_t port, uint32_t *old_end)
{
	struct tab *t = ctx;
	(void)addr;
	t->calls++;
	if (old_end)
		*old_end = t->old_end;
	return t->used[port] == 0 ? NAT_TUPLE_FREE :
	       t->used[port] == 1 ? NAT_TUPLE_USED : NAT_TUPLE_USED_CLOSING;
}

static struct tab T;

static struct nat_pick pick(struct nat_state *ns, uint16_t cport, uint32_t seq_end,
			    struct model_rng *rng)
{
	struct nat_req rq = { .nat_addr = POOL, .client_port = cport, .syn_seq_end = seq_end };
	return nat_pick_port(ns, &rq, rng, tab_cb, &T);
}

static void masquerade_keeps_a_free_port(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	model_rng_seed(&rng, 1);
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 18, 44));
	struct nat_pick p = pick(&ns, 40000, 1, &rng);
	assert_int_equal(p.port, 40000);
	assert_true(p.preserved);
	assert_true(p.addr == POOL);
	assert_int_equal(p.probes, 1);
}

static void masquerade_used_port_gets_a_random_free_one_in_1024_65535(void **st)
{
	struct nat_state ns; struct model_rng rng;
	unsigned below = 0;
	(void)st;
	memset(&T, 0, sizeof T);
	T.used[40000] = 1;
	model_rng_seed(&rng, 2);
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 18, 44));
	for (int i = 0; i < 2000; i++) {
		struct nat_pick p = pick(&ns, 40000, 1, &rng);
		assert_false(p.preserved);
		assert_in_range(p.port, 1024, 65535);
		assert_int_not_equal(p.port, 40000);
		below += p.port < 33280;   /* (65535 + 1024) / 2 */
	}
	assert_in_range(below, 900, 1100);
	/* a low source port stays low: 600-1023 */
	T.used[700] = 1;
	struct nat_pick p = pick(&ns, 700, 1, &rng);
	assert_in_range(p.port, 600, 1023);
}

static void random_fully_never_keeps_the_port(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	model_rng_seed(&rng, 3);
	nat_state_init(&ns, nat_preset_find("linux-random-fully"), KVER(6, 1, 0));
	unsigned same = 0;
	for (int i = 0; i < 500; i++) {
		struct nat_pick p = pick(&ns, 40000, 1, &rng);
		same += p.port == 40000;
		assert_in_range(p.port, 1024, 65535);
	}
	assert_true(same <= 1);
}

static void full_table_gives_up_after_248_probes(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 1, sizeof T.used);
	model_rng_seed(&rng, 4);
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 1, 0));
	struct nat_pick p = pick(&ns, 40000, 1, &rng);
	assert_int_equal(p.port, 0);
	/* 1 (own port) + 128 + 64 + 32 + 16 + 8 */
	assert_int_equal(p.probes, 1 + 248);
}

static void v65_evicts_a_time_wait_entry_in_the_last_32_attempts(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 2, sizeof T.used);       /* every tuple: conntrack TIME_WAIT */
	T.old_end = 1000;
	model_rng_seed(&rng, 5);
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 18, 44));
	struct nat_pick p = pick(&ns, 40000, 2000, &rng);   /* seq advanced */
	assert_int_not_equal(p.port, 0);
	assert_true(p.evicted);
	assert_int_equal(p.probes, 1 + 97);                 /* attempts - i == 32 at i = 96 */

	/* seq behind the old entry: nothing evicted */
	p = pick(&ns, 40000, 500, &rng);
	assert_int_equal(p.port, 0);
	assert_false(p.evicted);

	/* 6.1 has no eviction */
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 1, 0));
	p = pick(&ns, 40000, 2000, &rng);
	assert_int_equal(p.port, 0);
	assert_false(p.evicted);
}

/* syn_seq_end_fn: asked only when the eviction rule compares (the last 32
 * attempts of a round, a closing tuple), and its answer decides as
 * syn_seq_end would. The callback shares the tuple callback's ctx. */
static unsigned seq_asks;
static uint32_t seq_answer;
static uint32_t seq_cb(void *ctx)
{
	assert_ptr_equal(ctx, &T);
	seq_asks++;
	return seq_answer;
}

static void v65_eviction_asks_for_the_syn_seq_only_when_it_compares(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 18, 44));
	model_rng_seed(&rng, 5);
	memset(&T, 0, sizeof T);
	/* a free port: never asked */
	struct nat_req rq = { .nat_addr = POOL, .client_port = 40000, .syn_seq_end_fn = seq_cb };
	seq_asks = 0;
	assert_int_equal(nat_pick_port(&ns, &rq, &rng, tab_cb, &T).port, 40000);
	assert_int_equal(seq_asks, 0);
	/* every tuple closing: asked from the 97th probe on, and decides */
	memset(&T, 2, sizeof T.used);
	T.old_end = 1000;
	seq_answer = 2000;
	struct nat_pick p = nat_pick_port(&ns, &rq, &rng, tab_cb, &T);
	assert_true(p.evicted);
	assert_int_equal(p.probes, 1 + 97);
	assert_int_equal(seq_asks, 1);
	seq_answer = 500;
	seq_asks = 0;
	p = nat_pick_port(&ns, &rq, &rng, tab_cb, &T);
	assert_false(p.evicted);
	assert_int_equal(p.port, 0);
	assert_true(seq_asks > 0);
}

static void v419_rover_hands_out_ports_in_order(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	T.used[40000] = 1;          /* the client port is taken each time */
	model_rng_seed(&rng, 6);
	nat_state_init(&ns, nat_preset_find("linux"), KVER(4, 19, 124));
	for (unsigned want = 1024; want < 1034; want++) {
		struct nat_pick p = pick(&ns, 40000, 1, &rng);
		assert_int_equal(p.port, want);
		T.used[p.port] = 1;     /* the engine records the mapping */
	}
}

static void fortigate_takes_the_next_higher_free_port(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	model_rng_seed(&rng, 7);
	nat_state_init(&ns, nat_preset_find("fortigate"), 0);
	struct nat_pick p = pick(&ns, 40000, 1, &rng);
	assert_int_equal(p.port, 40000);
	assert_true(p.preserved);
	T.used[40000] = T.used[40001] = 1;
	p = pick(&ns, 40000, 1, &rng);
	assert_int_equal(p.port, 40002);
	assert_false(p.preserved);
	T.used[65533] = 1;
	p = pick(&ns, 65533, 1, &rng);     /* wraps to the bottom of 5117-65533 */
	assert_int_equal(p.port, 5117);
	p = pick(&ns, 2000, 1, &rng);      /* outside the range: from its bottom */
	assert_int_equal(p.port, 5117);
}

static void an_existing_mapping_of_the_client_port_is_reused(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	model_rng_seed(&rng, 8);
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 18, 0));
	struct nat_req rq = { .nat_addr = POOL, .client_port = 40000, .syn_seq_end = 1,
			      .mapped_addr = POOL + 1, .mapped_port = 5555 };
	struct nat_pick p = nat_pick_port(&ns, &rq, &rng, tab_cb, &T);
	assert_true(p.addr == POOL + 1);
	assert_int_equal(p.port, 5555);
}

static void gcp_gives_each_vm_its_own_64_port_block(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	model_rng_seed(&rng, 9);
	nat_state_init(&ns, nat_preset_find("gcp"), 0);
	for (uint32_t slot = 1; slot <= 3; slot++)
		for (int i = 0; i < 200; i++) {
			struct nat_req rq = { .nat_addr = POOL, .client_port = 40000, .client_slot = slot };
			struct nat_pick p = nat_pick_port(&ns, &rq, &rng, tab_cb, &T);
			assert_in_range(p.port, 1024 + (slot - 1) * 64, 1024 + slot * 64 - 1);
		}
	/* a block full of held ports: no port, even with the rest of the address free */
	for (unsigned port = 1024; port < 1088; port++)
		T.used[port] = 1;
	struct nat_req rq = { .nat_addr = POOL, .client_port = 40000, .client_slot = 1 };
	assert_int_equal(nat_pick_port(&ns, &rq, &rng, tab_cb, &T).port, 0);
	/* 64512 / 64 = 1008 VMs per address; the 1009th gets none */
	rq.client_slot = 1008;
	assert_in_range(nat_pick_port(&ns, &rq, &rng, tab_cb, &T).port, 65472, 65535);
	rq.client_slot = 1009;
	assert_int_equal(nat_pick_port(&ns, &rq, &rng, tab_cb, &T).port, 0);
	/* slot not given: the whole range */
	rq.client_slot = 0;
	assert_in_range(nat_pick_port(&ns, &rq, &rng, tab_cb, &T).port, 1088, 65535);
}

static void an_empty_range_gives_no_port(void **st)
{
	struct nat_state ns; struct model_rng rng;
	(void)st;
	memset(&T, 0, sizeof T);
	model_rng_seed(&rng, 10);
	for (const struct nat_preset *const *p = nat_preset_all(); *p; p++) {
		nat_state_init(&ns, *p, KVER(6, 18, 0));
		ns.range_given = true;
		ns.port_lo = 2000;
		ns.port_hi = 1999;
		assert_int_equal(pick(&ns, 40000, 1, &rng).port, 0);
	}
}

static void presets_are_found_by_name(void **st)
{
	(void)st;
	for (const struct nat_preset *const *p = nat_preset_all(); *p; p++) {
		assert_ptr_equal(nat_preset_find((*p)->name), *p);
		assert_true((*p)->port_lo <= (*p)->port_hi);
	}
	assert_null(nat_preset_find("aws"));
	assert_null(nat_preset_find(NULL));
	/* SIM.md: Azure holds a port 65 s after FIN; FortiGate's session
	 * TIME_WAIT is 1 s; Linux conntrack TIME_WAIT 120 s */
	assert_int_equal(nat_preset_find("azure")->hold_after_fin_ms, 65000);
	assert_int_equal(nat_preset_find("fortigate")->hold_after_fin_ms, 1000);
	assert_int_equal(nat_preset_find("linux")->hold_after_fin_ms, 120000);
}

static void one_to_one_gives_the_longest_free_address(void **st)
{
	uint64_t rel[4] = { 500, 0, 100, 50 };
	bool busy[4] = { false, true, false, false };
	(void)st;
	assert_int_equal(nat_one_to_one_pick(rel, busy, 4), 3);
	busy[3] = true;
	assert_int_equal(nat_one_to_one_pick(rel, busy, 4), 2);
	busy[0] = busy[2] = true;
	assert_int_equal(nat_one_to_one_pick(rel, busy, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jhash2_matches_lookup3_published_values),
		cmocka_unit_test(one_address_pool_always_gives_it),
		cmocka_unit_test(overload_address_is_in_pool_and_spread_evenly),
		cmocka_unit_test(a_client_keeps_its_address_toward_one_server),
		cmocka_unit_test(server_and_zone_change_the_mapping_persistent_ignores_them),
		cmocka_unit_test(masquerade_keeps_a_free_port),
		cmocka_unit_test(masquerade_used_port_gets_a_random_free_one_in_1024_65535),
		cmocka_unit_test(random_fully_never_keeps_the_port),
		cmocka_unit_test(full_table_gives_up_after_248_probes),
		cmocka_unit_test(v65_evicts_a_time_wait_entry_in_the_last_32_attempts),
		cmocka_unit_test(v65_eviction_asks_for_the_syn_seq_only_when_it_compares),
		cmocka_unit_test(v419_rover_hands_out_ports_in_order),
		cmocka_unit_test(fortigate_takes_the_next_higher_free_port),
		cmocka_unit_test(an_existing_mapping_of_the_client_port_is_reused),
		cmocka_unit_test(gcp_gives_each_vm_its_own_64_port_block),
		cmocka_unit_test(an_empty_range_gives_no_port),
		cmocka_unit_test(presets_are_found_by_name),
		cmocka_unit_test(one_to_one_gives_the_longest_free_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
