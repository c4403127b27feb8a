/*
 * clock.h - a clock's time in seconds, as a double (the one conversion of a
 * struct timespec the lab, load and sim code use).
 */
#ifndef TWLAB_CLOCK_H
#define TWLAB_CLOCK_H
#include <time.h>

/* CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_PROCESS_CPUTIME_ID ... in seconds. */
static inline double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
#endif
