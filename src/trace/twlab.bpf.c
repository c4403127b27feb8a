// SPDX-License-Identifier: GPL-2.0
/*
 * twlab.bpf.c - kernel side of `twlab trace`.
 *
 * Baseline (works without kprobes and without fentry/fexit permission):
 *  - tp_btf/kfree_skb: a segment freed with rx_sk = a TIME_WAIT socket is a
 *    segment tcp_v4_rcv() handed to tcp_timewait_state_process() and then
 *    discarded (discard_it). Reason TCP_RFC7323_TW_PAWS = PAWS rejection;
 *    NOT_SPECIFIED = anything else (a SYN there was not after tw_rcv_nxt, or
 *    had no usable listener).
 *  - tp_btf/tcp_send_reset with sk in SYN_SENT: the client reset a bad ACK.
 *  - tp_btf/tcp_receive_reset, tp_btf/inet_sock_set_state: counters.
 * Optional: fexit/tcp_timewait_state_process for the exact verdict (and the
 * accepted SYNs, which are not freed), loaded only where permitted.
 *
 * Only facts leave the kernel: the segment's headers as received, the
 * socket's fields and the namespace's sysctls, read with CO-RE. What they
 * mean is decided in user space (src/trace/classify.c asks src/model/).
 * As in bcc's tcpconnect, each program is a shim into one inline handler
 * and emit() is the only place an event is reserved and submitted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define __bpf__ 1
#include "trace/trace.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define IPPROTO_TCP 6

const volatile __u32 f_saddr = 0, f_daddr = 0, f_netns = 0;
const volatile __u16 f_sport = 0, f_dport = 0;
/* Before 6.11 skb:kfree_skb has no rx_sk: the socket a freed segment found
 * is unknown there, so the fexit program reports the TIME_WAIT drops itself
 * (every status but TCP_TW_SYN ends in discard_it), without a drop reason. */
const volatile bool fexit_drops = false;
#define TW_REASON_NONE 0xffffffffu
/* From the running kernel's config (libbpf reads /proc/config.gz or
 * /boot/config-*); 0 when unavailable: jiffy-based fields are then unknown. */
extern unsigned int CONFIG_HZ __kconfig __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* fexit -> kfree_skb hand-off on the same CPU (same softirq path). */
struct last_verdict { __u64 skb; __s32 verdict; __u32 pad; };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct last_verdict);
} scratch SEC(".maps");

/* fentry -> event hand-off on the same CPU: tw_last_oow_ack_time as
 * tcp_timewait_state_process() found it. The event paths (fexit, and
 * kfree_skb later in the same softirq) read the socket after the kernel
 * processed the segment, when __tcp_oow_rate_limited() may have stamped it
 * with this segment's ACK; keyed by (tw, skb) so a stale snapshot of another
 * segment is never used. */
struct oow_entry { __u64 tw, skb; __u32 last; __u32 jiffies; };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct oow_entry);
} oow_snap SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		(*v)++;
}

/* A record in the ring: the event after an 8-byte header, 8-byte aligned. */
#define RECORD_BYTES ((sizeof(struct twlab_event) + 8 + 7) & ~7UL)

/* The only emitter: one reserve/submit pair. The reader is woken only
 * when a batch is waiting: a wakeup (irq_work) costs several times the rest
 * of the program (bench/trace: ~3.5 us vs ~0.8 us per event), and a reader
 * that keeps up would otherwise be woken for every event. It polls every
 * TRACE_POLL_MS anyway, so a lone event waits at most that long. */
static __always_inline void emit(struct twlab_event *tmp, __u32 type)
{
	struct twlab_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 avail, wake;

	if (!e) {
		count(TC_LOST);
		return;
	}
	tmp->ts_ns = bpf_ktime_get_ns();
	tmp->type = type;
	__builtin_memcpy(e, tmp, sizeof(*e));
	/* once, when this record makes the waiting data cross the mark (the
	 * reserved record is counted already): a reader still busy with the
	 * last batch is not woken again for every further event */
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	wake = avail >= TRACE_WAKEUP_BYTES && avail < TRACE_WAKEUP_BYTES + RECORD_BYTES ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, wake);
}

static __always_inline bool pass(const struct twlab_event *e)
{
	if ((f_saddr && f_saddr != e->saddr) || (f_daddr && f_daddr != e->daddr) ||
	    (f_sport && f_sport != e->sport) || (f_dport && f_dport != e->dport) ||
	    (f_netns && f_netns != e->netns)) {
		count(TC_FILTERED);
		return false;
	}
	return true;
}

static __always_inline __u32 jiffies_to_ms(__u64 j)
{
	return CONFIG_HZ ? (__u32)(j * 1000 / CONFIG_HZ) : 0;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* After the filters: the sysctls of sk's namespace that decide what
 * tcp_timewait_state_process() does (unknown: -1). */
static __always_inline void read_sysctls(const struct sock *sk, struct twlab_event *e)
{
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

	e->invalid_ratelimit_ms = -1;
	e->rfc1337 = -1;
	e->timestamps = -1;
	if (bpf_core_field_exists(net->ipv4.sysctl_tcp_invalid_ratelimit) && CONFIG_HZ)
		e->invalid_ratelimit_ms = jiffies_to_ms(BPF_CORE_READ(net, ipv4.sysctl_tcp_invalid_ratelimit));
	if (bpf_core_field_exists(net->ipv4.sysctl_tcp_rfc1337))
		e->rfc1337 = BPF_CORE_READ(net, ipv4.sysctl_tcp_rfc1337);
	if (bpf_core_field_exists(net->ipv4.sysctl_tcp_timestamps))
		e->timestamps = BPF_CORE_READ(net, ipv4.sysctl_tcp_timestamps);
}

/* skb's IPv4 and TCP headers into e->pkt; with fill_tuple the 4-tuple as
 * sent (client -> server for a segment arriving at a server). */
static __always_inline int read_pkt(const struct sk_buff *skb, struct twlab_event *e, bool fill_tuple)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 thoff = BPF_CORE_READ(skb, transport_header);
	struct iphdr ip;
	struct tcphdr th;
	__u32 n;

	if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
		return -1;
	if (ip.version != 4 || ip.protocol != IPPROTO_TCP)
		return -1;
	if (bpf_probe_read_kernel(&th, sizeof(th), head + thoff))
		return -1;
	if (fill_tuple) {
		e->saddr = ip.saddr;
		e->daddr = ip.daddr;
		e->sport = bpf_ntohs(th.source);
		e->dport = bpf_ntohs(th.dest);
	}
	n = (__u32)(__u16)(thoff - nh) + th.doff * 4;
	if (n > 120)
		n = 120;
	n &= TRACE_PKT_MAX - 1;
	if (bpf_probe_read_kernel(e->pkt, n, head + nh))
		return -1;
	e->pkt_len = n;
	return 0;
}

/* The fentry snapshot for (sk, skb) into e, consumed; e->oow_entry 0 when
 * there is none (fentry not attached, or another segment's). */
static __always_inline void take_oow_entry(const struct sock *sk, const struct sk_buff *skb,
					   struct twlab_event *e)
{
	__u32 zero = 0;
	struct oow_entry *s = bpf_map_lookup_elem(&oow_snap, &zero);

	e->tw_oow_ack_entry_age_ms = -1;
	if (!s || s->tw != (__u64)sk || s->skb != (__u64)skb || !CONFIG_HZ)
		return;
	e->oow_entry = 1;
	if (s->last) {
		/* what __tcp_oow_rate_limited() computes: (s32)(tcp_jiffies32 - stamp) */
		__s32 el = (__s32)(s->jiffies - s->last);
		if (el >= 0)
			e->tw_oow_ack_entry_age_ms = jiffies_to_ms(el);
	}
	s->tw = 0;
	s->skb = 0;
}

static __always_inline void read_tw(const struct sock *sk, struct twlab_event *e)
{
	const struct tcp_timewait_sock *tw = (const void *)sk;
	__s32 stamp;
	__u32 last;

	e->tw_rcv_nxt = BPF_CORE_READ(sk, __sk_common.skc_tw_rcv_nxt);
	e->tw_snd_nxt = BPF_CORE_READ(sk, __sk_common.skc_tw_snd_nxt);
	e->tw_rcv_wnd = BPF_CORE_READ(tw, tw_rcv_wnd);
	e->tw_ts_recent = BPF_CORE_READ(tw, tw_ts_recent);
	e->tw_ts_offset = BPF_CORE_READ(tw, tw_ts_offset);
	stamp = BPF_CORE_READ(tw, tw_ts_recent_stamp);
	e->tw_ts_recent_stamp = stamp;
	/* ktime_get_seconds() is CLOCK_MONOTONIC seconds, like bpf_ktime_get_ns() */
	e->tw_ts_recent_age = stamp ? (__u32)(bpf_ktime_get_ns() / 1000000000ULL) - (__u32)stamp : 0;
	e->tw_fin_wait2 = BPF_CORE_READ(tw, tw_sk.tw_substate) == TCP_FIN_WAIT2;
	/* tcp_oow_rate_limited() compares tcp_jiffies32 with this stamp */
	last = BPF_CORE_READ(tw, tw_last_oow_ack_time);
	e->tw_oow_ack_age_ms = -1;
	e->tw_oow_ack_age_j = -1;
	if (last && CONFIG_HZ) {
		__s32 el = (__s32)((__u32)bpf_jiffies64() - last);
		if (el >= 0) {
			e->tw_oow_ack_age_ms = jiffies_to_ms(el);
			e->tw_oow_ack_age_j = el;
		}
	}
}

/* fexit: count the status and leave it for kfree_skb on this CPU; true for
 * TCP_TW_SYN (an accepted SYN is not freed: report it from here). */
static __always_inline bool note_verdict(const struct sk_buff *skb, __s32 ret)
{
	__u32 zero = 0;
	struct last_verdict *lv;

	if (ret >= 0 && ret <= 4)
		count(TC_TW_VERDICT_SUCCESS + ret);
	lv = bpf_map_lookup_elem(&scratch, &zero);
	if (lv) {
		lv->skb = (__u64)skb;
		lv->verdict = ret;
	}
	return ret == TCP_TW_SYN;
}

static __always_inline __s32 take_verdict(const struct sk_buff *skb)
{
	__u32 zero = 0;
	struct last_verdict *lv = bpf_map_lookup_elem(&scratch, &zero);
	__s32 v = -1;

	if (lv && lv->skb == (__u64)skb) {
		v = lv->verdict;
		lv->skb = 0;
	}
	return v;
}

/* A segment that met a TIME_WAIT socket: freed (kfree_skb) or accepted
 * (fexit, TCP_TW_SYN). */
static __always_inline void on_tw(const struct sock *sk, const struct sk_buff *skb, __u32 type,
				  __u32 reason, __s32 verdict)
{
	struct twlab_event e = {};

	if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		return;
	if (read_pkt(skb, &e, true))
		return;
	e.netns = sk_netns(sk);
	if (!pass(&e))
		return;
	read_sysctls(sk, &e);
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TCP_RFC7323_TW_PAWS))
		e.reason_paws = bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_RFC7323_TW_PAWS);
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		e.reason_unspec = bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED);
	if (type == TEV_TW_DROP)
		count(e.reason_paws && reason == e.reason_paws ? TC_TW_DROP_PAWS : TC_TW_DROP_OTHER);
	if (reason == TW_REASON_NONE)   /* fexit_drops: no reason seen; 6.1-6.14 free as NOT_SPECIFIED */
		reason = e.reason_unspec;
	e.reason = reason;
	e.verdict = verdict;
	take_oow_entry(sk, skb, &e);
	read_tw(sk, &e);
	emit(&e, type);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	if (rx_sk && BPF_CORE_READ(rx_sk, __sk_common.skc_state) == TCP_TIME_WAIT)
		on_tw(rx_sk, skb, TEV_TW_DROP, reason, take_verdict(skb));
	return 0;
}

/* A client in SYN_SENT resetting the segment skb (a bad ACK). */
static __always_inline void on_synsent(const struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_sock *tp = (const void *)sk;
	struct twlab_event e = {};

	if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		return;
	e.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	e.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e.netns = sk_netns(sk);
	if (!pass(&e))
		return;
	count(TC_SYNSENT_RESET);
	if (read_pkt(skb, &e, false))
		return;
	e.verdict = -1;
	e.snd_una = BPF_CORE_READ(tp, snd_una);
	e.snd_nxt = BPF_CORE_READ(tp, snd_nxt);
	e.syn_retransmits = BPF_CORE_READ(tp, inet_conn.icsk_retransmits);
	emit(&e, TEV_SYNSENT_RESET);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	if (sk && skb && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
		on_synsent(sk, skb);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(on_receive_reset, struct sock *sk)
{
	count(TC_RECEIVE_RESET);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate == TCP_SYN_SENT &&
	    BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
		count(TC_SYN_SENT);
	return 0;
}

/* Not loadable on this build host: the kernel refuses the fexit program
 * with EPERM at load time (`twlab trace -v` shows libbpf's "BPF program load
 * failed: Operation not permitted"), so this code has only been compiled,
 * never run. It is tried at run time; trace_open() falls back without it. */
static __always_inline int tw_exit(struct inet_timewait_sock *tw, struct sk_buff *skb, __s32 ret)
{
	if (note_verdict(skb, ret))
		on_tw((const struct sock *)tw, skb, TEV_TW_SYN_ACCEPTED, 0, ret);
	else if (fexit_drops)
		on_tw((const struct sock *)tw, skb, TEV_TW_DROP, TW_REASON_NONE, ret);
	return 0;
}

/* Entry of tcp_timewait_state_process (tw and skb are its first two
 * arguments in every signature): tw_last_oow_ack_time and tcp_jiffies32
 * before the kernel can stamp it. Loaded and attached with the fexit
 * program (both BPF trampolines); without it the event path falls back to
 * a tolerance (src/trace/classify.c). */
SEC("fentry/tcp_timewait_state_process")
int BPF_PROG(on_tw_entry, struct inet_timewait_sock *tw, struct sk_buff *skb)
{
	const struct tcp_timewait_sock *tcptw = (const void *)tw;
	__u32 zero = 0;
	struct oow_entry *s = bpf_map_lookup_elem(&oow_snap, &zero);

	if (s) {
		s->tw = (__u64)tw;
		s->skb = (__u64)skb;
		s->last = BPF_CORE_READ(tcptw, tw_last_oow_ack_time);
		s->jiffies = (__u32)bpf_jiffies64();
	}
	return 0;
}

/* One entry point per signature of tcp_timewait_state_process (fexit reads
 * the return value after the arguments): (tw, skb, th) before 6.10,
 * + u32 *tw_isn from 6.10 (41eecbd712b7), + enum skb_drop_reason
 * *drop_reason from 6.15. User space loads the one the kernel's BTF has. */
SEC("fexit/tcp_timewait_state_process")
int BPF_PROG(on_tw_exit, struct inet_timewait_sock *tw, struct sk_buff *skb,
	     const struct tcphdr *th, u32 *tw_isn, enum skb_drop_reason *drop_reason,
	     enum tcp_tw_status ret)
{
	return tw_exit(tw, skb, ret);
}

SEC("fexit/tcp_timewait_state_process")
int BPF_PROG(on_tw_exit4, struct inet_timewait_sock *tw, struct sk_buff *skb,
	     const struct tcphdr *th, u32 *tw_isn, int ret)
{
	return tw_exit(tw, skb, ret);
}

SEC("fexit/tcp_timewait_state_process")
int BPF_PROG(on_tw_exit3, struct inet_timewait_sock *tw, struct sk_buff *skb,
	     const struct tcphdr *th, int ret)
{
	return tw_exit(tw, skb, ret);
}
