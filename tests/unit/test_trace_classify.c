/*
 * test_trace_classify.c - trace_classify(): canned kernel events, as
 * twlab.bpf.c would hand them over (IPv4+TCP headers as received, the
 * socket's fields, the namespace's sysctls), in; the model's decision out.
 * No root, no BPF.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "trace/classify.h"


static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v; }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }

/* The IPv4 and TCP headers of a segment into e->pkt, as BPF copies them. */
static void headers(struct twlab_event *e, const struct segment *s, bool to_server)
{
	uint8_t *ip = e->pkt, *th = e->pkt + 20;
	unsigned doff = s->has_ts ? 32 : 20;

	memset(e->pkt, 0, sizeof(e->pkt));
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + doff + s->len));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, to_server ? "\xc6\x12\x32\x02" : "\xc6\x12\x32\x01", 4);
	memcpy(ip + 16, to_server ? "\xc6\x12\x32\x01" : "\xc6\x12\x32\x02", 4);
	put16(th, to_server ? 41000 : 8080);
	put16(th + 2, to_server ? 8080 : 41000);
	put32(th + 4, s->seq);
	put32(th + 8, s->ack);
	th[12] = (uint8_t)((doff / 4) << 4);
	th[13] = s->flags;
	put16(th + 14, 64240);
	if (s->has_ts) {
		th[20] = 1;
		th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		put32(th + 24, s->tsval);
		put32(th + 28, s->tsecr);
	}
	e->pkt_len = 20 + doff;
}

enum { R_UNSPEC = 2, R_PAWS = 112 };   /* values this kernel's enum might have */

/* A segment freed on a TIME_WAIT socket: rcv_nxt 1000002, snd_nxt 5000,
 * ts_recent 900000 stamped 3 s ago, the namespace at its defaults. */
static struct twlab_event tw_drop(const struct segment *s, uint32_t reason)
{
	struct twlab_event e;

	memset(&e, 0, sizeof(e));
	e.type = TEV_TW_DROP;
	e.saddr = htonl(0xc6123202);   /* 198.18.50.2 */
	e.daddr = htonl(0xc6123201);   /* 198.18.50.1 */
	e.sport = 41000;
	e.dport = 8080;
	e.reason = reason;
	e.reason_paws = R_PAWS;
	e.reason_unspec = R_UNSPEC;
	e.verdict = -1;
	e.invalid_ratelimit_ms = 500;
	e.rfc1337 = 0;
	e.timestamps = 1;
	e.tw_rcv_nxt = 1000002;
	e.tw_snd_nxt = 5000;
	e.tw_rcv_wnd = 64240;
	e.tw_ts_recent = 900000;
	e.tw_ts_recent_stamp = 12345;
	e.tw_ts_recent_age = 3;
	e.tw_oow_ack_age_ms = -1;
	e.tw_oow_ack_age_j = -1;
	e.tw_oow_ack_entry_age_ms = -1;
	headers(&e, s, true);
	return e;
}

static const struct kprofile *k618(void) { return kprofile_find("6.18"); }

/* tw_last_oow_ack_time read after processing, j jiffies old (HZ=250, as
 * twlab.bpf.c converts: j * 1000 / HZ ms); no fentry snapshot */
static void after(struct twlab_event *e, int32_t j)
{
	e->oow_entry = 0;
	e->tw_oow_ack_entry_age_ms = -1;
	e->tw_oow_ack_age_j = j;
	e->tw_oow_ack_age_ms = j * 1000 / 250;
}

/* ... and the fentry snapshot: the stamp was ms old (-1: never) at the
 * entry of tcp_timewait_state_process */
static void entry(struct twlab_event *e, int32_t ms)
{
	e->oow_entry = 1;
	e->tw_oow_ack_entry_age_ms = ms;
}

/* A PAWS SYN on a socket whose last out-of-window ACK went out long ago
 * (older than tcp_invalid_ratelimit): the kernel answers and stamps. */
static void oow_stamp_older_than_the_window_sends_the_ack(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	(void)st;

	/* with the snapshot: 600 ms old at entry, the kernel's ACK then
	 * stamped it (the read after says this jiffy) */
	entry(&e, 600);
	e.tw_oow_ack_age_j = 0;
	e.tw_oow_ack_age_ms = 0;
	trace_classify(k618(), &e, &d);
	assert_int_equal(trace_oow_age_before_ms(&e), 600);
	assert_false(d.tw_d.rate_limited);
	assert_true(d.tw_d.reply.sent);
	assert_string_equal(tw_kernel_status_str(&d.tw_d), "TCP_TW_ACK_OOW");
	/* just inside the window at entry: rate-limited, whatever the read after */
	entry(&e, 496);
	trace_classify(k618(), &e, &d);
	assert_true(d.tw_d.rate_limited);
	/* no snapshot, a stamp 150 jiffies (600 ms) old at the read: past
	 * the tolerance, so it is the stamp the decision saw, and 600 ms is
	 * outside the 500 ms window: not limited */
	after(&e, 150);
	trace_classify(k618(), &e, &d);
	assert_int_equal(trace_oow_age_before_ms(&e), 600);
	assert_false(d.tw_d.rate_limited);
	/* never stamped (0 in the kernel): -1 either way */
	entry(&e, -1);
	assert_int_equal(trace_oow_age_before_ms(&e), -1);
	after(&e, -1);
	assert_int_equal(trace_oow_age_before_ms(&e), -1);
}

/* A stamp of this very jiffy at the read: without a snapshot it is this
 * SYN's own ACK; with one the snapshot decides (a second SYN in the same
 * jiffy as the first's ACK is really rate-limited). */
static void oow_stamp_this_jiffy_with_and_without_snapshot(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	(void)st;

	after(&e, 0);
	trace_classify(k618(), &e, &d);
	assert_int_equal(trace_oow_age_before_ms(&e), -1);
	assert_false(d.tw_d.rate_limited);
	assert_true(d.tw_d.reply.sent);
	/* snapshot: never stamped before: the ACK went out (as without) */
	entry(&e, -1);
	trace_classify(k618(), &e, &d);
	assert_false(d.tw_d.rate_limited);
	/* snapshot: stamped in this jiffy before the SYN: rate-limited, which
	 * the read after cannot tell from an ACK sent now */
	entry(&e, 0);
	trace_classify(k618(), &e, &d);
	assert_int_equal(trace_oow_age_before_ms(&e), 0);
	assert_true(d.tw_d.rate_limited);
	assert_false(d.tw_d.reply.sent);
	assert_string_equal(tw_kernel_status_str(&d.tw_d), "TCP_TW_SUCCESS");
}

/* The defect: the kernel stamped its ACK, then a jiffy ticked before BPF
 * read the socket. Without a snapshot the tolerance takes a 1-jiffy-old
 * stamp as this SYN's ACK; 2 jiffies (a client's SYN fast retry,
 * TCP_TIMEOUT_MIN) is an earlier ACK: rate-limited. */
static void oow_stamp_one_jiffy_old_is_this_syns_ack(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	(void)st;

	after(&e, 1);
	trace_classify(k618(), &e, &d);
	assert_int_equal(trace_oow_age_before_ms(&e), -1);
	assert_false(d.tw_d.rate_limited);
	assert_true(d.tw_d.reply.sent);
	after(&e, 2);
	trace_classify(k618(), &e, &d);
	assert_int_equal(trace_oow_age_before_ms(&e), 8);
	assert_true(d.tw_d.rate_limited);
	/* with the snapshot the read after does not matter: never stamped at
	 * entry, so sent, even if the read after is 2 jiffies late */
	entry(&e, -1);
	trace_classify(k618(), &e, &d);
	assert_false(d.tw_d.rate_limited);
	/* fexit's status: the model agrees only when its status is the
	 * kernel's (TCP_TW_ACK_OOW = 4 here: sent) */
	e.verdict = TW_STATUS_ACK_OOW;
	trace_classify(k618(), &e, &d);
	assert_string_equal(d.kernel_status, "TCP_TW_ACK_OOW");
	assert_true(d.model_agrees);
	/* the old, tolerance-less reading (2 jiffies old: "rate-limited")
	 * against a kernel that sent: a disagreement, counted */
	after(&e, 2);
	trace_classify(k618(), &e, &d);
	assert_true(d.tw_d.rate_limited);
	assert_false(d.model_agrees);
	{
		struct trace_stats n = { 0 };
		trace_count(&n, &d);
		assert_int_equal(n.model_mismatch, 1);
	}
	e.verdict = TCP_TW_SUCCESS;
	trace_classify(k618(), &e, &d);
	assert_true(d.model_agrees);
}

/* fexit says TCP_TW_SYN for an acceptable SYN later freed for want of a
 * listener: the model's status for the socket (before its no-listener
 * re-run) is compared, and agrees. */
static void no_listener_agrees_with_fexits_tw_syn(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 3000000 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	(void)st;

	e.verdict = TCP_TW_SYN;
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SYN_NO_LISTENER);
	assert_true(d.model_agrees);
	e.verdict = TCP_TW_RST;
	trace_classify(k618(), &e, &d);
	assert_false(d.model_agrees);
}

static void syn_with_older_tsval_is_paws_rejected(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	(void)st;

	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SYN_REJECTED);
	assert_string_equal(trace_kind_str(d.kind), "tw_syn_rejected");
	assert_int_equal(d.tw_d.cause, TW_CAUSE_PAWS);
	assert_true(d.tw_d.paws_reject);
	assert_true(d.kernel_paws);
	assert_true(d.model_agrees);
	assert_string_equal(d.drop_reason, "TCP_RFC7323_TW_PAWS");
	assert_null(d.kernel_status);
	/* the answer is the old connection's ACK: the report's bare ACK */
	assert_true(d.tw_d.reply.sent);
	assert_int_equal(d.tw_d.reply.flags, TCPF_ACK);
	assert_int_equal(d.tw_d.reply.ack, 1000002);
	assert_string_equal(tw_kernel_status_str(&d.tw_d), "TCP_TW_ACK_OOW");
	/* the decoded segment, from capture's decoder */
	assert_int_equal(d.seg.flags, TCPF_SYN);
	assert_int_equal(d.seg.seq, 5);
	assert_true(d.seg.has_ts);
	assert_int_equal(d.seg.tsval, 800000);
	assert_int_equal(d.seg.len, 0);
}

static void same_event_on_3_10_has_no_ack_oow_status(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	(void)st;

	trace_classify(kprofile_find("3.10"), &e, &d);
	assert_int_equal(d.tw_d.cause, TW_CAUSE_PAWS);
	assert_string_equal(tw_kernel_status_str(&d.tw_d), "TCP_TW_ACK");
}

static void syn_with_old_seq_and_no_timestamp_is_seq_rejected(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 1000000 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	struct trace_stats n = { 0 };
	(void)st;

	trace_classify(k618(), &e, &d);
	trace_count(&n, &d);
	assert_int_equal(d.kind, TK_TW_SYN_REJECTED);
	assert_int_equal(d.tw_d.cause, TW_CAUSE_SEQ);
	assert_false(d.kernel_paws);
	assert_true(d.model_agrees);
	assert_string_equal(d.drop_reason, "NOT_SPECIFIED");
	assert_int_equal(n.rej_seq, 1);
	assert_int_equal(n.rej_paws, 0);
	assert_int_equal(n.model_mismatch, 0);
}

static void kernel_paws_reason_the_model_does_not_share_is_a_mismatch(void **st)
{
	/* the model sees no PAWS (tsval newer), the kernel said PAWS */
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 950000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	struct trace_stats n = { 0 };
	(void)st;

	trace_classify(k618(), &e, &d);
	trace_count(&n, &d);
	assert_false(d.model_agrees);
	assert_int_equal(n.model_mismatch, 1);
}

static void unknown_drop_reason_has_no_name_but_its_value(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5 };
	struct twlab_event e = tw_drop(&s, 77);
	struct trace_decision d;
	(void)st;

	trace_classify(k618(), &e, &d);
	assert_null(d.drop_reason);
	assert_int_equal(d.drop_reason_value, 77);
}

static void acceptable_syn_that_was_freed_had_no_listener(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 3000000 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	(void)st;

	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SYN_NO_LISTENER);
	assert_true(d.env.no_listener);
	assert_int_equal(d.tw_d.verdict, TCP_TW_ACK);
	assert_int_equal(d.tw_d.reply.ack, 1000002);
}

static void accepted_syn_gets_the_models_isn(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 3000000 };
	struct twlab_event e = tw_drop(&s, 0);
	struct trace_decision d;
	(void)st;

	e.type = TEV_TW_SYN_ACCEPTED;
	e.verdict = 3;
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SYN_ACCEPTED);
	assert_string_equal(d.kernel_status, "TCP_TW_SYN");
	assert_true(d.model_agrees);
	assert_int_equal(d.tw_d.isn, 5000 + 65535 + 2);
	/* tw_snd_nxt + 65535 + 2 wrapping to 0 is 1 */
	e.tw_snd_nxt = 0u - 65537u;
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.tw_d.isn, 1);
}

static void accepted_non_syn_is_ignored(void **st)
{
	struct segment s = { .flags = TCPF_ACK, .seq = 1000002, .ack = 5000 };
	struct twlab_event e = tw_drop(&s, 0);
	struct trace_decision d;
	(void)st;

	e.type = TEV_TW_SYN_ACCEPTED;
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_IGNORED);
}

static void synsent_bad_ack_is_reset_with_seq_equal_ack(void **st)
{
	struct segment s = { .flags = TCPF_ACK, .seq = 5000, .ack = 1000002 };
	struct twlab_event e = tw_drop(&s, 0);
	struct trace_decision d;
	struct trace_stats n = { 0 };
	(void)st;

	e.type = TEV_SYNSENT_RESET;
	headers(&e, &s, false);
	e.snd_una = 1000000;
	e.snd_nxt = 1000001;
	trace_classify(k618(), &e, &d);
	trace_count(&n, &d);
	assert_int_equal(d.kind, TK_SYNSENT_RESET);
	assert_int_equal(d.ss_d.verdict, SYNSENT_RESET);
	assert_int_equal(d.ss_d.reply.flags, TCPF_RST);
	assert_int_equal(d.ss_d.reply.seq, 1000002);
	assert_true(d.model_agrees);
	assert_int_equal(n.synsent_reset, 1);
	/* first SYN not yet resent: 6.18 re-arms the SYN timer at
	 * TCP_TIMEOUT_MIN; once resent, the next SYN waits for the RTO */
	assert_true(d.ss_d.fast_retry);
	assert_true(d.ss_d.next_syn_ms < 10);
	e.syn_retransmits = 1;
	trace_classify(k618(), &e, &d);
	assert_false(d.ss_d.fast_retry);
	assert_true(d.ss_d.next_syn_ms >= 1000);
	e.syn_retransmits = 0;
	/* an acceptable ack would not have been reset: the model says so */
	e.snd_una = 1000001;
	e.snd_nxt = 1000002;
	trace_classify(k618(), &e, &d);
	assert_false(d.model_agrees);
}

static void ack_sent_before_within_ratelimit_suppresses_the_ack(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_PAWS);
	struct trace_decision d;
	(void)st;

	/* the stamp is 100 ms old after processing: this SYN did not move it,
	 * so the kernel sent no ACK (100 < tcp_invalid_ratelimit 500) */
	after(&e, 25);
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SYN_REJECTED);
	assert_int_equal(d.tw_d.cause, TW_CAUSE_PAWS);
	assert_true(d.tw_d.rate_limited);
	assert_false(d.tw_d.reply.sent);
	assert_int_equal(d.tw_d.verdict, TCP_TW_SUCCESS);
	assert_string_equal(tw_kernel_status_str(&d.tw_d), "TCP_TW_SUCCESS");
	/* a stamp of this very jiffy: the ACK for this SYN went out now */
	after(&e, 0);
	trace_classify(k618(), &e, &d);
	assert_false(d.tw_d.rate_limited);
	assert_true(d.tw_d.reply.sent);
	/* the namespace's own limit is used: 50 ms < 100 ms, not limited */
	after(&e, 25);
	e.invalid_ratelimit_ms = 50;
	trace_classify(k618(), &e, &d);
	assert_false(d.tw_d.rate_limited);
	/* unknown limit (-1): the profile's default, 500 ms */
	e.invalid_ratelimit_ms = -1;
	trace_classify(k618(), &e, &d);
	assert_true(d.tw_d.rate_limited);
}

static void timestamps_off_in_the_namespace_means_no_paws(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5, .has_ts = true, .tsval = 800000 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	(void)st;

	e.timestamps = 0;
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.tw_d.cause, TW_CAUSE_SEQ);
	assert_true(d.model_agrees);
}

static void ack_on_time_wait_is_a_dropped_segment_and_rfc1337_decides_rst(void **st)
{
	struct segment a = { .flags = TCPF_ACK, .seq = 1000002, .ack = 5000 };
	struct segment r = { .flags = TCPF_RST, .seq = 1000002 };
	struct twlab_event e = tw_drop(&a, R_UNSPEC);
	struct trace_decision d;
	struct trace_stats n = { 0 };
	(void)st;

	trace_classify(k618(), &e, &d);
	trace_count(&n, &d);
	assert_int_equal(d.kind, TK_TW_SEGMENT_DROPPED);
	assert_int_equal(n.segments, 1);
	assert_int_equal(n.rej_paws + n.rej_seq + n.rej_other, 0);

	e = tw_drop(&r, R_UNSPEC);
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SEGMENT_DROPPED);
	assert_true(d.tw_d.tw_killed);
	e.rfc1337 = 1;
	trace_classify(k618(), &e, &d);
	assert_false(d.tw_d.tw_killed);
}

static void fin_wait2_flag_sets_the_substate(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	(void)st;

	trace_classify(k618(), &e, &d);
	assert_int_equal(d.tw_sock.substate, TW_TIME_WAIT);
	e.tw_fin_wait2 = 1;
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.tw_sock.substate, TW_FIN_WAIT2);
}

static void headers_that_do_not_decode_are_counted_not_guessed(void **st)
{
	struct segment s = { .flags = TCPF_SYN, .seq = 5 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	struct trace_stats n = { 0 };
	(void)st;

	e.pkt_len = 30;                    /* IPv4 header and half a TCP header */
	trace_classify(k618(), &e, &d);
	trace_count(&n, &d);
	assert_int_equal(d.kind, TK_UNDECODED);
	assert_int_equal(d.skip, SKIP_TRUNCATED);
	assert_int_equal(n.undecoded, 1);

	e = tw_drop(&s, R_UNSPEC);
	e.pkt[9] = 17;                     /* UDP */
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_UNDECODED);
	assert_int_equal(d.skip, SKIP_NOT_TCP);

	e = tw_drop(&s, R_UNSPEC);
	e.pkt_len = 5000;                  /* a length beyond the buffer is clamped */
	trace_classify(k618(), &e, &d);
	assert_int_equal(d.kind, TK_TW_SYN_REJECTED);
}

static void payload_length_comes_from_the_ip_header(void **st)
{
	struct segment s = { .flags = TCPF_ACK | TCPF_PSH, .seq = 1000002, .ack = 5000, .len = 100 };
	struct twlab_event e = tw_drop(&s, R_UNSPEC);
	struct trace_decision d;
	(void)st;

	trace_classify(k618(), &e, &d);
	assert_int_equal(d.seg.len, 100);
}

static void kernel_status_names_are_the_models(void **st)
{
	(void)st;
	assert_string_equal(tw_status_str(0), "TCP_TW_SUCCESS");
	assert_string_equal(tw_status_str(3), "TCP_TW_SYN");
	assert_string_equal(tw_status_str(TW_STATUS_ACK_OOW), "TCP_TW_ACK_OOW");
	assert_null(tw_status_str(5));
	assert_null(tw_status_str(-1));
	for (int v = TCP_TW_SUCCESS; v <= TCP_TW_SYN; v++)
		assert_string_equal(tw_status_str(v), tw_verdict_str((enum tw_verdict)v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(syn_with_older_tsval_is_paws_rejected),
		cmocka_unit_test(same_event_on_3_10_has_no_ack_oow_status),
		cmocka_unit_test(syn_with_old_seq_and_no_timestamp_is_seq_rejected),
		cmocka_unit_test(kernel_paws_reason_the_model_does_not_share_is_a_mismatch),
		cmocka_unit_test(unknown_drop_reason_has_no_name_but_its_value),
		cmocka_unit_test(acceptable_syn_that_was_freed_had_no_listener),
		cmocka_unit_test(accepted_syn_gets_the_models_isn),
		cmocka_unit_test(accepted_non_syn_is_ignored),
		cmocka_unit_test(synsent_bad_ack_is_reset_with_seq_equal_ack),
		cmocka_unit_test(ack_sent_before_within_ratelimit_suppresses_the_ack),
		cmocka_unit_test(timestamps_off_in_the_namespace_means_no_paws),
		cmocka_unit_test(ack_on_time_wait_is_a_dropped_segment_and_rfc1337_decides_rst),
		cmocka_unit_test(fin_wait2_flag_sets_the_substate),
		cmocka_unit_test(headers_that_do_not_decode_are_counted_not_guessed),
		cmocka_unit_test(payload_length_comes_from_the_ip_header),
		cmocka_unit_test(kernel_status_names_are_the_models),
		cmocka_unit_test(oow_stamp_older_than_the_window_sends_the_ack),
		cmocka_unit_test(oow_stamp_this_jiffy_with_and_without_snapshot),
		cmocka_unit_test(oow_stamp_one_jiffy_old_is_this_syns_ack),
		cmocka_unit_test(no_listener_agrees_with_fexits_tw_syn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
