/*
 * rexp.c - the ziggurat tables and the rare cases of a draw (rexp.h).
 */
#include "sim/rexp.h"

#include <math.h>

/* The 256-layer exponential ziggurat's constants (Marsaglia and Tsang
 * 2000): R, the start of the tail, and V, the area of each layer. */
#define ZR 7.69711747013104972
#define ZV 3.949659822581572e-3
#define TWO32 4294967296.0

void rexp_init(struct rexp_tab *t)
{
	double x = ZR, q = ZV / exp(-x);

	/* layer 0 is the base: the rectangle [0, R] x [0, f(R)] plus the tail,
	 * drawn as a rectangle of width V / f(R) */
	t->k[0] = (uint32_t)(x / q * TWO32);
	t->k[1] = 0;
	t->w[0] = q / TWO32;
	t->w[255] = x / TWO32;
	t->f[0] = 1.0;
	t->f[255] = exp(-x);
	for (int i = 254; i >= 1; i--) {
		double nx = -log(ZV / x + exp(-x));
		t->k[i + 1] = (uint32_t)(nx / x * TWO32);
		x = nx;
		t->f[i] = exp(-x);
		t->w[i] = x / TWO32;
	}
}

double rexp_slow(const struct rexp_tab *t, struct model_rng *r, uint64_t u)
{
	for (;;) {
		uint32_t i = (uint32_t)u & 255, j = (uint32_t)(u >> 32);
		if (j < t->k[i])
			return j * t->w[i];
		if (i == 0)                    /* the tail: R + Exp(1) */
			return ZR - log(model_rng_unit(r));
		double x = j * t->w[i];
		/* the wedge between the rectangle and the curve */
		if (t->f[i] + model_rng_unit(r) * (t->f[i - 1] - t->f[i]) < exp(-x))
			return x;
		u = model_rng_next(r);
	}
}
