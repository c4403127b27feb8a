/*
 * test_analyze.c - the analyzer on hand-built segment streams: what is a
 * TIME_WAIT collision (server-side and client-side evidence), its cause from
 * the model, its outcome, and what must not count (normal reuse, a live
 * socket's challenge ACK, a SYN-ACK captured before its SYN, a refused SYN
 * sent again). Memory stays bounded by the live tuples and by the cap;
 * state expires on time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analyze/analyze.h"
#include "seg.h"

#include <pcap/pcap.h>
#include <unistd.h>

static const uint8_t CLI[4] = { 198, 18, 1, 1 }, SRV[4] = { 198, 19, 0, 2 };
static uint8_t cur_file;               /* the input file seg() says a segment came from */

/* One segment; from_client picks the direction. ts < 0: no timestamps. */
static void seg(struct analyzer *a, double t, bool from_client, uint16_t cport, uint8_t flags,
		uint32_t seq, uint32_t ack, uint32_t len, int64_t tsval, uint32_t tsecr)
{
	struct tcp_seg s = test_seg(t, flags, seq, ack, len, tsval, tsecr);
	memcpy(s.saddr, from_client ? CLI : SRV, 4);
	memcpy(s.daddr, from_client ? SRV : CLI, 4);
	s.sport = from_client ? cport : 80;
	s.dport = from_client ? 80 : cport;
	s.file = cur_file;
	an_segment(a, &s);
}

enum { S = TCPF_SYN, A = TCPF_ACK, SA = TCPF_SYN | TCPF_ACK, F = TCPF_FIN | TCPF_ACK,
       R = TCPF_RST, PA = TCPF_PSH | TCPF_ACK };

/* A whole connection the server closes first (it holds TIME_WAIT). */
static void conn_server_closes(struct analyzer *a, double t, uint16_t port, uint32_t ciss,
			       uint32_t siss, int64_t cts, int64_t sts)
{
	bool ts = cts >= 0;
	seg(a, t, true, port, S, ciss, 0, 0, cts, 0);
	seg(a, t + 0.001, false, port, SA, siss, ciss + 1, 0, sts, (uint32_t)cts);
	seg(a, t + 0.002, true, port, A, ciss + 1, siss + 1, 0, ts ? cts + 2 : -1, (uint32_t)sts);
	seg(a, t + 0.003, true, port, PA, ciss + 1, siss + 1, 100, ts ? cts + 3 : -1, (uint32_t)sts);
	seg(a, t + 0.004, false, port, PA, siss + 1, ciss + 101, 500, ts ? sts + 4 : -1, (uint32_t)cts + 3);
	seg(a, t + 0.005, false, port, F, siss + 501, ciss + 101, 0, ts ? sts + 5 : -1, (uint32_t)cts + 3);
	seg(a, t + 0.006, true, port, F, ciss + 101, siss + 502, 0, ts ? cts + 6 : -1, (uint32_t)sts + 5);
	seg(a, t + 0.007, false, port, A, siss + 502, ciss + 102, 0, ts ? sts + 7 : -1, (uint32_t)cts + 6);
}

static struct analyzer *mk(void)
{
	struct an_opts o = { .kernel = kprofile_find("6.18") };
	assert_non_null(o.kernel);
	struct analyzer *a = an_new(&o);
	assert_non_null(a);
	return a;
}

static void test_bare_ack_with_newer_tsecr_is_a_paws_collision_that_recovers(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* no earlier incarnation in the capture: rebuilt from the ACK
	 * (ack = tw_rcv_nxt 5555, tsecr = tw_ts_recent 900 > the SYN's 500) */
	seg(a, 100.000, true, 40000, S, 1000, 0, 0, 500, 0);
	seg(a, 100.0001, false, 40000, A, 7777, 5555, 0, 9, 900);
	seg(a, 100.0002, true, 40000, R, 5555, 0, 0, -1, 0);
	seg(a, 101.000, true, 40000, S, 1000, 0, 0, 1500, 0);
	seg(a, 101.0001, false, 40000, SA, 123456, 1001, 0, 10, 1500);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->collisions, 1);
	assert_int_equal(r->coll_paws, 1);
	assert_int_equal(r->coll_seq, 0);
	assert_int_equal(r->recovered, 1);
	assert_int_equal(r->timed_out, 0);
	assert_int_equal(r->listed, 1);
	const struct an_collision *k = &r->list[0];
	assert_true(k->server_evidence);
	assert_false(k->prev_in_capture);
	assert_true(k->client_rst);
	assert_int_equal(k->tw.rcv_nxt, 5555);
	assert_int_equal(k->tw.ts_recent, 900);
	assert_int_equal(k->cause, AN_CAUSE_PAWS);
	assert_int_equal(k->d.verdict, TCP_TW_ACK);
	assert_true(k->delay_ms > 999.0 && k->delay_ms < 1001.0);
	an_free(a);
}

static void test_seq_collision_without_timestamps_times_out(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* the SYN's seq 1000 is not after rcv_nxt 2000: TIME_WAIT answers with
	 * its ACK; the client retransmits twice and gives up */
	seg(a, 10.0, true, 40001, S, 1000, 0, 0, -1, 0);
	seg(a, 10.0001, false, 40001, A, 9000, 2000, 0, -1, 0);
	seg(a, 11.0, true, 40001, S, 1000, 0, 0, -1, 0);
	seg(a, 11.0001, false, 40001, A, 9000, 2000, 0, -1, 0);
	seg(a, 13.0, true, 40001, S, 1000, 0, 0, -1, 0);
	seg(a, 13.0001, false, 40001, A, 9000, 2000, 0, -1, 0);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->collisions, 1);
	assert_int_equal(r->coll_seq, 1);
	assert_int_equal(r->coll_paws, 0);
	assert_int_equal(r->timed_out, 1);
	assert_int_equal(r->recovered, 0);
	assert_int_equal(r->list[0].syns, 3);
	assert_int_equal(r->list[0].acks, 3);
	an_free(a);
}

static void test_reuse_answered_normally_is_a_reuse_not_a_collision(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	conn_server_closes(a, 0.0, 40002, 1000, 50000, 100, 7000);
	/* 2 s later, higher ISN and tsval: TIME_WAIT accepts the SYN */
	conn_server_closes(a, 2.0, 40002, 900000, 80000, 3000, 9000);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->connections, 2);
	assert_int_equal(r->port_reuses, 1);
	assert_int_equal(r->collisions, 0);
	assert_int_equal(r->server_closed_first, 2);
	assert_int_equal(r->client_closed_first, 0);
	assert_int_equal(r->reuse_hist[1], 1);     /* 1-10 s after the close */
	an_free(a);
}

static void test_client_side_unanswered_syns_after_server_close_are_a_collision(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	conn_server_closes(a, 0.0, 40003, 1000, 50000, 100000, 7000);
	/* the client's new SYN carries an older clock (another host behind the
	 * NAT): PAWS in TIME_WAIT; the ACK is dropped upstream, the client only
	 * retransmits */
	seg(a, 5.0, true, 40003, S, 777777, 0, 0, 400, 0);
	seg(a, 6.0, true, 40003, S, 777777, 0, 0, 1400, 0);
	seg(a, 8.0, true, 40003, S, 777777, 0, 0, 3400, 0);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->port_reuses, 1);
	assert_int_equal(r->collisions, 1);
	assert_int_equal(r->coll_paws, 1);
	assert_int_equal(r->timed_out, 1);
	const struct an_collision *k = &r->list[0];
	assert_false(k->server_evidence);
	assert_true(k->prev_in_capture);
	assert_true(k->since_close > 4.9 && k->since_close < 5.0);
	an_free(a);
}

static void test_client_side_unanswered_syns_after_client_close_do_not_count(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* the client closes first: the server holds no TIME_WAIT */
	seg(a, 0.000, true, 40004, S, 1000, 0, 0, 100000, 0);
	seg(a, 0.001, false, 40004, SA, 50000, 1001, 0, 7000, 100000);
	seg(a, 0.002, true, 40004, A, 1001, 50001, 0, 100002, 7000);
	seg(a, 0.003, true, 40004, F, 1001, 50001, 0, 100003, 7000);
	seg(a, 0.004, false, 40004, F, 50001, 1002, 0, 7004, 100003);
	seg(a, 0.005, true, 40004, A, 1002, 50002, 0, 100005, 7004);
	seg(a, 5.0, true, 40004, S, 777777, 0, 0, 400, 0);
	seg(a, 6.0, true, 40004, S, 777777, 0, 0, 1400, 0);
	seg(a, 8.0, true, 40004, S, 777777, 0, 0, 3400, 0);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->client_closed_first, 1);
	assert_int_equal(r->collisions, 0);
	an_free(a);
}

static void test_challenge_ack_from_a_live_socket_is_not_time_wait(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	seg(a, 0.000, true, 40005, S, 1000, 0, 0, 100, 0);
	seg(a, 0.001, false, 40005, SA, 50000, 1001, 0, 7000, 100);
	seg(a, 0.002, true, 40005, A, 1001, 50001, 0, 102, 7000);
	/* half-open: the client forgot, the server still has it established */
	seg(a, 3.0, true, 40005, S, 999999, 0, 0, 50, 0);
	seg(a, 3.0001, false, 40005, A, 50001, 1001, 0, 7100, 102);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->collisions, 0);
	assert_int_equal(r->other_bare_acks, 1);
	an_free(a);
}

static void test_synack_captured_before_its_syn_is_not_a_collision(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	seg(a, 0.0000, false, 40006, SA, 50000, 1001, 0, 7000, 100);
	seg(a, 0.0001, true, 40006, S, 1000, 0, 0, 100, 0);
	seg(a, 0.0002, true, 40006, A, 1001, 50001, 0, 102, 7000);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->collisions, 0);
	assert_int_equal(r->other_bare_acks, 0);
	an_free(a);
}

static void test_memory_follows_live_tuples_not_the_input(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* 60000 connections on distinct ports, 50 per second over 1200 s:
	 * at most TIME_WAIT + 60 s = 120 s of them (6000) can matter */
	for (unsigned i = 0; i < 60000; i++)
		conn_server_closes(a, i * 0.02, (uint16_t)(1024 + i), i * 7919u, i * 104729u,
				   i * 20, i * 20);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->connections, 60000);
	assert_int_equal(r->collisions, 0);
	assert_true(r->peak_tuples < 20000);
	an_free(a);
}

static void test_bare_ack_a_time_wait_would_not_send_is_not_timewait(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* rebuilt from the ACK: rcv_nxt 5555, no timestamps; the SYN's seq
	 * 90000 is after it, so a Linux TIME_WAIT would have answered SYN-ACK */
	seg(a, 50.0, true, 40010, S, 90000, 0, 0, -1, 0);
	seg(a, 50.0001, false, 40010, A, 7777, 5555, 0, -1, 0);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->collisions, 1);
	assert_int_equal(r->coll_not_timewait, 1);
	assert_int_equal(r->coll_paws + r->coll_seq + r->coll_unknown, 0);
	assert_int_equal(r->list[0].cause, AN_CAUSE_NOT_TIMEWAIT);
	assert_int_equal(r->list[0].d.verdict, TCP_TW_SYN);
	assert_non_null(r->list[0].note);
	an_free(a);
}

static void test_syn_whose_options_the_snaplen_cut_has_cause_unknown(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	struct tcp_seg s;
	memset(&s, 0, sizeof s);
	/* the SYN with its options cut: whether it carried a timestamp (and so
	 * whether PAWS or seq decided) is unknown */
	s.ts = 20.0; s.family = 4;
	memcpy(s.saddr, CLI, 4); memcpy(s.daddr, SRV, 4);
	s.sport = 40011; s.dport = 80; s.flags = S; s.seq = 1000; s.opts_cut = true; s.wscale = -1;
	an_segment(a, &s);
	seg(a, 20.0001, false, 40011, A, 7777, 5555, 0, 9, 900);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->collisions, 1);
	assert_int_equal(r->coll_unknown, 1);
	assert_int_equal(r->coll_paws + r->coll_seq + r->coll_not_timewait, 0);
	assert_int_equal(r->ts_unknown_segs, 1);
	an_free(a);
}

static void test_syn_refused_by_rst_and_resent_with_the_same_isn_is_not_a_reuse(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	seg(a, 1.0, true, 40012, S, 4242, 0, 0, -1, 0);
	seg(a, 1.0001, false, 40012, R | A, 0, 4243, 0, -1, 0);
	seg(a, 1.5, true, 40012, S, 4242, 0, 0, -1, 0);
	seg(a, 1.5001, false, 40012, SA, 9000, 4243, 0, -1, 0);
	seg(a, 1.5002, true, 40012, A, 4243, 9001, 0, -1, 0);
	/* ... and a new ISN after that is a reuse */
	seg(a, 3.0, true, 40012, R, 4243, 0, 0, -1, 0);
	seg(a, 4.0, true, 40012, S, 777777, 0, 0, -1, 0);
	seg(a, 4.0001, false, 40012, SA, 9999, 777778, 0, -1, 0);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->port_reuses, 1);
	assert_int_equal(r->connections, 2);
	assert_int_equal(r->collisions, 0);
	an_free(a);
}

/* SYN-only tuples from one client address, n per second, distinct ports. */
static void syn_only(struct analyzer *a, unsigned n, double per_s, double t0)
{
	for (unsigned i = 0; i < n; i++)
		seg(a, t0 + i / per_s, true, (uint16_t)(1024 + i % 60000), S, i * 2654435761u, 0, 0, -1, 0);
}

static void test_unanswered_syns_expire_when_their_retransmission_is_overdue(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* 20000 scan SYNs at 200/s: a SYN not retransmitted within 4 s is
	 * abandoned, so about 800 can be live at once, not 20000 */
	syn_only(a, 20000, 200, 0);
	const struct an_result *r = an_finish(a);
	assert_true(r->peak_tuples < 3000);
	assert_int_equal(r->evicted, 0);
	assert_int_equal(r->connections, 0);
	an_free(a);
}

static void test_syn_only_tuples_count_as_full_ones_once_answered_or_expired(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* a tuple that has seen only SYNs is kept apart (40 bytes) until
	 * another segment arrives: the counts must not tell the difference */
	seg(a, 0.0, true, 2000, S, 100, 0, 0, -1, 0);      /* resent twice, never answered */
	seg(a, 1.0, true, 2000, S, 100, 0, 0, -1, 0);
	seg(a, 3.0, true, 2000, S, 100, 0, 0, -1, 0);
	seg(a, 0.0, true, 2001, S, 200, 0, 0, -1, 0);      /* resent, then answered */
	seg(a, 1.0, true, 2001, S, 200, 0, 0, -1, 0);
	seg(a, 1.5, false, 2001, SA, 9000, 201, 0, -1, 0);
	seg(a, 0.0, true, 2002, S, 300, 0, 0, -1, 0);      /* resent, overdue at 8 s, then */
	seg(a, 1.0, true, 2002, S, 300, 0, 0, -1, 0);
	seg(a, 10.0, true, 2002, S, 777, 0, 0, -1, 0);     /* a new attempt sent once */
	seg(a, 0.0, true, 2003, S, 400, 0, 0, -1, 0);      /* sent once */
	seg(a, 0.0, true, 2004, S, 500, 0, 0, -1, 0);      /* resent, refused */
	seg(a, 1.0, true, 2004, S, 500, 0, 0, -1, 0);
	seg(a, 1.1, false, 2004, R | A, 0, 501, 0, -1, 0);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->unanswered, 2);    /* 2000, and 2002's first attempt */
	assert_int_equal(r->connections, 1);   /* 2001 */
	assert_int_equal(r->port_reuses, 0);
	assert_int_equal(r->collisions, 0);
	an_free(a);
}

static void test_time_wait_state_expires_on_time_not_on_table_pressure(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* one closed connection, nothing else for 200 s, then the same 4-tuple:
	 * past TIME_WAIT + 60 s it is a fresh tuple, not a reuse, although the
	 * table never filled */
	conn_server_closes(a, 0.0, 40013, 1000, 50000, 100, 7000);
	conn_server_closes(a, 200.0, 40013, 10, 80000, 50, 9000);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->connections, 2);
	assert_int_equal(r->port_reuses, 0);
	assert_int_equal(r->collisions, 0);
	an_free(a);
}

static void test_memory_cap_forgets_the_oldest_and_says_how_many(void **st)
{
	(void)st;
	struct an_opts o = { .kernel = kprofile_find("6.18"), .max_memory = 1u << 20 };
	struct analyzer *a = an_new(&o);
	assert_non_null(a);
	/* 60000 SYNs within 3 s: all live at once, far more than 1 MiB holds */
	syn_only(a, 60000, 20000, 0);
	const struct an_result *r = an_finish(a);
	assert_true(r->evicted > 10000);
	assert_true(r->peak_memory <= (1u << 20));
	assert_true(r->evicted_idle_s >= 0);
	assert_null(an_error(a));
	an_free(a);
}

static void test_nat_hosts_are_counted_for_every_address(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	struct tcp_seg s;
	/* 6000 client addresses (more than the 4096 an old table held) */
	for (unsigned i = 0; i < 6000; i++) {
		memset(&s, 0, sizeof s);
		s.ts = i * 0.001; s.family = 4;
		s.saddr[0] = 198; s.saddr[1] = 18; s.saddr[2] = (uint8_t)(i >> 8); s.saddr[3] = (uint8_t)i;
		memcpy(s.daddr, SRV, 4);
		s.sport = 5000; s.dport = 80; s.flags = S; s.seq = i; s.has_ts = true; s.tsval = i * 7;
		s.wscale = -1;
		an_segment(a, &s);
	}
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->nnat, 6000);
	assert_int_equal(r->nat_uncounted, 0);
	an_free(a);
}

/* ---- vantage points: one incident captured at the server (file 0), the
 * firewall's outside (1) and the client (2); no NAT here, so the client's
 * capture carries the same numbers */

static const struct an_vantage THREE[3] = {
	{ "server.pcap", AN_ROLE_SERVER, true, NULL },
	{ "firewall.pcap", AN_ROLE_FW_OUTSIDE, true, NULL },
	{ "client-2.pcap", AN_ROLE_CLIENT, true, NULL },
};

/* the earlier connection and a PAWS-refused reuse, seen at every point
 * but the bare ACK, which the files in ack_files saw */
static const struct an_result *incident(struct analyzer *a, unsigned ack_files)
{
	for (cur_file = 0; cur_file < 3; cur_file++) {
		conn_server_closes(a, 10.0 + cur_file * 0.0001, 40000, 1000, 50000, 900000, 7000);
		seg(a, 20.0 + cur_file * 0.0001, true, 40000, S, 5000, 0, 0, 100, 0);
		if (ack_files >> cur_file & 1)
			seg(a, 20.001 + (2 - cur_file) * 0.0001, false, 40000, A, 50502, 1102, 0, 7100, 900006);
		for (int k = 1; k <= 2; k++)
			seg(a, 20.0 + k + cur_file * 0.0001, true, 40000, S, 5000, 0, 0, 100 + k * 1000, 0);
	}
	cur_file = 0;
	return an_finish(a);
}

static struct analyzer *mk3(void)
{
	struct an_opts o = { .kernel = kprofile_find("6.18"), .vantage = THREE, .nvantage = 3 };
	struct analyzer *a = an_new(&o);
	assert_non_null(a);
	return a;
}

static void test_each_attempt_is_counted_once_across_vantage_points(void **st)
{
	(void)st;
	struct analyzer *a = mk3();
	const struct an_result *r = incident(a, 1 | 2);
	assert_int_equal(r->counted_role, AN_ROLE_SERVER);
	assert_int_equal(r->connections, 1);
	assert_int_equal(r->port_reuses, 1);
	assert_int_equal(r->collisions, 1);
	assert_int_equal(r->coll_paws, 1);
	an_free(a);
}

static void test_bare_ack_seen_at_the_firewall_outside_but_not_the_client_was_dropped_by_it(void **st)
{
	(void)st;
	struct analyzer *a = mk3();
	const struct an_result *r = incident(a, 1 | 2);
	assert_int_equal(r->listed, 1);
	const struct an_path *p = &r->list[0].path;
	assert_true(p->known);
	assert_int_equal(p->syn_seen, 7);
	assert_int_equal(p->client_file, 2);
	assert_int_equal(p->last_seen, 1);
	assert_int_equal(p->lost_before, 2);
	assert_string_equal(an_path_drop_str(p, THREE), "firewall");
	char t[256];
	an_path_text(p, THREE, 3, t, sizeof t);
	assert_string_equal(t, "left the server, reached the firewall's outside interface, never reached "
			       "client-2: dropped by the firewall");
	assert_int_equal(r->acks_lost_fw, 1);
	an_free(a);
}

static void test_bare_ack_seen_at_the_client_was_delivered(void **st)
{
	(void)st;
	struct analyzer *a = mk3();
	const struct an_result *r = incident(a, 1 | 2 | 4);
	const struct an_path *p = &r->list[0].path;
	assert_int_equal(p->lost_before, -1);
	assert_int_equal(p->last_seen, 2);
	assert_null(an_path_drop_str(p, THREE));
	assert_int_equal(r->acks_delivered, 1);
	assert_int_equal(r->acks_lost, 0);
	an_free(a);
}

static void test_bare_ack_that_never_left_the_server_side_is_lost_before_the_firewall(void **st)
{
	(void)st;
	struct analyzer *a = mk3();
	const struct an_result *r = incident(a, 1);
	assert_string_equal(an_path_drop_str(&r->list[0].path, THREE), "before_firewall");
	an_free(a);
}

/* Role detection on four small captures written here (raw IP): one SYN
 * and its SYN-ACK seen at the client, the firewall's inside, its outside
 * (after SNAT and DNAT) and the server; one router hop between each. */
static void put_seg(pcap_dumper_t *d, double t, const uint8_t *src, const uint8_t *dst, uint16_t sp, uint16_t dp,
		    uint8_t flags, uint32_t seq, uint32_t ack, uint8_t ttl)
{
	uint8_t p[52] = { 0x45, 0, 0, 52, 0x12, 0x34, 0x40, 0, ttl, 6 };
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	uint8_t *t_ = p + 20;
	t_[0] = (uint8_t)(sp >> 8); t_[1] = (uint8_t)sp; t_[2] = (uint8_t)(dp >> 8); t_[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		t_[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t_[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t_[12] = 8 << 4;                       /* 32 bytes: 12 of options */
	t_[13] = flags;
	t_[14] = 0xfa; t_[15] = 0xf0;
	uint8_t opt[12] = { 1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0, 0 };   /* tsval 4096 */
	memcpy(t_ + 20, opt, 12);
	struct pcap_pkthdr h = { .ts = { (time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6) },
				 .caplen = 52, .len = 52 };
	pcap_dump((u_char *)d, &h, p);
}

static void test_vantage_roles_are_detected_from_nat_and_ttls(void **st)
{
	(void)st;
	static const uint8_t pod[4] = { 10, 0, 0, 5 }, vip[4] = { 203, 0, 113, 80 },
			     snat[4] = { 198, 51, 100, 1 }, srv[4] = { 192, 0, 2, 10 };
	static const char *names[4] = { "client", "inside", "outside", "server" };
	char dir[] = "/tmp/twlab-test-vantage-XXXXXX", path[4][96];
	assert_non_null(mkdtemp(dir));
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	for (int f = 0; f < 4; f++) {
		snprintf(path[f], sizeof path[f], "%s/%s.pcap", dir, names[f]);
		pcap_dumper_t *d = pcap_dump_open(dead, path[f]);
		assert_non_null(d);
		bool nat = f >= 2;             /* outside and server see it NATed */
		for (unsigned k = 0; k < 3; k++) {
			uint32_t isn = 1000000u * (k + 1);
			double t = 100.0 + k + f * 0.0001;
			put_seg(d, t, nat ? snat : pod, nat ? srv : vip, nat ? (uint16_t)(50000 + k) : (uint16_t)(40000 + k),
				80, S, isn, 0, (uint8_t)(64 - f));
			put_seg(d, t + 0.01 - f * 0.0001, nat ? srv : vip, nat ? snat : pod, 80,
				nat ? (uint16_t)(50000 + k) : (uint16_t)(40000 + k), SA, 7u * k, isn + 1,
				(uint8_t)(61 + f));
		}
		pcap_dump_close(d);
	}
	pcap_close(dead);
	/* given in another order than the path */
	struct an_vantage v[4] = {
		{ path[2], 0, false, NULL }, { path[0], 0, false, NULL },
		{ path[3], 0, false, NULL }, { path[1], 0, false, NULL },
	};
	char err[512];
	assert_int_equal(an_vantage_detect(v, 4, err, sizeof err), 0);
	assert_int_equal(v[0].role, AN_ROLE_FW_OUTSIDE);
	assert_int_equal(v[1].role, AN_ROLE_CLIENT);
	assert_int_equal(v[2].role, AN_ROLE_SERVER);
	assert_int_equal(v[3].role, AN_ROLE_FW_INSIDE);
	/* a named file keeps its role, and the others are placed against it */
	struct an_vantage w[2] = { { path[0], AN_ROLE_CLIENT, true, NULL }, { path[2], 0, false, NULL } };
	assert_int_equal(an_vantage_detect(w, 2, err, sizeof err), 0);
	assert_int_equal(w[0].role, AN_ROLE_CLIENT);
	assert_int_equal(w[1].role, AN_ROLE_FW_OUTSIDE);
	/* a capture without a SYN cannot be told, and the error says which */
	char empty[128];
	snprintf(empty, sizeof empty, "%s/empty.pcap", dir);
	pcap_t *dead2 = pcap_open_dead(DLT_RAW, 65535);
	pcap_dump_close(pcap_dump_open(dead2, empty));
	pcap_close(dead2);
	struct an_vantage e[2] = { { path[3], 0, false, NULL }, { empty, 0, false, NULL } };
	assert_int_equal(an_vantage_detect(e, 2, err, sizeof err), -1);
	assert_int_equal(e[1].role, AN_ROLE_UNKNOWN);
	assert_non_null(strstr(err, "empty.pcap: no SYN"));
	unlink(empty);
	for (int f = 0; f < 4; f++)
		unlink(path[f]);
	rmdir(dir);
}

static void test_vantage_roles_parse_by_name(void **st)
{
	(void)st;
	enum an_role r;
	assert_true(an_role_parse("firewall", &r));
	assert_int_equal(r, AN_ROLE_FW_OUTSIDE);
	assert_true(an_role_parse("firewall-inside", &r));
	assert_int_equal(r, AN_ROLE_FW_INSIDE);
	assert_false(an_role_parse("router", &r));
	assert_string_equal(an_role_str(AN_ROLE_SERVER), "server");
}

/* ---- NAT host counting on canned SYNs from one source address */

struct stack {                         /* what a host's SYNs look like */
	uint8_t  ttl;
	uint16_t win, mss;
	int8_t   wscale;
	uint32_t opt_order;
};
/* Linux: mss, sackOK, TS, nop, wscale; Windows: mss, nop, wscale, nop, nop, sackOK */
static const struct stack LINUX = { 64, 64240, 1460, 7, 0x38148422u };
static const struct stack WINDOWS = { 128, 64240, 1460, 8, 0x41131312u };

static void nat_syn(struct analyzer *a, double t, uint16_t port, const struct stack *k, int64_t tsval,
		    uint16_t ipid)
{
	struct tcp_seg s;
	memset(&s, 0, sizeof s);
	s.ts = t;
	s.family = 4;
	memcpy(s.saddr, CLI, 4);
	memcpy(s.daddr, SRV, 4);
	s.sport = port;
	s.dport = 80;
	s.flags = S;
	s.seq = (uint32_t)(port * 2654435761u) + (uint32_t)(t * 1000); /* a new ISN per attempt */
	s.win = k->win;
	s.mss = k->mss;
	s.wscale = k->wscale;
	s.sack_ok = true;
	s.opt_order = k->opt_order;
	s.ttl = k->ttl;
	s.has_ipid = true;
	s.ipid = ipid;
	s.has_ts = tsval >= 0;
	s.tsval = (uint32_t)(tsval < 0 ? 0 : tsval);
	an_segment(a, &s);
}

static const struct an_nat *nat_of(const struct an_result *r)
{
	assert_int_equal(r->nnat, 1);
	return &r->nat[0];
}

/* A per-connection pseudo-random value (what 6.18.17+ adds to a 4-tuple's
 * clock, or what Linux puts in a SYN's IP ID). */
static uint32_t scramble(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	return x ^ (x >> 16);
}

static void test_two_hosts_with_per_host_clocks_are_two_on_timestamps(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* 4.11 .. 6.18.16: one offset per (saddr, daddr): each host's tsval
	 * runs at 1 kHz across ports; identical stacks, random IP IDs */
	for (unsigned i = 0; i < 20; i++) {
		double t = i * 0.5;
		nat_syn(a, t, (uint16_t)(40000 + i), &LINUX, 1000000 + (int64_t)(t * 1000), (uint16_t)scramble(i));
		nat_syn(a, t + 0.1, (uint16_t)(41000 + i), &LINUX, 3000000000 + (int64_t)(t * 1000),
			(uint16_t)scramble(100 + i));
	}
	const struct an_nat *n = nat_of(an_finish(a));
	assert_int_equal(n->hosts, 2);
	assert_false(n->clock_per_tuple);
	assert_false(n->lower_bound);
	assert_int_equal(n->evidence, AN_EV_TIMESTAMPS);
	assert_int_equal(n->ipid_counters, 0);
	an_free(a);
}

static void test_one_host_with_per_tuple_clocks_is_one_not_one_per_port(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* 6.18.17+ / 7.0: every 4-tuple has its own offset, so 30 ports give
	 * 30 unrelated clocks; everything else says one stack */
	for (unsigned i = 0; i < 30; i++)
		nat_syn(a, i * 0.2, (uint16_t)(40000 + i), &LINUX, scramble(7 * i + 1), (uint16_t)scramble(i + 9));
	const struct an_nat *n = nat_of(an_finish(a));
	assert_int_equal(n->clocks, 30);
	assert_true(n->clock_per_tuple);
	assert_int_equal(n->hosts, 1);
	assert_true(n->lower_bound);
	assert_true(n->evidence & AN_EV_SYN_OPTIONS);
	assert_true(n->evidence & AN_EV_TTL);
	an_free(a);
}

static void test_per_tuple_clocks_on_one_port_pair_still_tell_hosts_apart(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* two identical hosts with per-4-tuple clocks; on port 40000 both
	 * connect twice (the same 4-tuple keeps its offset): two clocks there */
	for (unsigned i = 0; i < 10; i++)
		nat_syn(a, i, (uint16_t)(40001 + i), &LINUX, scramble(i + 50), (uint16_t)scramble(i));
	nat_syn(a, 20, 40000, &LINUX, 5000000, 1);
	nat_syn(a, 21, 40000, &LINUX, 2000000000, 2);
	nat_syn(a, 80, 40000, &LINUX, 5000000 + 60000, 3);
	nat_syn(a, 81, 40000, &LINUX, 2000000000 + 60000, 4);
	const struct an_nat *n = nat_of(an_finish(a));
	assert_true(n->clock_per_tuple);
	assert_int_equal(n->clocks_one_port, 2);
	assert_int_equal(n->hosts, 2);
	assert_int_equal(n->evidence, AN_EV_TIMESTAMPS);
	assert_true(n->lower_bound);
	an_free(a);
}

static void test_different_stacks_behind_one_address_are_told_apart_by_ttl_and_options(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* a Linux host with per-4-tuple clocks and a Windows host (no
	 * timestamps, random IP IDs here): the clocks say nothing */
	for (unsigned i = 0; i < 10; i++) {
		nat_syn(a, i, (uint16_t)(40000 + i), &LINUX, scramble(i + 1), (uint16_t)scramble(i + 2));
		nat_syn(a, i + 0.5, (uint16_t)(50000 + i), &WINDOWS, -1, (uint16_t)scramble(i + 3));
	}
	const struct an_nat *n = nat_of(an_finish(a));
	assert_int_equal(n->hosts, 2);
	assert_int_equal(n->ttls, 2);
	assert_int_equal(n->fingerprints, 2);
	assert_int_equal(n->evidence, AN_EV_TTL | AN_EV_SYN_OPTIONS);
	an_free(a);
}

static void test_hosts_with_one_ip_id_counter_each_are_counted_on_ip_id(void **st)
{
	(void)st;
	struct analyzer *a = mk();
	/* three identical stacks without timestamps, each with its own IP ID
	 * counter moving on by a few between SYNs */
	for (unsigned i = 0; i < 12; i++)
		for (unsigned h = 0; h < 3; h++)
			nat_syn(a, i + h * 0.1, (uint16_t)(40000 + i * 3 + h), &WINDOWS, -1,
				(uint16_t)(h * 20000 + 100 + i * 7));
	const struct an_nat *n = nat_of(an_finish(a));
	assert_int_equal(n->ipid_counters, 3);
	assert_int_equal(n->hosts, 3);
	assert_int_equal(n->evidence, AN_EV_IP_ID);
	assert_false(n->lower_bound);
	an_free(a);
}

static void test_server_filter_counts_what_it_ignores(void **st)
{
	(void)st;
	struct an_opts o = { .kernel = kprofile_find("6.18"), .have_server = true, .server_family = 4,
			     .server_addr = { 203, 0, 113, 9 } };
	struct analyzer *a = an_new(&o);
	conn_server_closes(a, 0.0, 40014, 1000, 50000, 100, 7000);
	const struct an_result *r = an_finish(a);
	assert_int_equal(r->not_server, 8);
	assert_int_equal(r->segments, 8);
	assert_int_equal(r->connections, 0);
	an_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_ack_with_newer_tsecr_is_a_paws_collision_that_recovers),
		cmocka_unit_test(test_seq_collision_without_timestamps_times_out),
		cmocka_unit_test(test_reuse_answered_normally_is_a_reuse_not_a_collision),
		cmocka_unit_test(test_client_side_unanswered_syns_after_server_close_are_a_collision),
		cmocka_unit_test(test_client_side_unanswered_syns_after_client_close_do_not_count),
		cmocka_unit_test(test_challenge_ack_from_a_live_socket_is_not_time_wait),
		cmocka_unit_test(test_synack_captured_before_its_syn_is_not_a_collision),
		cmocka_unit_test(test_memory_follows_live_tuples_not_the_input),
		cmocka_unit_test(test_bare_ack_a_time_wait_would_not_send_is_not_timewait),
		cmocka_unit_test(test_syn_whose_options_the_snaplen_cut_has_cause_unknown),
		cmocka_unit_test(test_syn_refused_by_rst_and_resent_with_the_same_isn_is_not_a_reuse),
		cmocka_unit_test(test_unanswered_syns_expire_when_their_retransmission_is_overdue),
		cmocka_unit_test(test_syn_only_tuples_count_as_full_ones_once_answered_or_expired),
		cmocka_unit_test(test_time_wait_state_expires_on_time_not_on_table_pressure),
		cmocka_unit_test(test_memory_cap_forgets_the_oldest_and_says_how_many),
		cmocka_unit_test(test_nat_hosts_are_counted_for_every_address),
		cmocka_unit_test(test_server_filter_counts_what_it_ignores),
		cmocka_unit_test(test_each_attempt_is_counted_once_across_vantage_points),
		cmocka_unit_test(test_bare_ack_seen_at_the_firewall_outside_but_not_the_client_was_dropped_by_it),
		cmocka_unit_test(test_bare_ack_seen_at_the_client_was_delivered),
		cmocka_unit_test(test_bare_ack_that_never_left_the_server_side_is_lost_before_the_firewall),
		cmocka_unit_test(test_vantage_roles_parse_by_name),
		cmocka_unit_test(test_vantage_roles_are_detected_from_nat_and_ttls),
		cmocka_unit_test(test_two_hosts_with_per_host_clocks_are_two_on_timestamps),
		cmocka_unit_test(test_one_host_with_per_tuple_clocks_is_one_not_one_per_port),
		cmocka_unit_test(test_per_tuple_clocks_on_one_port_pair_still_tell_hosts_apart),
		cmocka_unit_test(test_different_stacks_behind_one_address_are_told_apart_by_ttl_and_options),
		cmocka_unit_test(test_hosts_with_one_ip_id_counter_each_are_counted_on_ip_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
