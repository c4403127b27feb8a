/*
 * test_model_clock.c - tcp_tsval() and tcp_isn(): the jiffies clock of 3.10,
 * the per-(saddr,daddr) offset of 4.11 - 6.18.16, the per-4-tuple offset of
 * 6.18.17+, tcp_timestamps=2, and the property the simulator relies on: a
 * host's own clock and ISN rise on a 4-tuple, two hosts' are unrelated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/fleet.h"

#define NAT 0xC6120001u
#define SRV 0xC6130001u

static void versions_pick_their_clock(void **st)
{
	(void)st;
	assert_int_equal(ts_clock_for(KVER(3, 10, 0)), TS_CLOCK_JIFFIES);
	assert_int_equal(ts_clock_for(KVER(4, 12, 14)), TS_CLOCK_JIFFIES);
	assert_int_equal(ts_clock_for(KVER(4, 19, 124)), TS_CLOCK_MS_PAIR_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 1, 119)), TS_CLOCK_MS_PAIR_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 1, 192)), TS_CLOCK_MS_TUPLE_OFFSET);  /* measured */
	assert_int_equal(ts_clock_for(KVER(6, 6, 57)), TS_CLOCK_MS_PAIR_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 12, 93)), TS_CLOCK_MS_PAIR_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 12, 94)), TS_CLOCK_MS_TUPLE_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 12, 113)), TS_CLOCK_MS_TUPLE_OFFSET); /* measured */
	assert_int_equal(ts_clock_for(KVER(6, 18, 16)), TS_CLOCK_MS_PAIR_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 18, 17)), TS_CLOCK_MS_TUPLE_OFFSET);
	assert_int_equal(ts_clock_for(KVER(6, 18, 44)), TS_CLOCK_MS_TUPLE_OFFSET);
	assert_int_equal(ts_clock_for(KVER(7, 0, 0)), TS_CLOCK_MS_TUPLE_OFFSET);
}

static void v310_tsval_is_jiffies_from_minus_300_seconds(void **st)
{
	struct host_clock c; struct model_rng r;
	(void)st;
	model_rng_seed(&r, 1);
	host_clock_init(&c, KVER(3, 10, 0), 1, 0, &r);
	assert_int_equal(c.ts_hz, 1000);
	assert_int_equal(tcp_tsval(&c, NAT, SRV, 40000, 80, 0), (uint32_t)-300000);
	assert_int_equal(tcp_tsval(&c, NAT, SRV, 40000, 80, 300000), 0);
	/* no offset: every tuple and every destination reads the same clock */
	assert_int_equal(tcp_tsval(&c, NAT, SRV + 5, 1234, 443, 300123), 123);
	assert_int_equal(tcp_ts_offset(&c, NAT, SRV, 1, 2), 0);
}

static void v310_hosts_differ_by_their_uptime(void **st)
{
	struct host_clock a, b; struct model_rng r;
	(void)st;
	model_rng_seed(&r, 2);
	host_clock_init(&a, KVER(3, 10, 0), 1, 86400000ull * 3, &r);   /* up 3 days */
	host_clock_init(&b, KVER(3, 10, 0), 1, 86400000ull * 30, &r);  /* up 30 days */
	uint32_t ta = tcp_tsval(&a, NAT, SRV, 40000, 80, 5000);
	uint32_t tb = tcp_tsval(&b, NAT, SRV, 40000, 80, 5000);
	assert_int_equal(tb - ta, (uint32_t)(86400000ull * 27));
	/* 27 days > 2^31 ms: the older-booted host looks *older* to PAWS */
	assert_true((int32_t)(tb - ta) < 0);
}

static void pair_offset_is_shared_by_ports_not_by_destinations(void **st)
{
	struct host_clock c; struct model_rng r;
	(void)st;
	model_rng_seed(&r, 3);
	host_clock_init(&c, KVER(6, 1, 0), 1, 1000, &r);
	uint32_t o = tcp_ts_offset(&c, NAT, SRV, 40000, 80);
	assert_int_equal(tcp_ts_offset(&c, NAT, SRV, 40002, 8080), o);
	assert_int_not_equal(tcp_ts_offset(&c, NAT, SRV + 1, 40000, 80), o);
	assert_int_equal(tcp_tsval(&c, NAT, SRV, 1, 80, 0), 1000 + o);
	assert_int_equal(tcp_tsval(&c, NAT, SRV, 1, 80, 250), 1250 + o);
}

static void tuple_offset_changes_with_the_port(void **st)
{
	struct host_clock c; struct model_rng r;
	unsigned same = 0;
	(void)st;
	model_rng_seed(&r, 4);
	host_clock_init(&c, KVER(6, 18, 44), 1, 0, &r);
	uint32_t o = tcp_ts_offset(&c, NAT, SRV, 40000, 80);
	for (uint16_t p = 40001; p < 41001; p++)
		same += tcp_ts_offset(&c, NAT, SRV, p, 80) == o;
	assert_int_equal(same, 0);
	assert_int_equal(tcp_ts_offset(&c, NAT, SRV, 40000, 80), o);
}

static void timestamps_2_means_no_offset(void **st)
{
	struct host_clock c; struct model_rng r;
	(void)st;
	model_rng_seed(&r, 5);
	host_clock_init(&c, KVER(6, 18, 44), 2, 777, &r);
	assert_int_equal(tcp_ts_offset(&c, NAT, SRV, 40000, 80), 0);
	assert_int_equal(tcp_tsval(&c, NAT, SRV, 40000, 80, 3), 780);
}

static void isn_rises_by_the_clock_over_64_ns(void **st)
{
	struct host_clock c; struct model_rng r;
	(void)st;
	model_rng_seed(&r, 6);
	host_clock_init(&c, KVER(6, 1, 0), 1, 0, &r);
	uint64_t t0 = 1700000000ull * 1000000000ull;
	uint32_t a = tcp_isn(&c, NAT, SRV, 40000, 80, t0);
	uint32_t b = tcp_isn(&c, NAT, SRV, 40000, 80, t0 + 1000000000ull);
	assert_int_equal(b - a, 15625000u);      /* 1 s = 1e9 / 64 ticks */
	assert_true((int32_t)(b - a) > 0);
	/* another tuple: an unrelated start */
	uint32_t o = tcp_isn(&c, NAT, SRV, 40002, 80, t0);
	assert_true(o - a != 0);
}

/* What the simulator relies on: a host reusing its own 4-tuple 30 s later
 * is newer by both TSval and ISN; two hosts are newer about half the time. */
static void own_reuse_is_newer_other_hosts_half_the_time(void **st)
{
	struct model_rng r;
	unsigned ts_newer = 0, isn_newer = 0;
	const unsigned N = 4000;
	(void)st;
	model_rng_seed(&r, 7);
	for (unsigned i = 0; i < N; i++) {
		struct host_clock a, b;
		uint64_t t = 1000000 + model_rng_below(&r, 1000000);
		host_clock_init(&a, KVER(6, 1, 0), 1, model_rng_below(&r, 1u << 31), &r);
		host_clock_init(&b, KVER(6, 1, 0), 1, model_rng_below(&r, 1u << 31), &r);
		uint32_t ts_a = tcp_tsval(&a, NAT, SRV, 40000, 80, t);
		uint32_t isn_a = tcp_isn(&a, NAT, SRV, 40000, 80, t * 1000000);
		assert_true((int32_t)(tcp_tsval(&a, NAT, SRV, 40000, 80, t + 30000) - ts_a) > 0);
		assert_true((int32_t)(tcp_isn(&a, NAT, SRV, 40000, 80, (t + 30000) * 1000000) - isn_a) > 0);
		ts_newer += (int32_t)(tcp_tsval(&b, NAT, SRV, 40000, 80, t + 30000) - ts_a) > 0;
		isn_newer += (int32_t)(tcp_isn(&b, NAT, SRV, 40000, 80, (t + 30000) * 1000000) - isn_a) > 0;
	}
	assert_in_range(ts_newer, N * 45 / 100, N * 55 / 100);
	assert_in_range(isn_newer, N * 45 / 100, N * 55 / 100);
}

static void conn_clock_equals_the_per_call_functions(void **st)
{
	static const uint32_t kv[] = { KVER(3, 10, 0), KVER(4, 10, 5), KVER(4, 19, 124),
				       KVER(6, 18, 16), KVER(6, 18, 44) };
	struct model_rng r;
	(void)st;
	model_rng_seed(&r, 8);
	for (size_t v = 0; v < sizeof kv / sizeof kv[0]; v++)
		for (int ts = 1; ts <= 2; ts++) {
			struct host_clock c;
			host_clock_init(&c, kv[v], ts, 123456, &r);
			for (int i = 0; i < 200; i++) {
				struct conn_clock k;
				uint32_t d = SRV + (uint32_t)(i % 3);
				uint16_t sp = (uint16_t)(30000 + i * 7);
				uint64_t t = (uint64_t)i * 1234567;
				tcp_conn_clock(&c, NAT, d, sp, 80, &k);
				assert_int_equal(conn_tsval(&c, &k, t), tcp_tsval(&c, NAT, d, sp, 80, t));
				assert_int_equal(conn_isn(&k, t * 1000), tcp_isn(&c, NAT, d, sp, 80, t * 1000));
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(versions_pick_their_clock),
		cmocka_unit_test(v310_tsval_is_jiffies_from_minus_300_seconds),
		cmocka_unit_test(v310_hosts_differ_by_their_uptime),
		cmocka_unit_test(pair_offset_is_shared_by_ports_not_by_destinations),
		cmocka_unit_test(tuple_offset_changes_with_the_port),
		cmocka_unit_test(timestamps_2_means_no_offset),
		cmocka_unit_test(isn_rises_by_the_clock_over_64_ns),
		cmocka_unit_test(own_reuse_is_newer_other_hosts_half_the_time),
		cmocka_unit_test(conn_clock_equals_the_per_call_functions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
