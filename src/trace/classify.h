/*
 * classify.h - what a kernel event from twlab.bpf.c means, decided by the
 * model: a pure function from a struct twlab_event (the segment's headers
 * as received, the socket's fields, the namespace's sysctls) to a report
 * kind and the model's decision. No I/O, no BPF: unit-tested with canned
 * events, without root.
 */
#ifndef TWLAB_TRACE_CLASSIFY_H
#define TWLAB_TRACE_CLASSIFY_H
#include <linux/types.h>
#include "capture/capture.h"
#include "model/model.h"
#include "trace/trace.h"

enum trace_kind {
	TK_IGNORED = 0,        /* not a report: a non-SYN that reopened nothing */
	TK_TW_SYN_REJECTED,    /* a SYN found TIME_WAIT and got no SYN-ACK */
	TK_TW_SYN_NO_LISTENER, /* acceptable SYN, but nobody listens */
	TK_TW_SEGMENT_DROPPED, /* any other segment freed on a TIME_WAIT socket */
	TK_TW_SYN_ACCEPTED,    /* a SYN reopened TIME_WAIT (fexit) */
	TK_SYNSENT_RESET,      /* a client in SYN_SENT reset a bad ACK */
	TK_UNDECODED,          /* the event's headers did not decode (skip says why) */
	TK__N
};
/* The event names of the JSON Lines stream: "tw_syn_rejected" ... */
const char *trace_kind_str(enum trace_kind k);

struct trace_decision {
	enum trace_kind kind;
	enum seg_skip skip;           /* TK_UNDECODED: why */
	struct tcp_seg seg;           /* the event's segment (capture's decoder); seg.m the model's */
	bool tw;                      /* tw, env, tw_d are set (TEV_TW_*) */
	struct tw_sock tw_sock;       /* the TIME_WAIT socket before the segment */
	struct tcp_env env;           /* the namespace's sysctls */
	struct tw_decision tw_d;      /* the model's decision (no why text) */
	bool synsent;                 /* ss, ss_d are set (TEV_SYNSENT_RESET) */
	struct synsent_sock ss;
	struct synsent_decision ss_d;
	/* what the kernel said */
	bool kernel_paws;             /* drop reason TCP_RFC7323_TW_PAWS */
	const char *drop_reason;      /* its name, NULL when twlab has none for it */
	uint32_t drop_reason_value;   /* the kernel's enum value */
	const char *kernel_status;    /* fexit's status name, NULL when not seen */
	/* tw: model's PAWS decision == kernel's drop reason and, where fexit
	 * gave kernel_status, the model's status == it; accepted: the model
	 * reopens too; synsent: the model resets too */
	bool model_agrees;
};

/* A stamp at most this many jiffies old when read after processing (no
 * fentry snapshot) is taken as this segment's own ACK (classify.c). */
#define TRACE_OOW_TOLERANCE_J 1
/* ms since tw_last_oow_ack_time as tcp_timewait_state_process() found it,
 * from e; -1: never, or taken as old (the model's tw_sock.last_oow_ack_ms). */
int64_t trace_oow_age_before_ms(const struct twlab_event *e);

/* e -> d, deciding with profile k. Never fails: an event whose headers do
 * not decode is TK_UNDECODED. */
void trace_classify(const struct kprofile *k, const struct twlab_event *e,
		    struct trace_decision *d);

/* Counts over a run, kept by the caller. */
struct trace_stats {
	uint64_t events;              /* classified, any kind */
	uint64_t rej_paws, rej_seq, rej_other, no_listener, accepted, synsent_reset;
	uint64_t segments, undecoded, model_mismatch;
};
void trace_count(struct trace_stats *st, const struct trace_decision *d);
#endif
