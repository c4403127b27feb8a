/*
 * why.c - the reason list every model decision carries (see why.h).
 */
#include "model/why.h"

#include <stdarg.h>
#include <stdio.h>

void why(struct why *w, const char *fmt, ...)
{
	va_list ap;
	if (w->off || w->n >= MODEL_WHY_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(w->line[w->n++], MODEL_WHY_LEN, fmt, ap);
	va_end(ap);
}
