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
	struct capture_file f;
	bool have;                   /* seg holds the next segment */
	bool done;
	struct tcp_seg seg;
};

struct capture {
	size_t n;
	bool lenient;                /* a bad file is recorded, the rest read on */
	struct capture_stats st;
	struct source src[];
};

const struct capture_stats *capture_stats(const struct capture *c) { return &c->st; }
size_t capture_nfiles(const struct capture *c) { return c->n; }
const struct capture_file *capture_file(const struct capture *c, size_t i) { return &c->src[i].f; }

void capture_close(struct capture *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->src[i].p)
			pcap_close(c->src[i].p);
	free(c);
}

/* Open one file of the set: 0, or -1 with the reason in s->f.error. */
static int open_one(struct source *s, const char *file)
{
	char perr[PCAP_ERRBUF_SIZE];

	s->f.name = file;
	s->f.dlt = -1;
	perr[0] = 0;
	/* our own stream with a 1 MiB buffer: libpcap reads every packet with
	 * two small freads, which stdio's default 4 KiB buffer turns into many
	 * more read(2)s */
	FILE *fp = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!fp) {
		snprintf(s->f.error, sizeof s->f.error, "%s", strerror(errno));
		return -1;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (!s->p) {
		if (fp != stdin)
			fclose(fp);
		snprintf(s->f.error, sizeof s->f.error, "%s", perr[0] ? perr : "cannot open");
		return -1;
	}
	s->f.dlt = pcap_datalink(s->p);
	s->f.snaplen = (unsigned)pcap_snapshot(s->p);
	if (!seg_dlt_supported(s->f.dlt)) {
		const char *nm = pcap_datalink_val_to_name(s->f.dlt);
		snprintf(s->f.error, sizeof s->f.error, "unsupported link type %d (%s)", s->f.dlt,
			 nm ? nm : "unknown");
		pcap_close(s->p);
		s->p = NULL;
		return -1;
	}
	return 0;
}

static struct capture *open_set(const char *const *files, size_t nfiles, bool lenient,
				char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c) + nfiles * sizeof(struct source));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->n = nfiles;
	c->lenient = lenient;
	for (size_t i = 0; i < nfiles; i++) {
		struct source *s = &c->src[i];
		if (open_one(s, files[i]) == 0)
			continue;
		s->f.failed = true;
		s->done = true;
		if (!lenient) {
			snprintf(err, errlen, "%s: %s", files[i], s->f.error);
			capture_close(c);
			return NULL;
		}
	}
	return c;
}

struct capture *capture_open(const char *const *files, size_t nfiles, char *err, size_t errlen)
{
	return open_set(files, nfiles, false, err, errlen);
}

struct capture *capture_open_all(const char *const *files, size_t nfiles, char *err, size_t errlen)
{
	return open_set(files, nfiles, true, err, errlen);
}

/* The next TCP segment of one source into out: 1, 0 at its end, -1 error
 * (lenient: recorded in the source, which then ends: 0). */
static int read_seg(struct capture *c, struct source *s, struct tcp_seg *out, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int r;

	if (!s->p)
		return 0;
	for (;;) {
		r = pcap_next_ex(s->p, &h, &d);
		if (r == -2)
			return 0;
		if (r == -1) {
			snprintf(s->f.error, sizeof s->f.error, "%s (after %llu packets)", pcap_geterr(s->p),
				 (unsigned long long)s->f.packets);
			s->f.failed = true;
			snprintf(err, errlen, "%s: %s", s->f.name, s->f.error);
			return c->lenient ? 0 : -1;
		}
		if (r == 0)
			continue;
		c->st.packets++;
		s->f.packets++;
		enum seg_skip k = seg_decode(s->f.dlt, d, h->caplen, out);
		if (k) {
			c->st.skipped[k]++;
			continue;
		}
		if (out->opts_cut) {
			c->st.opts_cut++;
			s->f.opts_cut++;
		}
		c->st.ts_bad += out->ts_bad;
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
