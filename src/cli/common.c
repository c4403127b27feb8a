/*
 * common.c - error and option-value helpers shared by the subcommand files,
 * so every command reports bad input the same way.
 */
#include "cli/cli.h"
#include "util/num.h"

#include <stdarg.h>
#include <stdio.h>

void cli_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "twlab: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_u32(const char *cmd, const char *opt, const char *val, uint32_t *out)
{
	const char *why = NULL;
	if (parse_u32(val, out, &why))
		return true;
	cli_err(cmd, "%s: %s: '%s'", opt, why, val ? val : "");
	return false;
}

bool cli_seconds(const char *cmd, const char *opt, const char *val, double max, double *out)
{
	const char *why = NULL;
	if (parse_seconds(val, max, out, &why))
		return true;
	cli_err(cmd, "%s: %s: '%s'", opt, why, val ? val : "");
	return false;
}
