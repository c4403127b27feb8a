/* test_pcapng.c - the interface scan of a pcapng libpcap refuses, the split
 * commands built from it, and shell quoting of file names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capture/pcapng.h"

/* a little pcapng writer, little- or big-endian */
struct buf { uint8_t b[4096]; size_t n; bool be; };

static void put32(struct buf *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w->b[w->n++] = (uint8_t)(w->be ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put16(struct buf *w, uint16_t v)
{
	w->b[w->n++] = (uint8_t)(w->be ? v >> 8 : v);
	w->b[w->n++] = (uint8_t)(w->be ? v : v >> 8);
}

static size_t start(struct buf *w, uint32_t type)
{
	put32(w, type);
	put32(w, 0);
	return w->n - 8;
}

static void end(struct buf *w, size_t at)
{
	while (w->n % 4)
		w->b[w->n++] = 0;
	uint32_t len = (uint32_t)(w->n + 4 - at);
	size_t keep = w->n;
	w->n = at + 4;
	put32(w, len);
	w->n = keep;
	put32(w, len);
}

static void shb(struct buf *w)
{
	size_t a = start(w, 0x0A0D0D0A);
	put32(w, 0x1A2B3C4D);
	put16(w, 1);
	put16(w, 0);
	put32(w, 0xffffffff);
	put32(w, 0xffffffff);
	end(w, a);
}

static void idb(struct buf *w, uint16_t lt, uint32_t snap, int tsresol)
{
	size_t a = start(w, 1);
	put16(w, lt);
	put16(w, 0);
	put32(w, snap);
	if (tsresol >= 0) {
		put16(w, 9);
		put16(w, 1);
		put32(w, (uint32_t)tsresol << (w->be ? 24 : 0));
		put32(w, 0);                 /* opt_endofopt */
	}
	end(w, a);
}

static void epb(struct buf *w, uint32_t ifid, uint32_t cap, uint32_t len)
{
	size_t a = start(w, 6);
	put32(w, ifid);
	put32(w, 0);
	put32(w, 1);
	put32(w, cap);
	put32(w, len);
	for (uint32_t i = 0; i < cap; i++)
		w->b[w->n++] = 0x45;
	end(w, a);
}

static void spb(struct buf *w, uint32_t len, uint32_t stored)
{
	size_t a = start(w, 3);
	put32(w, len);
	for (uint32_t i = 0; i < stored; i++)
		w->b[w->n++] = 0x45;
	end(w, a);
}

static bool not_usb(int dlt) { return dlt != 189; }

static void interfaces_packets_and_resolution_either_byte_order(void **state)
{
	(void)state;
	for (int be = 0; be < 2; be++) {
		struct buf w = { .be = be };
		struct pcapng_ifs ifs;
		shb(&w);
		idb(&w, 1, 0, -1);
		idb(&w, 101, 40, 9);
		epb(&w, 0, 20, 20);
		epb(&w, 1, 8, 60);           /* captured short */
		epb(&w, 1, 8, 8);
		epb(&w, 7, 8, 8);            /* no such interface */
		spb(&w, 60, 40);             /* interface 0: no snaplen, not cut */
		assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
		assert_false(ifs.stopped);
		assert_int_equal(ifs.n, 2);
		assert_int_equal(ifs.sections, 1);
		assert_int_equal(ifs.ifs[0].linktype, 1);
		assert_int_equal(ifs.ifs[1].linktype, 101);
		assert_int_equal(ifs.ifs[1].snaplen, 40);
		assert_false(ifs.ifs[0].nsec);
		assert_true(ifs.ifs[1].nsec);
		assert_int_equal(ifs.ifs[0].packets, 2);
		assert_int_equal(ifs.ifs[0].cut, 0);
		assert_int_equal(ifs.ifs[1].packets, 2);
		assert_int_equal(ifs.ifs[1].cut, 1);
		assert_int_equal(ifs.orphans, 1);
	}
}

static void sections_number_their_interfaces_from_zero(void **state)
{
	(void)state;
	struct buf w = { 0 };
	struct pcapng_ifs ifs;
	shb(&w);
	idb(&w, 1, 0, -1);
	epb(&w, 0, 20, 20);
	shb(&w);
	idb(&w, 1, 0, -1);
	idb(&w, 101, 0, 6);
	epb(&w, 1, 20, 20);
	epb(&w, 2, 20, 20);          /* the first section's interfaces are gone */
	assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
	assert_int_equal(ifs.sections, 2);
	assert_int_equal(ifs.n, 3);
	assert_int_equal(ifs.ifs[2].section, 2);
	assert_int_equal(ifs.ifs[2].id, 1);
	assert_int_equal(ifs.ifs[2].packets, 1);
	assert_int_equal(ifs.ifs[0].packets, 1);
	assert_int_equal(ifs.orphans, 1);
	char out[4096] = "";
	pcapng_split_advice("f.pcapng", &ifs, not_usb, out, sizeof out);
	assert_non_null(strstr(out, "-Y 'frame.section_number==2 && frame.interface_id==1'"));
	assert_non_null(strstr(out, " - f.pcapng.s2.if1.pcap"));
	assert_non_null(strstr(out, "twlab analyze f.pcapng.s1.if0.pcap f.pcapng.s2.if1.pcap"));
	assert_null(strstr(out, "s2.if0"));      /* no packets */
}

static void bad_input_stops_or_is_no_pcapng(void **state)
{
	(void)state;
	struct pcapng_ifs ifs;
	struct buf w = { 0 };
	assert_int_equal(pcapng_scan((const uint8_t *)"\xd4\xc3\xb2\xa1", 4, &ifs), -1);
	shb(&w);
	idb(&w, 1, 0, -1);
	epb(&w, 0, 20, 20);
	size_t good = w.n;
	assert_int_equal(pcapng_scan(w.b, 11, &ifs), -1);
	/* a cut last block: what came before is kept */
	assert_int_equal(pcapng_scan(w.b, good - 3, &ifs), 0);
	assert_true(ifs.stopped);
	assert_int_equal(ifs.n, 1);
	assert_int_equal(ifs.ifs[0].packets, 0);
	/* a length that is no multiple of 4, one past the end, a bad trailer */
	w.b[good - 4] ^= 1;
	assert_int_equal(pcapng_scan(w.b, good, &ifs), 0);
	assert_true(ifs.stopped);
	assert_non_null(strstr(ifs.why, "trailing length"));
	w.b[good - 4] ^= 1;
	epb(&w, 0, 4, 4);
	assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
	assert_false(ifs.stopped);
	assert_int_equal(ifs.ifs[0].packets, 2);
	w.b[good + 4] = 0xff;                    /* its length: past the end */
	assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
	assert_true(ifs.stopped);
	assert_int_equal(ifs.ifs[0].packets, 1);
	w.b[good + 4] = 30;                      /* no multiple of 4 */
	assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
	assert_true(ifs.stopped);
	assert_non_null(strstr(ifs.why, "bad length"));
	/* an interface block too short for its fields */
	struct buf s = { 0 };
	shb(&s);
	size_t a = start(&s, 1);
	put32(&s, 1);
	end(&s, a);
	assert_int_equal(pcapng_scan(s.b, s.n, &ifs), 0);
	assert_true(ifs.stopped);
	assert_int_equal(ifs.n, 0);
}

static void quoting(void **state)
{
	(void)state;
	char q[64];
	shell_quote("tests/data/x-1.pcapng", q, sizeof q);
	assert_string_equal(q, "tests/data/x-1.pcapng");
	shell_quote("a b", q, sizeof q);
	assert_string_equal(q, "'a b'");
	shell_quote("it's", q, sizeof q);
	assert_string_equal(q, "'it'\\''s'");
	shell_quote("", q, sizeof q);
	assert_string_equal(q, "''");
	shell_quote("$(rm -rf x)", q, sizeof q);
	assert_string_equal(q, "'$(rm -rf x)'");
	shell_quote("abcdefgh", q, 4);
	assert_string_equal(q, "abc");
}

static void one_command_each_up_to_eight_then_a_loop(void **state)
{
	(void)state;
	for (int nif = 2; nif <= 12; nif++) {
		struct buf w = { 0 };
		struct pcapng_ifs ifs;
		char out[4096] = "", want[128];
		shb(&w);
		for (int i = 0; i < nif; i++)
			idb(&w, i == 1 ? 189 : i % 2 ? 101 : 1, 0, -1);
		for (int i = 0; i < nif; i++)
			epb(&w, (uint32_t)i, 20, 20);
		assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
		pcapng_split_advice("my file.pcapng", &ifs, not_usb, out, sizeof out);
		int cmds = 0;
		for (const char *p = out; (p = strstr(p, "\n  tshark ")); p++)
			cmds++;
		if (nif - 1 <= PCAPNG_MAX_LISTED) {
			assert_int_equal(cmds, nif - 1);
			assert_null(strstr(out, "for x in"));
			for (int i = 0; i < nif; i++) {
				snprintf(want, sizeof want, "-Y 'frame.interface_id==%d' ", i);
				assert_true(!strstr(out, want) == (i == 1));
				snprintf(want, sizeof want, "-l %d -t '%%Y-%%m-%%d %%H:%%M:%%S.%%f' - 'my file.pcapng.if%d.pcap'",
					 i % 2 ? 101 : 1, i);
				assert_true(!strstr(out, want) == (i == 1));
			}
			assert_non_null(strstr(out, "TZ=UTC text2pcap -q -F pcap -l 1 "));
		} else {
			assert_int_equal(cmds, 0);
			assert_non_null(strstr(out, "\n  for x in 1:0:1:pcap 1:2:1:pcap 1:3:101:pcap"));
			assert_non_null(strstr(out, "twlab analyze 'my file.pcapng.'if*.pcap"));
		}
		assert_non_null(strstr(out, "(interface 1: link type 189, 1 packets, is not one analyze decodes)"));
		assert_null(strstr(out, ".if1.pcap"));
	}
}

static void nothing_to_split(void **state)
{
	(void)state;
	struct buf w = { 0 };
	struct pcapng_ifs ifs;
	char out[256] = "";
	shb(&w);
	idb(&w, 1, 0, -1);
	idb(&w, 189, 0, -1);
	epb(&w, 1, 20, 20);
	assert_int_equal(pcapng_scan(w.b, w.n, &ifs), 0);
	pcapng_split_advice("f", &ifs, not_usb, out, sizeof out);
	assert_string_equal(out, "; none of its 2 interfaces carries packets of a link type analyze decodes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interfaces_packets_and_resolution_either_byte_order),
		cmocka_unit_test(sections_number_their_interfaces_from_zero),
		cmocka_unit_test(bad_input_stops_or_is_no_pcapng),
		cmocka_unit_test(quoting),
		cmocka_unit_test(one_command_each_up_to_eight_then_a_loop),
		cmocka_unit_test(nothing_to_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
