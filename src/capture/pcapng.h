/*
 * pcapng.h - what libpcap will not tell about a pcapng it refuses: the
 * interfaces (link type, snaplen, timestamp resolution) and how many
 * packets each carries, read from the blocks' headers only, and the exact
 * commands that split such a file into one classic pcap per interface.
 *
 * libpcap reads no pcapng whose interfaces differ in link type or snaplen
 * (pcap-ng.c add_interface(), libpcap 1.10) and names only the first one
 * that differs. The scan is pure (a buffer in, a struct out) and takes
 * untrusted input: every length is checked against the buffer
 * (tests/fuzz/fuzz_pcapng.c).
 */
#ifndef TWLAB_CAPTURE_PCAPNG_H
#define TWLAB_CAPTURE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAPNG_MAX_IFS 64            /* interfaces described; more are counted */
#define PCAPNG_MAX_LISTED 8          /* commands printed one by one */

struct pcapng_if {
	uint16_t linktype;           /* LINKTYPE_ number, as the file has it */
	uint32_t snaplen;            /* 0: no limit */
	bool     nsec;               /* if_tsresol finer than a microsecond */
	uint32_t section;            /* 1, 2, ... (tshark's frame.section_number) */
	uint32_t id;                 /* within its section (frame.interface_id) */
	uint64_t packets;            /* EPB, SPB and obsolete packet blocks */
	uint64_t cut;                /* of them captured shorter than they were */
};

struct pcapng_ifs {
	size_t   n;                  /* interfaces in the file (all sections) */
	struct pcapng_if ifs[PCAPNG_MAX_IFS];
	unsigned sections;
	uint64_t orphans;            /* packets naming an undescribed interface */
	bool     stopped;            /* a bad block ended the scan early */
	char     why[96];            /* ... and why */
};

/* Scan a whole pcapng file held in b[0..n): 0 (out filled, perhaps with
 * stopped set after the first good blocks), -1 when it is no pcapng. */
int pcapng_scan(const uint8_t *b, size_t n, struct pcapng_ifs *out);

/* The LINKTYPE_ number as libpcap's DLT_ value (they differ for raw IP). */
int pcapng_linktype_dlt(unsigned linktype);

/* Append to out (NUL-terminated, cut at outlen) the commands that split
 * file into one classic pcap per interface carrying packets that
 * decodable(dlt) accepts, then how to analyze them together. */
void pcapng_split_advice(const char *file, const struct pcapng_ifs *ifs, bool (*decodable)(int dlt),
			 char *out, size_t outlen);

/* s quoted for a POSIX shell (as is when it needs no quotes) into out. */
void shell_quote(const char *s, char *out, size_t outlen);

#endif
