/*
 * decode.c - one captured packet -> one TCP segment. Bounds are checked
 * against caplen at every step: captures are untrusted input.
 */
#include "capture/capture.h"
#include "model/model.h"

#include <arpa/inet.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif

const char *seg_skip_str(enum seg_skip s)
{
	static const char *n[] = { "none", "not IP", "not TCP", "truncated", "bad header", "IP fragment" };
	return s < SKIP__N ? n[s] : "?";
}

bool seg_dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW:
	case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
	case DLT_NFLOG: case DLT_PPP: case DLT_PPP_SERIAL: case DLT_PPP_ETHER: case DLT_C_HDLC:
	case DLT_FRELAY: case DLT_JUNIPER_ETHER: case DLT_IEEE802_11: case DLT_IEEE802_11_RADIO:
		return true;
	}
	return false;
}

const char *seg_tunnel_str(enum seg_tunnel t)
{
	static const char *n[] = { "none", "gre", "vxlan", "geneve", "gtp-u", "pppoe", "erspan", "ip-in-ip" };
	return t < TUN__N ? n[t] : "?";
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void tcp_options(const uint8_t *o, size_t n, struct tcp_seg *s)
{
	size_t i = 0;
	unsigned nk = 0;
	if (n == 12 && o[0] == 1 && o[1] == 1 && o[2] == 8 && o[3] == 10) {
		/* NOP NOP TS, what most segments carry: as the loop reads it */
		s->opt_order = 0x811;
		s->has_ts = true;
		s->tsval = be32(o + 4);
		s->tsecr = be32(o + 8);
		return;
	}
	s->opt_order = 0;
	while (i < n) {
		uint8_t kind = o[i], len;
		if (nk < 8) {
			uint32_t code = kind == 0 ? 0xe : kind <= 5 || kind == 8 ? kind : 0xf;
			s->opt_order |= code << (4 * nk++);
		}
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			break;
		len = o[i + 1];
		if (len < 2 || i + len > n)
			break;
		if (kind == 2 && len == 4)
			s->mss = be16(o + i + 2);
		else if (kind == 3 && len == 3)
			s->wscale = (int8_t)(o[i + 2] > 14 ? 14 : o[i + 2]);
		else if (kind == 4 && len == 2)
			s->sack_ok = true;
		else if (kind == 8 && len == 10) {
			s->has_ts = true;
			s->tsval = be32(o + i + 2);
			s->tsecr = be32(o + i + 6);
		} else if (kind == 8)
			s->ts_bad = true;   /* counted, not silently "no timestamps" */
		i += len;
	}
}

/* The decoders below take the packet, its captured length n, where their
 * header starts, and a nesting depth (tunnels in tunnels end somewhere). */
#define MAX_DEPTH 4
static enum seg_skip ether(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth);
static enum seg_skip ip(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth);

/* A packet whose IP version is read from its first nibble. */
static enum seg_skip ip_any(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	if (n < off + 1)
		return SKIP_TRUNCATED;
	uint8_t v = p[off] >> 4;
	return v == 4 || v == 6 ? ip(p, n, off, s, depth) : SKIP_NOT_IP;
}

/* By ethertype. */
static enum seg_skip by_type(uint16_t type, const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth);

/* A PPP frame: optional HDLC address/control (ff 03), a 1- or 2-byte
 * protocol (RFC 1661: 0x21 IPv4, 0x57 IPv6). */
static enum seg_skip ppp(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	uint16_t proto;
	if (n < off + 2)
		return SKIP_TRUNCATED;
	if (p[off] == 0xff && p[off + 1] == 0x03)
		off += 2;
	if (n < off + 1)
		return SKIP_TRUNCATED;
	if (p[off] & 1) {
		proto = p[off];
		off += 1;
	} else {
		if (n < off + 2)
			return SKIP_TRUNCATED;
		proto = be16(p + off);
		off += 2;
	}
	if (proto == 0x21)
		return ip(p, n, off, s, depth);
	if (proto == 0x57)
		return ip(p, n, off, s, depth);
	return SKIP_NOT_IP;
}

static void enter_tunnel(struct tcp_seg *s, enum seg_tunnel t)
{
	if (s->tunnel)                 /* the outermost is kept */
		return;
	s->tunnel = (uint8_t)t;
	s->outer_family = s->family;
	memcpy(s->outer_saddr, s->saddr, 16);
	memcpy(s->outer_daddr, s->daddr, 16);
}

static enum seg_skip by_type(uint16_t type, const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	switch (type) {
	case 0x0800: case 0x86dd:
		return ip(p, n, off, s, depth);
	case 0x8864:                   /* PPPoE session (RFC 2516): 6 bytes, then PPP */
		if (depth >= MAX_DEPTH)
			return SKIP_BAD_HEADER;
		if (n < off + 6)
			return SKIP_TRUNCATED;
		enter_tunnel(s, TUN_PPPOE);
		return ppp(p, n, off + 6, s, depth + 1);
	}
	return SKIP_NOT_IP;
}

/* Ethernet with 802.1Q/802.1ad/QinQ tags. */
static enum seg_skip ether(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	size_t o = off + 12;
	uint16_t t;
	if (n < off + 14)
		return SKIP_TRUNCATED;
	t = be16(p + o);
	for (int tags = 0; (t == 0x8100 || t == 0x88a8 || t == 0x9100) && tags < 4; tags++) {
		o += 4;
		if (n < o + 2)
			return SKIP_TRUNCATED;
		t = be16(p + o);
	}
	return by_type(t, p, n, o + 2, s, depth);
}

/* GRE (RFC 2784/2890; version 1 is PPTP's, carrying PPP) and ERSPAN in it. */
static enum seg_skip gre(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	if (n < off + 4)
		return SKIP_TRUNCATED;
	uint16_t fl = be16(p + off), type = be16(p + off + 2);
	size_t hl = 4 + ((fl & 0xc000) ? 4 : 0) + ((fl & 0x2000) ? 4 : 0) + ((fl & 0x1000) ? 4 : 0);
	if ((fl & 7) == 1) {           /* PPTP: key always, ack with 0x0080 */
		hl = 8 + ((fl & 0x1000) ? 4 : 0) + ((fl & 0x0080) ? 4 : 0);
		enter_tunnel(s, TUN_GRE);
		return type == 0x880b ? ppp(p, n, off + hl, s, depth + 1) : SKIP_NOT_IP;
	}
	if (fl & 7)
		return SKIP_BAD_HEADER;
	off += hl;
	if (n < off)
		return SKIP_TRUNCATED;
	switch (type) {
	case 0x6558:                   /* transparent Ethernet bridging */
		enter_tunnel(s, TUN_GRE);
		return ether(p, n, off, s, depth + 1);
	case 0x88be:                   /* ERSPAN type II (8-byte header, sequenced) or I (none) */
		enter_tunnel(s, TUN_ERSPAN);
		return ether(p, n, off + ((fl & 0x1000) ? 8 : 0), s, depth + 1);
	case 0x22eb:                   /* ERSPAN type III: 12 bytes, +8 with the O flag */
		if (n < off + 12)
			return SKIP_TRUNCATED;
		enter_tunnel(s, TUN_ERSPAN);
		return ether(p, n, off + 12 + ((p[off + 11] & 1) ? 8 : 0), s, depth + 1);
	}
	enter_tunnel(s, TUN_GRE);
	return by_type(type, p, n, off, s, depth + 1);
}

/* UDP tunnels by their IANA ports: VXLAN 4789 (and Linux's old 8472),
 * Geneve 6081, GTP-U 2152. */
static enum seg_skip udp(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	if (n < off + 8)
		return SKIP_TRUNCATED;
	uint16_t sp = be16(p + off), dp = be16(p + off + 2);
	off += 8;
	if (dp == 4789 || dp == 8472) {        /* RFC 7348: flags (I = 0x08), VNI */
		if (n < off + 8)
			return SKIP_TRUNCATED;
		if (!(p[off] & 0x08))
			return SKIP_NOT_TCP;
		enter_tunnel(s, TUN_VXLAN);
		return ether(p, n, off + 8, s, depth + 1);
	}
	if (dp == 6081) {                      /* RFC 8926: 8 bytes + options */
		if (n < off + 8)
			return SKIP_TRUNCATED;
		size_t hl = 8 + (size_t)(p[off] & 0x3f) * 4;
		uint16_t type = be16(p + off + 2);
		enter_tunnel(s, TUN_GENEVE);
		return type == 0x6558 ? ether(p, n, off + hl, s, depth + 1) : by_type(type, p, n, off + hl, s, depth + 1);
	}
	if (dp == 2152 || sp == 2152) {        /* 3GPP TS 29.281 */
		if (n < off + 8)
			return SKIP_TRUNCATED;
		uint8_t fl = p[off];
		if ((fl >> 5) != 1 || !(fl & 0x10) || p[off + 1] != 0xff)
			return SKIP_NOT_TCP;       /* not a G-PDU carrying user data */
		size_t o = off + 8;
		if (fl & 0x07) {
			if (n < o + 4)
				return SKIP_TRUNCATED;
			uint8_t next = p[o + 3];
			o += 4;
			for (int k = 0; (fl & 0x04) && next && k < 8; k++) {   /* extension headers */
				if (n < o + 1)
					return SKIP_TRUNCATED;
				size_t el = (size_t)p[o] * 4;
				if (!el || n < o + el)
					return el ? SKIP_TRUNCATED : SKIP_BAD_HEADER;
				next = p[o + el - 1];
				o += el;
			}
		}
		enter_tunnel(s, TUN_GTPU);
		return ip_any(p, n, o, s, depth + 1);
	}
	return SKIP_NOT_TCP;
}

/* IPv4 or IPv6 at off, then TCP or a tunnel. */
static enum seg_skip ip(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s, int depth)
{
	size_t l4, ip_payload;
	uint8_t nh;

	if (depth > MAX_DEPTH)
		return SKIP_BAD_HEADER;
	if (n < off + 1)
		return SKIP_TRUNCATED;
	if ((p[off] >> 4) == 4) {
		size_t ihl, tot;
		if (n < off + 20)
			return SKIP_TRUNCATED;
		ihl = (size_t)(p[off] & 0xf) * 4;
		tot = be16(p + off + 2);
		if (ihl < 20 || tot < ihl)
			return SKIP_BAD_HEADER;
		if (be16(p + off + 6) & 0x3fff)          /* MF or offset: a fragment */
			return SKIP_FRAGMENT;
		nh = p[off + 9];
		s->family = 4;
		s->ttl = p[off + 8];
		s->ipid = be16(p + off + 4);
		s->has_ipid = true;
		memset(s->saddr, 0, 16);
		memset(s->daddr, 0, 16);
		memcpy(s->saddr, p + off + 12, 4);
		memcpy(s->daddr, p + off + 16, 4);
		l4 = off + ihl;
		ip_payload = tot - ihl;
	} else if ((p[off] >> 4) == 6) {
		size_t plen;
		if (n < off + 40)
			return SKIP_TRUNCATED;
		plen = be16(p + off + 4);
		nh = p[off + 6];
		s->family = 6;
		s->ttl = p[off + 7];
		s->has_ipid = false;
		s->ipid = 0;
		memcpy(s->saddr, p + off + 8, 16);
		memcpy(s->daddr, p + off + 24, 16);
		l4 = off + 40;
		/* hop-by-hop, routing, destination options: skip; fragments: no */
		for (int k = 0; k < 8 && (nh == 0 || nh == 43 || nh == 60 || nh == 44); k++) {
			size_t el;
			if (nh == 44)
				return SKIP_FRAGMENT;
			if (n < l4 + 2)
				return SKIP_TRUNCATED;
			el = ((size_t)p[l4 + 1] + 1) * 8;
			if (el > plen)
				return SKIP_BAD_HEADER;
			nh = p[l4];
			l4 += el;
			plen -= el;
		}
		ip_payload = plen;
	} else {
		return SKIP_BAD_HEADER;
	}
	switch (nh) {
	case 6:
		break;
	case 47:
		return gre(p, n, l4, s, depth);
	case 17:
		return udp(p, n, l4, s, depth);
	case 4: case 41:
		enter_tunnel(s, TUN_IPIP);
		return ip(p, n, l4, s, depth + 1);
	default:
		return SKIP_NOT_TCP;
	}
	/* ports, seq, ack, data offset and flags are the first 14 bytes: a
	 * short snaplen (tcpdump -s 54 on Linux cooked) still yields them; the
	 * window and the options are then unknown, and said so */
	if (n < l4 + 14)
		return SKIP_TRUNCATED;
	{
		const uint8_t *t = p + l4;
		size_t doff = (size_t)(t[12] >> 4) * 4, have = n - l4;
		if (doff < 20 || doff > ip_payload)
			return SKIP_BAD_HEADER;
		s->sport = be16(t);
		s->dport = be16(t + 2);
		s->seq = be32(t + 4);
		s->ack = be32(t + 8);
		s->flags = t[13] & 0x3f;
		s->win = have >= 16 ? be16(t + 14) : 0;
		s->len = (uint32_t)(ip_payload - doff);
		if (doff > 20 && have > 20)
			tcp_options(t + 20, (doff < have ? doff : have) - 20, s);
		if (doff > 20 && have < doff && !s->has_ts)
			s->opts_cut = true;
	}
	return SKIP_NONE;
}

/* NFLOG (what `tcpdump -i nflog:N` writes): a 4-byte header, then TLVs in
 * the capturing host's byte order (libpcap swaps them for a file from the
 * other order); NFULA_PAYLOAD (9) is the packet. */
static enum seg_skip nflog(const uint8_t *p, size_t n, struct tcp_seg *s)
{
	size_t o = 4;
	if (n < 4)
		return SKIP_TRUNCATED;
	while (o + 4 <= n) {
		uint16_t len, type;
		memcpy(&len, p + o, 2);
		memcpy(&type, p + o + 2, 2);
		if (len < 4)
			return SKIP_BAD_HEADER;
		if ((type & 0x7fff) == 9)
			return ip_any(p, o + len < n ? o + len : n, o + 4, s, 0);
		o += ((size_t)len + 3) & ~(size_t)3;
	}
	return SKIP_NOT_IP;
}

/* 802.11 data frames carrying LLC/SNAP (IEEE 802.11-2020 9.2). */
static enum seg_skip wifi(const uint8_t *p, size_t n, size_t off, struct tcp_seg *s)
{
	if (n < off + 24)
		return SKIP_TRUNCATED;
	uint8_t fc0 = p[off], fc1 = p[off + 1];
	if (((fc0 >> 2) & 3) != 2)
		return SKIP_NOT_IP;            /* management or control */
	if ((fc0 >> 4) & 4)
		return SKIP_NOT_IP;            /* null data: no body */
	if (fc1 & 0x40)
		return SKIP_NOT_IP;            /* protected: encrypted body */
	size_t hl = 24;
	if ((fc1 & 3) == 3)
		hl += 6;                       /* ToDS and FromDS: a fourth address */
	if ((fc0 >> 4) & 8) {
		hl += 2;                       /* QoS control */
		if (fc1 & 0x80)
			hl += 4;               /* HT control */
	}
	off += hl;
	if (n < off + 8)
		return SKIP_TRUNCATED;
	if (p[off] != 0xaa || p[off + 1] != 0xaa || p[off + 2] != 0x03)
		return SKIP_NOT_IP;
	return by_type(be16(p + off + 6), p, n, off + 8, s, 0);
}

/* Frame Relay (RFC 2427): a Q.922 address (2-4 bytes, the last with EA
 * set), control 0x03, an optional pad, an NLPID. */
static enum seg_skip frelay(const uint8_t *p, size_t n, struct tcp_seg *s)
{
	size_t o = 0;
	while (o < 4 && o < n && !(p[o] & 1))
		o++;
	o++;
	if (n < o + 2)
		return SKIP_TRUNCATED;
	if (p[o] != 0x03)
		return SKIP_NOT_IP;
	o++;
	if (p[o] == 0x00)
		o++;
	if (n < o + 1)
		return SKIP_TRUNCATED;
	switch (p[o]) {
	case 0xcc: case 0x8e:
		return ip(p, n, o + 1, s, 0);
	case 0x80:                     /* SNAP: OUI, then an ethertype */
		if (n < o + 6)
			return SKIP_TRUNCATED;
		return by_type(be16(p + o + 4), p, n, o + 6, s, 0);
	}
	return SKIP_NOT_IP;
}

enum seg_skip seg_decode(int dlt, const uint8_t *p, size_t n, struct tcp_seg *s)
{
	memset(s, 0, sizeof(*s));
	s->wscale = -1;
	switch (dlt) {
	case DLT_EN10MB:
		return ether(p, n, 0, s, 0);
	case DLT_LINUX_SLL:            /* 16-byte header, protocol at 14 */
		if (n < 16)
			return SKIP_TRUNCATED;
		return by_type(be16(p + 14), p, n, 16, s, 0);
	case DLT_LINUX_SLL2:           /* 20-byte header, protocol at 0 */
		if (n < 20)
			return SKIP_TRUNCATED;
		return by_type(be16(p), p, n, 20, s, 0);
	case DLT_RAW: case DLT_IPV4: case DLT_IPV6:
		return ip_any(p, n, 0, s, 0);
	case DLT_NULL: case DLT_LOOP: {   /* 4-byte address family, host or net order */
		uint32_t af;
		if (n < 4)
			return SKIP_TRUNCATED;
		af = dlt == DLT_LOOP ? be32(p) : (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
		if (af > 0xffff)
			af = be32(p);
		if (af == 2 || af == 10 || af == 24 || af == 28 || af == 30)
			return ip_any(p, n, 4, s, 0);
		return SKIP_NOT_IP;
	}
	case DLT_NFLOG:
		return nflog(p, n, s);
	case DLT_PPP:
		return ppp(p, n, 0, s, 0);
	case DLT_PPP_SERIAL:           /* PPP in HDLC framing, or Cisco HDLC */
		if (n >= 1 && (p[0] == 0x0f || p[0] == 0x8f)) {
			if (n < 4)
				return SKIP_TRUNCATED;
			return by_type(be16(p + 2), p, n, 4, s, 0);
		}
		return ppp(p, n, 0, s, 0);
	case DLT_PPP_ETHER:            /* a PPPoE session header, then PPP */
		if (n < 6)
			return SKIP_TRUNCATED;
		enter_tunnel(s, TUN_PPPOE);
		return ppp(p, n, 6, s, 1);
	case DLT_C_HDLC:               /* address, control, an ethertype */
		if (n < 4)
			return SKIP_TRUNCATED;
		return by_type(be16(p + 2), p, n, 4, s, 0);
	case DLT_FRELAY:
		return frelay(p, n, s);
	case DLT_JUNIPER_ETHER: {      /* "MGC", flags, optional extensions */
		if (n < 4)
			return SKIP_TRUNCATED;
		if (p[0] != 0x4d || p[1] != 0x47 || p[2] != 0x43)
			return SKIP_BAD_HEADER;
		size_t hl = 4;
		if (p[3] & 0x80) {
			if (n < 6)
				return SKIP_TRUNCATED;
			hl += 2 + be16(p + 4);
		}
		if (p[3] & 0x02)       /* no L2 header: IP after a 4-byte cookie */
			return ip_any(p, n, hl + 4, s, 0);
		return ether(p, n, hl, s, 0);
	}
	case DLT_IEEE802_11:
		return wifi(p, n, 0, s);
	case DLT_IEEE802_11_RADIO:     /* radiotap: its length at 2, little-endian */
		if (n < 4)
			return SKIP_TRUNCATED;
		return wifi(p, n, (size_t)(p[2] | p[3] << 8), s);
	}
	return SKIP_NOT_IP;
}

const char *seg_addr_str(const struct tcp_seg *s, bool src, char *buf, size_t len)
{
	const uint8_t *a = src ? s->saddr : s->daddr;
	if (!inet_ntop(s->family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}
