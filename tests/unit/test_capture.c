/*
 * test_capture.c - the packet decoder on every link type, IPv4 and IPv6,
 * TCP options, truncation and broken headers; capture files through libpcap
 * (merge by time, unknown link type named, stdin-free paths).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <glob.h>
#include <pcap/pcap.h>

#include "capture/capture.h"
#include "model/model.h"

/* A TCP SYN with MSS 1460, SACK-permitted, TS 1000/0, wscale 7 (20 + 20 bytes). */
static size_t tcp_syn(uint8_t *p)
{
	static const uint8_t t[40] = {
		0x9c, 0x40, 0x00, 0x50,             /* 40000 -> 80 */
		0x11, 0x22, 0x33, 0x44,             /* seq */
		0x00, 0x00, 0x00, 0x00,             /* ack */
		0xa0, 0x02, 0xfa, 0xf0,             /* doff 10, SYN, win 64240 */
		0x00, 0x00, 0x00, 0x00,
		0x02, 0x04, 0x05, 0xb4,             /* MSS 1460 */
		0x04, 0x02,                         /* SACK-permitted */
		0x08, 0x0a, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, /* TS 1000 0 */
		0x01, 0x03, 0x03, 0x07,             /* NOP, wscale 7 */
	};
	memcpy(p, t, sizeof t);
	return sizeof t;
}

static size_t ipv4(uint8_t *p, size_t tcplen, size_t payload)
{
	size_t tot = 20 + tcplen + payload;
	uint8_t h[20] = { 0x45, 0, (uint8_t)(tot >> 8), (uint8_t)tot, 0, 1, 0x40, 0, 64, 6, 0, 0,
			  198, 18, 0, 1, 198, 19, 0, 2 };
	memcpy(p, h, 20);
	return 20;
}

/* IPv6 with a hop-by-hop extension header (8 bytes) before TCP. */
static size_t ipv6_hbh(uint8_t *p, size_t tcplen)
{
	size_t pl = 8 + tcplen;
	memset(p, 0, 48);
	p[0] = 0x60;
	p[4] = (uint8_t)(pl >> 8);
	p[5] = (uint8_t)pl;
	p[6] = 0;                           /* next: hop-by-hop */
	p[7] = 64;
	p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = 1;    /* 2001:db8::1 */
	p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[39] = 2;  /* 2001:db8::2 */
	p[40] = 6;                          /* hop-by-hop: next TCP, len 0 (8 bytes) */
	p[41] = 0;
	p[42] = 1; p[43] = 4;               /* PadN */
	return 48;
}

static void check_syn(const struct tcp_seg *s, int family)
{
	assert_int_equal(s->family, family);
	assert_int_equal(s->sport, 40000);
	assert_int_equal(s->dport, 80);
	assert_int_equal(s->flags, TCPF_SYN);
	assert_int_equal(s->seq, 0x11223344u);
	assert_true(s->has_ts);
	assert_int_equal(s->tsval, 1000);
	assert_int_equal(s->tsecr, 0);
	assert_int_equal(s->mss, 1460);
	assert_int_equal(s->wscale, 7);
	assert_true(s->sack_ok);
	assert_int_equal(s->len, 0);
}

static void test_ethernet_ipv4_syn_decodes_every_option(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	p[12] = 0x08;
	size_t o = 14 + ipv4(p + 14, 40, 0);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_EN10MB, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 4);
	assert_memory_equal(s.saddr, ((uint8_t[]){ 198, 18, 0, 1 }), 4);
	assert_memory_equal(s.daddr, ((uint8_t[]){ 198, 19, 0, 2 }), 4);
}

static void test_qinq_tags_are_skipped(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	p[12] = 0x88; p[13] = 0xa8;         /* 802.1ad outer */
	p[16] = 0x81; p[17] = 0x00;         /* 802.1Q inner */
	p[20] = 0x08; p[21] = 0x00;
	size_t o = 22 + ipv4(p + 22, 40, 0);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_EN10MB, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 4);
}

static void test_sll_sll2_raw_null_loop_all_decode(void **st)
{
	(void)st;
	uint8_t p[256];
	struct tcp_seg s;

	memset(p, 0, sizeof p);             /* SLL: protocol at 14 */
	p[14] = 0x08;
	size_t o = 16 + ipv4(p + 16, 40, 0);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_LINUX_SLL, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 4);

	memset(p, 0, sizeof p);             /* SLL2: protocol at 0 */
	p[0] = 0x86; p[1] = 0xdd;
	o = 20 + ipv6_hbh(p + 20, 40);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_LINUX_SLL2, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 6);
	assert_int_equal(s.saddr[15], 1);
	assert_int_equal(s.daddr[15], 2);

	memset(p, 0, sizeof p);             /* raw IPv4 */
	o = ipv4(p, 40, 0);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 4);

	memset(p, 0, sizeof p);             /* NULL, AF_INET in host (little-endian) order */
	p[0] = 2;
	o = 4 + ipv4(p + 4, 40, 0);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_NULL, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 4);

	memset(p, 0, sizeof p);             /* LOOP, AF_INET6 (BSD 24) in network order */
	p[3] = 24;
	o = 4 + ipv6_hbh(p + 4, 40);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_LOOP, p, o + 40, &s), SKIP_NONE);
	check_syn(&s, 6);
}

static void test_payload_length_comes_from_ip_not_snaplen(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	size_t o = ipv4(p, 40, 1000);       /* 1000 payload bytes, none captured */
	tcp_syn(p + o);
	p[o + 13] = 0x18;                   /* PSH|ACK */
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_NONE);
	assert_int_equal(s.len, 1000);
	assert_int_equal(s.flags, TCPF_PSH | TCPF_ACK);
}

static void test_broken_headers_are_skipped_with_a_reason(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	size_t o = ipv4(p, 40, 0);
	tcp_syn(p + o);

	assert_int_equal(seg_decode(DLT_RAW, p, 30, &s), SKIP_TRUNCATED);       /* TCP cut */
	assert_int_equal(seg_decode(DLT_EN10MB, p, 10, &s), SKIP_TRUNCATED);
	assert_int_equal(seg_decode(DLT_RAW, p, 0, &s), SKIP_TRUNCATED);
	p[0] = 0x43;                                                            /* IHL 12 bytes */
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_BAD_HEADER);
	p[0] = 0x45;
	p[o + 12] = 0x30;                                                       /* doff 3 */
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_BAD_HEADER);
	p[o + 12] = 0xa0;
	p[9] = 17;                                                              /* UDP */
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_NOT_TCP);
	p[9] = 6;
	p[6] = 0x20; p[7] = 0x10;                                               /* fragment offset */
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_FRAGMENT);
	assert_false(seg_dlt_supported(147));
	assert_true(seg_dlt_supported(DLT_LINUX_SLL2));
}

/* Write a one-packet raw-IP capture with this timestamp and source port. */
static void write_cap(const char *path, int dlt, const uint32_t *secs, size_t n, uint16_t port0)
{
	pcap_t *d = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *w = pcap_dump_open(d, path);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		uint8_t p[128] = { 0 };
		size_t o = ipv4(p, 40, 0);
		tcp_syn(p + o);
		p[o] = (uint8_t)((port0 + i) >> 8);
		p[o + 1] = (uint8_t)(port0 + i);
		struct pcap_pkthdr h = { .ts = { .tv_sec = secs[i] }, .caplen = (bpf_u_int32)(o + 40),
					 .len = (bpf_u_int32)(o + 40) };
		pcap_dump((u_char *)w, &h, p);
	}
	pcap_dump_close(w);
	pcap_close(d);
}

static void test_two_files_merge_in_time_order(void **st)
{
	(void)st;
	char a[] = "/tmp/twlab-tcap-a-XXXXXX", b[] = "/tmp/twlab-tcap-b-XXXXXX", err[256];
	close(mkstemp(a));
	close(mkstemp(b));
	write_cap(a, DLT_RAW, (uint32_t[]){ 10, 30, 50 }, 3, 1000);
	write_cap(b, DLT_RAW, (uint32_t[]){ 20, 40 }, 2, 2000);
	const char *files[] = { a, b };
	struct capture *c = capture_open(files, 2, err, sizeof err);
	assert_non_null(c);
	struct tcp_seg s;
	static const uint16_t want[] = { 1000, 2000, 1001, 2001, 1002 };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(capture_next(c, &s, err, sizeof err), 1);
		assert_int_equal(s.sport, want[i]);
		assert_true(s.ts == 10.0 * (double)(i + 1));
	}
	assert_int_equal(capture_next(c, &s, err, sizeof err), 0);
	assert_int_equal(capture_stats(c)->segments, 5);
	capture_close(c);
	unlink(a);
	unlink(b);
}

static void test_unknown_link_type_is_a_named_error(void **st)
{
	(void)st;
	char a[] = "/tmp/twlab-tcap-u-XXXXXX", err[256] = "";
	close(mkstemp(a));
	write_cap(a, 147, (uint32_t[]){ 1 }, 1, 1000);          /* DLT_USER0 */
	const char *files[] = { a };
	struct capture *c = capture_open(files, 1, err, sizeof err);
	assert_null(c);
	assert_non_null(strstr(err, "147"));
	assert_non_null(strstr(err, "link type"));
	unlink(a);
}

static void test_missing_and_garbage_files_fail_with_a_message(void **st)
{
	(void)st;
	char a[] = "/tmp/twlab-tcap-g-XXXXXX", err[256] = "";
	int fd = mkstemp(a);
	assert_int_equal(write(fd, "not a capture file at all", 25), 25);
	close(fd);
	const char *files[] = { a };
	assert_null(capture_open(files, 1, err, sizeof err));
	assert_non_null(strstr(err, a));
	const char *none[] = { "/nonexistent/x.pcap" };
	err[0] = 0;
	assert_null(capture_open(none, 1, err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/x.pcap"));
	unlink(a);
}

static void test_options_cut_by_the_snaplen_are_unknown_not_absent(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	p[12] = 0x08;
	size_t o = 14 + ipv4(p + 14, 40, 0);
	tcp_syn(p + o);
	/* -s 60: 6 bytes of the 20 option bytes (MSS, SACK-permitted): the
	 * timestamp option is beyond the cut */
	assert_int_equal(seg_decode(DLT_EN10MB, p, 60, &s), SKIP_NONE);
	assert_int_equal(s.flags, TCPF_SYN);
	assert_int_equal(s.seq, 0x11223344u);
	assert_false(s.has_ts);
	assert_true(s.opts_cut);
	/* the whole header: known */
	assert_int_equal(seg_decode(DLT_EN10MB, p, o + 40, &s), SKIP_NONE);
	assert_false(s.opts_cut);
}

static void test_linux_cooked_at_snaplen_54_still_yields_the_segment(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	p[14] = 0x08;                       /* SLL: 16 + 20 + 18 of 40 TCP bytes */
	size_t o = 16 + ipv4(p + 16, 40, 0);
	tcp_syn(p + o);
	assert_int_equal(seg_decode(DLT_LINUX_SLL, p, 54, &s), SKIP_NONE);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.flags, TCPF_SYN);
	assert_int_equal(s.seq, 0x11223344u);
	assert_true(s.opts_cut);
	/* 13 TCP bytes: not even the flags */
	assert_int_equal(seg_decode(DLT_LINUX_SLL, p, 16 + 20 + 13, &s), SKIP_TRUNCATED);
}

static void test_malformed_timestamp_option_is_flagged(void **st)
{
	(void)st;
	uint8_t p[256] = { 0 };
	struct tcp_seg s;
	size_t o = ipv4(p, 40, 0);
	tcp_syn(p + o);
	p[o + 27] = 6;                      /* TS option length 6, not 10 */
	assert_int_equal(seg_decode(DLT_RAW, p, o + 40, &s), SKIP_NONE);
	assert_false(s.has_ts);
	assert_true(s.ts_bad);
}

/* NOP NOP TS (what most segments carry, read by a shortcut) gives what the
 * option loop gives for the same kinds in another order. */
static void test_nop_nop_timestamp_reads_like_any_order(void **st)
{
	(void)st;
	static const uint8_t orders[2][12] = {
		{ 1, 1, 8, 10, 0, 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef },
		{ 8, 10, 0, 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 1 },
	};
	static const uint32_t order_code[2] = { 0x811, 0x118 };
	for (int k = 0; k < 2; k++) {
		uint8_t p[256] = { 0 };
		struct tcp_seg s;
		size_t o = ipv4(p, 32, 0);
		tcp_syn(p + o);
		p[o + 12] = 0x80;                   /* doff 8: 12 bytes of options */
		p[o + 13] = 0x10;                   /* ACK */
		memcpy(p + o + 20, orders[k], 12);
		assert_int_equal(seg_decode(DLT_RAW, p, o + 32, &s), SKIP_NONE);
		assert_true(s.has_ts);
		assert_int_equal(s.tsval, 0x1234);
		assert_int_equal(s.tsecr, 0xdeadbeef);
		assert_int_equal(s.opt_order, order_code[k]);
		assert_int_equal(s.mss, 0);
		assert_int_equal(s.wscale, -1);
		assert_false(s.sack_ok || s.ts_bad || s.opts_cut);
		/* cut inside the options: unknown, not absent */
		assert_int_equal(seg_decode(DLT_RAW, p, o + 28, &s), SKIP_NONE);
		assert_false(s.has_ts);
		assert_true(s.opts_cut);
	}
}

static void test_lenient_open_names_every_bad_file_and_reads_the_rest(void **st)
{
	(void)st;
	char g[] = "/tmp/twlab-tcap-l1-XXXXXX", j[] = "/tmp/twlab-tcap-l2-XXXXXX", err[256] = "";
	close(mkstemp(g));
	int fd = mkstemp(j);
	assert_int_equal(write(fd, "junk junk junk junk junk", 24), 24);
	close(fd);
	write_cap(g, DLT_RAW, (uint32_t[]){ 1, 2, 3 }, 3, 1000);
	const char *files[] = { j, g, "/nonexistent/y.pcap" };
	struct capture *c = capture_open_all(files, 3, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(capture_nfiles(c), 3);
	assert_true(capture_file(c, 0)->failed);
	assert_false(capture_file(c, 1)->failed);
	assert_true(capture_file(c, 2)->failed);
	assert_non_null(strstr(capture_file(c, 2)->error, "No such file"));
	struct tcp_seg s;
	int n = 0, r;
	while ((r = capture_next(c, &s, err, sizeof err)) == 1)
		n++;
	assert_int_equal(r, 0);
	assert_int_equal(n, 3);
	capture_close(c);
	unlink(g);
	unlink(j);
}

static void test_truncated_last_record_is_an_error_after_the_good_ones(void **st)
{
	(void)st;
	char g[] = "/tmp/twlab-tcap-t-XXXXXX", err[256] = "";
	close(mkstemp(g));
	write_cap(g, DLT_RAW, (uint32_t[]){ 1, 2, 3 }, 3, 1000);
	FILE *f = fopen(g, "r+b");
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fclose(f);
	assert_int_equal(truncate(g, len - 10), 0);
	const char *files[] = { g };
	struct capture *c = capture_open_all(files, 1, err, sizeof err);
	struct tcp_seg s;
	int n = 0, r;
	while ((r = capture_next(c, &s, err, sizeof err)) == 1)
		n++;
	assert_int_equal(n, 2);
	assert_true(capture_file(c, 0)->failed);
	assert_non_null(strstr(capture_file(c, 0)->error, "after 2 packets"));
	capture_close(c);
	/* strict: the same is an error */
	c = capture_open(files, 1, err, sizeof err);
	n = 0;
	while ((r = capture_next(c, &s, err, sizeof err)) == 1)
		n++;
	assert_int_equal(r, -1);
	assert_non_null(strstr(err, g));
	capture_close(c);
	unlink(g);
}

/* ---- the mapped classic-pcap reader against libpcap, record by record */

/* Both readers over one file: the same records, bytes, end and error. */
static void same_records(const char *path, bool expect_mapped)
{
	const char *files[] = { path };
	char err[256] = "";
	struct capture *ref = capture_open_flags(files, 1, CAPTURE_LENIENT | CAPTURE_LIBPCAP_ONLY, err, sizeof err);
	struct capture *fast = capture_open_flags(files, 1, CAPTURE_LENIENT, err, sizeof err);
	assert_non_null(ref);
	assert_non_null(fast);
	assert_false(capture_is_mapped(ref, 0));
	if (expect_mapped)
		assert_true(capture_is_mapped(fast, 0));
	for (unsigned n = 0;; n++) {
		struct pcap_pkthdr h1, h2;
		const uint8_t *d1 = NULL, *d2 = NULL;
		int r1 = capture_record(ref, 0, &h1, &d1), r2 = capture_record(fast, 0, &h2, &d2);
		assert_int_equal(r1, r2);
		if (r1 <= 0) {
			assert_string_equal(capture_file(ref, 0)->error, capture_file(fast, 0)->error);
			break;
		}
		assert_int_equal(h1.ts.tv_sec, h2.ts.tv_sec);
		assert_int_equal(h1.ts.tv_usec, h2.ts.tv_usec);
		assert_int_equal(h1.caplen, h2.caplen);
		assert_int_equal(h1.len, h2.len);
		assert_memory_equal(d1, d2, h1.caplen);
	}
	capture_close(ref);
	capture_close(fast);
}

static void test_mapped_reader_matches_libpcap_on_every_test_capture(void **st)
{
	(void)st;
	static const char *caps[] = {
		"tests/data/captures/arkime-no-syn-ack.pcap",
		"tests/data/captures/arkime-tcp-reassembly-synthetic.pcap",
		"tests/data/captures/arkime-tcp_handshake_synthetic.pcap",
		"tests/data/captures/sv-bug-3844.pcap",
		"tests/data/captures/sv-bug-7657-01.pcap",
		"tests/data/captures/zeek-handshake-reorder.pcap",
		"tests/data/captures/zeek-syn-then-ack-then-rst.pcap",
		"tests/data/captures/zeek-syn-then-stuff-then-rst.pcap",
	};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
		same_records(caps[i], true);
	glob_t g;
	assert_int_equal(glob("tests/data/linktypes/*.pcap", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 18);
	for (size_t i = 0; i < g.gl_pathc; i++)
		same_records(g.gl_pathv[i], true);
	globfree(&g);
	/* pcapng: libpcap reads it, both ways */
	same_records("tests/data/linktypes/mixed-link.pcapng", false);
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(be ? v >> (24 - 8 * i) : v >> (8 * i));
}

/* A classic pcap file by hand: raw IP SYNs, with these record headers. */
static void write_raw(const char *path, bool be, bool nsec, uint32_t snap, const uint32_t (*rec)[4], size_t n,
		      size_t cut)
{
	uint8_t buf[8192];
	size_t o = 0;
	put32(buf, nsec ? 0xa1b23c4du : 0xa1b2c3d4u, be);
	buf[4] = be ? 0 : 2; buf[5] = be ? 2 : 0; buf[6] = be ? 0 : 4; buf[7] = be ? 4 : 0;
	memset(buf + 8, 0, 8);
	put32(buf + 16, snap, be);
	put32(buf + 20, 101, be);                     /* LINKTYPE_RAW */
	o = 24;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 4; k++)
			put32(buf + o + 4 * k, rec[i][k], be);
		o += 16;
		uint8_t p[256] = { 0 };
		size_t l = ipv4(p, 40, 0);
		tcp_syn(p + l);
		size_t want = rec[i][2] < 200 ? rec[i][2] : 200;
		memcpy(buf + o, p, want);
		o += want;
	}
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, o - cut, f), o - cut);
	fclose(f);
}

static void test_mapped_reader_matches_libpcap_on_odd_and_broken_files(void **st)
{
	(void)st;
	char a[] = "/tmp/twlab-tcap-m-XXXXXX";
	close(mkstemp(a));
	/* sec, frac, caplen, len */
	static const uint32_t ok[][4] = { { 1700000000, 1, 60, 60 }, { 1700000001, 999999, 60, 1500 },
					  { 0xffffffffu, 0xffffffffu, 60, 60 }, { 5, 123456789, 0, 0 } };
	static const uint32_t long_rec[][4] = { { 1, 2, 80, 80 }, { 3, 4, 60, 60 } };
	static const uint32_t huge[][4] = { { 1, 2, 60, 60 }, { 3, 4, 300000, 300000 } };
	for (int be = 0; be < 2; be++)
		for (int ns = 0; ns < 2; ns++) {
			write_raw(a, be, ns, 65535, ok, 4, 0);
			same_records(a, true);
			write_raw(a, be, ns, 65535, ok, 4, 5);          /* cut inside the last record */
			same_records(a, true);
			write_raw(a, be, ns, 65535, ok, 3, 0);
			FILE *f = fopen(a, "ab");                        /* 7 bytes of a record header */
			fwrite("\1\2\3\4\5\6\7", 1, 7, f);
			fclose(f);
			same_records(a, true);
		}
	write_raw(a, false, false, 60, long_rec, 2, 0);            /* caplen > snaplen: cut to it */
	same_records(a, true);
	write_raw(a, false, false, 60, long_rec, 1, 10);           /* ... and truncated inside the excess */
	same_records(a, true);
	write_raw(a, false, false, 60, long_rec, 1, 40);           /* ... and within the snaplen */
	same_records(a, true);
	write_raw(a, false, false, 65535, huge, 2, 0);             /* beyond libpcap's maximum */
	same_records(a, true);
	write_raw(a, false, false, 262144 * 2, huge, 2, 0);
	same_records(a, true);
	unlink(a);
}

/* ---- pcapng read from a mapping, against libpcap */

struct ngbuf { uint8_t b[16384]; size_t n; bool be; };

static void ng32(struct ngbuf *w, uint32_t v) { put32(w->b + w->n, v, w->be); w->n += 4; }
static void ng16(struct ngbuf *w, uint16_t v)
{
	w->b[w->n++] = (uint8_t)(w->be ? v >> 8 : v);
	w->b[w->n++] = (uint8_t)(w->be ? v : v >> 8);
}

/* Start a block; ng_end() writes both lengths. */
static size_t ng_begin(struct ngbuf *w, uint32_t type)
{
	size_t at = w->n;
	ng32(w, type);
	ng32(w, 0);
	return at;
}

static void ng_end(struct ngbuf *w, size_t at, uint32_t trailer_delta)
{
	while (w->n % 4)
		w->b[w->n++] = 0;
	uint32_t tl = (uint32_t)(w->n + 4 - at);
	put32(w->b + at + 4, tl, w->be);
	ng32(w, tl + trailer_delta);
}

static void ng_shb(struct ngbuf *w)
{
	size_t at = ng_begin(w, 0x0A0D0D0Au);
	ng32(w, 0x1A2B3C4Du);
	ng16(w, 1);
	ng16(w, 0);
	ng32(w, 0xffffffffu);
	ng32(w, 0xffffffffu);
	ng_end(w, at, 0);
}

/* tsresol 0: no option; tsoffset 0: none */
static void ng_idb(struct ngbuf *w, uint16_t link, uint32_t snap, uint8_t tsresol, int64_t tsoffset)
{
	size_t at = ng_begin(w, 1);
	ng16(w, link);
	ng16(w, 0);
	ng32(w, snap);
	if (tsresol) {
		ng16(w, 9);
		ng16(w, 1);
		w->b[w->n++] = tsresol;
		w->n += 3;
	}
	if (tsoffset) {
		ng16(w, 14);
		ng16(w, 8);
		ng32(w, (uint32_t)(w->be ? (uint64_t)tsoffset >> 32 : (uint64_t)tsoffset));
		ng32(w, (uint32_t)(w->be ? (uint64_t)tsoffset : (uint64_t)tsoffset >> 32));
	}
	if (tsresol || tsoffset) {
		ng16(w, 0);
		ng16(w, 0);
	}
	ng_end(w, at, 0);
}

/* An Ethernet IPv4 SYN of len bytes (caplen of it captured), with an
 * option after the data when opt. */
static void ng_epb(struct ngbuf *w, uint32_t ifid, uint64_t t, uint32_t caplen, uint32_t len, bool opt)
{
	size_t at = ng_begin(w, 6);
	ng32(w, ifid);
	ng32(w, (uint32_t)(t >> 32));
	ng32(w, (uint32_t)t);
	ng32(w, caplen);
	ng32(w, len);
	uint8_t p[256] = { 0 };
	p[12] = 0x08;
	size_t l = 14 + ipv4(p + 14, 40, 0);
	tcp_syn(p + l);
	memcpy(w->b + w->n, p, caplen < sizeof p ? caplen : sizeof p);
	w->n += caplen;
	while (w->n % 4)
		w->b[w->n++] = 0;
	if (opt) {
		ng16(w, 1);            /* opt_comment */
		ng16(w, 3);
		memcpy(w->b + w->n, "hi!", 4);
		w->n += 4;
		ng16(w, 0);
		ng16(w, 0);
	}
	ng_end(w, at, 0);
}

static void ng_other(struct ngbuf *w, uint32_t type)
{
	size_t at = ng_begin(w, type);
	ng32(w, 7);
	ng32(w, 8);
	ng_end(w, at, 0);
}

static void ng_write(const char *path, const struct ngbuf *w, size_t cut)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(w->b, 1, w->n - cut, f), w->n - cut);
	fclose(f);
}

static void test_pcapng_mapped_reader_matches_libpcap(void **st)
{
	(void)st;
	char a[] = "/tmp/twlab-tcap-ng-XXXXXX";
	close(mkstemp(a));
	const uint64_t t0 = 1700000000ull * 1000000 + 123456;
	/* time stamp resolutions (0: none given), offsets */
	static const uint8_t res[] = { 0, 6, 9, 3, 0x80 | 20, 0x80 | 10 };
	for (size_t r = 0; r < sizeof res; r++)
		for (int off = 0; off < 2; off++) {
			struct ngbuf w = { .n = 0 };
			ng_shb(&w);
			ng_other(&w, 0x80000001u);     /* a custom block before the interface */
			ng_idb(&w, 1, 262144, res[r], off ? -3600 : 0);
			for (int i = 0; i < 5; i++)
				ng_epb(&w, 0, t0 * (res[r] == 9 ? 1000 : 1) + (uint64_t)i * 987654321, 80, 80, i == 2);
			ng_write(a, &w, 0);
			same_records(a, true);
			ng_write(a, &w, 5);            /* the last block cut */
			same_records(a, true);
			ng_write(a, &w, 90);           /* ... inside its header */
			same_records(a, true);
		}
	/* what libpcap takes over: each case after two plain records */
	for (int k = 0; k < 12; k++) {
		struct ngbuf w = { .n = 0 };
		ng_shb(&w);
		ng_idb(&w, 1, k == 6 ? 60 : 262144, 6, 0);
		ng_epb(&w, 0, t0, 80, 80, false);
		ng_epb(&w, 0, t0 + 1, 80, 80, false);
		switch (k) {
		case 0: ng_other(&w, 5); ng_epb(&w, 0, t0 + 2, 80, 80, false); break;   /* statistics: skipped */
		case 1: ng_idb(&w, 1, 262144, 9, 0); ng_epb(&w, 1, t0 * 1000, 80, 80, false); break;
		case 2: ng_epb(&w, 3, t0 + 2, 80, 80, false); break;                    /* no such interface */
		case 3: ng_idb(&w, 1, 1500, 6, 0); ng_epb(&w, 1, t0, 80, 80, false); break;   /* other snaplen */
		case 4: ng_idb(&w, 101, 262144, 6, 0); ng_epb(&w, 1, t0, 80, 80, false); break; /* other link */
		case 5: {                                                              /* simple packet block */
			size_t at = ng_begin(&w, 3);
			ng32(&w, 60);
			w.n += 60;
			ng_end(&w, at, 0);
			ng_epb(&w, 0, t0 + 3, 80, 80, false);
			break;
		}
		case 6: ng_epb(&w, 0, t0 + 2, 80, 80, false); break;                    /* caplen > snaplen 60 */
		case 7: {                                                              /* trailer differs */
			size_t at = ng_begin(&w, 5);
			ng32(&w, 1);
			ng_end(&w, at, 4);
			break;
		}
		case 8: ng_shb(&w); ng_idb(&w, 1, 262144, 6, 0); ng_epb(&w, 0, t0 + 9, 80, 80, false); break;
		case 9: ng_epb(&w, 0, t0 + 2, 200, 80, false); break;                   /* caplen > len */
		case 10: w.b[w.n++] = 1; w.b[w.n++] = 2; w.b[w.n++] = 3; break;        /* 3 bytes of garbage */
		case 11: {                                                             /* a length not /4 */
			size_t at = ng_begin(&w, 5);
			ng32(&w, 1);
			ng_end(&w, at, 0);
			put32(w.b + at + 4, 14, false);
			break;
		}
		}
		ng_write(a, &w, 0);
		same_records(a, true);
	}
	/* another byte order: libpcap alone, the same */
	struct ngbuf w = { .n = 0, .be = true };
	ng_shb(&w);
	ng_idb(&w, 1, 262144, 6, 0);
	ng_epb(&w, 0, t0, 80, 80, false);
	ng_write(a, &w, 0);
	same_records(a, false);
	unlink(a);
}

/* Every link type and tunnel capture in tests/data/linktypes: the whole
 * packet decodes to the inner TCP segment; every shorter prefix (a short
 * snaplen, a cut record) is read within its bounds (ASan in unit-san) and
 * never yields a segment with other addresses. */
static void test_every_link_type_and_tunnel_decodes_within_bounds(void **st)
{
	(void)st;
	/* the first nine are link types, the rest tunnels */
	static const char *names[] = { "nflog", "ppp", "ppp-serial", "ppp-serial-chdlc", "chdlc", "frelay",
				       "juniper-ether", "ieee802_11", "radiotap", "vlan-pppoe", "gre",
				       "gre-key-eth", "erspan2", "erspan3", "vxlan", "geneve6", "gtpu", "ipip" };
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		char path[128], err[PCAP_ERRBUF_SIZE];
		snprintf(path, sizeof path, "tests/data/linktypes/%s.pcap", names[k]);
		pcap_t *p = pcap_open_offline(path, err);
		assert_non_null(p);
		int dlt = pcap_datalink(p);
		assert_true(seg_dlt_supported(dlt));
		struct pcap_pkthdr *h;
		const u_char *d;
		assert_int_equal(pcap_next_ex(p, &h, &d), 1);
		struct tcp_seg s;
		assert_int_equal(seg_decode(dlt, d, h->caplen, &s), SKIP_NONE);
		assert_int_equal(s.sport, 40000);
		assert_int_equal(s.flags, TCPF_SYN);
		assert_true(s.has_ts);
		assert_memory_equal(s.saddr, ((uint8_t[]){ 198, 18, 1, 2 }), 4);
		bool tunnel = k >= 9;
		assert_int_equal(s.tunnel != TUN_NONE, tunnel);
		for (size_t cut = 0; cut < h->caplen; cut++) {
			uint8_t *b = malloc(cut ? cut : 1);
			memcpy(b, d, cut);
			if (seg_decode(dlt, b, cut, &s) == SKIP_NONE)
				assert_memory_equal(s.saddr, ((uint8_t[]){ 198, 18, 1, 2 }), 4);
			free(b);
		}
		pcap_close(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4_syn_decodes_every_option),
		cmocka_unit_test(test_qinq_tags_are_skipped),
		cmocka_unit_test(test_sll_sll2_raw_null_loop_all_decode),
		cmocka_unit_test(test_payload_length_comes_from_ip_not_snaplen),
		cmocka_unit_test(test_broken_headers_are_skipped_with_a_reason),
		cmocka_unit_test(test_two_files_merge_in_time_order),
		cmocka_unit_test(test_unknown_link_type_is_a_named_error),
		cmocka_unit_test(test_missing_and_garbage_files_fail_with_a_message),
		cmocka_unit_test(test_options_cut_by_the_snaplen_are_unknown_not_absent),
		cmocka_unit_test(test_linux_cooked_at_snaplen_54_still_yields_the_segment),
		cmocka_unit_test(test_malformed_timestamp_option_is_flagged),
		cmocka_unit_test(test_nop_nop_timestamp_reads_like_any_order),
		cmocka_unit_test(test_lenient_open_names_every_bad_file_and_reads_the_rest),
		cmocka_unit_test(test_truncated_last_record_is_an_error_after_the_good_ones),
		cmocka_unit_test(test_mapped_reader_matches_libpcap_on_every_test_capture),
		cmocka_unit_test(test_mapped_reader_matches_libpcap_on_odd_and_broken_files),
		cmocka_unit_test(test_pcapng_mapped_reader_matches_libpcap),
		cmocka_unit_test(test_every_link_type_and_tunnel_decodes_within_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
