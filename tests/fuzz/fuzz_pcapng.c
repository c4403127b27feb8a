/*
 * fuzz_pcapng.c - libFuzzer target: pcapng_scan() on arbitrary bytes (the
 * interface blocks of a file libpcap refuses), never reading out of
 * bounds; what it finds is consistent, and when libpcap reads the same
 * bytes to the end without an error the scan counts the packets libpcap
 * read. The split commands built from the scan always fit their buffer,
 * even a short one, and shell_quote() of any name reads back as the name.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/pcapng.h"

static bool any(int dlt) { return dlt != 189; }

/* A POSIX shell's reading of a word made of plain characters, '...' and
 * \x: NULL when it has anything else. */
static char *unquote(const char *q)
{
	char *o = malloc(strlen(q) + 1), *w = o;
	bool in = false;
	for (const char *p = q; *p; p++) {
		if (in) {
			if (*p == '\'')
				in = false;
			else
				*w++ = *p;
		} else if (*p == '\'') {
			in = true;
		} else if (*p == '\\' && p[1]) {
			*w++ = *++p;
		} else if (strchr(" \t\n\"$`;&|<>()*?[]#~!{}", *p)) {
			free(o);
			return NULL;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	if (in) {
		free(o);
		return NULL;
	}
	return o;
}

static uint64_t libpcap_packets(const uint8_t *data, size_t size, bool *clean)
{
	char err[PCAP_ERRBUF_SIZE];
	uint64_t n = 0;
	*clean = false;
	FILE *fp = size ? fmemopen((void *)data, size, "rb") : NULL;
	if (!fp)
		return 0;
	pcap_t *p = pcap_fopen_offline(fp, err);
	if (!p) {
		fclose(fp);
		return 0;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	int r;
	while ((r = pcap_next_ex(p, &h, &d)) == 1)
		n++;
	*clean = r == -2;
	pcap_close(p);                  /* closes fp */
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pcapng_ifs ifs;
	static char out[4096], small[97];

	if (pcapng_scan(data, size, &ifs) == 0) {
		uint64_t total = ifs.orphans;
		size_t nd = ifs.n < PCAPNG_MAX_IFS ? ifs.n : PCAPNG_MAX_IFS;
		if (ifs.n && !ifs.sections)
			abort();
		for (size_t i = 0; i < nd; i++) {
			const struct pcapng_if *f = &ifs.ifs[i];
			if (f->section < 1 || f->section > ifs.sections || f->id > i || f->cut > f->packets)
				abort();
			total += f->packets;
		}
		if (ifs.stopped != (ifs.why[0] != 0))
			abort();
		bool clean;
		uint64_t ref = libpcap_packets(data, size, &clean);
		if (clean && !ifs.stopped && ifs.n <= PCAPNG_MAX_IFS && total != ref)
			abort();
		out[0] = small[0] = 0;
		pcapng_split_advice("in put's.pcapng", &ifs, any, out, sizeof out);
		pcapng_split_advice("x", &ifs, any, small, sizeof small);
		if (strnlen(out, sizeof out) == sizeof out || strnlen(small, sizeof small) == sizeof small)
			abort();
	}

	/* any name, quoted, reads back as itself */
	char name[256], q[1100];
	size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
	memcpy(name, data, n);
	name[n] = 0;
	shell_quote(name, q, sizeof q);
	char *back = unquote(q);
	if (!back || strcmp(back, name))
		abort();
	free(back);
	return 0;
}
