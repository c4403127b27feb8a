/*
 * profile.c - what differs between Linux kernels, keyed to the exact version
 * range (and stable backports) each fact holds for. Any version resolves:
 * kprofile_build(KVER(6, 12, 113)) gives that release's facts, not the
 * nearest named profile's.
 *
 * Every fact is one F_* macro of (v = KVER, r = RHEL 7 backports): the
 * builder and the preset table below both use it, and kfact_get() pairs it
 * with its source for `explain --kernel`. A unit test checks each fact at
 * the first version it holds for and just before.
 *
 * Sources (read with the search tool; stored trees named in SIM.md):
 *   6.18 = 6952350/linux-6.18.y, 6.1 = linux6119/linux-6.1.119, 4.19 =
 *   hypoxic/GP2-linux-4.19.124, 5.10 = Rtoax/linux-5.10.13, 3.10 upstream =
 *   harviswang/linux-3.10.99; commit dates from the netdev/stable mails.
 *   RHEL 7.7: dcui/RHEL77 holds only generated *.mod.c files for net/ipv4
 *   (no tcp_minisocks.c), so its backports are taken from the field report
 *   (BRIEF.md: TCPACKSkippedTimeWait / tcp_invalid_ratelimit exist there).
 *   Measured: Debian 6.1.192 and 6.12.113 under scripts/kvm, the host
 *   6.18.44 (sysctls, /proc/net/netstat names, BTF enums, lab probe).
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAYS24 (60u * 60u * 24u * 24u)
#define KVER_MAX KVER(999, 999, 999)
/* [lo, hi) */
#define KIN(v, lo, hi) ((v) >= (lo) && (v) < (hi))

/* ---- the facts, one macro each (v: KVER, r: RHEL 7 backports) */

/* TSval offset. 95a22caee396 (4.10) "tcp: randomize tcp timestamp offsets
 * for each connection" (ports in the hash); 28ee1b746f49 (4.11) "secure_seq:
 * downgrade to per-host timestamp offsets" (saddr, daddr); 165573e41f2f
 * (7.0, CVE-2026-23247) "tcp: secure_seq: add back ports to TS offset",
 * stable: 6.19.7 (6.19.7-rc1 review, 2026-03-10), 6.18.17, 6.12.94
 * (6.12.94-rc1 review, 2026-06-16). 6.1.y: measured with bench/ts_offset
 * under scripts/kvm: Debian 6.1.170, 6.1.176, 6.1.187, 6.1.190 per pair,
 * 6.1.192 per 4-tuple (6.1.191 is not packaged: modelled per pair). 6.6.y:
 * no backport found. */
#define F_TS_TUPLE(v, r) (KIN(v, KVER(4, 10, 0), KVER(4, 11, 0)) || \
	KIN(v, KVER(6, 1, 192), KVER(6, 2, 0)) || KIN(v, KVER(6, 12, 94), KVER(6, 13, 0)) || \
	KIN(v, KVER(6, 18, 17), KVER(6, 19, 0)) || (v) >= KVER(6, 19, 7))
#define F_TS_PAIR(v, r) ((v) >= KVER(4, 11, 0) && !F_TS_TUPLE(v, r))
/* 9a568de4818d (4.13) "tcp: switch TCP TS option (RFC 7323) to 1ms clock";
 * before it tcp_time_stamp = jiffies (HZ=1000 on RHEL 7, 250 on Debian). */
#define F_TS_MS(v, r) ((v) >= KVER(4, 13, 0))
/* tcp_timestamps=2 = "Like 1, but without random offsets"
 * (Documentation/networking/ip-sysctl): it came with the 4.10 random offsets
 * (95a22caee396 series); the commit that added the value was not read. */
#define F_TS_NO_OFFSET(v, r) ((v) >= KVER(4, 10, 0))
/* 789f558cfb36 (4.1) "tcp/dccp: get rid of central timewait timer": before
 * it inet_twdr_hangman reaps TIME_WAIT in 8 slots of TCP_TIMEWAIT_LEN/8. */
#define F_TW_WHEEL(v, r) ((v) < KVER(4, 1, 0))
/* 4fb17a609167 (4.0) "tcp: mitigate ACK loops for connections as
 * tcp_timewait_sock" (tcp_timewait_check_oow_rate_limit,
 * TCPACKSkippedTimeWait/FinWait2); RHEL 7 backported it (report). */
#define F_TW_OOW_LIMIT(v, r) ((v) >= KVER(4, 0, 0) || (r))
/* af7721448a60 "tcp: introduce TCP_PAWS_WRAP", with 614e8316aa4c "tcp: add
 * support for usec resolution in TCP TS values" (6.7): tcp_paws_check uses
 * TCP_PAWS_WRAP (INT_MAX / USEC_PER_SEC). */
#define F_PAWS_WRAP(v, r) ((v) >= KVER(6, 7, 0))
/* 6.15 "tcp: add LINUX_MIB_PAWS_TW_REJECTED counter" and the drop reason
 * SKB_DROP_REASON_TCP_RFC7323_TW_PAWS in tcp_timewait_state_process:
 * in the host 6.18.44's BTF and /proc/net/netstat, not in 6.12.113's. */
#define F_PAWS_TW_MIB(v, r) ((v) >= KVER(6, 15, 0))
/* 4618e195f925 "tcp: add new TCP_TW_ACK_OOW state and allow ECN bits in TOS"
 * (v7 applied to net-next in March 2025: 6.15); absent from 6.12.113's BTF,
 * present in the host 6.18.44's. */
#define F_TW_ACK_OOW(v, r) ((v) >= KVER(6, 15, 0))
/* Jason Xing, "tcp: add more specific possible drop reasons in
 * tcp_rcv_synsent_state_process()" (net-next 2024-02-26, 6.9): before it a
 * bad ACK in SYN_SENT is freed as NOT_SPECIFIED. */
#define F_SYNSENT_DR(v, r) ((v) >= KVER(6, 9, 0))
/* c504e5c2f964 / "net: tcp: use kfree_skb_reason() for tcp_v4_rcv()"
 * (5.17): tcp_v4_rcv frees discards with a reason (NOT_SPECIFIED default). */
#define F_DROP_REASONS(v, r) ((v) >= KVER(5, 17, 0))
/* SeongJae Park, 9603d47bad46 (5.6) "tcp: Reduce SYN resend delay if a
 * suspicous ACK is received" (TCP_TIMEOUT_MIN re-arm); not in 4.19.124. */
#define F_FAST_RETRY(v, r) ((v) >= KVER(5, 6, 0))
/* eeea10b83a13 (4.15) "tcp: add tcp_v4_fill_cb()/tcp_v4_restore_cb()"
 * zeroes tcp_tw_isn before tcp_conn_request reads it; fixed by
 * 41eecbd712b7 "tcp: replace TCP_SKB_CB(skb)->tcp_tw_isn with a per-cpu
 * field" (net-next 2024-04-07, pulled for 6.10). Not in 6.1.y: Debian
 * 6.1.192 answers with a fresh ISN (measured); no 6.6.y backport found. */
#define F_TW_ISN_LOST(v, r) KIN(v, KVER(4, 15, 0), KVER(6, 10, 0))
/* ccce324dabfe (6.5) "tcp: make the first N SYN RTO backoffs linear":
 * tcp_syn_linear_timeouts = 4 (present on 6.12.113, absent on 6.1.192). */
#define F_SYN_LINEAR(v, r) ((v) >= KVER(6, 5, 0))
/* 4396e46187ca (4.12) "tcp: remove tcp_tw_recycle". */
#define F_TW_RECYCLE(v, r) ((v) < KVER(4, 12, 0))
/* tcp_tw_reuse = 2 (loopback only) default: the 4.19.124 sysctl table
 * (hypoxic/GP2-linux-4.19.124 net/ipv4/sysctl_net_ipv4.c) bounds it to 0..2;
 * 3.10 has 0/1, default 0. The commit that added 2 was not read: the range
 * starts at 4.19, the first version read that has it. */
#define F_TW_REUSE2(v, r) ((v) >= KVER(4, 19, 0))

#define KP_INIT(nm, d, v, r) {                                                  \
	.name = nm, .desc = d, .kver = (v), .rhel7 = (r),                       \
	.ts_clock = F_TS_TUPLE(v, r) ? TS_CLOCK_MS_TUPLE_OFFSET                 \
		  : F_TS_PAIR(v, r) ? TS_CLOCK_MS_PAIR_OFFSET : TS_CLOCK_JIFFIES,\
	.hz = (r) ? 1000 : 250,                                                 \
	.ts_hz = F_TS_MS(v, r) ? 1000 : (r) ? 1000 : 250,                       \
	.tw_len_s = 60,                                                         \
	.tw_len_min_ms = F_TW_WHEEL(v, r) ? 52500 : 60000, .tw_len_max_ms = 60000,\
	.oow_ratelimit = F_TW_OOW_LIMIT(v, r), .invalid_ratelimit_ms = 500,     \
	.paws_wrap_s = F_PAWS_WRAP(v, r) ? 2147 : DAYS24, .paws_msl_s = 60,     \
	.paws_ts_recent_zero_passes = true, .syn_no_ack_rearm_exempt = true,    \
	.paws_tw_counter = F_PAWS_TW_MIB(v, r) ? "TcpExtPAWSTimewait" : "TcpExtPAWSEstab",\
	.paws_tw_drop_reason = F_PAWS_TW_MIB(v, r) ? "TCP_RFC7323_TW_PAWS"     \
			     : F_DROP_REASONS(v, r) ? "NOT_SPECIFIED" : NULL,   \
	.tw_reuse_default = F_TW_REUSE2(v, r) ? 2 : 0,                          \
	.synsent_fast_retry = F_FAST_RETRY(v, r),                               \
	.syn_rto_initial_ms = 1000, .syn_retries_default = 6,                   \
	.oow_skip_counter = F_TW_OOW_LIMIT(v, r) ? "TcpExtTCPACKSkippedTimeWait" : NULL,\
	.tw_ack_oow_status = F_TW_ACK_OOW(v, r),                                \
	.synsent_drop_reasons = F_SYNSENT_DR(v, r),                             \
	.drop_reasons = F_DROP_REASONS(v, r),                                   \
	.tw_isn_lost = F_TW_ISN_LOST(v, r),                                     \
	.syn_linear_timeouts = F_SYN_LINEAR(v, r) ? 4 : 0,                      \
	.has_tw_recycle = F_TW_RECYCLE(v, r),                                   \
	.has_ts_no_offset = F_TS_NO_OFFSET(v, r),                               \
}

/* ---- presets: named kernels, the report's RHEL 7.7 first */
static const struct kprofile presets[] = {
	KP_INIT("rhel7.7", "RHEL/CentOS 7.7 3.10.0-1062 (the report's server)", KVER(3, 10, 0), true),
	KP_INIT("3.10", "upstream 3.10", KVER(3, 10, 0), false),
	KP_INIT("4.19", "upstream 4.19 (Debian 10, RHEL 8 base)", KVER(4, 19, 0), false),
	KP_INIT("5.10", "upstream 5.10 (Debian 11)", KVER(5, 10, 0), false),
	KP_INIT("6.1", "Debian 12 6.1.192 (measured under scripts/kvm)", KVER(6, 1, 192), false),
	KP_INIT("6.12", "Debian 12 backports 6.12.113 (measured under scripts/kvm)", KVER(6, 12, 113), false),
	KP_INIT("6.18", "6.18.44 (the development host, measured)", KVER(6, 18, 44), false),
};
#define NPRESETS (sizeof presets / sizeof presets[0])
static const struct kprofile *const all[] = {
	&presets[0], &presets[1], &presets[2], &presets[3], &presets[4], &presets[5],
	&presets[6], NULL,
};
_Static_assert(sizeof all / sizeof all[0] == NPRESETS + 1, "every preset listed");

const struct kprofile *const *kprofile_all(void) { return all; }

const struct kprofile *kprofile_find(const char *name)
{
	for (size_t i = 0; name && all[i]; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

void kprofile_build(uint32_t v, bool r, struct kprofile *out)
{
	struct kprofile k = KP_INIT("", NULL, v, r);

	*out = k;
	if (r)
		snprintf(out->name, sizeof out->name, "rhel7 %u.%u.%u", v / 1000000, v / 1000 % 1000, v % 1000);
	else
		snprintf(out->name, sizeof out->name, "%u.%u.%u", v / 1000000, v / 1000 % 1000, v % 1000);
	out->desc = r ? "RHEL 7 (3.10.0 with the backports named in profile.c)" : "upstream/stable";
}

bool kver_parse(const char *s, uint32_t *out)
{
	unsigned long v[3] = { 0, 0, 0 };
	char *end;

	if (!s)
		return false;
	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return false;
		v[i] = strtoul(s, &end, 10);
		if (v[i] > 999 || (i == 0 && v[i] == 0))
			return false;
		s = end;
		if (*s != '.')
			break;
		s++;
		if (i == 2)
			break;
	}
	*out = KVER(v[0], v[1], v[2]);
	return true;
}

/* "3.10.0-1062.el7.x86_64": RHEL 7 (".el7" after the sublevel). */
static bool is_rhel7(const char *s)
{
	const char *dash = strchr(s, '-');
	return dash && strstr(dash, ".el7") != NULL;
}

bool kprofile_resolve(const char *spec, struct kprofile *out)
{
	const struct kprofile *p = kprofile_find(spec);
	uint32_t v;
	bool r;

	if (p) {
		*out = *p;
		return true;
	}
	/* the facts here were read for 3.10 and later */
	if (!spec || !kver_parse(spec, &v) || v < KVER(3, 10, 0))
		return false;
	/* after the version only a release suffix may follow */
	spec += strspn(spec, "0123456789.");
	if (*spec && *spec != '-' && *spec != '+' && *spec != '_' && *spec != '~')
		return false;
	r = is_rhel7(spec) && v / 1000 == 3010;
	kprofile_build(v, r, out);
	if (r && strstr(spec, "-1062."))
		*out = presets[0];
	return true;
}

const struct kprofile *kprofile_for_release(const char *release)
{
	uint32_t want = 0;
	const struct kprofile *best = &presets[1];

	if (release && is_rhel7(release))
		return &presets[0];
	if (!kver_parse(release, &want))
		return best;
	for (size_t i = 1; all[i]; i++)
		if (all[i]->kver <= want)
			best = all[i];
	return best;
}

const char *kprofile_names(char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; all[i] && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", all[i]->name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}

enum ts_clock kprofile_ts_clock(const struct kprofile *k, int ts_sysctl, bool *no_offset)
{
	/* net/ipv4/tcp_ipv4.c tcp_v4_connect(): with tcp_timestamps=2 (and
	 * has_ts_no_offset) tp->tsoffset stays 0. */
	*no_offset = ts_sysctl == 2 && k->has_ts_no_offset;
	if (k->ts_clock == TS_CLOCK_JIFFIES)
		*no_offset = true;
	return k->ts_clock;
}

/* ---- the rule set as explain prints it: the same F_* macros */

enum {
	FT_TS_TUPLE, FT_TS_PAIR, FT_TS_MS, FT_TS_NO_OFFSET, FT_TW_WHEEL, FT_TW_OOW_LIMIT,
	FT_PAWS_WRAP, FT_PAWS_TW_MIB, FT_TW_ACK_OOW, FT_SYNSENT_DR, FT_DROP_REASONS,
	FT_FAST_RETRY, FT_TW_ISN_LOST, FT_SYN_LINEAR, FT_TW_RECYCLE, FT_TW_REUSE2, FT_N,
};

static const struct kfact facts[FT_N] = {
	[FT_TS_TUPLE] = { "ts_offset_per_4tuple",
		"TSval offset per 4-tuple: every client port looks like a new clock behind NAT",
		"4.10.x; 6.1.192+ (measured: 6.1.190 not), 6.12.94+, 6.18.17+, 6.19.7+, 7.0 (165573e41f2f)",
		"net/core/secure_seq.c secure_tcp_ts_off / secure_tcp_seq_and_ts_off" },
	[FT_TS_PAIR] = { "ts_offset_per_pair",
		"TSval offset per (saddr, daddr): hosts behind one SNAT address differ",
		"4.11+ until the 165573e41f2f backport of each stable line (28ee1b746f49)",
		"net/core/secure_seq.c secure_tcp_ts_off(net, saddr, daddr)" },
	[FT_TS_MS] = { "ts_clock_1ms", "TSval ticks at 1 kHz (before: jiffies, HZ)",
		"4.13+ (9a568de4818d)", "include/net/tcp.h tcp_time_stamp / tcp_clock_ms" },
	[FT_TS_NO_OFFSET] = { "tcp_timestamps_2", "tcp_timestamps=2 sends TS without the random offset",
		"4.10+ (with the 95a22caee396 offsets; ip-sysctl)", "net/ipv4/tcp_ipv4.c tcp_v4_connect (tsoffset)" },
	[FT_TW_WHEEL] = { "tw_timer_wheel",
		"TIME_WAIT reaped by the central 8-slot wheel: lives 52.5-60 s, not 60 s",
		"< 4.1 (789f558cfb36 removed it)", "net/ipv4/inet_timewait_sock.c inet_twdr_hangman, 3.10" },
	[FT_TW_OOW_LIMIT] = { "tw_oow_ratelimit",
		"TIME_WAIT ACKs limited to one per tcp_invalid_ratelimit (500 ms); "
		"TcpExtTCPACKSkippedTimeWait/FinWait2",
		"4.0+ (4fb17a609167); RHEL 7 backport", "net/ipv4/tcp_minisocks.c tcp_timewait_check_oow_rate_limit" },
	[FT_PAWS_WRAP] = { "paws_wrap_2147s",
		"PAWS ignores a ts_recent older than TCP_PAWS_WRAP = 2147 s (before: 24 days)",
		"6.7+ (af7721448a60, 614e8316aa4c)", "include/net/tcp.h tcp_paws_check" },
	[FT_PAWS_TW_MIB] = { "paws_timewait_counter",
		"a PAWS reject in TIME_WAIT counts TcpExtPAWSTimewait and is dropped as "
		"TCP_RFC7323_TW_PAWS (before: TcpExtPAWSEstab)",
		"6.15+ (host 6.18.44 BTF has it, 6.12.113 not)", "net/ipv4/tcp_minisocks.c tcp_timewait_state_process" },
	[FT_TW_ACK_OOW] = { "tw_ack_oow_status",
		"an out-of-window TIME_WAIT ACK is TCP_TW_ACK_OOW: ECN bits of TOS cleared",
		"6.15+ (4618e195f925; absent from 6.12.113 BTF)", "net/ipv4/tcp_ipv4.c tcp_v4_timewait_ack" },
	[FT_SYNSENT_DR] = { "synsent_drop_reasons",
		"SYN_SENT bad ACK freed as TCP_INVALID_ACK_SEQUENCE, tsecr reject as TCP_RFC7323_PAWS "
		"(before: NOT_SPECIFIED)",
		"6.9+ (Jason Xing, net-next 2024-02-26)", "net/ipv4/tcp_input.c tcp_rcv_synsent_state_process" },
	[FT_DROP_REASONS] = { "kfree_skb_reason",
		"every discarded segment has a drop reason (NOT_SPECIFIED when no better one)",
		"5.17+", "net/ipv4/tcp_ipv4.c tcp_v4_rcv discard_it" },
	[FT_FAST_RETRY] = { "synsent_fast_retry",
		"a bad ACK in SYN_SENT re-arms the SYN timer at TCP_TIMEOUT_MIN (2 jiffies): fast retry",
		"5.6+ (9603d47bad46); not in 4.19.124", "net/ipv4/tcp_input.c tcp_rcv_synsent_state_process" },
	[FT_TW_ISN_LOST] = { "tw_isn_lost",
		"a SYN accepted by TIME_WAIT gets a fresh ISN, not tw_snd_nxt + 65537",
		"4.15 .. 6.9 (eeea10b83a13 .. 41eecbd712b7); measured on 6.1.192",
		"net/ipv4/tcp_ipv4.c tcp_v4_fill_cb, tcp_input.c tcp_conn_request" },
	[FT_SYN_LINEAR] = { "syn_linear_timeouts",
		"the first 4 SYN retransmissions 1 s apart (tcp_syn_linear_timeouts=4), "
		"then doubling; 10 retransmissions before ETIMEDOUT",
		"6.5+ (ccce324dabfe; sysctl on 6.12.113, not on 6.1.192)", "net/ipv4/tcp_timer.c tcp_retransmit_timer" },
	[FT_TW_RECYCLE] = { "tcp_tw_recycle",
		"tcp_tw_recycle exists: =1 drops a listener SYN whose tsval is older than the peer "
		"address's last one (PAWSPassive) and shortens TIME_WAIT to 3.5 RTO",
		"< 4.12 (4396e46187ca removed it)", "net/ipv4/tcp_ipv4.c tcp_v4_conn_request, tcp_metrics.c tcp_peer_is_proven" },
	[FT_TW_REUSE2] = { "tw_reuse_loopback",
		"tcp_tw_reuse defaults to 2 (loopback only)", "4.19+ (4.19.124 sysctl bounds 0..2)",
		"net/ipv4/sysctl_net_ipv4.c, tcp_ipv4.c tcp_sk_init" },
};

static bool holds(unsigned f, uint32_t v, bool r)
{
	switch (f) {
	case FT_TS_TUPLE: return F_TS_TUPLE(v, r);
	case FT_TS_PAIR: return F_TS_PAIR(v, r);
	case FT_TS_MS: return F_TS_MS(v, r);
	case FT_TS_NO_OFFSET: return F_TS_NO_OFFSET(v, r);
	case FT_TW_WHEEL: return F_TW_WHEEL(v, r);
	case FT_TW_OOW_LIMIT: return F_TW_OOW_LIMIT(v, r);
	case FT_PAWS_WRAP: return F_PAWS_WRAP(v, r);
	case FT_PAWS_TW_MIB: return F_PAWS_TW_MIB(v, r);
	case FT_TW_ACK_OOW: return F_TW_ACK_OOW(v, r);
	case FT_SYNSENT_DR: return F_SYNSENT_DR(v, r);
	case FT_DROP_REASONS: return F_DROP_REASONS(v, r);
	case FT_FAST_RETRY: return F_FAST_RETRY(v, r);
	case FT_TW_ISN_LOST: return F_TW_ISN_LOST(v, r);
	case FT_SYN_LINEAR: return F_SYN_LINEAR(v, r);
	case FT_TW_RECYCLE: return F_TW_RECYCLE(v, r);
	case FT_TW_REUSE2: return F_TW_REUSE2(v, r);
	}
	return false;
}

const struct kfact *kfact_get(unsigned i, const struct kprofile *k, bool *h)
{
	if (i >= FT_N)
		return NULL;
	*h = holds(i, k->kver, k->rhel7);
	return &facts[i];
}
