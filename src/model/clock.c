/*
 * clock.c - the TCP timestamp (TSval) and initial sequence number a Linux
 * client puts in its SYN, per kernel version.
 *
 * Why it matters: a server's TIME_WAIT accepts a reused 4-tuple only if the
 * new SYN's TSval is newer than ts_recent or its seq is after rcv_nxt. Two
 * clients behind one NAT address carry unrelated clocks and ISNs, so about
 * half of their collisions are rejected (paws or seq); one client reusing its
 * own 4-tuple carries a rising clock and ISN and gets through.
 *
 * Versions (each read from the source named):
 *  - 3.10 (RHEL 7.7): tcp_time_stamp = (__u32)jiffies (include/net/tcp.h),
 *    no offset; jiffies start at INITIAL_JIFFIES = -300 * HZ
 *    (include/linux/jiffies.h) so the 32-bit value wraps 5 min after boot.
 *  - 4.10: random offset per 4-tuple (95a22caee396); 4.11: per (saddr,
 *    daddr) (28ee1b746f49 "secure_seq: downgrade to per-host timestamp
 *    offsets"): secure_tcp_ts_off() = siphash_2u32(saddr, daddr, ts_secret)
 *    when net.ipv4.tcp_timestamps == 1, else 0.
 *  - 4.13: TS clock in ms (9a568de4818d "tcp: switch TCP TS option (RFC
 *    7323) to 1ms clock"): tcp_clock_ms() = ktime_get_ns() / NSEC_PER_MSEC,
 *    time since boot.
 *  - 7.0 and the stable lines in ts_clock_for() (165573e41f2f "tcp:
 *    secure_seq: add back ports to TS offset", read from its stable patch): one
 *    siphash_3u32(saddr, daddr, sport << 16 | dport, net_secret) gives both:
 *    low 32 bits -> seq (then seq_scale), high 32 bits -> ts_off (0 unless
 *    tcp_timestamps == 1).
 *  - ISN, every version: net/core/secure_seq.c secure_tcp_seq():
 *    seq_scale(hash) = hash + (ktime_get_real_ns() >> 6) (3.10 used an MD5
 *    hash, with the same seq_scale; a keyed SipHash stands in for both since
 *    the key is a random per-boot secret).
 */
#include "model/fleet.h"

/* Stable lines that took 165573e41f2f ("add back ports to TS offset"),
 * with the first release known to carry it:
 *  - 6.18.17 (SIM.md);
 *  - 6.12.94: listed in the 6.12.94-rc1 stable shortlog (June 2026);
 *  - 6.1.192: measured -- Debian's 6.1.0-56 (6.1.192) under qemu gives
 *    sockets to one server from different source ports unrelated TS offsets
 *    (getsockopt TCP_TIMESTAMP), as 6.12.113 does. The first 6.1.y release
 *    with it is not known here: 6.1.120 .. 6.1.191 stay "per pair" until
 *    someone reads their secure_seq.c.
 * 6.6.y and 6.19.y: not confirmed; 6.6 stays per pair, every 6.19 is per
 * 4-tuple (SIM.md). */
static const struct { uint32_t line, first; } tuple_offset_backports[] = {
	{ KVER(6, 1, 0), KVER(6, 1, 192) },
	{ KVER(6, 12, 0), KVER(6, 12, 94) },
	{ KVER(6, 18, 0), KVER(6, 18, 17) },
};

enum ts_clock ts_clock_for(uint32_t kver)
{
	if (kver >= KVER(6, 19, 0))
		return TS_CLOCK_MS_TUPLE_OFFSET;
	for (size_t i = 0; i < sizeof tuple_offset_backports / sizeof tuple_offset_backports[0]; i++)
		if (kver / 1000 == tuple_offset_backports[i].line / 1000 &&
		    kver >= tuple_offset_backports[i].first)
			return TS_CLOCK_MS_TUPLE_OFFSET;
	if (kver >= KVER(4, 13, 0))
		return TS_CLOCK_MS_PAIR_OFFSET;
	return TS_CLOCK_JIFFIES;
}

void host_clock_init(struct host_clock *c, uint32_t kver, int tcp_timestamps,
		     uint64_t boot_uptime_ms, struct model_rng *rng)
{
	c->kind = ts_clock_for(kver);
	/* RHEL 7.7 is built with CONFIG_HZ=1000 (SIM.md: dcui/RHEL77); a
	 * 4.10-4.12 jiffies clock runs at the distribution's HZ, Debian's
	 * 250. */
	c->ts_hz = c->kind != TS_CLOCK_JIFFIES ? 1000 :
		   kver >= KVER(4, 10, 0) ? 250 : 1000;
	/* offsets exist from 4.10 and only with tcp_timestamps == 1 */
	c->offsets = kver >= KVER(4, 10, 0) && tcp_timestamps == 1;
	c->per_tuple_410 = kver >= KVER(4, 10, 0) && kver < KVER(4, 11, 0);
	c->boot_uptime_ms = boot_uptime_ms;
	c->memo_ok = false;
	model_key_draw(&c->net_secret, rng);
	model_key_draw(&c->ts_secret, rng);
}

static inline uint32_t ports_word(uint16_t sport, uint16_t dport)
{
	return (uint32_t)sport << 16 | dport;
}

uint32_t tcp_ts_offset(const struct host_clock *c, uint32_t saddr, uint32_t daddr,
		       uint16_t sport, uint16_t dport)
{
	if (!c->offsets)
		return 0;
	if (c->kind == TS_CLOCK_MS_TUPLE_OFFSET)     /* high half of the ISN hash */
		return (uint32_t)(model_siphash_3u32(saddr, daddr, ports_word(sport, dport),
						     &c->net_secret) >> 32);
	if (c->per_tuple_410)                        /* 4.10: 4-tuple, own key */
		return (uint32_t)model_siphash_3u32(saddr, daddr, ports_word(sport, dport),
						    &c->ts_secret);
	/* 4.11 - 6.18.16 secure_tcp_ts_off(): siphash_2u32(saddr, daddr,
	 * &ts_secret) */
	return (uint32_t)model_siphash_2u32(saddr, daddr, &c->ts_secret);
}

uint32_t tcp_tsval(const struct host_clock *c, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint64_t sim_ms)
{
	return host_ts_clock(c, sim_ms) + tcp_ts_offset(c, saddr, daddr, sport, dport);
}

void tcp_conn_clock(struct host_clock *c, uint32_t saddr, uint32_t daddr,
		    uint16_t sport, uint16_t dport, struct conn_clock *out)
{
	uint64_t h = model_siphash_3u32(saddr, daddr, ports_word(sport, dport), &c->net_secret);

	out->isn_hash = (uint32_t)h;
	if (!c->offsets)
		out->ts_off = 0;
	else if (c->kind == TS_CLOCK_MS_TUPLE_OFFSET)
		out->ts_off = (uint32_t)(h >> 32);
	else if (c->per_tuple_410)
		out->ts_off = tcp_ts_offset(c, saddr, daddr, sport, dport);
	else {
		if (!c->memo_ok || c->memo_saddr != saddr || c->memo_daddr != daddr) {
			c->memo_off = tcp_ts_offset(c, saddr, daddr, sport, dport);
			c->memo_saddr = saddr;
			c->memo_daddr = daddr;
			c->memo_ok = true;
		}
		out->ts_off = c->memo_off;
	}
}

uint32_t tcp_isn(const struct host_clock *c, uint32_t saddr, uint32_t daddr,
		 uint16_t sport, uint16_t dport, uint64_t real_ns)
{
	uint32_t hash = (uint32_t)model_siphash_3u32(saddr, daddr, ports_word(sport, dport),
						     &c->net_secret);
	return hash + (uint32_t)(real_ns >> 6);
}
