/*
 * test_model_versions.c - every version-keyed fact of profile.c, checked at
 * the first version it holds for and just before (or, for facts that end,
 * at the last version and the first without), through the decision it
 * changes; and the resolution of version strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"

static struct kprofile K(unsigned a, unsigned b, unsigned c)
{
	struct kprofile k;
	kprofile_build(KVER(a, b, c), false, &k);
	return k;
}

static bool fact(const struct kprofile *k, const char *id)
{
	const struct kfact *f;
	bool on;
	for (unsigned i = 0; (f = kfact_get(i, k, &on)); i++)
		if (!strcmp(f->id, id))
			return on;
	fail_msg("no fact %s", id);
	return false;
}

static const struct tcp_env env0 = { .invalid_ratelimit_ms = -1 };

static struct tw_decision tw_syn(const struct kprofile *k, uint32_t rcv_nxt, uint32_t seq,
				 bool ts, uint32_t ts_recent, uint32_t age, uint32_t tsval)
{
	struct tw_sock tw = tw_sock_init(rcv_nxt, 7000, ts, ts_recent, age);
	struct segment s = { .flags = TCPF_SYN, .seq = seq, .has_ts = ts, .tsval = tsval };
	struct tw_decision d;
	tw_process(k, &env0, &tw, &s, &d);
	return d;
}

static void ts_offset_per_4tuple_from_its_backports(void **st)
{
	(void)st;
	static const struct { unsigned a, b, c; bool tuple; } v[] = {
		{ 4, 9, 300, false }, { 4, 10, 0, true }, { 4, 11, 0, false },
		{ 6, 1, 191, false }, { 6, 1, 192, true }, { 6, 6, 57, false },
		{ 6, 12, 93, false }, { 6, 12, 94, true },
		{ 6, 18, 16, false }, { 6, 18, 17, true },
		{ 6, 19, 6, false }, { 6, 19, 7, true }, { 7, 0, 0, true },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct kprofile k = K(v[i].a, v[i].b, v[i].c);
		assert_int_equal(k.ts_clock == TS_CLOCK_MS_TUPLE_OFFSET, v[i].tuple);
		assert_int_equal(fact(&k, "ts_offset_per_4tuple"), v[i].tuple);
	}
	struct kprofile k = K(4, 10, 0);
	assert_int_equal(K(4, 9, 0).ts_clock, TS_CLOCK_JIFFIES);
	assert_int_equal(K(4, 11, 0).ts_clock, TS_CLOCK_MS_PAIR_OFFSET);
	assert_int_equal(K(6, 18, 16).ts_clock, TS_CLOCK_MS_PAIR_OFFSET);
	assert_true(fact(&k, "tcp_timestamps_2"));
}

static void ts_clock_1ms_from_413(void **st)
{
	(void)st;
	struct kprofile a = K(4, 12, 14), b = K(4, 13, 0);
	assert_int_equal(a.ts_hz, 250);
	assert_int_equal(b.ts_hz, 1000);
	assert_false(fact(&a, "ts_clock_1ms"));
	assert_true(fact(&b, "ts_clock_1ms"));
}

static void tcp_timestamps_2_removes_the_offset_from_410(void **st)
{
	(void)st;
	struct kprofile a = K(4, 9, 0), b = K(4, 10, 0);
	bool no_off;
	kprofile_ts_clock(&b, 2, &no_off);
	assert_true(no_off);
	kprofile_ts_clock(&b, 1, &no_off);
	assert_false(no_off);
	assert_false(a.has_ts_no_offset);
	assert_false(fact(&a, "tcp_timestamps_2"));
}

static void time_wait_lasts_52_5_to_60_s_before_41(void **st)
{
	(void)st;
	struct kprofile a = K(4, 0, 9), b = K(4, 1, 0);
	struct tw_created c;
	tw_create(&a, &env0, 0, true, 200, &c);
	assert_true(c.made);
	assert_int_equal(c.min_ms, 52500);
	assert_int_equal(c.max_ms, 60000);
	tw_create(&b, &env0, 0, true, 200, &c);
	assert_int_equal(c.min_ms, 60000);
	assert_int_equal(kprofile_find("rhel7.7")->tw_len_min_ms, 52500);
	assert_true(fact(&a, "tw_timer_wheel"));
	assert_false(fact(&b, "tw_timer_wheel"));
}

static void oow_rate_limit_from_40_and_on_rhel77(void **st)
{
	(void)st;
	struct kprofile a = K(3, 19, 8), b = K(4, 0, 0);
	struct tw_sock tw = tw_sock_init(1000, 0, false, 0, 0);
	struct segment s = { .flags = TCPF_SYN, .seq = 999 };
	struct tw_decision d;

	tw.last_oow_ack_ms = 100;
	tw_process(&a, &env0, &tw, &s, &d);
	assert_false(d.rate_limited);
	tw_process(&b, &env0, &tw, &s, &d);
	assert_true(d.rate_limited);
	assert_string_equal(d.counters[0], "TcpExtTCPACKSkippedTimeWait");
	tw_process(kprofile_find("rhel7.7"), &env0, &tw, &s, &d);
	assert_true(d.rate_limited);
}

static void paws_wrap_2147_s_from_67(void **st)
{
	(void)st;
	struct kprofile a = K(6, 6, 57), b = K(6, 7, 0);
	/* ts_recent 3000 s old, tsval older: 6.6 rejects, 6.7 lets it pass */
	assert_true(tw_syn(&a, 1000, 2000, true, 500, 3000, 400).paws_reject);
	assert_false(tw_syn(&b, 1000, 2000, true, 500, 3000, 400).paws_reject);
	assert_false(fact(&a, "paws_wrap_2147s"));
	assert_true(fact(&b, "paws_wrap_2147s"));
}

static void paws_timewait_counter_and_drop_reason_from_615(void **st)
{
	(void)st;
	struct kprofile a = K(6, 14, 11), b = K(6, 15, 0);
	struct tw_decision d = tw_syn(&a, 1000, 2000, true, 500, 1, 400);
	assert_string_equal(d.counters[0], "TcpExtPAWSEstab");
	assert_string_equal(d.drop_reason, "NOT_SPECIFIED");
	d = tw_syn(&b, 1000, 2000, true, 500, 1, 400);
	assert_string_equal(d.counters[0], "TcpExtPAWSTimewait");
	assert_string_equal(d.drop_reason, "TCP_RFC7323_TW_PAWS");
}

static void tw_ack_oow_status_from_615(void **st)
{
	(void)st;
	struct kprofile a = K(6, 14, 11), b = K(6, 15, 0);
	assert_false(tw_syn(&a, 1000, 900, false, 0, 0, 0).ack_oow);
	assert_true(tw_syn(&b, 1000, 900, false, 0, 0, 0).ack_oow);
	assert_false(kprofile_find("6.12")->tw_ack_oow_status);   /* 6.12.113 BTF */
}

static void every_time_wait_discard_has_a_reason_from_517(void **st)
{
	(void)st;
	struct kprofile a = K(5, 16, 20), b = K(5, 17, 0);
	assert_null(tw_syn(&a, 1000, 900, false, 0, 0, 0).drop_reason);
	assert_string_equal(tw_syn(&b, 1000, 900, false, 0, 0, 0).drop_reason, "NOT_SPECIFIED");
	/* an accepted SYN is not dropped */
	assert_null(tw_syn(&b, 1000, 2000, false, 0, 0, 0).drop_reason);
	assert_false(fact(&a, "kfree_skb_reason"));
	assert_true(fact(&b, "kfree_skb_reason"));
}

static void synsent_bad_ack_reason_from_69(void **st)
{
	(void)st;
	struct kprofile a = K(6, 8, 12), b = K(6, 9, 0);
	struct synsent_sock c = { .snd_una = 1000, .snd_nxt = 1001 };
	struct segment ack = { .flags = TCPF_ACK, .ack = 5 };
	struct synsent_decision d;
	synsent_process(&a, &c, &ack, &d);
	assert_string_equal(d.drop_reason, "NOT_SPECIFIED");
	synsent_process(&b, &c, &ack, &d);
	assert_string_equal(d.drop_reason, "TCP_INVALID_ACK_SEQUENCE");
}

static void synsent_fast_retry_from_56(void **st)
{
	(void)st;
	struct kprofile a = K(5, 5, 19), b = K(5, 6, 0);
	struct synsent_sock c = { .snd_una = 1000, .snd_nxt = 1001 };
	struct segment ack = { .flags = TCPF_ACK, .ack = 5 };
	struct synsent_decision d;
	synsent_process(&a, &c, &ack, &d);
	assert_false(d.fast_retry);
	assert_int_equal(d.next_syn_ms, 1000);
	synsent_process(&b, &c, &ack, &d);
	assert_true(d.fast_retry);
	assert_int_equal(d.next_syn_ms, 8);
}

static void tw_isn_lost_from_415_until_610(void **st)
{
	(void)st;
	static const struct { unsigned a, b, c; bool lost; } v[] = {
		{ 4, 14, 300, false }, { 4, 15, 0, true }, { 6, 1, 192, true },
		{ 6, 9, 12, true }, { 6, 10, 0, false }, { 6, 12, 113, false },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct kprofile k = K(v[i].a, v[i].b, v[i].c);
		struct tw_decision d = tw_syn(&k, 1000, 2000, false, 0, 0, 0);
		assert_int_equal(d.verdict, TCP_TW_SYN);
		assert_int_equal(d.isn, 7000u + 65537);      /* what the TW code chose */
		assert_int_equal(d.isn_lost, v[i].lost);
		assert_int_equal(d.reply.seq, v[i].lost ? 0 : 7000u + 65537);
		assert_int_equal(fact(&k, "tw_isn_lost"), v[i].lost);
	}
}

static void syn_linear_timeouts_from_65(void **st)
{
	(void)st;
	struct kprofile a = K(6, 4, 16), b = K(6, 5, 0);
	/* 6.4: 1, 2, 4, 8 ... s; 6.5: 1, 1, 1, 1, 1, 2, 4 ... s */
	static const unsigned old_ms[] = { 1000, 2000, 4000, 8000, 16000, 32000, 64000 };
	static const unsigned new_ms[] = { 1000, 1000, 1000, 1000, 1000, 2000, 4000 };
	for (unsigned n = 0; n < 7; n++) {
		assert_int_equal(syn_rto_ms(&a, -1, n), old_ms[n]);
		assert_int_equal(syn_rto_ms(&b, -1, n), new_ms[n]);
	}
	assert_int_equal(syn_rto_ms(&a, -1, 20), 120000);       /* TCP_RTO_MAX */
	assert_int_equal(syn_max_retransmits(&a, -1, 6), 6);     /* ~127 s */
	assert_int_equal(syn_max_retransmits(&b, -1, 6), 10);    /* ~131 s */
	assert_int_equal(syn_rto_ms(&b, 0, 1), 2000);            /* sysctl set to 0 */
}

static void tw_recycle_drops_natted_syns_before_412(void **st)
{
	(void)st;
	struct kprofile a = K(4, 11, 12), b = K(4, 12, 0);
	struct tcp_env on = { .invalid_ratelimit_ms = -1, .tw_recycle = true };
	struct segment syn = { .flags = TCPF_SYN, .seq = 1, .has_ts = true, .tsval = 1000 };
	struct tw_created c;

	/* another host behind the same address sent tsval 5000, 10 s ago */
	assert_true(listen_recycle_drop(&a, &on, true, 5000, 10, &syn));
	assert_false(listen_recycle_drop(&a, &on, true, 5000, 60, &syn));  /* TCP_PAWS_MSL */
	assert_false(listen_recycle_drop(&a, &on, true, 1001, 10, &syn));  /* TCP_PAWS_WINDOW */
	assert_false(listen_recycle_drop(&a, &env0, true, 5000, 10, &syn));
	assert_false(listen_recycle_drop(&b, &on, true, 5000, 10, &syn));
	tw_create(&a, &on, 0, true, 200, &c);
	assert_true(c.recycled);
	assert_int_equal(c.max_ms, 700);                           /* 3.5 x RTO */
	tw_create(&b, &on, 0, true, 200, &c);
	assert_false(c.recycled);
}

static void max_tw_buckets_overflow_makes_no_time_wait(void **st)
{
	(void)st;
	struct tcp_env lim = { .invalid_ratelimit_ms = -1, .max_tw_buckets = 2048 };
	struct tw_created c;
	tw_create(kprofile_find("6.1"), &lim, 2047, true, 200, &c);
	assert_true(c.made);
	tw_create(kprofile_find("6.1"), &lim, 2048, true, 200, &c);
	assert_false(c.made);
	assert_true(c.overflow);
	assert_string_equal(c.counter, "TcpExtTCPTimeWaitOverflow");
}

static void tw_reuse_default_2_from_419(void **st)
{
	(void)st;
	struct kprofile a = K(4, 18, 20), b = K(4, 19, 0);
	assert_int_equal(a.tw_reuse_default, 0);
	assert_int_equal(b.tw_reuse_default, 2);
}

static void versions_resolve_exactly(void **st)
{
	(void)st;
	struct kprofile k;
	assert_true(kprofile_resolve("6.12.113+deb12-amd64", &k));
	assert_int_equal(k.kver, KVER(6, 12, 113));
	assert_string_equal(k.name, "6.12.113");
	assert_true(kprofile_resolve("3.10.0-1062.el7.x86_64", &k));
	assert_string_equal(k.name, "rhel7.7");
	assert_true(k.oow_ratelimit);
	assert_true(kprofile_resolve("3.10.0-957.el7.x86_64", &k));
	assert_true(k.rhel7);
	assert_true(kprofile_resolve("3.10.99", &k));
	assert_false(k.rhel7);
	assert_false(k.oow_ratelimit);
	assert_true(kprofile_resolve("7.0", &k));
	assert_int_equal(k.kver, KVER(7, 0, 0));
	assert_true(kprofile_resolve("rhel7.7", &k));
	assert_true(kprofile_resolve("6.18", &k));
	assert_int_equal(k.kver, KVER(6, 18, 44));
	assert_false(kprofile_resolve("junk", &k));
	assert_false(kprofile_resolve("6.1x", &k));
	assert_false(kprofile_resolve("", &k));
	assert_false(kprofile_resolve(NULL, &k));
	assert_false(kprofile_resolve("6.1000", &k));
	assert_false(kprofile_resolve("2.6.32", &k));     /* before what was read */
	assert_true(kprofile_resolve("3.10", &k));
}

/* A preset is the same as building its version: one set of rules. */
static void presets_equal_their_built_version(void **st)
{
	(void)st;
	for (const struct kprofile *const *p = kprofile_all(); *p; p++) {
		struct kprofile k;
		kprofile_build((*p)->kver, (*p)->rhel7, &k);
		assert_int_equal(k.ts_clock, (*p)->ts_clock);
		assert_int_equal(k.tw_isn_lost, (*p)->tw_isn_lost);
		assert_int_equal(k.syn_linear_timeouts, (*p)->syn_linear_timeouts);
		assert_int_equal(k.oow_ratelimit, (*p)->oow_ratelimit);
		assert_int_equal(k.paws_wrap_s, (*p)->paws_wrap_s);
		assert_int_equal(k.tw_ack_oow_status, (*p)->tw_ack_oow_status);
	}
	const struct kfact *f;
	bool on;
	for (unsigned i = 0; (f = kfact_get(i, kprofile_find("6.18"), &on)); i++)
		assert_true(f->id[0] && f->what[0] && f->since[0] && f->source[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ts_offset_per_4tuple_from_its_backports),
		cmocka_unit_test(ts_clock_1ms_from_413),
		cmocka_unit_test(tcp_timestamps_2_removes_the_offset_from_410),
		cmocka_unit_test(time_wait_lasts_52_5_to_60_s_before_41),
		cmocka_unit_test(oow_rate_limit_from_40_and_on_rhel77),
		cmocka_unit_test(paws_wrap_2147_s_from_67),
		cmocka_unit_test(paws_timewait_counter_and_drop_reason_from_615),
		cmocka_unit_test(tw_ack_oow_status_from_615),
		cmocka_unit_test(every_time_wait_discard_has_a_reason_from_517),
		cmocka_unit_test(synsent_bad_ack_reason_from_69),
		cmocka_unit_test(synsent_fast_retry_from_56),
		cmocka_unit_test(tw_isn_lost_from_415_until_610),
		cmocka_unit_test(syn_linear_timeouts_from_65),
		cmocka_unit_test(tw_recycle_drops_natted_syns_before_412),
		cmocka_unit_test(max_tw_buckets_overflow_makes_no_time_wait),
		cmocka_unit_test(tw_reuse_default_2_from_419),
		cmocka_unit_test(versions_resolve_exactly),
		cmocka_unit_test(presets_equal_their_built_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
