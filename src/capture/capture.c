/*
 * capture.c - several capture files read as one time-ordered stream of TCP
 * segments (libpcap for the file formats, decode.c for the headers).
 *
 * libpcap opens every file and checks its header. A classic pcap file
 * (version 2.4, either byte order, µs or ns) that is a regular file is
 * then read from a memory mapping instead of through libpcap's two freads
 * and a copy per record: the same records, with libpcap's rules for bad
 * lengths and truncation and its error messages (sf-pcap.c
 * pcap_next_packet(), libpcap 1.10), which tests/unit/test_capture.c checks
 * on every test capture and tests/fuzz/fuzz_capture.c under a fuzzer.
 * A pcapng file in the host's byte order is read from a mapping too, but
 * only while it holds nothing but well-formed Enhanced Packet Blocks,
 * interfaces like the first and blocks libpcap skips: at anything else
 * (another section, a simple or obsolete packet block, a bad length, an
 * unknown interface, a record longer than the snaplen) libpcap takes over
 * where it stands, after skipping the records already returned, so every
 * odd case and every error message is libpcap's own.
 * Everything else is read by libpcap.
 */
#include "capture/capture.h"
#include "capture/pcapng.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A classic pcap file, or the plain part of a pcapng file, read from a
 * mapping. */
#define NG_MAX_IF 16
struct ng_if {                   /* as libpcap's add_interface() keeps it */
	uint64_t tsresol, scale;
	int64_t  tsoffset;
	uint8_t  how;                /* NG_PASS, NG_DOWN_DEC, NG_UP_DEC, NG_BIN */
};
enum { NG_PASS, NG_DOWN_DEC, NG_UP_DEC, NG_BIN };
struct mapped {
	const uint8_t *base;
	size_t len, off, dropped;    /* dropped: pages given back below this */
	bool swapped, nsec;
	uint32_t snapshot;
	/* pcapng */
	bool ng, handed_over;        /* handed_over: libpcap reads from here on */
	uint64_t returned;           /* records returned so far */
	uint16_t ng_link;            /* the first interface's, as in the file */
	uint32_t ng_snap;
	unsigned nif;
	struct ng_if ifs[NG_MAX_IF];
};

/* The whole file mapped read-only for a sequential walk; NULL: let libpcap read it. */
static struct mapped *map_whole(int fd, size_t len)
{
	struct mapped *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	void *b = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (b == MAP_FAILED) {
		free(m);
		return NULL;
	}
	madvise(b, len, MADV_SEQUENTIAL);
	m->base = b;
	m->len = len;
	return m;
}

struct source {
	pcap_t *p;
	struct mapped *m;            /* NULL: libpcap reads */
	struct capture_file f;
	bool have;                   /* seg holds the next segment */
	bool done;
	struct tcp_seg seg;
};

struct capture {
	size_t n;
	bool lenient;                /* a bad file is recorded, the rest read on */
	bool no_fast;                /* libpcap reads everything */
	struct capture_stats st;
	struct source src[];
};

static void unmap(struct mapped *m)
{
	if (!m)
		return;
	munmap((void *)m->base, m->len);
	free(m);
}

static uint32_t rd32(const uint8_t *p, bool swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* After libpcap accepted the header: map a classic 2.4 pcap file. */
static struct mapped *map_classic(FILE *fp, int dlt, int snapshot)
{
	struct stat st;
	uint8_t h[24];
	int fd = fileno(fp);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 24)
		return NULL;
	if (pread(fd, h, 24, 0) != 24)
		return NULL;
	uint32_t magic;
	memcpy(&magic, h, 4);
	bool swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	bool nsec = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
	if (!swapped && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du)
		return NULL;                        /* pcapng, Kuznetzov, ... */
	uint16_t maj, min;
	memcpy(&maj, h + 4, 2);
	memcpy(&min, h + 6, 2);
	if (swapped) {
		maj = __builtin_bswap16(maj);
		min = __builtin_bswap16(min);
	}
	/* older versions swap caplen and len in ways libpcap guesses at; the
	 * link types read here have libpcap's usual 256 KiB maximum */
	if (maj != 2 || min != 4 || snapshot <= 0 || !seg_dlt_supported(dlt))
		return NULL;
	/* from a host of the other byte order libpcap swaps the pseudo-headers
	 * of some link types (NFLOG TLVs, CAN in Linux cooked): leave those to it */
	if (swapped && dlt != DLT_EN10MB && dlt != DLT_RAW && dlt != DLT_NULL && dlt != DLT_LOOP &&
	    dlt != 228 && dlt != 229)
		return NULL;
	struct mapped *m = map_whole(fd, (size_t)st.st_size);
	if (!m)
		return NULL;
	m->off = 24;
	m->swapped = swapped;
	m->nsec = nsec;
	m->snapshot = (uint32_t)snapshot;
	return m;
}

/* pcapng (sf-pcapng.c in libpcap 1.10): blocks of type, length, body,
 * length again; all in the section's byte order. */
#define NG_SHB 0x0A0D0D0Au
#define NG_IDB 1u
#define NG_PB  2u
#define NG_SPB 3u
#define NG_EPB 6u
#define NG_MAX_BLOCK (1u << 20)        /* larger ones (libpcap allows 16 MiB+): libpcap */

static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* A block at m->off that is whole and consistent: its type and length, or
 * false (libpcap decides what it is). */
static bool ng_block(const struct mapped *m, size_t off, uint32_t *type, uint32_t *tl)
{
	if (m->len - off < 12)
		return false;
	*type = le32(m->base + off);
	*tl = le32(m->base + off + 4);
	return *tl >= 12 && *tl % 4 == 0 && *tl <= NG_MAX_BLOCK && *tl <= m->len - off &&
	       le32(m->base + off + *tl - 4) == *tl;
}

/* An Interface Description Block's time stamp options, read as
 * process_idb_options() reads them; false where libpcap would complain
 * (it then does) or the block is short. */
static bool ng_idb(struct mapped *m, size_t off, uint32_t tl, uint16_t *link, uint32_t *snap, struct ng_if *f)
{
	if (tl < 8 + 8 + 4)
		return false;
	const uint8_t *b = m->base + off + 8;
	memcpy(link, b, 2);
	*snap = le32(b + 4);
	size_t o = 8, end = tl - 8 - 4;
	uint64_t tsresol = 1000000;
	int64_t tsoffset = 0;
	bool binary = false, saw_res = false, saw_off = false;
	while (o != end) {
		if (end - o < 4)
			return false;
		uint16_t code, olen;
		memcpy(&code, b + o, 2);
		memcpy(&olen, b + o + 2, 2);
		o += 4;
		size_t padded = ((size_t)olen + 3) / 4 * 4;
		if (end - o < padded)
			return false;
		const uint8_t *v = b + o;
		o += padded;
		if (code == 0) {
			if (olen != 0)
				return false;
			break;
		}
		if (code == 9) {
			if (olen != 1 || saw_res)
				return false;
			saw_res = true;
			if (v[0] & 0x80) {
				if ((v[0] & 0x7f) > 63)
					return false;
				binary = true;
				tsresol = 1ull << (v[0] & 0x7f);
			} else {
				if (v[0] > 19)
					return false;
				binary = false;
				tsresol = 1;
				for (unsigned i = 0; i < v[0]; i++)
					tsresol *= 10;
			}
		} else if (code == 14) {
			if (olen != 8 || saw_off)
				return false;
			saw_off = true;
			memcpy(&tsoffset, v, 8);
		}
	}
	f->tsresol = tsresol;
	f->tsoffset = tsoffset;
	f->scale = 0;
	if (tsresol == 1000000)
		f->how = NG_PASS;
	else if (binary)
		f->how = NG_BIN;
	else if (tsresol > 1000000)
		f->how = NG_DOWN_DEC, f->scale = tsresol / 1000000;
	else
		f->how = NG_UP_DEC, f->scale = 1000000 / tsresol;
	return true;
}

/* After libpcap accepted a pcapng header (its section header and first
 * interface): map it when it is in this host's byte order and that first
 * part reads the same here. */
static struct mapped *map_pcapng(FILE *fp, int dlt, int snapshot)
{
	struct stat st;
	int fd = fileno(fp);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 28 || snapshot <= 0 ||
	    !seg_dlt_supported(dlt))
		return NULL;
	uint8_t h[12];
	if (pread(fd, h, 12, 0) != 12 || le32(h) != NG_SHB || le32(h + 8) != 0x1A2B3C4Du)
		return NULL;                   /* another byte order: libpcap */
	struct mapped *m = map_whole(fd, (size_t)st.st_size);
	if (!m)
		return NULL;
	m->ng = true;
	m->snapshot = (uint32_t)snapshot;
	/* the section header, then blocks up to the first interface, as
	 * pcap_ng_check_header() went (other blocks ignored) */
	uint32_t type, tl;
	size_t off = 0;
	if (!ng_block(m, off, &type, &tl))
		goto no;
	for (off += tl;; off += tl) {
		if (!ng_block(m, off, &type, &tl) || type == NG_EPB || type == NG_SPB || type == NG_PB)
			goto no;
		if (type != NG_IDB)
			continue;
		if (!ng_idb(m, off, tl, &m->ng_link, &m->ng_snap, &m->ifs[0]) || m->ng_link != dlt)
			goto no;
		m->nif = 1;
		m->off = off + tl;
		return m;
	}
no:
	munmap((void *)m->base, m->len);
	free(m);
	return NULL;
}

#define MAX_SNAPLEN 262144             /* libpcap's MAXIMUM_SNAPLEN */

/* Give the pages already read back: a capture of many GB stays out of the
 * resident set. */
static void give_back(struct mapped *m)
{
	if (m->off - m->dropped >= (8u << 20)) {
		size_t upto = (m->off - (1u << 20)) & ~(size_t)4095;
		if (upto > m->dropped) {
			madvise((void *)(m->base + m->dropped), upto - m->dropped, MADV_DONTNEED);
			m->dropped = upto;
		}
	}
}

/* One record, as pcap_next_packet() would return it: 1, 0 at the end, -1
 * with libpcap's message in err. */
static int mapped_next(struct mapped *m, struct pcap_pkthdr *h, const uint8_t **d, char *err, size_t errlen)
{
	size_t left = m->len - m->off;
	if (left == 0)
		return 0;
	if (left < 16) {
		snprintf(err, errlen, "truncated dump file; tried to read 16 header bytes, only got %zu", left);
		m->off = m->len;
		return -1;
	}
	const uint8_t *r = m->base + m->off;
	/* as libpcap converts them: in the file's own byte order the fields
	 * are bpf_int32 (sign-extended into the time_t), swapped they come
	 * out of SWAPLONG unsigned; a ns fraction is divided after that
	 * (SCALE_DOWN) */
	uint32_t sec = rd32(r, m->swapped), frac = rd32(r + 4, m->swapped);
	h->ts.tv_sec = m->swapped ? (time_t)sec : (time_t)(int32_t)sec;
	h->ts.tv_usec = m->swapped ? (suseconds_t)frac : (suseconds_t)(int32_t)frac;
	if (m->nsec)
		h->ts.tv_usec /= 1000;
	h->caplen = rd32(r + 8, m->swapped);
	h->len = rd32(r + 12, m->swapped);
	left -= 16;
	if (h->caplen > MAX_SNAPLEN) {
		if (h->caplen > m->snapshot)
			snprintf(err, errlen, "invalid packet capture length %u, bigger than snaplen of %d",
				 h->caplen, (int)m->snapshot);
		else
			snprintf(err, errlen, "invalid packet capture length %u, bigger than maximum of %u",
				 h->caplen, MAX_SNAPLEN);
		m->off = m->len;
		return -1;
	}
	if (h->caplen > m->snapshot) {
		if (left < m->snapshot) {
			snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
				 m->snapshot, left);
			m->off = m->len;
			return -1;
		}
		if (left < h->caplen) {
			snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
				 h->caplen, left);
			m->off = m->len;
			return -1;
		}
		h->caplen = m->snapshot;
	} else if (left < h->caplen) {
		snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
			 h->caplen, left);
		m->off = m->len;
		return -1;
	}
	*d = r + 16;
	m->off += 16 + (size_t)rd32(r + 8, m->swapped);
	give_back(m);
	return 1;
}

/* The next Enhanced Packet Block's record: 1, 0 at the end, 2 where
 * libpcap must take over (anything but the plain case). */
static int ng_next(struct mapped *m, struct pcap_pkthdr *h, const uint8_t **d)
{
	for (;;) {
		uint32_t type, tl;
		if (m->off == m->len)
			return 0;
		if (!ng_block(m, m->off, &type, &tl))
			return 2;
		const uint8_t *b = m->base + m->off + 8;
		if (type == NG_EPB) {
			if (tl < 8 + 20 + 4)
				return 2;
			uint32_t ifid = le32(b), caplen = le32(b + 12);
			if (ifid >= m->nif || caplen > m->snapshot || caplen > tl - 8 - 20 - 4)
				return 2;
			const struct ng_if *f = &m->ifs[ifid];
			/* pcap_ng_next_packet()'s arithmetic, for microseconds */
			uint64_t t = (uint64_t)le32(b + 4) << 32 | le32(b + 8);
			uint64_t sec = t / f->tsresol + (uint64_t)f->tsoffset, frac = t % f->tsresol;
			if (f->how == NG_DOWN_DEC)
				frac /= f->scale;
			else if (f->how == NG_UP_DEC)
				frac *= f->scale;
			else if (f->how == NG_BIN)
				frac = frac * 1000000 / f->tsresol;
			h->ts.tv_sec = (time_t)sec;
			h->ts.tv_usec = (int)frac;
			h->caplen = caplen;
			h->len = le32(b + 16);
			*d = b + 20;
			m->off += tl;
			m->returned++;
			give_back(m);
			return 1;
		}
		if (type == NG_IDB) {
			/* one more interface like the first: libpcap adds it; any
			 * other it refuses (or may take: it decides) */
			uint16_t link;
			uint32_t snap;
			if (m->nif == NG_MAX_IF || !ng_idb(m, m->off, tl, &link, &snap, &m->ifs[m->nif]) ||
			    link != m->ng_link || snap != m->ng_snap)
				return 2;
			m->nif++;
		} else if (type == NG_SHB || type == NG_SPB || type == NG_PB) {
			return 2;
		}
		m->off += tl;          /* a block libpcap skips */
	}
}

const struct capture_stats *capture_stats(const struct capture *c) { return &c->st; }
size_t capture_nfiles(const struct capture *c) { return c->n; }
const struct capture_file *capture_file(const struct capture *c, size_t i) { return &c->src[i].f; }

void capture_close(struct capture *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (c->src[i].p)
			pcap_close(c->src[i].p);
		unmap(c->src[i].m);
	}
	free(c);
}

static void advise(struct source *s);

/* Open one file of the set: 0, or -1 with the reason in s->f.error. */
static int open_one(struct source *s, const char *file, bool fast)
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
		advise(s);
		pcap_close(s->p);
		s->p = NULL;
		return -1;
	}
	if (fast && fp != stdin) {
		s->m = map_classic(fp, s->f.dlt, pcap_snapshot(s->p));
		if (!s->m)
			s->m = map_pcapng(fp, s->f.dlt, pcap_snapshot(s->p));
	}
	return 0;
}

static struct capture *open_set(const char *const *files, size_t nfiles, unsigned flags,
				char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c) + nfiles * sizeof(struct source));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->n = nfiles;
	c->lenient = flags & CAPTURE_LENIENT;
	c->no_fast = flags & CAPTURE_LIBPCAP_ONLY;
	for (size_t i = 0; i < nfiles; i++) {
		struct source *s = &c->src[i];
		if (open_one(s, files[i], !c->no_fast) == 0)
			continue;
		s->f.failed = true;
		s->f.failed_open = true;
		s->done = true;
		if (!c->lenient) {
			snprintf(err, errlen, "%s: %s", files[i], s->f.error);
			capture_close(c);
			return NULL;
		}
	}
	return c;
}

struct capture *capture_open(const char *const *files, size_t nfiles, char *err, size_t errlen)
{
	return open_set(files, nfiles, 0, err, errlen);
}

struct capture *capture_open_all(const char *const *files, size_t nfiles, char *err, size_t errlen)
{
	return open_set(files, nfiles, CAPTURE_LENIENT, err, errlen);
}

struct capture *capture_open_flags(const char *const *files, size_t nfiles, unsigned flags, char *err,
				   size_t errlen)
{
	return open_set(files, nfiles, flags, err, errlen);
}

bool capture_is_mapped(const struct capture *c, size_t i) { return c->src[i].m != NULL; }

/* The next record of source s: 1, 0 at its end, -1 (message in s->f.error). */
static int next_record(struct source *s, struct pcap_pkthdr *h, const u_char **d)
{
	struct pcap_pkthdr *ph;
	if (s->m && !s->m->ng)
		return mapped_next(s->m, h, d, s->f.error, sizeof s->f.error);
	if (s->m && !s->m->handed_over) {
		int r = ng_next(s->m, h, d);
		if (r != 2)
			return r;
		/* libpcap reads on from the record after the last returned:
		 * it still stands after the first interface */
		s->m->handed_over = true;
		for (uint64_t i = 0; i < s->m->returned; i++) {
			r = pcap_next_ex(s->p, &ph, d);
			if (r == -2)
				return 0;
			if (r == -1) {
				snprintf(s->f.error, sizeof s->f.error, "%s", pcap_geterr(s->p));
				return -1;
			}
		}
	}
	for (;;) {
		int r = pcap_next_ex(s->p, &ph, d);
		if (r == -2)
			return 0;
		if (r == -1) {
			snprintf(s->f.error, sizeof s->f.error, "%s", pcap_geterr(s->p));
			return -1;
		}
		if (r == 1) {
			*h = *ph;
			return 1;
		}
	}
}

int capture_record(struct capture *c, size_t i, struct pcap_pkthdr *h, const uint8_t **d)
{
	struct source *s = &c->src[i];
	if (!s->p || s->done)
		return 0;
	int r = next_record(s, h, d);
	if (r <= 0)
		s->done = true;
	if (r < 0)
		s->f.failed = true;
	return r;
}

/* libpcap refuses a pcapng whose interfaces differ in link type or
 * snaplen: say what can be done about it. Its message names only the first
 * interface that differs, so the file's interface blocks are read
 * (pcapng.c) to print, per interface, the command that splits it out; also
 * when the first interface's link type is one analyze does not decode and
 * others may be. */

/* The interfaces of pcapng file name, or NULL (not a regular pcapng file,
 * out of memory). Freed by the caller. */
static struct pcapng_ifs *scan_file(const char *name)
{
	struct pcapng_ifs *ifs = NULL;
	int fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 12) {
		void *b = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (b != MAP_FAILED) {
			madvise(b, (size_t)st.st_size, MADV_SEQUENTIAL);
			ifs = malloc(sizeof *ifs);
			if (ifs && pcapng_scan(b, (size_t)st.st_size, ifs) < 0) {
				free(ifs);
				ifs = NULL;
			}
			munmap(b, (size_t)st.st_size);
		}
	}
	close(fd);
	return ifs;
}

static void advise(struct source *s)
{
	char *e = s->f.error;
	size_t l = strlen(e), n = sizeof s->f.error;
	bool snap = strstr(e, "snapshot length") && strstr(e, "different from");
	bool link = strstr(e, "different from the type of the first interface");
	bool unsupported = !strncmp(e, "unsupported link type", 21);

	if (!snap && !link && !unsupported)
		return;
	struct pcapng_ifs *ifs = scan_file(s->f.name);
	bool links_differ = false;
	for (size_t i = 1; ifs && i < ifs->n && i < PCAPNG_MAX_IFS; i++)
		links_differ |= ifs->ifs[i].linktype != ifs->ifs[0].linktype;
	if (snap && !links_differ) {
		/* one link type: editcap writes one classic pcap (the largest snaplen) */
		char q[1024], qo[1100], name[1100];
		shell_quote(s->f.name, q, sizeof q);
		snprintf(name, sizeof name, "%s.pcap", s->f.name);
		shell_quote(name, qo, sizeof qo);
		snprintf(e + l, n - l, "; libpcap reads no pcapng whose interfaces differ in snaplen: convert it with "
			 "`editcap -F pcap %s %s` and analyze that", q, qo);
	} else if (snap || link) {
		snprintf(e + l, n - l, "; libpcap reads no pcapng whose interfaces differ in %s",
			 snap ? "snaplen, and editcap -F pcap none whose interfaces differ in link type" : "link type");
		if (ifs)
			pcapng_split_advice(s->f.name, ifs, seg_dlt_supported, e, n);
		else
			snprintf(e + strlen(e), n - strlen(e), "; save it to a file and run analyze on that to be "
				 "told how to split it by interface (or capture each interface to its own file)");
	} else if (ifs && ifs->n > 1) {  /* unsupported first link type: others may do */
		pcapng_split_advice(s->f.name, ifs, seg_dlt_supported, e, n);
	}
	free(ifs);
}

/* The next TCP segment of one source into out: 1, 0 at its end, -1 error
 * (lenient: recorded in the source, which then ends: 0). */
static int read_seg(struct capture *c, struct source *s, struct tcp_seg *out, char *err, size_t errlen)
{
	struct pcap_pkthdr h;
	const u_char *d;
	int r;

	if (!s->p)
		return 0;
	for (;;) {
		r = next_record(s, &h, &d);
		if (r == 0)
			return 0;
		if (r < 0) {
			size_t l = strlen(s->f.error);
			snprintf(s->f.error + l, sizeof s->f.error - l, " (after %llu packets)",
				 (unsigned long long)s->f.packets);
			advise(s);
			s->f.failed = true;
			snprintf(err, errlen, "%s: %s", s->f.name, s->f.error);
			return c->lenient ? 0 : -1;
		}
		c->st.packets++;
		s->f.packets++;
		enum seg_skip k = seg_decode(s->f.dlt, d, h.caplen, out);
		if (k) {
			c->st.skipped[k]++;
			continue;
		}
		if (out->opts_cut) {
			c->st.opts_cut++;
			s->f.opts_cut++;
			if (h.caplen > s->f.cut_at)
				s->f.cut_at = h.caplen;
		}
		c->st.ts_bad += out->ts_bad;
		c->st.tunneled[out->tunnel < TUN__N ? out->tunnel : 0]++;
		out->ts = (double)h.ts.tv_sec + (double)h.ts.tv_usec / 1e6;
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
	out->file = (uint8_t)(best - c->src);
	best->have = false;
	c->st.segments++;
	return 1;
}
