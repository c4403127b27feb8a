/*
 * stats.h - the interval every measured or simulated rate is printed with,
 * so `lab load` and `sim` rows can be laid side by side.
 */
#ifndef TWLAB_STATS_H
#define TWLAB_STATS_H
#include <stdint.h>

/* Wilson score interval at 95 % for k events in n trials, as fractions
 * (0..1). n = 0 gives [0, 1]; k = 0 (k = n) gives a bound of exactly 0 (1). */
void wilson95(uint64_t k, uint64_t n, double *lo, double *hi);
#endif
