/*
 * test_model_tw.c - tw_process(): every branch of tcp_timewait_state_process
 * on every profile, the s32 boundaries, and the report's field cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"

#define FOR_EACH_PROFILE(k) \
	for (const struct kprofile *const *kp_ = kprofile_all(), *k; (k = *kp_); kp_++)

static const struct tcp_env env0 = { .invalid_ratelimit_ms = -1 };

static struct tw_sock tw_plain(uint32_t rcv_nxt)
{
	return tw_sock_init(rcv_nxt, 5000, false, 0, 0);
}

static struct tw_sock tw_ts(uint32_t rcv_nxt, uint32_t ts_recent, uint32_t age)
{
	struct tw_sock tw = tw_plain(rcv_nxt);
	tw.ts_recent_stamp_set = true;
	tw.ts_recent = ts_recent;
	tw.ts_recent_age_s = age;
	return tw;
}

static struct segment syn(uint32_t seq)
{
	struct segment s = { .flags = TCPF_SYN, .seq = seq };
	return s;
}

static struct segment syn_ts(uint32_t seq, uint32_t tsval)
{
	struct segment s = syn(seq);
	s.has_ts = true;
	s.tsval = tsval;
	return s;
}

/* --- s32 arithmetic */

static void before_and_after_are_both_true_at_exactly_2_pow_31(void **st)
{
	(void)st;
	assert_true(seq_before(0, 0x80000000u));
	assert_true(seq_after(0, 0x80000000u));
	assert_true(seq_after(0x7fffffffu, 0));     /* 2^31-1 ahead: after */
	assert_false(seq_before(0x7fffffffu, 0));
	assert_true(seq_before(0x80000001u, 0));    /* 2^31+1 ahead: wraps to before */
	assert_false(seq_after(0x80000001u, 0));
	assert_false(seq_after(5, 5));
	assert_false(seq_before(5, 5));
}

/* --- the report's field cases */

static void field_case_310_seq_below_rcv_nxt_draws_old_ack(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(2851797348u);
	struct segment s = syn(2851797340u);
	struct tw_decision d;

	tw_process(kprofile_find("3.10"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_false(d.paws_reject);
	assert_int_equal(d.cause, TW_CAUSE_SEQ);
	assert_true(d.reply.sent);
	assert_int_equal(d.reply.flags, TCPF_ACK);
	assert_int_equal(d.reply.ack, 2851797348u);
	assert_int_equal(d.reply.seq, 5000);
}

static void syn_after_rcv_nxt_without_timestamps_reopens_on_every_profile(void **st)
{
	(void)st;
	FOR_EACH_PROFILE(k) {
		struct tw_sock tw = tw_plain(1000);
		struct segment s = syn(1001);
		struct tw_decision d;
		tw_process(k, &env0, &tw, &s, &d);
		assert_int_equal(d.verdict, TCP_TW_SYN);
		assert_int_equal(d.isn, 5000u + 65535 + 2);
		assert_int_equal(d.reply.flags, TCPF_SYN | TCPF_ACK);
		assert_int_equal(d.reply.ack, 1002);
		assert_true(d.tw_killed);
		assert_int_equal(d.cause, TW_CAUSE_NONE);
	}
}

static void syn_with_older_tsval_is_paws_rejected_whatever_its_seq(void **st)
{
	(void)st;
	uint32_t seqs[] = { 0, 999, 1000, 1001, 0x7fffffffu, 0x80000000u, 0xffffffffu };
	FOR_EACH_PROFILE(k) {
		for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
			struct tw_sock tw = tw_ts(1000, 3000000000u, 5);
			struct segment s = syn_ts(seqs[i], 2159628858u);
			struct tw_decision d;
			tw_process(k, &env0, &tw, &s, &d);
			assert_int_equal(d.verdict, TCP_TW_ACK);
			assert_true(d.paws_reject);
			assert_int_equal(d.cause, TW_CAUSE_PAWS);
			assert_int_equal(d.reply.ack, 1000);
			assert_true(d.reply.has_ts);
			assert_int_equal(d.reply.tsecr, 3000000000u);
			assert_true(d.timer_rearmed);          /* PAWS rejection re-arms */
			assert_string_equal(d.counters[0], k->paws_tw_counter);
		}
	}
}

static void paws_counter_and_drop_reason_differ_by_version(void **st)
{
	(void)st;
	struct tw_sock tw = tw_ts(1000, 500, 1);
	struct segment s = syn_ts(2000, 400);
	struct tw_decision d;

	tw_process(kprofile_find("3.10"), &env0, &tw, &s, &d);
	assert_string_equal(d.counters[0], "TcpExtPAWSEstab");
	assert_null(d.drop_reason);
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_string_equal(d.counters[0], "TcpExtPAWSTimewait");
	assert_string_equal(d.drop_reason, "TCP_RFC7323_TW_PAWS");
}

/* --- SYN acceptance at the 2^31 boundaries */

static void seq_boundaries_follow_s32_arithmetic(void **st)
{
	(void)st;
	const uint32_t r = 1000;
	struct { uint32_t delta; enum tw_verdict want; } cases[] = {
		{ 0, TCP_TW_ACK },            /* seq == rcv_nxt: not after */
		{ 1, TCP_TW_SYN },
		{ 0x7fffffffu, TCP_TW_SYN },  /* 2^31-1: after */
		{ 0x80000000u, TCP_TW_SYN },  /* 2^31: after (and before) */
		{ 0x80000001u, TCP_TW_ACK },  /* 2^31+1: before */
		{ 0xffffffffu, TCP_TW_ACK },  /* -1 */
	};
	FOR_EACH_PROFILE(k) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct tw_sock tw = tw_plain(r);
			struct segment s = syn(r + cases[i].delta);
			struct tw_decision d;
			tw_process(k, &env0, &tw, &s, &d);
			assert_int_equal(d.verdict, cases[i].want);
			if (cases[i].want == TCP_TW_ACK)
				assert_int_equal(d.cause, TW_CAUSE_SEQ);
		}
	}
}

static void tsval_boundaries_follow_s32_arithmetic(void **st)
{
	(void)st;
	const uint32_t tr = 77;
	struct { uint32_t delta; bool reject; enum tw_verdict want; } cases[] = {
		{ 0, false, TCP_TW_ACK },            /* same tsval: passes PAWS, not newer */
		{ 1, false, TCP_TW_SYN },            /* newer: reopens despite old seq */
		{ 0x7fffffffu, false, TCP_TW_SYN },
		/* 2^31: (s32)(ts_recent - tsval) = INT_MIN: <= 0 passes PAWS, < 0 is newer */
		{ 0x80000000u, false, TCP_TW_SYN },
		{ 0x80000001u, true, TCP_TW_ACK },
		{ 0xffffffffu, true, TCP_TW_ACK },   /* one tick older */
	};
	FOR_EACH_PROFILE(k) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct tw_sock tw = tw_ts(1000, tr, 10);
			struct segment s = syn_ts(999, tr + cases[i].delta);
			struct tw_decision d;
			tw_process(k, &env0, &tw, &s, &d);
			assert_int_equal(d.paws_reject, cases[i].reject);
			assert_int_equal(d.verdict, cases[i].want);
		}
	}
}

static void isn_that_wraps_to_zero_becomes_one(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(10);
	struct segment s = syn(20);
	struct tw_decision d;

	tw.snd_nxt = (uint32_t)(0u - 65535u - 2u);
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_SYN);
	assert_int_equal(d.isn, 1);
	tw.snd_nxt += 1;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.isn, 1);   /* 0 + 1 wraps naturally to 1 too */
	tw.snd_nxt -= 2;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.isn, 0xffffffffu);
}

/* --- PAWS staleness rules */

static void paws_24_day_rule_on_old_kernels_2147_s_on_618(void **st)
{
	(void)st;
	const uint32_t days24 = 60u * 60u * 24u * 24u;
	struct segment s = syn_ts(5, 100);
	struct tw_decision d;
	struct tw_sock tw = tw_ts(1000, 200, days24 - 1);

	tw_process(kprofile_find("3.10"), &env0, &tw, &s, &d);
	assert_true(d.paws_reject);
	tw.ts_recent_age_s = days24;          /* exactly 24 days: passes */
	tw_process(kprofile_find("3.10"), &env0, &tw, &s, &d);
	assert_false(d.paws_reject);
	tw_process(kprofile_find("6.1"), &env0, &tw, &s, &d);
	assert_false(d.paws_reject);

	tw.ts_recent_age_s = 2146;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_true(d.paws_reject);
	tw.ts_recent_age_s = 2147;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_false(d.paws_reject);
	tw_process(kprofile_find("6.1"), &env0, &tw, &s, &d);
	assert_true(d.paws_reject);
}

static void ts_recent_zero_always_passes_paws(void **st)
{
	(void)st;
	FOR_EACH_PROFILE(k) {
		struct tw_sock tw = tw_ts(1000, 0, 1);
		struct segment s = syn_ts(5, 0x90000000u);
		struct tw_decision d;
		tw_process(k, &env0, &tw, &s, &d);
		assert_false(d.paws_reject);
	}
}

static void tsval_on_a_tw_without_timestamps_is_not_parsed(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = syn_ts(5, 1);
	struct tw_decision d;

	tw.ts_recent = 0x7fffffff;   /* would reject if parsed; stamp is 0 */
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_false(d.paws_reject);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_int_equal(d.cause, TW_CAUSE_SEQ);
	assert_false(d.reply.has_ts);
}

static void sysctl_timestamps_off_means_no_paws(void **st)
{
	(void)st;
	struct tcp_env env = { .invalid_ratelimit_ms = -1, .timestamps_off = true };
	struct tw_sock tw = tw_ts(1000, 500, 1);
	struct segment s = syn_ts(2000, 400);
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env, &tw, &s, &d);
	assert_false(d.paws_reject);
	assert_int_equal(d.verdict, TCP_TW_SYN);
}

/* --- RST and bare ACK */

static void in_window_rst_kills_time_wait_unless_rfc1337(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = { .flags = TCPF_RST, .seq = 1000 };
	struct tcp_env rfc = { .invalid_ratelimit_ms = -1, .rfc1337 = true };
	struct tw_decision d;

	FOR_EACH_PROFILE(k) {
		tw_process(k, &env0, &tw, &s, &d);
		assert_int_equal(d.verdict, TCP_TW_SUCCESS);
		assert_true(d.tw_killed);
		assert_false(d.reply.sent);
		tw_process(k, &rfc, &tw, &s, &d);
		assert_int_equal(d.verdict, TCP_TW_SUCCESS);
		assert_false(d.tw_killed);
		assert_false(d.timer_rearmed);
	}
}

static void client_rst_after_bare_ack_kills_the_time_wait(void **st)
{
	(void)st;
	/* the brief's recovery: the client answers the bare ACK with a RST whose
	 * seq = the ACK's ack_seq = rcv_nxt; TIME_WAIT dies (tcp_rfc1337=0). */
	struct tw_sock tw = tw_plain(2851797348u);
	struct segment s1 = syn(2851797340u);
	struct tw_decision d1, d2;
	struct synsent_sock c = { .snd_una = 2851797340u, .snd_nxt = 2851797341u };
	struct synsent_decision cd;
	struct segment ack = { .flags = TCPF_ACK };
	struct segment rst = { .flags = TCPF_RST };

	tw_process(kprofile_find("6.18"), &env0, &tw, &s1, &d1);
	ack.seq = d1.reply.seq;
	ack.ack = d1.reply.ack;
	synsent_process(kprofile_find("6.18"), &c, &ack, &cd);
	assert_int_equal(cd.verdict, SYNSENT_RESET);
	rst.seq = cd.reply.seq;
	tw_process(kprofile_find("6.18"), &env0, &d1.next, &rst, &d2);
	assert_true(d2.tw_killed);
}

static void rst_out_of_window_is_ignored_and_gets_no_answer(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = { .flags = TCPF_RST, .seq = 1005 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_SUCCESS);
	assert_false(d.tw_killed);
	assert_false(d.reply.sent);
	assert_false(d.timer_rearmed);
}

static void rst_passes_paws_after_msl(void **st)
{
	(void)st;
	struct tw_sock tw = tw_ts(1000, 500, 59);
	struct segment s = { .flags = TCPF_RST, .seq = 1000, .has_ts = true, .tsval = 400 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_true(d.paws_reject);
	assert_false(d.tw_killed);
	tw.ts_recent_age_s = 60;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_false(d.paws_reject);
	assert_true(d.tw_killed);
}

static void bare_ack_at_rcv_nxt_rearms_and_updates_ts_recent(void **st)
{
	(void)st;
	struct tw_sock tw = tw_ts(1000, 500, 30);
	struct segment s = { .flags = TCPF_ACK, .seq = 1000, .ack = 5000, .has_ts = true, .tsval = 600 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_SUCCESS);
	assert_true(d.timer_rearmed);
	assert_false(d.reply.sent);
	assert_int_equal(d.next.ts_recent, 600);
	assert_int_equal(d.next.ts_recent_age_s, 0);
}

static void ack_out_of_window_is_answered_and_rearms(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = { .flags = TCPF_ACK, .seq = 900, .ack = 5000 };
	struct tw_decision d;

	FOR_EACH_PROFILE(k) {
		tw_process(k, &env0, &tw, &s, &d);
		assert_int_equal(d.verdict, TCP_TW_ACK);
		assert_true(d.timer_rearmed);
		assert_int_equal(d.cause, TW_CAUSE_NONE);
	}
}

static void syn_with_ack_flag_never_reopens(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = { .flags = TCPF_SYN | TCPF_ACK, .seq = 2000, .ack = 1 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_true(d.timer_rearmed);
}

static void ackless_syn_below_rcv_nxt_does_not_rearm(void **st)
{
	(void)st;
	FOR_EACH_PROFILE(k) {
		struct tw_sock tw = tw_plain(1000);
		struct segment s = syn(999);
		struct tw_decision d;
		tw_process(k, &env0, &tw, &s, &d);
		assert_int_equal(d.verdict, TCP_TW_ACK);
		assert_false(d.timer_rearmed);
	}
}

/* --- out-of-window ACK rate limit */

static void oow_rate_limit_suppresses_second_ack_on_modern_kernels_only(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = syn(999);
	struct tw_decision d;

	tw.last_oow_ack_ms = 100;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_SUCCESS);
	assert_true(d.rate_limited);
	assert_false(d.reply.sent);
	assert_string_equal(d.counters[0], "TcpExtTCPACKSkippedTimeWait");
	tw_process(kprofile_find("3.10"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_false(d.rate_limited);
	/* RHEL 7.7 has the limit (backport; TCPACKSkippedTimeWait in the report) */
	tw_process(kprofile_find("rhel7.7"), &env0, &tw, &s, &d);
	assert_true(d.rate_limited);

	tw.last_oow_ack_ms = 500;    /* not < 500: sent, stamp refreshed */
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_int_equal(d.next.last_oow_ack_ms, 0);

	struct tcp_env nolimit = { .invalid_ratelimit_ms = 0 };
	tw.last_oow_ack_ms = 0;
	tw_process(kprofile_find("6.18"), &nolimit, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
}

static void data_without_syn_is_never_rate_limited(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000);
	struct segment s = { .flags = TCPF_ACK, .seq = 900, .len = 10 };
	struct tw_decision d;

	tw.last_oow_ack_ms = 1;
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_false(d.rate_limited);
}

static void no_listener_turns_an_acceptable_syn_into_the_old_ack(void **st)
{
	(void)st;
	struct tcp_env env = { .invalid_ratelimit_ms = -1, .no_listener = true };
	struct tw_sock tw = tw_plain(1000);
	struct segment s = syn(2000);
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_int_equal(d.reply.ack, 1000);
}

/* --- FIN_WAIT2 substate */

static struct tw_sock fw2(void)
{
	struct tw_sock tw = tw_plain(1000);
	tw.substate = TW_FIN_WAIT2;
	tw.rcv_wnd = 100;
	return tw;
}

static void fin_wait2_fin_enters_time_wait(void **st)
{
	(void)st;
	struct tw_sock tw = fw2();
	struct segment s = { .flags = TCPF_FIN | TCPF_ACK, .seq = 1000, .ack = 5000 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_true(d.to_time_wait);
	assert_int_equal(d.next.substate, TW_TIME_WAIT);
	assert_int_equal(d.next.rcv_nxt, 1001);
	assert_int_equal(d.reply.ack, 1001);
	assert_true(d.timer_rearmed);
}

static void fin_wait2_out_of_window_gets_ack(void **st)
{
	(void)st;
	struct tw_sock tw = fw2();
	struct segment s = { .flags = TCPF_ACK, .seq = 2000, .len = 5 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_false(d.to_time_wait);
}

/* 6.18 tcp_timewait_check_oow_rate_limit returns TCP_TW_ACK_OOW; the
 * FIN_WAIT2 -> TIME_WAIT ACK and older kernels stay plain TCP_TW_ACK. */
static void oow_ack_is_tcp_tw_ack_oow_on_618_only(void **st)
{
	(void)st;
	struct tw_sock tw = tw_plain(1000), f = fw2();
	struct segment s = syn(900);
	struct segment fin = { .flags = TCPF_FIN | TCPF_ACK, .seq = 1000, .ack = 5000 };
	struct tw_decision d;

	FOR_EACH_PROFILE(k) {
		tw_process(k, &env0, &tw, &s, &d);
		assert_int_equal(d.verdict, TCP_TW_ACK);
		assert_int_equal(d.ack_oow, !strcmp(k->name, "6.18"));
		tw_process(k, &env0, &f, &fin, &d);
		assert_int_equal(d.verdict, TCP_TW_ACK);
		assert_false(d.ack_oow);
	}
}

static void fin_wait2_rst_kills_syn_resets_data_resets(void **st)
{
	(void)st;
	struct tw_sock tw = fw2();
	struct segment rst = { .flags = TCPF_RST, .seq = 1010 };
	struct segment s = { .flags = TCPF_SYN, .seq = 1010 };
	struct segment data = { .flags = TCPF_ACK, .seq = 1000, .len = 10, .ack = 77 };
	struct segment dup = { .flags = TCPF_ACK, .seq = 1000, .ack = 77 };
	struct tw_decision d;

	tw_process(kprofile_find("6.18"), &env0, &tw, &rst, &d);
	assert_true(d.tw_killed);
	assert_int_equal(d.verdict, TCP_TW_SUCCESS);
	tw_process(kprofile_find("6.18"), &env0, &tw, &s, &d);
	assert_int_equal(d.verdict, TCP_TW_RST);
	assert_int_equal(d.reply.flags, TCPF_RST | TCPF_ACK);
	assert_int_equal(d.reply.ack, 1011);
	tw_process(kprofile_find("6.18"), &env0, &tw, &data, &d);
	assert_int_equal(d.verdict, TCP_TW_RST);
	assert_int_equal(d.reply.flags, TCPF_RST);
	assert_int_equal(d.reply.seq, 77);
	tw_process(kprofile_find("6.18"), &env0, &tw, &dup, &d);
	assert_int_equal(d.verdict, TCP_TW_SUCCESS);
	assert_false(d.reply.sent);
}

/* --- profiles */

static void profiles_are_found_by_name_and_release(void **st)
{
	(void)st;
	char buf[128];
	assert_non_null(kprofile_find("3.10"));
	assert_null(kprofile_find("3.11"));
	assert_null(kprofile_find(NULL));
	/* corrected: the report's kernel resolves to the RHEL 7.7 preset (RHEL
	 * backports, e.g. the TIME_WAIT ACK rate limit), not upstream 3.10 */
	assert_string_equal(kprofile_for_release("3.10.0-1062.el7.x86_64")->name, "rhel7.7");
	assert_string_equal(kprofile_for_release("6.18.44-fc-v669")->name, "6.18");
	assert_string_equal(kprofile_for_release("5.15.0-91-generic")->name, "5.10");
	assert_string_equal(kprofile_for_release("6.6.1")->name, "6.1");
	assert_string_equal(kprofile_for_release("2.6.32")->name, "3.10");
	assert_string_equal(kprofile_for_release("garbage")->name, "3.10");
	assert_string_equal(kprofile_names(buf, sizeof buf), "rhel7.7, 3.10, 4.19, 5.10, 6.1, 6.12, 6.18");
	assert_int_equal(kprofile_find("3.10")->ts_clock, TS_CLOCK_JIFFIES);
	assert_int_equal(kprofile_find("5.10")->ts_clock, TS_CLOCK_MS_PAIR_OFFSET);
	/* corrected: the 6.1 preset is Debian's 6.1.192, which carries the
	 * per-4-tuple TS offset backport (measured under scripts/kvm) */
	assert_int_equal(kprofile_find("6.1")->ts_clock, TS_CLOCK_MS_TUPLE_OFFSET);
	assert_int_equal(kprofile_find("6.18")->ts_clock, TS_CLOCK_MS_TUPLE_OFFSET);
}

static void flags_parse_and_print_round_trip(void **st)
{
	(void)st;
	uint8_t f;
	char b[8];
	assert_true(tcp_flags_parse("AS", &f));
	assert_string_equal(tcp_flags_str(f, b), "SA");
	assert_true(tcp_flags_parse("RA", &f));
	assert_string_equal(tcp_flags_str(f, b), "RA");
	assert_false(tcp_flags_parse("SS", &f));
	assert_false(tcp_flags_parse("X", &f));
	assert_false(tcp_flags_parse("", &f));
	assert_string_equal(tcp_flags_str(0, b), ".");
}

static void strict_firewall_drops_bare_ack_linux_passes_it(void **st)
{
	(void)st;
	assert_true(fw_reply_passes(FW_LINUX, TCPF_ACK));
	assert_false(fw_reply_passes(FW_STRICT, TCPF_ACK));
	assert_true(fw_reply_passes(FW_STRICT, TCPF_SYN | TCPF_ACK));
	assert_true(fw_reply_passes(FW_STRICT, TCPF_RST));
	assert_true(fw_reply_passes(FW_STRICT, TCPF_RST | TCPF_ACK));
	assert_false(fw_reply_passes(FW_STRICT, TCPF_FIN | TCPF_ACK));
}

/* The quiet path (sim's hot loop) must decide exactly as the explained one,
 * over every profile, both substates and a spread of segments. */
static void quiet_decision_equals_explained_decision(void **state)
{
	static const uint8_t flags[] = { TCPF_SYN, TCPF_ACK, TCPF_RST, TCPF_SYN | TCPF_ACK,
					 TCPF_FIN | TCPF_ACK, TCPF_RST | TCPF_ACK };
	static const uint32_t seqs[] = { 0, 999, 1000, 1001, 0x80000000u + 1000, 0x7fffffffu };
	static const uint32_t tsvals[] = { 0, 499, 500, 501, 0x80000000u + 500 };
	unsigned n = 0;
	(void)state;
	FOR_EACH_PROFILE(k) {
		for (int sub = 0; sub < 2; sub++)
		for (size_t f = 0; f < sizeof flags; f++)
		for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
		for (size_t t = 0; t <= sizeof tsvals / sizeof tsvals[0]; t++) {
			struct tw_sock tw = tw_ts(1000, 500, 3);
			struct segment seg = { .flags = flags[f], .seq = seqs[i], .ack = 5000 };
			struct tw_decision a, b;
			tw.substate = sub ? TW_FIN_WAIT2 : TW_TIME_WAIT;
			if (t < sizeof tsvals / sizeof tsvals[0]) {
				seg.has_ts = true;
				seg.tsval = tsvals[t];
			}
			tw_process(k, &env0, &tw, &seg, &a);
			tw_process_quiet(k, &env0, &tw, &seg, &b);
			assert_true(a.why.n > 0);
			assert_int_equal(b.why.n, 0);
			assert_memory_equal(&a, &b, offsetof(struct tw_decision, why));
			n++;
		}
	}
	assert_true(n > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(before_and_after_are_both_true_at_exactly_2_pow_31),
		cmocka_unit_test(field_case_310_seq_below_rcv_nxt_draws_old_ack),
		cmocka_unit_test(syn_after_rcv_nxt_without_timestamps_reopens_on_every_profile),
		cmocka_unit_test(syn_with_older_tsval_is_paws_rejected_whatever_its_seq),
		cmocka_unit_test(paws_counter_and_drop_reason_differ_by_version),
		cmocka_unit_test(seq_boundaries_follow_s32_arithmetic),
		cmocka_unit_test(tsval_boundaries_follow_s32_arithmetic),
		cmocka_unit_test(isn_that_wraps_to_zero_becomes_one),
		cmocka_unit_test(paws_24_day_rule_on_old_kernels_2147_s_on_618),
		cmocka_unit_test(ts_recent_zero_always_passes_paws),
		cmocka_unit_test(tsval_on_a_tw_without_timestamps_is_not_parsed),
		cmocka_unit_test(sysctl_timestamps_off_means_no_paws),
		cmocka_unit_test(in_window_rst_kills_time_wait_unless_rfc1337),
		cmocka_unit_test(client_rst_after_bare_ack_kills_the_time_wait),
		cmocka_unit_test(rst_out_of_window_is_ignored_and_gets_no_answer),
		cmocka_unit_test(rst_passes_paws_after_msl),
		cmocka_unit_test(bare_ack_at_rcv_nxt_rearms_and_updates_ts_recent),
		cmocka_unit_test(ack_out_of_window_is_answered_and_rearms),
		cmocka_unit_test(syn_with_ack_flag_never_reopens),
		cmocka_unit_test(ackless_syn_below_rcv_nxt_does_not_rearm),
		cmocka_unit_test(oow_rate_limit_suppresses_second_ack_on_modern_kernels_only),
		cmocka_unit_test(data_without_syn_is_never_rate_limited),
		cmocka_unit_test(no_listener_turns_an_acceptable_syn_into_the_old_ack),
		cmocka_unit_test(fin_wait2_fin_enters_time_wait),
		cmocka_unit_test(fin_wait2_out_of_window_gets_ack),
		cmocka_unit_test(fin_wait2_rst_kills_syn_resets_data_resets),
		cmocka_unit_test(oow_ack_is_tcp_tw_ack_oow_on_618_only),
		cmocka_unit_test(profiles_are_found_by_name_and_release),
		cmocka_unit_test(flags_parse_and_print_round_trip),
		cmocka_unit_test(strict_firewall_drops_bare_ack_linux_passes_it),
		cmocka_unit_test(quiet_decision_equals_explained_decision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
