/*
 * capture.h - packet captures in, TCP segments out. libpcap reads pcap and
 * pcapng; this layer decodes the link types people capture with (Ethernet
 * with 802.1Q/QinQ, Linux cooked v1/v2 from `tcpdump -i any`, raw IP,
 * BSD loopback/null, NFLOG, PPP, PPP in HDLC, PPPoE, Cisco HDLC, Frame
 * Relay, Juniper Ethernet, 802.11 with or without radiotap), IPv4 and IPv6,
 * the tunnels TCP travels in (GRE, ERSPAN, VXLAN, Geneve, GTP-U, PPPoE,
 * IP in IP), and the TCP options twlab needs.
 */
#ifndef TWLAB_CAPTURE_H
#define TWLAB_CAPTURE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct tcp_seg {
	double   ts;                 /* seconds since the epoch */
	uint8_t  family;             /* 4 or 6 */
	uint8_t  saddr[16], daddr[16];
	uint16_t sport, dport;
	/* flags, seq, ack, len (TCP payload bytes, from IP lengths), has_ts,
	 * tsval, tsecr: the model's struct segment, readable as s.seq or as
	 * the whole s.m (no copy) */
	union {
		struct segment m;
		struct { SEGMENT_FIELDS };
	};
	uint16_t win;
	uint16_t mss;                /* 0: absent */
	int8_t   wscale;             /* -1: absent */
	bool     sack_ok;
	bool     opts_cut;           /* the snaplen cut the TCP options off: has_ts
				      * and the others are unknown, not absent */
	bool     ts_bad;             /* a timestamp option of the wrong length */
	uint8_t  ttl;                /* IPv4 TTL / IPv6 hop limit (the innermost header) */
	bool     has_ipid;           /* IPv4: ipid is the header's ID */
	uint16_t ipid;
	uint32_t opt_order;          /* TCP option kinds in order, 4 bits each, first in the
				      * low bits (NOP 1, MSS 2, WS 3, SACK_OK 4, SACK 5,
				      * TS 8, EOL 0xe, other 0xf), at most 8 */
	uint8_t  file;               /* index of the input file in a merged capture */
	uint8_t  tunnel;             /* enum seg_tunnel: the outermost it came in */
	uint8_t  outer_family;       /* ... and that tunnel's outer addresses */
	uint8_t  outer_saddr[16], outer_daddr[16];
};

/* The anonymous struct and m are laid out alike (the same member list):
 * s.seq and s.m.seq are one object. */
#define TCP_SEG_SAME_(f) \
	_Static_assert(offsetof(struct tcp_seg, f) == offsetof(struct tcp_seg, m) + offsetof(struct segment, f), \
		       "tcp_seg." #f " is not segment." #f)
TCP_SEG_SAME_(flags);
TCP_SEG_SAME_(seq);
TCP_SEG_SAME_(ack);
TCP_SEG_SAME_(len);
TCP_SEG_SAME_(has_ts);
TCP_SEG_SAME_(tsval);
TCP_SEG_SAME_(tsecr);
#undef TCP_SEG_SAME_
_Static_assert(offsetof(struct tcp_seg, tsecr) + sizeof(uint32_t) <= offsetof(struct tcp_seg, m) + sizeof(struct segment),
	       "tcp_seg's segment fields end inside m");

enum seg_tunnel {
	TUN_NONE = 0, TUN_GRE, TUN_VXLAN, TUN_GENEVE, TUN_GTPU, TUN_PPPOE, TUN_ERSPAN, TUN_IPIP, TUN__N,
};
const char *seg_tunnel_str(enum seg_tunnel t);

enum seg_skip {                  /* why a packet yielded no segment */
	SKIP_NONE = 0, SKIP_NOT_IP, SKIP_NOT_TCP, SKIP_TRUNCATED, SKIP_BAD_HEADER,
	SKIP_FRAGMENT, SKIP__N,
};
const char *seg_skip_str(enum seg_skip s);

/* Decode one packet of a link type (DLT_*). Returns SKIP_NONE and fills *out
 * when it is a TCP segment. caplen bytes are available; wirelen is the
 * original length (payload length comes from the IP header, so a short
 * snaplen still yields exact numbers). */
enum seg_skip seg_decode(int dlt, const uint8_t *pkt, size_t caplen, struct tcp_seg *out);
/* Is this link type decodable? */
bool seg_dlt_supported(int dlt);

/* "198.18.1.2" / "2001:db8::1" into buf (INET6_ADDRSTRLEN). */
const char *seg_addr_str(const struct tcp_seg *s, bool src, char *buf, size_t len);

/* A set of capture files read as one stream, merged by time. */
struct capture;
/* Strict: NULL and a message in err when any file fails to open
 * ("capture.pcap: unknown link type 147 (DLT_USER0)"); capture_next() then
 * returns -1 on the first read error. "-" is standard input. */
struct capture *capture_open(const char *const *files, size_t nfiles, char *err, size_t errlen);
/* Lenient: a file that cannot be opened, or whose reading fails part way, is
 * recorded (capture_file()->error) and the others are read on; capture_next()
 * never returns -1 for a file's error. NULL only when out of memory. */
struct capture *capture_open_all(const char *const *files, size_t nfiles, char *err, size_t errlen);
/* Either of the above, by flags; CAPTURE_LIBPCAP_ONLY turns the mapped
 * classic-pcap reader off (libpcap stays the reference it is tested
 * against). */
enum { CAPTURE_LENIENT = 1, CAPTURE_LIBPCAP_ONLY = 2 };
struct capture *capture_open_flags(const char *const *files, size_t nfiles, unsigned flags, char *err,
				   size_t errlen);
/* Is file i read from a mapping (classic pcap) rather than by libpcap? */
bool capture_is_mapped(const struct capture *c, size_t i);
/* The next raw record of file i, bypassing the merge and the decoder (for
 * comparing the two readers): 1, 0 at its end, -1 (capture_file()->error). */
struct pcap_pkthdr;
int capture_record(struct capture *c, size_t i, struct pcap_pkthdr *h, const uint8_t **d);
/* 1: a segment, 0: end of input, -1: error (message in err). */
int capture_next(struct capture *c, struct tcp_seg *out, char *err, size_t errlen);
struct capture_stats {
	uint64_t packets, segments, skipped[SKIP__N];
	uint64_t opts_cut;           /* segments whose options the snaplen cut */
	uint64_t ts_bad;             /* malformed timestamp options */
	uint64_t tunneled[TUN__N];   /* segments found inside each kind of tunnel */
};
const struct capture_stats *capture_stats(const struct capture *c);
struct capture_file {            /* one input file, as read so far */
	const char *name;
	int      dlt;                /* -1 before it was opened */
	unsigned snaplen;
	uint64_t packets, opts_cut;
	unsigned cut_at;             /* the longest record whose options were cut */
	bool     failed;             /* error says what; its records up to the
				      * failure were read */
	bool     failed_open;        /* ... and it failed when opened */
	char     error[4096];       /* room for the commands that split a pcapng */
};
size_t capture_nfiles(const struct capture *c);
const struct capture_file *capture_file(const struct capture *c, size_t i);
void capture_close(struct capture *c);
#endif
