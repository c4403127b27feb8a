/*
 * rexp.h - exponential variates for the simulator's Poisson arrivals, by
 * the ziggurat method (Marsaglia and Tsang, "The Ziggurat Method for
 * Generating Random Variables", J. Stat. Softw. 5(8), 2000): 256 layers of
 * equal area under exp(-x); a draw falls inside its layer's rectangle
 * (one table look-up and a multiply) about 98.9% of the time, and only
 * the rest evaluates exp() or, past the last layer, log(). The result is
 * exactly Exp(1) distributed for uniform inputs, like -log(u), at a
 * fraction of the cost. Layer index and position come from separate bits
 * of one 64-bit draw (the original took both from the same 32 bits, a
 * known flaw: Doornik 2005).
 */
#ifndef TWLAB_SIM_REXP_H
#define TWLAB_SIM_REXP_H
#include <stdint.h>

#include "model/fleet.h"

struct rexp_tab {
	uint32_t k[256];             /* rectangle i's inner share, scaled 2^32 */
	double   w[256];             /* layer i's right edge x_i / 2^32 */
	double   f[256];             /* exp(-x_i) */
};

void rexp_init(struct rexp_tab *t);
double rexp_slow(const struct rexp_tab *t, struct model_rng *r, uint64_t u);

/* One Exp(1) variate. */
static inline double rexp_draw(const struct rexp_tab *t, struct model_rng *r)
{
	uint64_t u = model_rng_next(r);
	uint32_t i = (uint32_t)u & 255, j = (uint32_t)(u >> 32);
	if (j < t->k[i])
		return j * t->w[i];
	return rexp_slow(t, r, u);
}
#endif
