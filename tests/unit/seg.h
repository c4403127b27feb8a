/*
 * seg.h - the unit tests' one way to build a captured TCP segment (struct
 * tcp_seg): time, flags, numbers, payload length and the timestamp option
 * (tsval < 0: none). Addresses and ports are the caller's (zero here).
 */
#ifndef TWLAB_TEST_SEG_H
#define TWLAB_TEST_SEG_H
#include <stdint.h>
#include <string.h>

#include "capture/capture.h"

static inline struct tcp_seg test_seg(double t, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
				      int64_t tsval, uint32_t tsecr)
{
	struct tcp_seg s;
	memset(&s, 0, sizeof s);
	s.ts = t;
	s.family = 4;
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.len = len;
	s.wscale = -1;
	s.has_ts = tsval >= 0;
	s.tsval = tsval >= 0 ? (uint32_t)tsval : 0;
	s.tsecr = tsecr;
	return s;
}
#endif
