/*
 * why.h - model-internal: append one human-readable reason, with the
 * numbers, to a decision's why list (silently stops at MODEL_WHY_MAX; does
 * nothing for a quiet decision, why.off).
 */
#ifndef TWLAB_MODEL_WHY_H
#define TWLAB_MODEL_WHY_H
#include <stddef.h>
#include <string.h>

#include "model/model.h"

void why(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear a decision up to its why list (most of the struct's size) and
 * leave the list empty; a quiet decision formats no text at all. */
#define MODEL_DECISION_RESET(d, quiet) do {                       \
	memset((d), 0, offsetof(__typeof__(*(d)), why));         \
	(d)->why.n = 0;                                           \
	(d)->why.off = (quiet);                                   \
} while (0)
#endif
