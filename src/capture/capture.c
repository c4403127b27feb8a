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

struct source {
	pcap_t *p;
	const char *name;
	int dlt;
	bool have;                   /* seg holds the next segment */
	bool done;
	struct tcp_seg seg;
};

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
		if (c->src[i].p)
			pcap_close(c->src[i].p);
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

/* The next TCP segment of one source into out: 1, 0 at its end, -1 error. */
static int read_seg(struct capture *c, struct source *s, struct tcp_seg *out, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int r;

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
