/*
 * trace.h - the event record shared by the BPF side (twlab.bpf.c) and the
 * user-space loader (trace.c), and the loader's API for `twlab trace`.
 *
 * Plain fixed-width fields only, so the same header compiles with
 * vmlinux.h (BPF) and with <linux/types.h> (user space). The event carries
 * raw kernel facts (the packet's headers as received, the socket's fields,
 * the namespace's sysctls); what they mean is decided in user space by
 * trace_classify() (classify.h), which asks src/model/.
 */
#ifndef TWLAB_TRACE_H
#define TWLAB_TRACE_H

/* IPv4 header (<= 60 bytes) + TCP header with options (<= 60 bytes); a
 * power of two so that one mask bounds the copy for the verifier. */
#define TRACE_PKT_MAX 128
/* The BPF side wakes the reader when this much is waiting in the ring
 * buffer; otherwise the reader finds events when it polls, every
 * TRACE_POLL_MS. */
#define TRACE_WAKEUP_BYTES (64 * sizeof(struct twlab_event))
#define TRACE_POLL_MS 50

enum trace_ev_type {
	TEV_TW_DROP = 1,     /* skb:kfree_skb of a segment that found a TIME_WAIT socket */
	TEV_SYNSENT_RESET,   /* tcp:tcp_send_reset from a socket in SYN_SENT */
	TEV_TW_SYN_ACCEPTED, /* fexit tcp_timewait_state_process == TCP_TW_SYN */
};

/* Per-CPU counters (index into the counters map). */
enum trace_ctr {
	TC_LOST = 0,          /* ring buffer full: event dropped */
	/* after the filters: */
	TC_TW_DROP_PAWS,      /* kfree_skb reason TCP_RFC7323_TW_PAWS, any segment */
	TC_TW_DROP_OTHER,     /* other kfree_skb of a segment on a TIME_WAIT socket */
	TC_SYNSENT_RESET,     /* tcp_send_reset in SYN_SENT */
	/* host-wide, not filtered: */
	TC_RECEIVE_RESET,     /* tcp:tcp_receive_reset (full sockets) */
	TC_SYN_SENT,          /* sock:inet_sock_set_state -> SYN_SENT (connects) */
	TC_TW_VERDICT_SUCCESS,/* fexit: tcp_timewait_state_process verdicts */
	TC_TW_VERDICT_RST,
	TC_TW_VERDICT_ACK,
	TC_TW_VERDICT_SYN,
	TC_TW_VERDICT_ACK_OOW,
	TC_FILTERED,          /* matched a probe but not the filters */
	TC__MAX
};

struct twlab_event {
	__u64 ts_ns;          /* bpf_ktime_get_ns() */
	__u32 type;           /* enum trace_ev_type */
	__u32 netns;          /* inode number of the socket's network namespace */
	/* 4-tuple oriented client -> server (the SYN's direction), network order */
	__u32 saddr, daddr;
	__u16 sport, dport;   /* host order */
	__u32 reason;         /* kfree_skb drop reason (kernel enum value) */
	__u32 reason_paws;    /* that kernel's SKB_DROP_REASON_TCP_RFC7323_TW_PAWS, 0: none */
	__u32 reason_unspec;  /* that kernel's SKB_DROP_REASON_NOT_SPECIFIED, 0: none */
	__s32 verdict;        /* fexit status (enum tcp_tw_status), -1 when not seen */
	/* the socket's namespace: sysctls tcp_timewait_state_process() reads */
	__s32 invalid_ratelimit_ms; /* net.ipv4.tcp_invalid_ratelimit, -1: unknown */
	__s8  rfc1337;        /* net.ipv4.tcp_rfc1337, -1: unknown */
	__s8  timestamps;     /* net.ipv4.tcp_timestamps, -1: unknown */
	/* TIME_WAIT socket (TEV_TW_DROP, TEV_TW_SYN_ACCEPTED), read after the
	 * kernel processed the segment */
	__u8  tw_fin_wait2;   /* tw_substate == TCP_FIN_WAIT2 */
	__u8  syn_retransmits;/* SYN_SENT socket: icsk_retransmits (SYNs resent so far) */
	__u32 tw_rcv_nxt, tw_snd_nxt, tw_rcv_wnd;
	__u32 tw_ts_recent, tw_ts_offset;
	__s32 tw_ts_recent_stamp;   /* seconds, ktime_get_seconds() */
	__u32 tw_ts_recent_age;     /* now - stamp, seconds */
	__s32 tw_oow_ack_age_ms;    /* ms since tw_last_oow_ack_time, -1: never/unknown */
	__s32 tw_oow_ack_age_j;     /* the same in jiffies, -1: never/unknown */
	/* tw_last_oow_ack_time as the kernel found it: read at the entry of
	 * tcp_timewait_state_process (fentry), before it could stamp it */
	__s32 tw_oow_ack_entry_age_ms; /* ms since that stamp at the entry, -1: never/in the future */
	__u8  oow_entry;            /* 1: tw_oow_ack_entry_age_ms was read (fentry attached) */
	__u8  pad_[3];
	/* SYN_SENT socket (TEV_SYNSENT_RESET) */
	__u32 snd_una, snd_nxt;
	__u32 pkt_len;              /* bytes valid in pkt[] */
	__u8  pkt[TRACE_PKT_MAX];   /* the segment's IPv4 and TCP headers, as received */
};

#ifndef __bpf__
#include <stdbool.h>
#include <stdint.h>

struct trace_filter {
	uint32_t saddr, daddr;  /* network order, 0 = any */
	uint16_t sport, dport;  /* 0 = any */
	uint32_t netns;         /* 0 = any */
};

struct trace_counters { uint64_t v[TC__MAX]; };

struct trace_attach {           /* what got attached, for the start line */
	bool fexit, fentry, kfree_skb, send_reset, receive_reset, set_state;
	int fexit_err;          /* -errno when fexit failed to load/attach */
};

struct trace_ctx;
typedef int (*trace_event_fn)(const struct twlab_event *e, void *arg);

/* Open, load and attach. On failure prints nothing, returns -errno and a
 * static description in *what. verbose: libbpf's own log on stderr. */
int trace_open(const struct trace_filter *f, bool try_fexit, bool verbose,
	       struct trace_ctx **out, struct trace_attach *att, const char **what);
/* Wait up to timeout_ms (TRACE_POLL_MS: the longest an event waits) for a
 * wakeup, then call fn for every event waiting. */
int trace_poll(struct trace_ctx *t, int timeout_ms, trace_event_fn fn, void *arg);
void trace_counters(struct trace_ctx *t, struct trace_counters *c);
void trace_close(struct trace_ctx *t);
#endif
#endif
