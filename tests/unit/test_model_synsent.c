/*
 * test_model_synsent.c - synsent_process(): the client in SYN_SENT meeting
 * the answer to its SYN, on every profile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/model.h"

static struct synsent_sock client(uint32_t iss)
{
	struct synsent_sock s = { .snd_una = iss, .snd_nxt = iss + 1 };
	return s;
}

static void bare_ack_with_old_ack_number_draws_rst_with_seq_equal_ack(void **st)
{
	(void)st;
	for (const struct kprofile *const *k = kprofile_all(); *k; k++) {
		struct synsent_sock c = client(1000);
		struct segment a = { .flags = TCPF_ACK, .seq = 7, .ack = 2851797348u };
		struct synsent_decision d;
		synsent_process(*k, &c, &a, &d);
		assert_int_equal(d.verdict, SYNSENT_RESET);
		assert_true(d.reply.sent);
		assert_int_equal(d.reply.flags, TCPF_RST);
		assert_int_equal(d.reply.seq, 2851797348u);
	}
}

/* 4.19.124 has no fast retry, 5.10.13 has it (tcp_rcv_synsent_state_process);
 * drop reasons there exist only on the newer kernels. */
static void fast_retry_and_drop_reason_follow_the_version(void **st)
{
	(void)st;
	/* corrected: 6.1 names no reason in SYN_SENT (the reasons came in
	 * 6.9); tcp_v4_rcv frees the segment as NOT_SPECIFIED (5.17+) */
	static const struct { const char *k; bool fast; const char *reason; } want[] = {
		{ "3.10", false, NULL }, { "4.19", false, NULL }, { "5.10", true, NULL },
		{ "6.1", true, "NOT_SPECIFIED" }, { "6.12", true, "TCP_INVALID_ACK_SEQUENCE" },
		{ "6.18", true, "TCP_INVALID_ACK_SEQUENCE" },
	};
	struct synsent_sock c = client(1000);
	struct segment a = { .flags = TCPF_ACK, .ack = 5 };
	struct synsent_decision d;

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		synsent_process(kprofile_find(want[i].k), &c, &a, &d);
		assert_int_equal(d.verdict, SYNSENT_RESET);
		assert_int_equal(d.fast_retry, want[i].fast);
		if (want[i].reason)
			assert_string_equal(d.drop_reason, want[i].reason);
		else
			assert_null(d.drop_reason);
	}
}

static void fast_retry_after_bad_ack_only_on_kernels_that_have_it(void **st)
{
	(void)st;
	struct synsent_sock c = client(1000);
	struct segment a = { .flags = TCPF_ACK, .ack = 5 };
	struct synsent_decision d;

	synsent_process(kprofile_find("6.18"), &c, &a, &d);
	assert_true(d.fast_retry);
	assert_int_equal(d.next_syn_ms, 8);        /* 2 jiffies at HZ=250 */
	synsent_process(kprofile_find("3.10"), &c, &a, &d);
	assert_false(d.fast_retry);
	assert_int_equal(d.next_syn_ms, 1000);     /* the 1 s SYN RTO */
	c.retransmits = 2;                          /* only before any retransmission */
	synsent_process(kprofile_find("6.18"), &c, &a, &d);
	assert_false(d.fast_retry);
	/* corrected: 6.5+ keeps the first 4 SYN RTOs at 1 s
	 * (tcp_syn_linear_timeouts); the old expectation (4000) doubled */
	assert_int_equal(d.next_syn_ms, 1000);
	synsent_process(kprofile_find("6.1"), &c, &a, &d);
	assert_int_equal(d.next_syn_ms, 4000);      /* 6.1 doubles: 1, 2, 4 s */
}

static void ack_acceptability_uses_s32_comparisons(void **st)
{
	(void)st;
	struct synsent_sock c = client(0xfffffffeu);   /* snd_nxt wraps to 0xffffffff */
	struct segment a = { .flags = TCPF_SYN | TCPF_ACK, .seq = 9 };
	struct synsent_decision d;
	const struct kprofile *k = kprofile_find("6.18");

	a.ack = 0xffffffffu;                           /* == snd_nxt: acceptable */
	synsent_process(k, &c, &a, &d);
	assert_int_equal(d.verdict, SYNSENT_ACCEPT);
	assert_int_equal(d.reply.flags, TCPF_ACK);
	assert_int_equal(d.reply.ack, 10);
	a.ack = 0xfffffffeu;                           /* == ISS: not acceptable */
	synsent_process(k, &c, &a, &d);
	assert_int_equal(d.verdict, SYNSENT_RESET);
	a.ack = 0;                                     /* > snd_nxt across the wrap */
	synsent_process(k, &c, &a, &d);
	assert_int_equal(d.verdict, SYNSENT_RESET);
}

static void rst_with_acceptable_ack_is_refused_bad_ack_rst_gets_nothing(void **st)
{
	(void)st;
	struct synsent_sock c = client(1000);
	struct segment r = { .flags = TCPF_RST | TCPF_ACK, .ack = 1001 };
	struct synsent_decision d;
	const struct kprofile *k = kprofile_find("6.18");

	synsent_process(k, &c, &r, &d);
	assert_int_equal(d.verdict, SYNSENT_REFUSED);
	assert_false(d.reply.sent);
	r.ack = 5;
	synsent_process(k, &c, &r, &d);
	assert_int_equal(d.verdict, SYNSENT_DISCARD);
	assert_false(d.reply.sent);
	r.flags = TCPF_RST;                            /* RST without ACK */
	synsent_process(k, &c, &r, &d);
	assert_int_equal(d.verdict, SYNSENT_DISCARD);
}

static void acceptable_ack_without_syn_is_discarded(void **st)
{
	(void)st;
	struct synsent_sock c = client(1000);
	struct segment a = { .flags = TCPF_ACK, .ack = 1001 };
	struct synsent_decision d;

	synsent_process(kprofile_find("3.10"), &c, &a, &d);
	assert_int_equal(d.verdict, SYNSENT_DISCARD);
	assert_false(d.reply.sent);
}

static void tsecr_outside_our_syn_times_resets(void **st)
{
	(void)st;
	struct synsent_sock c = client(1000);
	struct segment a = { .flags = TCPF_SYN | TCPF_ACK, .ack = 1001, .has_ts = true,
			     .tsval = 1, .tsecr = 50 };
	struct synsent_decision d;

	c.ts_enabled = true;
	c.ts_sent = 100;
	c.ts_now = 200;
	synsent_process(kprofile_find("6.18"), &c, &a, &d);
	assert_int_equal(d.verdict, SYNSENT_RESET);
	assert_int_equal(d.reply.seq, 1001);
	a.tsecr = 150;
	synsent_process(kprofile_find("6.18"), &c, &a, &d);
	assert_int_equal(d.verdict, SYNSENT_ACCEPT);
}

static void crossed_syn_is_simultaneous_open(void **st)
{
	(void)st;
	struct synsent_sock c = client(1000);
	struct segment s = { .flags = TCPF_SYN, .seq = 42 };
	struct synsent_decision d;

	synsent_process(kprofile_find("6.18"), &c, &s, &d);
	assert_int_equal(d.verdict, SYNSENT_ACCEPT);
	assert_int_equal(d.reply.flags, TCPF_SYN | TCPF_ACK);
	assert_int_equal(d.reply.ack, 43);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bare_ack_with_old_ack_number_draws_rst_with_seq_equal_ack),
		cmocka_unit_test(fast_retry_after_bad_ack_only_on_kernels_that_have_it),
		cmocka_unit_test(fast_retry_and_drop_reason_follow_the_version),
		cmocka_unit_test(ack_acceptability_uses_s32_comparisons),
		cmocka_unit_test(rst_with_acceptable_ack_is_refused_bad_ack_rst_gets_nothing),
		cmocka_unit_test(acceptable_ack_without_syn_is_discarded),
		cmocka_unit_test(tsecr_outside_our_syn_times_resets),
		cmocka_unit_test(crossed_syn_is_simultaneous_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
