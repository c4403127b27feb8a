/*
 * test_track.c - the tuple tracker (analyze/track.h) on canned connections:
 * who closes first decides who holds TIME_WAIT; the TIME_WAIT rebuilt for a
 * later SYN carries the client's last end and newest TSval, stamped when
 * the client's FIN arrived; a connection without timestamps, one reset, and
 * a SYN while the earlier connection is still open leave no server
 * TIME_WAIT; what answer to a SYN is that TIME_WAIT's ACK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "analyze/track.h"
#include "seg.h"

enum { S = TCPF_SYN, A = TCPF_ACK, SA = TCPF_SYN | TCPF_ACK, F = TCPF_FIN | TCPF_ACK, R = TCPF_RST,
       PA = TCPF_PSH | TCPF_ACK };
#define NO_TS (-1)

static enum trk_event cli(struct track *t, double ts, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
			  int64_t tsval)
{
	struct tcp_seg s = test_seg(ts, flags, seq, ack, len, tsval, 0);
	return track_client(t, &s);
}

static enum trk_event srv(struct track *t, double ts, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
			  int64_t tsval)
{
	struct tcp_seg s = test_seg(ts, flags, seq, ack, len, tsval, 0);
	return track_server(t, &s);
}

/* Client ISN 1000, server ISN 5000; the client's clock starts at cts (or
 * NO_TS); 100 bytes each way; established at t0. */
static void handshake_and_data(struct track *t, double t0, int64_t cts)
{
	bool ts = cts >= 0;
	struct tcp_seg sa = test_seg(t0, SA, 5000, 1001, 0, ts ? 9000 : NO_TS, 0);

	memset(t, 0, sizeof *t);
	assert_true(track_synack_begins(t, true));
	track_begin(t);
	track_server(t, &sa);
	cli(t, t0 + 0.001, A, 1001, 5001, 0, ts ? cts + 1 : NO_TS);
	cli(t, t0 + 0.002, PA, 1001, 5001, 100, ts ? cts + 2 : NO_TS);
	srv(t, t0 + 0.003, PA, 5001, 1101, 100, ts ? 9003 : NO_TS);
	assert_true(track_open(t));
}

static void test_server_closing_first_holds_timewait_with_the_client_fins_numbers(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 100.0, 50000);
	assert_int_equal(srv(&t, 100.5, F, 5101, 1101, 0, 9500), TRK_EV_SERVER_CLOSED_FIRST);
	cli(&t, 100.501, A, 1101, 5102, 0, 50501);
	assert_false(track_server_tw(&t));           /* not closed yet: FIN_WAIT2 */
	assert_int_equal(cli(&t, 102.25, F, 1101, 5102, 0, 52250), TRK_EV_NONE);
	assert_true(track_server_tw(&t));
	assert_true(track_used(&t));

	/* a SYN 7.9 s after the client's FIN: tcp_time_wait()'s copy */
	struct tw_sock tw = track_tw(&t, 110.15);
	assert_int_equal(tw.substate, TW_TIME_WAIT);
	assert_int_equal(tw.rcv_nxt, 1102);          /* after the client's FIN */
	assert_int_equal(tw.snd_nxt, 5102);          /* after the server's FIN */
	assert_true(tw.ts_recent_stamp_set);
	assert_int_equal(tw.ts_recent, 52250);
	assert_int_equal(tw.ts_recent_age_s, 7);     /* stamped by the FIN, whole seconds */
	assert_true(tw.last_oow_ack_ms < 0);
}

static void test_rebuilt_timewait_gives_the_models_verdicts(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 100.0, 50000);
	srv(&t, 100.5, F, 5101, 1101, 0, 9500);
	cli(&t, 100.6, F, 1101, 5102, 0, 50600);
	const struct kprofile *k = kprofile_find("6.18");
	assert_non_null(k);

	/* another client behind the NAT, older clock, lower ISN: PAWS */
	struct tw_sock tw = track_tw(&t, 105.0);
	struct segment old = { .flags = S, .seq = 10, .has_ts = true, .tsval = 40000 };
	struct tw_decision d;
	tw_process_quiet(k, NULL, &tw, &old, &d);
	assert_int_equal(d.verdict, TCP_TW_ACK);
	assert_true(d.paws_reject);
	assert_int_equal(d.reply.ack, 1102);
	/* the same client later, newer clock: accepted */
	struct segment newer = { .flags = S, .seq = 10, .has_ts = true, .tsval = 55600 };
	tw = track_tw(&t, 105.0);
	tw_process_quiet(k, NULL, &tw, &newer, &d);
	assert_int_equal(d.verdict, TCP_TW_SYN);
}

static void test_client_closing_first_leaves_the_server_no_timewait(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 10.0, 7000);
	assert_int_equal(cli(&t, 10.5, F, 1101, 5101, 0, 7500), TRK_EV_CLIENT_CLOSED_FIRST);
	assert_int_equal(srv(&t, 10.6, F, 5101, 1102, 0, 9600), TRK_EV_NONE);
	cli(&t, 10.7, A, 1102, 5102, 0, 7700);
	assert_true(t.st & TRK_CLOSED);
	assert_false(track_server_tw(&t));
	/* a bare ACK answering a new SYN comes from some other socket */
	struct tcp_seg ack = test_seg(12.0, A, 5102, 1102, 0, 9999, 7700);
	assert_int_equal(track_answer(&t, &ack, 77), TRK_ANS_LIVE_ACK);
}

static void test_without_timestamps_the_timewait_has_no_ts_recent(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, NO_TS);
	srv(&t, 1.5, F, 5101, 1101, 0, NO_TS);
	cli(&t, 1.6, F, 1101, 5102, 0, NO_TS);
	assert_true(track_server_tw(&t));
	struct tw_sock tw = track_tw(&t, 3.0);
	assert_false(tw.ts_recent_stamp_set);
	assert_int_equal(tw.rcv_nxt, 1102);
	assert_false(track_ts_unknown(&t));
}

static void test_a_reset_ends_the_connection_without_timewait(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, 100);
	srv(&t, 1.5, F, 5101, 1101, 0, 9500);     /* server closed first ... */
	track_reset(&t, 1.7);                      /* ... but the client reset it */
	assert_true(t.st & TRK_CLOSED);
	assert_false(t.st & TRK_SRV_TW);
	assert_false(track_server_tw(&t));
	assert_true(t.close_t == 1.7);
	track_reset(&t, 2.0);                      /* a later RST changes nothing */
	assert_true(t.close_t == 1.7);
	struct tcp_seg ack = test_seg(3.0, A, 5102, 1101, 0, 9999, 0);
	assert_int_equal(track_answer(&t, &ack, 77), TRK_ANS_LIVE_ACK);
}

static void test_a_syn_while_the_connection_is_open_meets_no_timewait(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, 100);
	srv(&t, 1.5, F, 5101, 1101, 0, 9500);     /* half closed: the client has not sent FIN */
	assert_false(track_server_tw(&t));
	/* the open socket answers a SYN with a challenge ACK (RFC 5961) */
	struct tcp_seg ack = test_seg(2.0, A, 5102, 1101, 0, 9999, 0);
	assert_int_equal(track_answer(&t, &ack, 77), TRK_ANS_LIVE_ACK);
	/* a SYN-ACK that answers no SYN in progress begins nothing */
	assert_false(track_synack_begins(&t, false));
	assert_true(track_synack_begins(&t, true));
}

static void test_answers_to_a_syn(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, 100);
	srv(&t, 1.5, F, 5101, 1101, 0, 9500);
	cli(&t, 1.6, F, 1101, 5102, 0, 700);
	uint32_t isn = 4242;
	struct tcp_seg sa = test_seg(3.0, SA, 8000, isn + 1, 0, 1, 0), rst = test_seg(3.0, R | A, 0, isn + 1, 0, NO_TS, 0),
		       tw_ack = test_seg(3.0, A, 5102, 1102, 0, 9999, 700), acks_syn = test_seg(3.0, A, 1, isn + 1, 0, 1, 0),
		       data = test_seg(3.0, PA, 5102, 1102, 10, 1, 0);
	assert_int_equal(track_answer(&t, &sa, isn), TRK_ANS_SYNACK);
	assert_int_equal(track_answer(&t, &rst, isn), TRK_ANS_RST);
	assert_int_equal(track_answer(&t, &tw_ack, isn), TRK_ANS_TW_ACK);
	assert_int_equal(track_answer(&t, &acks_syn, isn), TRK_ANS_OTHER);
	assert_int_equal(track_answer(&t, &data, isn), TRK_ANS_OTHER);
	/* nothing known of the earlier connection: a bare ACK is the TIME_WAIT's */
	struct track none;
	memset(&none, 0, sizeof none);
	assert_false(track_used(&none));
	assert_int_equal(track_answer(&none, &tw_ack, isn), TRK_ANS_TW_ACK);
	/* ... and rebuilt from that ACK: ack = tw_rcv_nxt, tsecr = tw_ts_recent */
	struct tw_sock tw = track_tw_from_ack(&tw_ack);
	assert_int_equal(tw.rcv_nxt, 1102);
	assert_int_equal(tw.snd_nxt, 5102);
	assert_true(tw.ts_recent_stamp_set);
	assert_int_equal(tw.ts_recent, 700);
	assert_int_equal(tw.ts_recent_age_s, 0);
}

static void test_an_older_tsval_does_not_replace_ts_recent(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, 100);
	cli(&t, 1.2, PA, 1101, 5101, 100, 300);
	cli(&t, 1.21, PA, 1201, 5101, 100, 250);  /* captured after, sent before */
	assert_int_equal(t.cli_tsval, 300);
	assert_int_equal(t.cli_end, 1301);
	/* across the 2^32 wrap a smaller number can be newer */
	struct track w;
	handshake_and_data(&w, 1.0, 0xfffffff0u);
	cli(&w, 1.2, PA, 1101, 5101, 100, 5);
	assert_int_equal(w.cli_tsval, 5);
}

static void test_after_the_close_only_an_in_window_ack_restamps_the_timewait(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, 100);
	srv(&t, 1.5, F, 5101, 1101, 0, 9500);
	cli(&t, 2.0, F, 1101, 5102, 0, 1100);
	assert_true(t.close_t == 2.0);
	/* a retransmitted FIN is out of window for TIME_WAIT: no new stamp */
	cli(&t, 2.3, F, 1101, 5102, 0, 1400);
	assert_int_equal(t.cli_tsval, 1100);
	assert_true(t.close_t == 2.0);
	/* an ACK at tw_rcv_nxt is in window: new ts_recent and stamp */
	cli(&t, 5.5, A, 1102, 5102, 0, 4600);
	assert_int_equal(t.cli_tsval, 4600);
	assert_true(t.close_t == 5.5);
	assert_int_equal(track_tw(&t, 9.9).ts_recent_age_s, 4);
}

static void test_options_cut_by_the_snaplen_make_ts_recent_unknown(void **state)
{
	(void)state;
	struct track t;
	handshake_and_data(&t, 1.0, 100);
	struct tcp_seg cut = test_seg(1.2, PA, 1101, 5101, 100, NO_TS, 0);
	cut.opts_cut = true;
	track_client(&t, &cut);
	assert_true(track_ts_unknown(&t));
	cli(&t, 1.3, PA, 1201, 5101, 100, 400);   /* seen in full again */
	assert_false(track_ts_unknown(&t));
	/* a new incarnation forgets it all, keeps the embedding code's bits */
	t.st |= 1u << 20;
	track_begin(&t);
	assert_int_equal(t.st, TRK_EST | 1u << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_closing_first_holds_timewait_with_the_client_fins_numbers),
		cmocka_unit_test(test_rebuilt_timewait_gives_the_models_verdicts),
		cmocka_unit_test(test_client_closing_first_leaves_the_server_no_timewait),
		cmocka_unit_test(test_without_timestamps_the_timewait_has_no_ts_recent),
		cmocka_unit_test(test_a_reset_ends_the_connection_without_timewait),
		cmocka_unit_test(test_a_syn_while_the_connection_is_open_meets_no_timewait),
		cmocka_unit_test(test_answers_to_a_syn),
		cmocka_unit_test(test_an_older_tsval_does_not_replace_ts_recent),
		cmocka_unit_test(test_after_the_close_only_an_in_window_ack_restamps_the_timewait),
		cmocka_unit_test(test_options_cut_by_the_snaplen_make_ts_recent_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
