/*
 * stats.c - Wilson score interval (stats.h). Wilson rather than the normal
 * approximation because timeouts are rare: at 0 of 1000 it still gives an
 * upper bound (3.8 per 1000) instead of a zero-width interval.
 */
#include "util/stats.h"

#include <math.h>

void wilson95(uint64_t k, uint64_t n, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	double p, nn, d, c, h;

	if (n == 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)k / (double)n;
	nn = (double)n;
	d = 1 + z * z / nn;
	c = (p + z * z / (2.0 * nn)) / d;
	h = z * sqrt(p * (1 - p) / nn + z * z / (4.0 * nn * nn)) / d;
	/* at k = 0 (k = n) the bound is 0 (1) exactly; rounding says 1e-18 */
	*lo = k == 0 ? 0 : fmax(0, c - h);
	*hi = k == n ? 1 : fmin(1, c + h);
}
