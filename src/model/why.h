/*
 * why.h - model-internal: append one human-readable reason, with the
 * numbers, to a decision's why list (silently stops at MODEL_WHY_MAX).
 */
#ifndef TWLAB_MODEL_WHY_H
#define TWLAB_MODEL_WHY_H
#include "model/model.h"

void why(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
