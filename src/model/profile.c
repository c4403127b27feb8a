/*
 * profile.c - what differs between the kernels twlab models.
 *
 * Each fact cites the source it was read from. Mirrors used: 3.10 =
 * AndreiLux/ref-3.10, 6.18 = 6952350/linux-6.18.y; 4.19/5.10/6.1 follow the
 * upstream commit that introduced each change (named below).
 *
 * Timestamp clock
 *   3.10: tcp_time_stamp = (__u32)jiffies, no offset (include/net/tcp.h);
 *         RHEL 7 is built with HZ=1000, so tsval ticks at 1 kHz and the s32
 *         comparison wraps after 2^31 ms = 24.8 days of uptime.
 *   >= 4.13: 1 ms clock (tcp_clock_ms), and since 4.12 ("secure_seq:
 *         downgrade to per-host timestamp offsets") a random offset per
 *         (saddr, daddr) from secure_tcp_ts_off(): two hosts behind one SNAT
 *         address present unrelated clocks to the server.
 *   6.18: the offset comes from secure_tcp_seq_and_ts_off(saddr, daddr,
 *         sport, dport) (net/ipv4/tcp_ipv4.c tcp_v4_connect()): ports are in
 *         the hash again, so even one client presents a different clock on
 *         every local port. Proven in the lab on 6.18.44: the same client
 *         namespace showed tsval 3590267185 on port 41000 and 1257984731 on
 *         port 41001 within 4 s (lab repro measures each port's clock).
 * PAWS staleness (include/net/tcp.h: tcp_paws_check)
 *   <= 6.6: get_seconds() >= ts_recent_stamp + TCP_PAWS_24DAYS passes.
 *   >= 6.7: TCP_PAWS_WRAP = INT_MAX / USEC_PER_SEC = 2147 s (usec TS support).
 *   All: !ts_recent passes (3.10 tcp.h has it; 6.18 too).
 *   RST: passes once ts_recent_stamp is TCP_PAWS_MSL = 60 s old (tcp_paws_reject).
 * Out-of-window ACK rate limit (net/ipv4/tcp_minisocks.c:
 *   tcp_timewait_check_oow_rate_limit -> tcp_input.c: tcp_oow_rate_limited)
 *   added upstream in 4.0 ("tcp: mitigate ACK loops for connections as
 *   tcp_timewait_sock"); not in upstream 3.10 (its TIME_WAIT path returns
 *   TCP_TW_ACK unconditionally). Whether RHEL 7.7 backported it cannot be
 *   checked from public source here: the 3.10 profile models upstream.
 * Counters (include/uapi/linux/snmp.h, net/ipv4/proc.c)
 *   <= 6.1: a PAWS-rejected segment in TIME_WAIT bumps PAWSEstab
 *           (LINUX_MIB_PAWSESTABREJECTED, "TcpExtPAWSEstab").
 *   6.18:  LINUX_MIB_PAWS_TW_REJECTED ("TcpExtPAWSTimewait") and the
 *           kfree_skb reason SKB_DROP_REASON_TCP_RFC7323_TW_PAWS
 *           (tcp_timewait_state_process, 6.18).
 * tcp_tw_recycle (3.10 only, removed in 4.12): with it on, tcp_time_wait()
 *   shortens tw_timeout to the RTO and the listener drops SYNs whose tsval
 *   is older than the peer's remembered one (tcp_v4_conn_request). Default
 *   0 and a LISTEN-side rule: not modelled (AndreiLux/ref-3.10
 *   net/ipv4/tcp_minisocks.c tcp_time_wait, recycle_ok).
 * tcp_tw_reuse: 3.10 accepts 0/1 (default 0); 4.19 already bounds it to
 *   0..2 (hypoxic/GP2-linux-4.19.124 net/ipv4/sysctl_net_ipv4.c, "tcp_tw_reuse"
 *   extra2 = &two), 2 = loopback only is the default there and later. The
 *   4.19 default value itself (tcp_sk_init in tcp_ipv4.c) was not readable
 *   in a stored 4.19 mirror.
 * tcp_invalid_ratelimit is kept in jiffies (proc_dointvec_ms_jiffies, 4.19
 *   sysctl_net_ipv4.c) and compared with tcp_jiffies32 in
 *   __tcp_oow_rate_limited: the 500 ms default is 125 jiffies at HZ=250, so
 *   the model's millisecond comparison is exact only to one jiffy.
 * TCP_TW_ACK_OOW (6.18 tcp_minisocks.c tcp_timewait_check_oow_rate_limit,
 *   tcp_ipv4.c tcp_v4_timewait_ack): the rate-limited-path ACK is reported
 *   as TCP_TW_ACK_OOW and sent with the ECN bits of TOS cleared; the FIN_WAIT2
 *   -> TIME_WAIT ACK stays TCP_TW_ACK. Not in 4.19/5.10/6.1 (plain TCP_TW_ACK).
 * SYN_SENT bad ACK (net/ipv4/tcp_input.c: tcp_rcv_synsent_state_process)
 *   3.10: goto reset_and_undo only; the SYN waits for its RTO (1 s).
 *   6.18: "Previous FIN/ACK or RST/ACK might be ignored": when
 *         icsk_retransmits == 0 the retransmit timer is re-armed at
 *         TCP_TIMEOUT_MIN (2 jiffies: 8 ms at HZ=250, 2 ms at HZ=1000).
 *   4.19: absent (read in hypoxic/GP2-linux-4.19.124 tcp_input.c
 *         tcp_rcv_synsent_state_process: plain goto reset_and_undo).
 *   5.10: present (read in Rtoax/linux-5.10.13, same function); 6.1 is
 *         later than 5.10 and keeps it (no 6.1 mirror file was stored).
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAYS24 (60u * 60u * 24u * 24u)

static const struct kprofile k310 = {
	.name = "3.10", .desc = "RHEL/CentOS 7.7 3.10.0-1062",
	.ts_clock = TS_CLOCK_JIFFIES, .ts_hz = 1000, .hz = 1000,
	.tw_len_s = 60, .oow_ratelimit = false, .invalid_ratelimit_ms = 500,
	.paws_wrap_s = DAYS24, .paws_msl_s = 60, .paws_ts_recent_zero_passes = true,
	.syn_no_ack_rearm_exempt = true,
	.paws_tw_counter = "TcpExtPAWSEstab", .paws_tw_drop_reason = NULL,
	.tw_reuse_default = 0, .synsent_fast_retry = false,
	.syn_rto_initial_ms = 1000, .syn_retries_default = 6,
	.oow_skip_counter = NULL,
};

static const struct kprofile k419 = {
	.name = "4.19", .desc = "upstream 4.19 (Debian 10, RHEL 8 base)",
	.ts_clock = TS_CLOCK_MS_PAIR_OFFSET, .ts_hz = 1000, .hz = 250,
	.tw_len_s = 60, .oow_ratelimit = true, .invalid_ratelimit_ms = 500,
	.paws_wrap_s = DAYS24, .paws_msl_s = 60, .paws_ts_recent_zero_passes = true,
	.syn_no_ack_rearm_exempt = true,
	.paws_tw_counter = "TcpExtPAWSEstab", .paws_tw_drop_reason = NULL,
	.tw_reuse_default = 2, .synsent_fast_retry = false,
	.syn_rto_initial_ms = 1000, .syn_retries_default = 6,
	.oow_skip_counter = "TcpExtTCPACKSkippedTimeWait",
};

static const struct kprofile k510 = {
	.name = "5.10", .desc = "upstream 5.10 (Debian 11)",
	.ts_clock = TS_CLOCK_MS_PAIR_OFFSET, .ts_hz = 1000, .hz = 250,
	.tw_len_s = 60, .oow_ratelimit = true, .invalid_ratelimit_ms = 500,
	.paws_wrap_s = DAYS24, .paws_msl_s = 60, .paws_ts_recent_zero_passes = true,
	.syn_no_ack_rearm_exempt = true,
	.paws_tw_counter = "TcpExtPAWSEstab", .paws_tw_drop_reason = NULL,
	.tw_reuse_default = 2, .synsent_fast_retry = true,
	.syn_rto_initial_ms = 1000, .syn_retries_default = 6,
	.oow_skip_counter = "TcpExtTCPACKSkippedTimeWait",
};

static const struct kprofile k61 = {
	.synsent_drop_reasons = true, /* not read: no 6.1 tcp_input.c mirror stored */
	.name = "6.1", .desc = "upstream 6.1 (Debian 12)",
	.ts_clock = TS_CLOCK_MS_PAIR_OFFSET, .ts_hz = 1000, .hz = 250,
	.tw_len_s = 60, .oow_ratelimit = true, .invalid_ratelimit_ms = 500,
	.paws_wrap_s = DAYS24, .paws_msl_s = 60, .paws_ts_recent_zero_passes = true,
	.syn_no_ack_rearm_exempt = true,
	.paws_tw_counter = "TcpExtPAWSEstab", .paws_tw_drop_reason = NULL,
	.tw_reuse_default = 2, .synsent_fast_retry = true,
	.syn_rto_initial_ms = 1000, .syn_retries_default = 6,
	.oow_skip_counter = "TcpExtTCPACKSkippedTimeWait",
};

static const struct kprofile k618 = {
	.synsent_drop_reasons = true, /* leftymods/linux-6.18.y tcp_input.c */
	.name = "6.18", .desc = "upstream 6.18",
	.ts_clock = TS_CLOCK_MS_TUPLE_OFFSET, .ts_hz = 1000, .hz = 250,
	.tw_len_s = 60, .oow_ratelimit = true, .invalid_ratelimit_ms = 500,
	.paws_wrap_s = 2147, .paws_msl_s = 60, .paws_ts_recent_zero_passes = true,
	.syn_no_ack_rearm_exempt = true,
	.paws_tw_counter = "TcpExtPAWSTimewait",
	.paws_tw_drop_reason = "TCP_RFC7323_TW_PAWS", .tw_ack_oow_status = true,
	.tw_reuse_default = 2, .synsent_fast_retry = true,
	.syn_rto_initial_ms = 1000, .syn_retries_default = 6,
	.oow_skip_counter = "TcpExtTCPACKSkippedTimeWait",
};

static const struct kprofile *const all[] = { &k310, &k419, &k510, &k61, &k618, NULL };

const struct kprofile *const *kprofile_all(void) { return all; }

const struct kprofile *kprofile_find(const char *name)
{
	for (size_t i = 0; name && all[i]; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
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

/* "6.18.44-fc" -> 6018; "3.10.0-1062.el7" -> 3010; junk -> 0 */
static unsigned version_key(const char *s)
{
	char *end;
	unsigned long maj, min;

	if (!s)
		return 0;
	maj = strtoul(s, &end, 10);
	if (end == s || *end != '.')
		return 0;
	s = end + 1;
	min = strtoul(s, &end, 10);
	if (end == s || maj > 99 || min > 999)
		return 0;
	return (unsigned)(maj * 1000 + min);
}

const struct kprofile *kprofile_for_release(const char *release)
{
	unsigned want = version_key(release);
	const struct kprofile *best = all[0];

	for (size_t i = 0; all[i]; i++)
		if (version_key(all[i]->name) <= want)
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
