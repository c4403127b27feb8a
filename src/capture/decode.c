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
		return true;
	}
	return false;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Link layer -> (ethertype-like protocol, offset of the network header). */
static enum seg_skip link(int dlt, const uint8_t *p, size_t n, uint16_t *proto, size_t *off)
{
	switch (dlt) {
	case DLT_EN10MB: {
		size_t o = 12;
		uint16_t t;
		if (n < 14)
			return SKIP_TRUNCATED;
		t = be16(p + o);
		/* 802.1Q / 802.1ad / QinQ: up to a few stacked tags */
		for (int tags = 0; (t == 0x8100 || t == 0x88a8 || t == 0x9100) && tags < 4; tags++) {
			o += 4;
			if (n < o + 2)
				return SKIP_TRUNCATED;
			t = be16(p + o);
		}
		*proto = t;
		*off = o + 2;
		return SKIP_NONE;
	}
	case DLT_LINUX_SLL:            /* 16-byte header, protocol at 14 */
		if (n < 16)
			return SKIP_TRUNCATED;
		*proto = be16(p + 14);
		*off = 16;
		return SKIP_NONE;
	case DLT_LINUX_SLL2:           /* 20-byte header, protocol at 0 */
		if (n < 20)
			return SKIP_TRUNCATED;
		*proto = be16(p);
		*off = 20;
		return SKIP_NONE;
	case DLT_RAW: case DLT_IPV4: case DLT_IPV6:
		if (n < 1)
			return SKIP_TRUNCATED;
		*proto = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
		*off = 0;
		return SKIP_NONE;
	case DLT_NULL: case DLT_LOOP: {   /* 4-byte address family, host or net order */
		uint32_t af;
		if (n < 4)
			return SKIP_TRUNCATED;
		af = dlt == DLT_LOOP ? be32(p) : (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
		if (af > 0xffff)
			af = be32(p);
		*proto = af == 2 ? 0x0800 : (af == 10 || af == 24 || af == 28 || af == 30) ? 0x86dd : 0;
		*off = 4;
		return *proto ? SKIP_NONE : SKIP_NOT_IP;
	}
	}
	return SKIP_NOT_IP;
}

static void tcp_options(const uint8_t *o, size_t n, struct tcp_seg *s)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = o[i], len;
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

enum seg_skip seg_decode(int dlt, const uint8_t *p, size_t n, struct tcp_seg *s)
{
	uint16_t proto = 0;
	size_t off = 0, l4, ip_payload;
	uint8_t nh;
	enum seg_skip r = link(dlt, p, n, &proto, &off);

	if (r)
		return r;
	memset(s, 0, sizeof(*s));
	s->wscale = -1;
	if (proto == 0x0800) {
		size_t ihl, tot;
		if (n < off + 20)
			return SKIP_TRUNCATED;
		if ((p[off] >> 4) != 4)
			return SKIP_BAD_HEADER;
		ihl = (size_t)(p[off] & 0xf) * 4;
		tot = be16(p + off + 2);
		if (ihl < 20 || tot < ihl)
			return SKIP_BAD_HEADER;
		if (be16(p + off + 6) & 0x3fff)          /* MF or offset: a fragment */
			return SKIP_FRAGMENT;
		nh = p[off + 9];
		s->family = 4;
		memcpy(s->saddr, p + off + 12, 4);
		memcpy(s->daddr, p + off + 16, 4);
		l4 = off + ihl;
		ip_payload = tot - ihl;
	} else if (proto == 0x86dd) {
		size_t plen;
		if (n < off + 40)
			return SKIP_TRUNCATED;
		if ((p[off] >> 4) != 6)
			return SKIP_BAD_HEADER;
		plen = be16(p + off + 4);
		nh = p[off + 6];
		s->family = 6;
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
		return SKIP_NOT_IP;
	}
	if (nh != 6)
		return SKIP_NOT_TCP;
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

const char *seg_addr_str(const struct tcp_seg *s, bool src, char *buf, size_t len)
{
	const uint8_t *a = src ? s->saddr : s->daddr;
	if (!inet_ntop(s->family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}
