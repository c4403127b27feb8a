/*
 * model.h - the single source of truth for what a Linux kernel (and the
 * middleboxes in front of it) does with a TCP segment in the situations twlab
 * cares about: a segment hitting a TIME_WAIT (or FIN_WAIT2) mini-socket on the
 * server, and the answer arriving at a client in SYN_SENT.
 *
 * Everything here is pure: inputs in, a decision struct out; no I/O, no
 * globals that change, no allocation. Every front end (explain, analyze,
 * trace, lab probe, sim) calls these functions and never re-decides.
 *
 * Every rule in the .c files cites the kernel file and function it was taken
 * from, per profile version.
 */
#ifndef TWLAB_MODEL_H
#define TWLAB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- u32 sequence/timestamp arithmetic (include/net/tcp.h: before/after) */

/* The kernel's s32 comparisons. At a difference of exactly 2^31 both
 * seq_before(a,b) and seq_after(a,b) are true -- as in the kernel. */
static inline int32_t u32_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static inline bool seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_after(uint32_t a, uint32_t b) { return (int32_t)(b - a) < 0; }

/* ---- TCP flag bits (as in the TCP header byte 13) */
enum {
	TCPF_FIN = 0x01, TCPF_SYN = 0x02, TCPF_RST = 0x04,
	TCPF_PSH = 0x08, TCPF_ACK = 0x10, TCPF_URG = 0x20,
};
/* "SA" -> TCPF_SYN|TCPF_ACK. Letters F S R P A U, any order, no repeats.
 * Returns false on anything else. */
bool tcp_flags_parse(const char *s, uint8_t *out);
/* Canonical spelling ("S", "SA", "A", "R", "RA", "FA", ...) into buf. */
const char *tcp_flags_str(uint8_t flags, char buf[8]);

/* ---- kernel profiles: every fact keyed to the exact version range (and
 * stable backports) it holds for; see profile.c for the sources. */

enum ts_clock {
	TS_CLOCK_JIFFIES,        /* tcp_time_stamp = jiffies, no offset (< 4.10) */
	TS_CLOCK_MS_PAIR_OFFSET, /* random offset per (saddr,daddr) (4.11 ..) */
	TS_CLOCK_MS_TUPLE_OFFSET,/* random offset per 4-tuple (4.10; 6.1.192+, 6.12.94+, 6.18.17+, 6.19.7+, 7.0) */
};

/* A kernel version as one ordered number: KVER(6, 18, 17) = 6018017.
 * (Stable sublevels pass 255: 4.9.320, 4.14.285.) */
#define KVER(a, b, c) ((uint32_t)(a) * 1000000u + (uint32_t)(b) * 1000u + (uint32_t)(c))
/* "6.18.44-amd64", "3.10.0-1062.el7.x86_64", "6.1" -> KVER; false on junk. */
bool kver_parse(const char *s, uint32_t *out);

struct kprofile {
	char name[32];           /* "6.1.192", "rhel7.7", "6.18" ... */
	const char *desc;        /* "RHEL/CentOS 7.7 3.10.0-1062" ... */
	uint32_t kver;           /* KVER of the version the facts were resolved for */
	bool rhel7;              /* RHEL 7 backports on top of 3.10.0 */
	enum ts_clock ts_clock;  /* which offset tcp_timestamps=1 adds */
	unsigned ts_hz;          /* timestamp ticks per second (HZ before 4.13, then 1000) */
	unsigned hz;             /* CONFIG_HZ assumed for jiffy-based timers */
	unsigned tw_len_s;       /* TCP_TIMEWAIT_LEN in seconds */
	/* How long a TIME_WAIT socket really lives: < 4.1 the central timer
	 * wheel (8 slots of 7.5 s) reaps it 52.5-60 s after it was made. */
	unsigned tw_len_min_ms, tw_len_max_ms;
	bool oow_ratelimit;      /* TIME_WAIT ACKs pass tcp_oow_rate_limited() */
	unsigned invalid_ratelimit_ms; /* default net.ipv4.tcp_invalid_ratelimit */
	unsigned paws_wrap_s;    /* tcp_paws_check: ts_recent_stamp older than
				  * this passes (TCP_PAWS_24DAYS, later
				  * TCP_PAWS_WRAP = INT_MAX/USEC_PER_SEC) */
	unsigned paws_msl_s;     /* TCP_PAWS_MSL: RST passes after this */
	bool paws_ts_recent_zero_passes; /* tcp_paws_check: !ts_recent passes */
	bool syn_no_ack_rearm_exempt; /* ACK-less SYN (no PAWS) doesn't re-arm */
	const char *paws_tw_counter;   /* nstat name of the TW PAWS counter */
	const char *paws_tw_drop_reason; /* kfree_skb reason, NULL if none */
	unsigned tw_reuse_default;     /* net.ipv4.tcp_tw_reuse default */
	/* SYN_SENT: a bad ACK re-arms the SYN timer at TCP_TIMEOUT_MIN when no
	 * retransmission happened yet (tcp_rcv_synsent_state_process). */
	bool synsent_fast_retry;
	unsigned syn_rto_initial_ms;   /* TCP_TIMEOUT_INIT */
	unsigned syn_retries_default;  /* net.ipv4.tcp_syn_retries */
	const char *oow_skip_counter;  /* nstat name when a TW ACK is rate-limited */
	/* tcp_timewait_check_oow_rate_limit returns TCP_TW_ACK_OOW for an
	 * out-of-window ACK that passed the rate limit; tcp_v4_timewait_ack()
	 * then only clears the ECN bits of the IP TOS. */
	bool tw_ack_oow_status;
	/* tcp_rcv_synsent_state_process() names a kfree_skb drop reason. */
	bool synsent_drop_reasons;
	/* tcp_v4_rcv() frees what it discards with kfree_skb_reason(): a
	 * discard without a more specific reason is NOT_SPECIFIED. */
	bool drop_reasons;
	/* A SYN accepted by TIME_WAIT gets a fresh ISN (secure_tcp_seq) instead
	 * of tw_snd_nxt + 65537: tcp_v4_fill_cb() zeroes tcp_tw_isn. */
	bool tw_isn_lost;
	/* net.ipv4.tcp_syn_linear_timeouts default (0: the sysctl does not
	 * exist, every SYN RTO doubles). */
	unsigned syn_linear_timeouts;
	bool has_tw_recycle;           /* net.ipv4.tcp_tw_recycle exists */
	bool has_ts_no_offset;         /* tcp_timestamps=2: TS without random offset */
};

/* The profile for a preset ("rhel7.7", "3.10", "4.19", "5.10", "6.1",
 * "6.12", "6.18"); NULL if unknown. */
const struct kprofile *kprofile_find(const char *name);
/* Any version: a preset name, "X.Y", "X.Y.Z" or a `uname -r` string
 * ("6.12.113+deb12-amd64", "3.10.0-1062.el7.x86_64" = RHEL 7). Fills *out
 * with the facts of that exact version; false on junk. */
bool kprofile_resolve(const char *spec, struct kprofile *out);
/* The facts of upstream/stable version kver (rhel7: RHEL 7 backports). */
void kprofile_build(uint32_t kver, bool rhel7, struct kprofile *out);
/* Best match for a `uname -r` string, never NULL: the nearest older preset
 * (kept for callers that need a static profile; prefer kprofile_resolve). */
const struct kprofile *kprofile_for_release(const char *release);
/* All presets, NULL-terminated, oldest first. */
const struct kprofile *const *kprofile_all(void);
/* "rhel7.7, 3.10, 4.19, ..." into buf (for usage errors). */
const char *kprofile_names(char *buf, size_t len);

/* One version-keyed fact, as `explain --kernel` prints it. */
struct kfact {
	const char *id;          /* "tw_isn_lost" */
	const char *what;        /* what the kernel does when the fact holds */
	const char *since;       /* versions it holds for, with backports */
	const char *source;      /* file, function, commit */
};
/* The i-th fact (NULL past the end) and whether it holds for k. */
const struct kfact *kfact_get(unsigned i, const struct kprofile *k, bool *holds);

/* Which TSval offset a client of this kernel uses with net.ipv4.tcp_timestamps
 * = ts_sysctl (1 or 2): per 4-tuple, per address pair, or none. */
enum ts_clock kprofile_ts_clock(const struct kprofile *k, int ts_sysctl, bool *no_offset);

/* ---- reasons: human-readable lines with the actual numbers */

#define MODEL_WHY_MAX 12
#define MODEL_WHY_LEN 160
struct why {
	unsigned n;
	bool off;                    /* quiet decision: no text is formatted */
	char line[MODEL_WHY_MAX][MODEL_WHY_LEN];
};

/* ---- TIME_WAIT: net/ipv4/tcp_minisocks.c tcp_timewait_state_process() */

enum tw_substate { TW_TIME_WAIT = 0, TW_FIN_WAIT2 };

struct tw_sock {                 /* what struct tcp_timewait_sock holds */
	enum tw_substate substate;
	uint32_t rcv_nxt;            /* tw_rcv_nxt */
	uint32_t snd_nxt;            /* tw_snd_nxt */
	uint32_t rcv_wnd;            /* tw_rcv_wnd (FIN_WAIT2 window check) */
	bool     ts_recent_stamp_set;/* tw_ts_recent_stamp != 0 (TS in use) */
	uint32_t ts_recent;          /* tw_ts_recent */
	uint32_t ts_recent_age_s;    /* now - tw_ts_recent_stamp, seconds */
	uint32_t ts_offset;          /* tw_ts_offset (for tsval/tsecr of replies) */
	int64_t  last_oow_ack_ms;    /* ms since tw_last_oow_ack_time; <0: never */
};

/* The mini-socket tcp_time_wait() leaves when a connection whose peer's
 * next sequence is rcv_nxt (ours snd_nxt) closes: TIME_WAIT, ts_recent the
 * peer's last timestamp if it used them (ts_recent_age_s seconds ago), no
 * out-of-window ACK sent yet. The window is 65535 because a rebuilt socket
 * does not know it (only FIN_WAIT2 reads it). The one place a tw_sock is
 * built from parts; callers that know more set the field after. */
static inline struct tw_sock tw_sock_init(uint32_t rcv_nxt, uint32_t snd_nxt, bool ts,
					  uint32_t ts_recent, uint32_t ts_recent_age_s)
{
	struct tw_sock tw = {
		.substate = TW_TIME_WAIT, .rcv_nxt = rcv_nxt, .snd_nxt = snd_nxt,
		.rcv_wnd = 65535, .ts_recent_stamp_set = ts, .ts_recent = ts_recent,
		.ts_recent_age_s = ts_recent_age_s, .last_oow_ack_ms = -1,
	};
	return tw;
}

/* The fields of a TCP segment the model reads. Written once here: struct
 * segment is this list, and the capture decoder's struct tcp_seg
 * (src/capture/capture.h) holds the same list in a union with a struct
 * segment `m`, so a decoded segment's `&s->m` is the model's segment with
 * no copy, and `s->seq` still reads as before. */
#define SEGMENT_FIELDS \
	uint8_t  flags;              /* TCPF_* */ \
	uint32_t seq, ack; \
	uint32_t len;                /* payload bytes (end_seq = seq+syn+fin+len) */ \
	bool     has_ts;             /* timestamp option present */ \
	uint32_t tsval, tsecr;

struct segment {                 /* an incoming segment, as parsed */
	SEGMENT_FIELDS
};

/* TCP_SKB_CB(skb)->end_seq: SYN and FIN each take one sequence number
 * (net/ipv4/tcp_ipv4.c: tcp_v4_fill_cb(), 6.18). The one place it is summed. */
static inline uint32_t tcp_end_seq(uint32_t seq, uint8_t flags, uint32_t len)
{
	return seq + !!(flags & TCPF_SYN) + !!(flags & TCPF_FIN) + len;
}
static inline uint32_t segment_end_seq(const struct segment *s)
{
	return tcp_end_seq(s->seq, s->flags, s->len);
}

struct tcp_env {                 /* sysctls that the decision reads */
	bool     rfc1337;            /* net.ipv4.tcp_rfc1337 */
	int      invalid_ratelimit_ms; /* <0: profile default */
	bool     timestamps_off;     /* net.ipv4.tcp_timestamps=0: TS option not parsed */
	bool     no_listener;        /* nobody listens on the port: TCP_TW_SYN becomes an ACK */
	int      syn_linear_timeouts;/* net.ipv4.tcp_syn_linear_timeouts, <0: profile default */
	bool     tw_recycle;         /* net.ipv4.tcp_tw_recycle=1 (kernels < 4.12) */
	unsigned max_tw_buckets;     /* net.ipv4.tcp_max_tw_buckets, 0: not limited here */
};

enum tw_verdict { TCP_TW_SUCCESS = 0, TCP_TW_RST, TCP_TW_ACK, TCP_TW_SYN };
const char *tw_verdict_str(enum tw_verdict v); /* "TCP_TW_ACK" ... */

enum tw_cause { TW_CAUSE_NONE = 0, TW_CAUSE_PAWS, TW_CAUSE_SEQ };
const char *tw_cause_str(enum tw_cause c);     /* "none" "paws" "seq" */

struct reply {                   /* a segment the kernel sends back */
	bool     sent;
	uint8_t  flags;
	uint32_t seq, ack;
	bool     has_ts;
	uint32_t tsecr;              /* echoed ts_recent (tsval is clock-based) */
};

struct tw_decision {
	enum tw_verdict verdict;
	bool     paws_reject;
	enum tw_cause cause;         /* a SYN that did not get TCP_TW_SYN: why */
	struct reply reply;          /* ACK (TCP_TW_ACK), RST (TCP_TW_RST) */
	bool     rate_limited;       /* TCP_TW_ACK suppressed by oow rate limit */
	bool     ack_oow;            /* kernel status is TCP_TW_ACK_OOW (6.18):
				      * same ACK, ECN bits of TOS cleared */
	uint32_t isn;                /* TCP_TW_SYN: tw_snd_nxt + 65535 + 2, !0 */
	bool     isn_lost;           /* TCP_TW_SYN, but the kernel loses isn: the
				      * SYN-ACK carries a fresh ISN (reply.seq
				      * is then unknown, 0) */
	bool     timer_rearmed;      /* inet_twsk_reschedule(TCP_TIMEWAIT_LEN) */
	bool     tw_killed;          /* inet_twsk_deschedule_put (TW gone) */
	bool     to_time_wait;       /* FIN_WAIT2 -> TIME_WAIT */
	struct tw_sock next;         /* the mini-socket after the segment */
	const char *drop_reason;     /* kfree_skb reason name, or NULL */
	const char *counters[4];     /* nstat names touched, NULL-terminated */
	struct why why;
};

void tw_process(const struct kprofile *k, const struct tcp_env *env,
		const struct tw_sock *tw, const struct segment *seg,
		struct tw_decision *out);
/* The same decision without the why text (out->why.n stays 0): for hot
 * loops (sim) where formatting would cost ten times the decision. */
void tw_process_quiet(const struct kprofile *k, const struct tcp_env *env,
		      const struct tw_sock *tw, const struct segment *seg,
		      struct tw_decision *out);

/* A connection entering TIME_WAIT: is a mini-socket made at all (past
 * tcp_max_tw_buckets it is not: no collision is possible), and how long
 * does it live (ms)? */
struct tw_created {
	bool made, overflow, recycled;
	unsigned min_ms, max_ms;
	const char *counter;         /* nstat name bumped, or NULL */
};
void tw_create(const struct kprofile *k, const struct tcp_env *env, unsigned tw_count,
	       bool ts_in_use, unsigned rto_ms, struct tw_created *out);
/* tcp_tw_recycle=1 (< 4.12): does the listener drop this SYN because the
 * peer address sent a newer tsval less than 60 s ago (NATed clients)? */
bool listen_recycle_drop(const struct kprofile *k, const struct tcp_env *env,
			 bool peer_known, uint32_t peer_ts, uint32_t peer_ts_age_s,
			 const struct segment *syn);

/* ---- client SYN_SENT: net/ipv4/tcp_input.c tcp_rcv_synsent_state_process() */

struct synsent_sock {
	uint32_t snd_una;            /* = ISS while in SYN_SENT */
	uint32_t snd_nxt;            /* = ISS + 1 */
	bool     ts_enabled;         /* the SYN carried timestamps */
	uint32_t ts_sent;            /* tsval of our first SYN (retrans_stamp) */
	uint32_t ts_now;             /* our TS clock now (0: same as ts_sent) */
	unsigned retransmits;        /* icsk_retransmits so far */
};

enum synsent_verdict { SYNSENT_ACCEPT, SYNSENT_RESET, SYNSENT_DISCARD, SYNSENT_REFUSED };
const char *synsent_verdict_str(enum synsent_verdict v); /* "accept" ... */

struct synsent_decision {
	enum synsent_verdict verdict;
	struct reply reply;          /* RST with seq = ack_seq, or the final ACK */
	/* What the client does next: ms until the SYN is sent again (0: not
	 * retransmitted, e.g. accepted or refused). */
	unsigned next_syn_ms;
	bool     fast_retry;         /* TCP_TIMEOUT_MIN re-arm after bad ACK */
	const char *drop_reason;
	struct why why;
};

void synsent_process(const struct kprofile *k, const struct synsent_sock *s,
		     const struct segment *seg, struct synsent_decision *out);
/* The same without the why text. */
void synsent_process_quiet(const struct kprofile *k, const struct synsent_sock *s,
			   const struct segment *seg, struct synsent_decision *out);

/* SYN retransmission timing (net/ipv4/tcp_timer.c tcp_retransmit_timer,
 * retransmits_timed_out): ms from the retransmission number n (0 = the
 * first SYN) to the next one; linear < 0: the profile's default
 * tcp_syn_linear_timeouts. */
unsigned syn_rto_ms(const struct kprofile *k, int linear, unsigned n);
/* How many SYN retransmissions before ETIMEDOUT (tcp_syn_retries, plus
 * tcp_syn_linear_timeouts from 6.5). */
unsigned syn_max_retransmits(const struct kprofile *k, int linear, unsigned syn_retries);

/* ---- middleboxes (conntrack and firewalls between client and server) */

enum fw_kind {
	FW_LINUX,   /* netfilter conntrack: a bare ACK in SYN_SENT is ignored, passes */
	FW_STRICT,  /* hardware-firewall style: only SYN-ACK or RST may answer a SYN */
};
/* Does a reply with these flags, to a session that has so far seen only the
 * client's SYN, pass the firewall? */
bool fw_reply_passes(enum fw_kind fw, uint8_t reply_flags);
bool fw_kind_parse(const char *s, enum fw_kind *out);
const char *fw_kind_str(enum fw_kind fw);

/* ---- kernel status names (status.c): include/net/tcp.h enum tcp_tw_status,
 * the value tcp_timewait_state_process() returns. TCP_TW_SUCCESS..TCP_TW_SYN
 * are enum tw_verdict's values; TCP_TW_ACK_OOW (6.15+) is a TCP_TW_ACK with
 * tw_decision.ack_oow set. */
enum { TW_STATUS_ACK_OOW = 4 };
/* A kernel status value (as fexit sees it) -> "TCP_TW_ACK_OOW"; NULL when it
 * is not one. */
const char *tw_status_str(int status);
/* The status the kernel returns for this decision, and its name. */
int tw_kernel_status(const struct tw_decision *d);
const char *tw_kernel_status_str(const struct tw_decision *d);

#endif
