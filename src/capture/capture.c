/*
 * capture.c - several capture files read as one time-ordered stream of TCP
 * segments (libpcap for the file formats, decode.c for the headers).
 */
#include "capture/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

struct source {
	pcap_t *p;
	const char *name;
	int dlt;
	/* classic pcap in a regular file: libpcap validates the file header,
	 * then the records are read straight from a mapping (libpcap's two
	 * freads per packet cost more than decoding and analyzing it) */
	const uint8_t *map;
	size_t maplen, off, dropped;  /* bytes mapped, read, given back */
	bool swap, nsec;
	bool have;                   /* seg holds the next segment */
	bool done;
	struct tcp_seg seg;
};

static void map_classic(struct source *s, FILE *fp);

struct capture {
	size_t n;
	struct capture_stats st;
	struct source src[];
};

const struct capture_stats *capture_stats(const struct capture *c) { return &c->st; }

void capture_close(struct capture *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
	{
		if (c->src[i].map)
			munmap((void *)c->src[i].map, c->src[i].maplen);
		if (c->src[i].p)
			pcap_close(c->src[i].p);
	}
	free(c);
}

struct capture *capture_open(const char *const *files, size_t nfiles, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c) + nfiles * sizeof(struct source));
	char perr[PCAP_ERRBUF_SIZE];

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->n = nfiles;
	for (size_t i = 0; i < nfiles; i++) {
		struct source *s = &c->src[i];
		s->name = files[i];
		perr[0] = 0;
		/* our own stream with a 1 MiB buffer: libpcap reads every packet
		 * with two small freads, which stdio's default 4 KiB buffer turns
		 * into many more read(2)s */
		FILE *fp = strcmp(files[i], "-") ? fopen(files[i], "rb") : stdin;
		if (!fp) {
			snprintf(err, errlen, "%s: %s", files[i], strerror(errno));
			capture_close(c);
			return NULL;
		}
		setvbuf(fp, NULL, _IOFBF, 1 << 20);
		s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
		if (!s->p) {
			if (fp != stdin)
				fclose(fp);
			snprintf(err, errlen, "%s: %s", files[i], perr[0] ? perr : "cannot open");
			capture_close(c);
			return NULL;
		}
		s->dlt = pcap_datalink(s->p);
		map_classic(s, fp);
		if (!seg_dlt_supported(s->dlt)) {
			const char *nm = pcap_datalink_val_to_name(s->dlt);
			snprintf(err, errlen, "%s: unsupported link type %d (%s)", files[i], s->dlt,
				 nm ? nm : "unknown");
			capture_close(c);
			return NULL;
		}
	}
	return c;
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Map a regular file in classic pcap format (libpcap has accepted its
 * header); anything else (pcapng, a pipe) stays with libpcap. */
static void map_classic(struct source *s, FILE *fp)
{
	struct stat st;
	uint8_t h[4];
	if (fp == stdin || fstat(fileno(fp), &st) || !S_ISREG(st.st_mode) || st.st_size < 24)
		return;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(fp), 0);
	if (m == MAP_FAILED)
		return;
	memcpy(h, m, 4);
	uint32_t magic = rd32(h, false);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
		s->swap = false;
	} else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
		s->swap = true;
		magic = __builtin_bswap32(magic);
	} else {
		munmap(m, (size_t)st.st_size);
		return;
	}
	s->nsec = magic == 0xa1b23c4du;
	s->map = m;
	s->maplen = (size_t)st.st_size;
	s->off = 24;
	madvise(m, s->maplen, MADV_SEQUENTIAL);
}

/* The next record of a mapped file: 1, 0 at the end, -1 a broken record. */
static int map_next(struct source *s, const uint8_t **d, uint32_t *caplen, double *ts,
		    char *err, size_t errlen)
{
	if (s->off == s->maplen)
		return 0;
	if (s->maplen - s->off < 16) {
		snprintf(err, errlen, "%s: truncated packet header at byte %zu", s->name, s->off);
		return -1;
	}
	const uint8_t *r = s->map + s->off;
	uint32_t sec = rd32(r, s->swap), frac = rd32(r + 4, s->swap), incl = rd32(r + 8, s->swap);
	if (incl > 262144) {
		snprintf(err, errlen, "%s: packet at byte %zu: capture length %u is larger than any link allows",
			 s->name, s->off, incl);
		return -1;
	}
	if (s->maplen - s->off - 16 < incl) {
		snprintf(err, errlen, "%s: truncated packet at byte %zu (%u bytes announced, %zu there)",
			 s->name, s->off, incl, s->maplen - s->off - 16);
		return -1;
	}
	if (s->off - s->dropped >= (8u << 20)) {
		/* give back what is read: the mapping's pages count as ours, and
		 * memory must follow the live tuples, not the file size */
		size_t upto = s->off & ~(size_t)0xfffff;
		madvise((void *)(s->map + s->dropped), upto - s->dropped, MADV_DONTNEED);
		s->dropped = upto;
	}
	*d = r + 16;
	*caplen = incl;
	*ts = (double)sec + (double)frac / (s->nsec ? 1e9 : 1e6);
	s->off += 16 + (size_t)incl;
	return 1;
}

/* The next TCP segment of one source into out: 1, 0 at its end, -1 error. */
static int read_seg(struct capture *c, struct source *s, struct tcp_seg *out, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int r;

	if (s->map) {
		uint32_t caplen;
		double ts;
		while ((r = map_next(s, &d, &caplen, &ts, err, errlen)) == 1) {
			c->st.packets++;
			enum seg_skip k = seg_decode(s->dlt, d, caplen, out);
			if (k) {
				c->st.skipped[k]++;
				continue;
			}
			out->ts = ts;
			return 1;
		}
		return r;
	}
	for (;;) {
		r = pcap_next_ex(s->p, &h, &d);
		if (r == -2)
			return 0;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", s->name, pcap_geterr(s->p));
			return -1;
		}
		if (r == 0)
			continue;
		c->st.packets++;
		enum seg_skip k = seg_decode(s->dlt, d, h->caplen, out);
		if (k) {
			c->st.skipped[k]++;
			continue;
		}
		out->ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
		return 1;
	}
}

/* Advance one source of a merge to its next TCP segment. */
static int fill(struct capture *c, struct source *s, char *err, size_t errlen)
{
	if (s->have || s->done)
		return 0;
	int r = read_seg(c, s, &s->seg, err, errlen);
	if (r < 0)
		return -1;
	s->have = r == 1;
	s->done = r == 0;
	return 0;
}

int capture_next(struct capture *c, struct tcp_seg *out, char *err, size_t errlen)
{
	struct source *best = NULL;

	if (c->n == 1) {               /* one file: no merge, no copy */
		int r = read_seg(c, &c->src[0], out, err, errlen);
		c->st.segments += r == 1;
		return r;
	}

	for (size_t i = 0; i < c->n; i++) {
		struct source *s = &c->src[i];
		if (fill(c, s, err, errlen) < 0)
			return -1;
		if (s->have && (!best || s->seg.ts < best->seg.ts))
			best = s;
	}
	if (!best)
		return 0;
	*out = best->seg;
	best->have = false;
	c->st.segments++;
	return 1;
}
