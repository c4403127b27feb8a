/*
 * num.h - strict parsing of numbers given on the command line or in files.
 * Decimal or 0x hex, no sign, no spaces, no trailing junk, in range -- or
 * false with a reason the caller prints after the argument name.
 */
#ifndef TWLAB_NUM_H
#define TWLAB_NUM_H
#include <stdbool.h>
#include <stdint.h>

/* On failure *why is a static string ("not a number", "out of range for u32"). */
bool parse_u64_max(const char *s, uint64_t max, uint64_t *out, const char **why);
bool parse_u32(const char *s, uint32_t *out, const char **why);
/* Non-negative seconds with optional fraction, e.g. "60", "0.5". */
bool parse_seconds(const char *s, double max, double *out, const char **why);
#endif
