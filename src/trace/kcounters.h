/*
 * kcounters.h - what every kernel has, for where BPF cannot run (no BTF, as
 * on RHEL 7.7; or a tracer the verifier refuses, as on 6.1): the TIME_WAIT
 * and PAWS counters of nstat (/proc/net/netstat), the TIME_WAIT sockets ss
 * would list (/proc/net/tcp state 06), and conntrack -S
 * (/proc/net/stat/nf_conntrack), read from a proc root tests can move.
 */
#ifndef TWLAB_TRACE_KCOUNTERS_H
#define TWLAB_TRACE_KCOUNTERS_H
#include <stdbool.h>

struct kcounters {
	long long paws_tw;          /* TcpExtPAWSTimewait (6.15+), else -1 */
	long long paws_estab;       /* TcpExtPAWSEstab: TIME_WAIT PAWS rejects before 6.15 */
	long long ack_skipped_tw;   /* TcpExtTCPACKSkippedTimeWait (rate-limited TW ACKs) */
	long long tw_overflow;      /* TcpExtTCPTimeWaitOverflow (tcp_max_tw_buckets) */
	long long paws_passive;     /* TcpExtPAWSPassive (tcp_tw_recycle listener drops) */
	long long time_wait;        /* sockets in TIME_WAIT now (IPv4) */
	bool has_ct;                /* nf_conntrack statistics present */
	long long ct_invalid, ct_insert_failed;
};

/* 0, or -errno when /proc/net/netstat cannot be read; why says which file. */
int kcounters_read(const char *procroot, struct kcounters *out, char *why, int whylen);
#endif
