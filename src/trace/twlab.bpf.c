// SPDX-License-Identifier: GPL-2.0
/*
 * twlab.bpf.c - kernel side of `twlab trace`.
 *
 * Baseline (works without kprobes and without fentry/fexit permission):
 *  - tp_btf/kfree_skb: a segment freed with rx_sk = a TIME_WAIT socket is a
 *    segment tcp_v4_rcv() handed to tcp_timewait_state_process() and then
 *    discarded (discard_it). Reason TCP_RFC7323_TW_PAWS = PAWS rejection;
 *    NOT_SPECIFIED = anything else (a SYN there was not after tw_rcv_nxt, or
 *    had no usable listener). The socket's fields are read with CO-RE; the
 *    cause is decided in user space by src/model.
 *  - tp_btf/tcp_send_reset with sk in SYN_SENT: the client reset a bad ACK.
 *  - tp_btf/tcp_receive_reset, tp_btf/inet_sock_set_state: counters.
 * Optional: fexit/tcp_timewait_state_process for the exact verdict (and the
 * accepted SYNs, which are not freed), loaded only where permitted.
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
/* Before 6.11 skb:kfree_skb has no rx_sk: the TIME_WAIT socket of a freed
 * segment is unknown there, so the fexit program reports the drops itself
 * (every verdict but TCP_TW_SYN ends in discard_it). */
const volatile bool fexit_drops = false;
const volatile __u16 f_sport = 0, f_dport = 0;

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

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		(*v)++;
}

static __always_inline bool pass(__u32 saddr, __u32 daddr, __u16 sport, __u16 dport, __u32 netns)
{
	if ((f_saddr && f_saddr != saddr) || (f_daddr && f_daddr != daddr) ||
	    (f_sport && f_sport != sport) || (f_dport && f_dport != dport) ||
	    (f_netns && f_netns != netns)) {
		count(TC_FILTERED);
		return false;
	}
	return true;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* IPv4 addresses and the TCP header of skb, client -> server as sent. */
static __always_inline int skb_tcp(const struct sk_buff *skb, struct twlab_event *e, bool fill_tuple)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 thoff = BPF_CORE_READ(skb, transport_header);
	struct iphdr ip;
	struct tcphdr th;

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
	e->th_len = th.doff * 4;
	if (e->th_len > TRACE_TCPHDR_MAX)
		e->th_len = TRACE_TCPHDR_MAX;
	bpf_probe_read_kernel(e->th, TRACE_TCPHDR_MAX, head + thoff);
	return 0;
}

static __always_inline void read_tw(const struct sock *sk, struct twlab_event *e)
{
	const struct tcp_timewait_sock *tw = (const void *)sk;
	__s32 stamp;

	e->tw_rcv_nxt = BPF_CORE_READ(sk, __sk_common.skc_tw_rcv_nxt);
	e->tw_snd_nxt = BPF_CORE_READ(sk, __sk_common.skc_tw_snd_nxt);
	e->tw_rcv_wnd = BPF_CORE_READ(tw, tw_rcv_wnd);
	e->tw_ts_recent = BPF_CORE_READ(tw, tw_ts_recent);
	e->tw_ts_offset = BPF_CORE_READ(tw, tw_ts_offset);
	stamp = BPF_CORE_READ(tw, tw_ts_recent_stamp);
	e->tw_ts_recent_stamp = stamp;
	/* ktime_get_seconds() is CLOCK_MONOTONIC seconds, like bpf_ktime_get_ns() */
	e->tw_ts_recent_age = stamp ? (__u32)(bpf_ktime_get_ns() / 1000000000ULL) - (__u32)stamp : 0;
	e->tw_substate = BPF_CORE_READ(tw, tw_sk.tw_substate);
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

SEC("tp_btf/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	__u32 paws = 0;
	struct twlab_event *e;
	struct twlab_event tmp = {};

	if (!rx_sk)
		return 0;
	if (BPF_CORE_READ(rx_sk, __sk_common.skc_state) != TCP_TIME_WAIT ||
	    BPF_CORE_READ(rx_sk, __sk_common.skc_family) != AF_INET)
		return 0;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TCP_RFC7323_TW_PAWS))
		paws = bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_RFC7323_TW_PAWS);
	if (skb_tcp(skb, &tmp, true))
		return 0;
	tmp.netns = sk_netns(rx_sk);
	if (!pass(tmp.saddr, tmp.daddr, tmp.sport, tmp.dport, tmp.netns))
		return 0;
	count(paws && reason == paws ? TC_TW_DROP_PAWS : TC_TW_DROP_OTHER);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(TC_LOST);
		return 0;
	}
	__builtin_memcpy(e, &tmp, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = TEV_TW_DROP;
	e->reason = reason;
	e->reason_paws = paws;
	e->verdict = take_verdict(skb);
	read_tw(rx_sk, e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct twlab_event *e;
	struct twlab_event tmp = {};
	const struct tcp_sock *tp = (const void *)sk;

	if (!sk || !skb)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT ||
	    BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		return 0;
	tmp.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	tmp.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	tmp.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	tmp.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	tmp.netns = sk_netns(sk);
	if (!pass(tmp.saddr, tmp.daddr, tmp.sport, tmp.dport, tmp.netns))
		return 0;
	count(TC_SYNSENT_RESET);
	if (skb_tcp(skb, &tmp, false))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(TC_LOST);
		return 0;
	}
	__builtin_memcpy(e, &tmp, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = TEV_SYNSENT_RESET;
	e->verdict = -1;
	e->sk_state = TCP_SYN_SENT;
	e->snd_una = BPF_CORE_READ(tp, snd_una);
	e->snd_nxt = BPF_CORE_READ(tp, snd_nxt);
	bpf_ringbuf_submit(e, 0);
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

/* One handler for every signature of tcp_timewait_state_process: (tw, skb,
 * th) before 6.10, + u32 *tw_isn from 6.10 (41eecbd712b7), + enum
 * skb_drop_reason *drop_reason from 6.15. fexit reads the return value after
 * the arguments, so each signature needs its own entry point; user space
 * loads the one that matches the kernel's BTF. */
static __always_inline int tw_exit(struct inet_timewait_sock *tw, struct sk_buff *skb, int ret)
{
	__u32 zero = 0;
	struct last_verdict *lv;
	struct twlab_event *e;
	struct twlab_event tmp = {};
	const struct sock *sk = (const void *)tw;

	if (ret >= 0 && ret <= 4)
		count(TC_TW_VERDICT_SUCCESS + ret);
	lv = bpf_map_lookup_elem(&scratch, &zero);
	if (lv) {
		lv->skb = (__u64)skb;
		lv->verdict = ret;
	}
	if ((ret != TCP_TW_SYN && !fexit_drops) || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		return 0;
	if (skb_tcp(skb, &tmp, true))
		return 0;
	tmp.netns = sk_netns(sk);
	if (!pass(tmp.saddr, tmp.daddr, tmp.sport, tmp.dport, tmp.netns))
		return 0;
	if (ret != TCP_TW_SYN)
		count(TC_TW_DROP_OTHER);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(TC_LOST);
		return 0;
	}
	__builtin_memcpy(e, &tmp, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = ret == TCP_TW_SYN ? TEV_TW_SYN_ACCEPTED : TEV_TW_DROP;
	e->verdict = ret;
	read_tw(sk, e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fexit/tcp_timewait_state_process")
int BPF_PROG(on_tw_exit, struct inet_timewait_sock *tw, struct sk_buff *skb,
	     const struct tcphdr *th, u32 *tw_isn, enum skb_drop_reason *drop_reason, int ret)
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
