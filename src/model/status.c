/*
 * status.c - the names of the status tcp_timewait_state_process() returns,
 * the one place they are spelled: explain prints the model's, trace the
 * kernel's (from fexit), and the two must compare equal.
 *
 * Source: include/net/tcp.h enum tcp_tw_status. TCP_TW_SUCCESS = 0 ..
 * TCP_TW_SYN = 3 are enum tw_verdict's values (timewait.c, read from 3.10
 * and 6.18); TCP_TW_ACK_OOW = 4 was appended by commit 4618e195f925 ("tcp:
 * add new TCP_TW_ACK_OOW state and allow ECN bits in TOS", net-next, March
 * 2025) and is in 6.18 (the host's BTF, 6.18.44), returned by
 * tcp_timewait_check_oow_rate_limit() for an out-of-window ACK that passed
 * the rate limit (profile fact tw_ack_oow_status).
 */
#include "model/model.h"

const char *tw_status_str(int status)
{
	static const char *const name[] = {
		"TCP_TW_SUCCESS", "TCP_TW_RST", "TCP_TW_ACK", "TCP_TW_SYN", "TCP_TW_ACK_OOW",
	};
	return status >= 0 && status < (int)(sizeof(name) / sizeof(name[0])) ? name[status] : NULL;
}

int tw_kernel_status(const struct tw_decision *d)
{
	return d->verdict == TCP_TW_ACK && d->ack_oow ? TW_STATUS_ACK_OOW : (int)d->verdict;
}

const char *tw_kernel_status_str(const struct tw_decision *d)
{
	return tw_status_str(tw_kernel_status(d));
}
