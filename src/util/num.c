/*
 * num.c - strict number parsing (see num.h). strtoull alone accepts leading
 * spaces, a sign and silently wraps "-1"; this wrapper rejects all of that.
 */
#include "util/num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

bool parse_u64_max(const char *s, uint64_t max, uint64_t *out, const char **why)
{
	int base = 10;
	const char *p = s;
	char *end;
	unsigned long long v;

	if (!s || !*s) { *why = "empty number"; return false; }
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!isxdigit((unsigned char)*p)) { *why = "not a number"; return false; }
	} else if (!isdigit((unsigned char)*p)) {
		*why = *p == '-' ? "negative numbers are not allowed" : "not a number";
		return false;
	}
	errno = 0;
	v = strtoull(p, &end, base);
	if (*end) { *why = "trailing characters after the number"; return false; }
	if (errno == ERANGE || v > max) { *why = "out of range"; return false; }
	*out = v;
	return true;
}

bool parse_u32(const char *s, uint32_t *out, const char **why)
{
	uint64_t v;
	if (!parse_u64_max(s, UINT32_MAX, &v, why)) {
		if (*why && (*why)[0] == 'o') *why = "out of range for u32 (0..4294967295)";
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool parse_seconds(const char *s, double max, double *out, const char **why)
{
	char *end;
	double v;

	if (!s || !*s) { *why = "empty number"; return false; }
	if (!isdigit((unsigned char)s[0])) {
		*why = s[0] == '-' ? "negative numbers are not allowed" : "not a number";
		return false;
	}
	errno = 0;
	v = strtod(s, &end);
	if (*end) { *why = "trailing characters after the number"; return false; }
	if (errno == ERANGE || !isfinite(v) || v > max) { *why = "out of range"; return false; }
	*out = v;
	return true;
}
