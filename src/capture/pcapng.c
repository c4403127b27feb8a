/*
 * pcapng.c - the interfaces of a pcapng file libpcap refuses, and the
 * commands that split it by interface (see pcapng.h).
 *
 * Block layout from the pcapng specification (draft-ietf-opsawg-pcapng):
 * every block is type, total length, body, total length again; the Section
 * Header Block's byte-order magic says the byte order of its section; an
 * Interface Description Block (IDB) gives link type and snaplen, and its
 * options an if_tsresol (code 9); an Enhanced Packet Block names its
 * interface by its index within the section, a Simple Packet Block is
 * interface 0's. An interface's number is its place within its section,
 * as in tshark's frame.interface_id (4.0); frame.section_number counts
 * sections from 1.
 */
#include "capture/pcapng.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_OPB 2u
#define BT_SPB 3u
#define BT_EPB 6u
#define LINKTYPE_RAW 101
#define DLT_RAW_LINUX 12             /* DLT_RAW as Linux's libpcap defines it */

static uint32_t get32(const uint8_t *p, bool be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get16(const uint8_t *p, bool be)
{
	return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static void stop(struct pcapng_ifs *o, size_t off, const char *what)
{
	o->stopped = true;
	snprintf(o->why, sizeof o->why, "%s at byte %zu", what, off);
}

/* if_tsresol among an IDB's options: true when finer than 1 µs. */
static bool idb_nsec(const uint8_t *p, size_t n, bool be)
{
	while (n >= 4) {
		uint16_t code = get16(p, be), len = get16(p + 2, be);
		size_t padded = ((size_t)len + 3) & ~(size_t)3;
		if (code == 0 || padded > n - 4)
			break;
		if (code == 9 && len >= 1) {
			uint8_t v = p[4];
			return v & 0x80 ? (v & 0x7f) >= 20 : v > 6;
		}
		p += 4 + padded;
		n -= 4 + padded;
	}
	return false;
}

static void count(struct pcapng_ifs *o, size_t base, size_t nifs, uint32_t ifid, uint32_t caplen,
		  uint32_t len)
{
	if (ifid >= nifs) {
		o->orphans++;
		return;
	}
	size_t g = base + ifid;
	if (g >= PCAPNG_MAX_IFS)
		return;
	o->ifs[g].packets++;
	o->ifs[g].cut += caplen < len;
}

int pcapng_scan(const uint8_t *b, size_t n, struct pcapng_ifs *o)
{
	memset(o, 0, sizeof *o);
	if (n < 12 || get32(b, false) != BT_SHB)
		return -1;
	size_t off = 0, base = 0, nifs = 0;
	bool be = false;
	while (off < n) {
		if (n - off < 12) {
			stop(o, off, "a cut block");
			break;
		}
		const uint8_t *h = b + off;
		uint32_t type = get32(h, be);
		if (get32(h, false) == BT_SHB) {
			uint32_t magic = get32(h + 8, false);
			if (magic == 0x1A2B3C4Du)
				be = false;
			else if (magic == 0x4D3C2B1Au)
				be = true;
			else {
				if (off == 0)
					return -1;
				stop(o, off, "a section header with no byte-order magic");
				break;
			}
			type = BT_SHB;
		}
		uint32_t len = get32(h + 4, be);
		if (len < 12 || len % 4 || len > n - off) {
			if (off == 0)
				return -1;
			stop(o, off, "a block of a bad length");
			break;
		}
		if (get32(h + len - 4, be) != len) {
			if (off == 0)
				return -1;
			stop(o, off, "a block whose trailing length differs");
			break;
		}
		const uint8_t *body = h + 8;
		size_t blen = len - 12;
		switch (type) {
		case BT_SHB:
			o->sections++;
			base = o->n;
			nifs = 0;
			break;
		case BT_IDB:
			if (blen < 8) {
				stop(o, off, "a short interface description");
				goto out;
			}
			if (o->n < PCAPNG_MAX_IFS) {
				struct pcapng_if *f = &o->ifs[o->n];
				f->linktype = get16(body, be);
				f->snaplen = get32(body + 4, be);
				f->nsec = idb_nsec(body + 8, blen - 8, be);
				f->section = o->sections;
				f->id = (uint32_t)nifs;
			}
			o->n++;
			nifs++;
			break;
		case BT_EPB:
		case BT_OPB:                 /* interface: 32 bits (EPB), 16 (OPB) */
			if (blen < 20) {
				stop(o, off, "a short packet block");
				goto out;
			}
			count(o, base, nifs, type == BT_EPB ? get32(body, be) : get16(body, be), get32(body + 12, be),
			      get32(body + 16, be));
			break;
		case BT_SPB: {
			if (blen < 4) {
				stop(o, off, "a short packet block");
				goto out;
			}
			uint32_t orig = get32(body, be), cap = orig;
			if (nifs && base < PCAPNG_MAX_IFS && o->ifs[base].snaplen && cap > o->ifs[base].snaplen)
				cap = o->ifs[base].snaplen;
			count(o, base, nifs, 0, cap, orig);
			break;
		}
		default:                     /* name resolution, statistics, ... */
			break;
		}
		off += len;
	}
out:
	return 0;
}

int pcapng_linktype_dlt(unsigned linktype)
{
	return linktype == LINKTYPE_RAW ? DLT_RAW_LINUX : (int)linktype;
}

void shell_quote(const char *s, char *out, size_t outlen)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.,:@%+=-";
	size_t o = 0;
	bool plain = *s != 0;

	if (!outlen)
		return;
	for (const char *p = s; *p; p++)
		if (!strchr(safe, *p))
			plain = false;
#define PUT(c) do { if (o + 1 < outlen) out[o++] = (c); } while (0)
	if (!plain)
		PUT('\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'' && !plain) {
			PUT('\'');
			PUT('\\');
			PUT('\'');
			PUT('\'');
		} else {
			PUT(*p);
		}
	}
	if (!plain)
		PUT('\'');
#undef PUT
	out[o] = 0;
}

/* Append printf-style to out[0..outlen), cut at its end. */
__attribute__((format(printf, 3, 4)))
static void app(char *out, size_t outlen, const char *fmt, ...)
{
	size_t l = strnlen(out, outlen);
	if (l + 1 >= outlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + l, outlen - l, fmt, ap);
	va_end(ap);
}

/* The tshark half: one interface's frames as a hex dump, each after its
 * time in UTC (%Yut), with IP and IPv6 off (and 802.11 defragmentation), so that only the frame's own
 * bytes are dumped: no reassembled or decompressed data source (TCP,
 * IP fragments, HTTP, ...) adds a block that text2pcap would read as a
 * packet. --disable-protocol takes one name in tshark 4.0 ("ALL" and lists
 * came later and are ignored). */
#define TSHARK_FMT "tshark -r %s -Y '%s' -P -x -o 'gui.column.format:\"Time\",\"%%Yut\"' " \
		   "-o wlan.defragment:FALSE --disable-protocol ip --disable-protocol ipv6"
/* The text2pcap half: TZ=UTC, since strptime()'s time goes through mktime(). */
#define T2P_FMT "TZ=UTC text2pcap -q -F %s -l %s -t '%%Y-%%m-%%d %%H:%%M:%%S.%%f' - %s"

/* A tshark display filter for interface f, and the name of its split file. */
static void one_if(const char *file, const struct pcapng_ifs *ifs, const struct pcapng_if *f, char *filter,
		   size_t flen, char *qname, size_t qlen)
{
	char name[1100];
	if (ifs->sections > 1) {
		snprintf(filter, flen, "frame.section_number==%u && frame.interface_id==%u", f->section, f->id);
		snprintf(name, sizeof name, "%s.s%u.if%u.pcap", file, f->section, f->id);
	} else {
		snprintf(filter, flen, "frame.interface_id==%u", f->id);
		snprintf(name, sizeof name, "%s.if%u.pcap", file, f->id);
	}
	shell_quote(name, qname, qlen);
}

static bool splits(const struct pcapng_if *f, bool (*decodable)(int dlt))
{
	return f->packets && decodable(pcapng_linktype_dlt(f->linktype));
}

void pcapng_split_advice(const char *file, const struct pcapng_ifs *ifs, bool (*decodable)(int dlt),
			 char *out, size_t outlen)
{
	char q[1024], qo[1100], filter[80];
	size_t ndesc = ifs->n < PCAPNG_MAX_IFS ? ifs->n : PCAPNG_MAX_IFS, nsplit = 0;
	bool any_nsec = false, any_cut = false;

	for (size_t i = 0; i < ndesc; i++) {
		const struct pcapng_if *f = &ifs->ifs[i];
		if (splits(f, decodable)) {
			nsplit++;
			any_nsec |= f->nsec;
			any_cut |= f->cut != 0;
		}
	}
	if (!nsplit) {
		app(out, outlen, "; none of its %zu interfaces carries packets of a link type analyze decodes",
		    ifs->n);
		return;
	}
	shell_quote(file, q, sizeof q);
	app(out, outlen, "; split it into one classic pcap per interface with the commands below (tshark "
	    "and text2pcap, keeping the timestamps)");
	if (nsplit <= PCAPNG_MAX_LISTED) {
		for (size_t i = 0; i < ndesc; i++) {
			const struct pcapng_if *f = &ifs->ifs[i];
			if (!splits(f, decodable))
				continue;
			char l[24];
			snprintf(l, sizeof l, "%u", f->linktype);
			one_if(file, ifs, f, filter, sizeof filter, qo, sizeof qo);
			app(out, outlen, "\n  " TSHARK_FMT " | " T2P_FMT, q, filter, f->nsec ? "nsecpcap" : "pcap", l,
			    qo);
		}
		app(out, outlen, "\nthen analyze them together:\n  twlab analyze");
		for (size_t i = 0; i < ndesc; i++) {
			const struct pcapng_if *f = &ifs->ifs[i];
			if (!splits(f, decodable))
				continue;
			one_if(file, ifs, f, filter, sizeof filter, qo, sizeof qo);
			app(out, outlen, " %s", qo);
		}
	} else {
		/* one loop over section:interface:linktype:format */
		char name[1100];
		app(out, outlen, "\n  for x in");
		for (size_t i = 0; i < ndesc; i++) {
			const struct pcapng_if *f = &ifs->ifs[i];
			if (splits(f, decodable))
				app(out, outlen, " %u:%u:%u:%s", f->section, f->id, f->linktype,
				    f->nsec ? "nsecpcap" : "pcap");
		}
		snprintf(name, sizeof name, "%s.", file);
		shell_quote(name, qo, sizeof qo);
		app(out, outlen, "; do s=${x%%%%:*}; x=${x#*:}; n=${x%%%%:*}; x=${x#*:}; l=${x%%%%:*}; t=${x#*:}; "
		    TSHARK_FMT " | " T2P_FMT "%s\"$n\".pcap; done", q,
		    ifs->sections > 1 ? "frame.section_number=='\"$s\"' && frame.interface_id=='\"$n\"'"
				      : "frame.interface_id=='\"$n\"'",
		    "\"$t\"", "\"$l\"", qo, ifs->sections > 1 ? "s\"$s\".if" : "if");
		app(out, outlen, "\nthen analyze them together:\n  twlab analyze %s%s*.pcap", qo,
		    ifs->sections > 1 ? "s*.if" : "if");
		if (ifs->n > PCAPNG_MAX_IFS)
			app(out, outlen, "\n(interfaces after the first %d are not listed: add them to the loop)",
			    PCAPNG_MAX_IFS);
	}
	for (size_t i = 0; i < ndesc; i++) {
		const struct pcapng_if *f = &ifs->ifs[i];
		if (f->packets && !decodable(pcapng_linktype_dlt(f->linktype)))
			app(out, outlen, "\n(interface %u%s%.0u: link type %u, %llu packets, is not one analyze decodes)",
			    f->id, ifs->sections > 1 ? " of section " : "", ifs->sections > 1 ? f->section : 0,
			    f->linktype, (unsigned long long)f->packets);
	}
	if (any_cut)
		app(out, outlen, "\n(some records were captured shorter than they were: the hex dump holds only "
		    "their captured bytes, which become their length in the split files)");
	if (any_nsec)
		app(out, outlen, "\n(nanosecond interfaces are written as nanosecond pcap)");
	if (ifs->orphans || ifs->stopped)
		app(out, outlen, "\n(the scan of the file %s%s%s)", ifs->stopped ? "stopped at " : "",
		    ifs->stopped ? ifs->why : "", ifs->orphans ? "; some packets name no interface" : "");
}
