/*
 * common.c - error and option-value helpers shared by the subcommand files,
 * so every command reports bad input the same way.
 */
#include "cli/cli.h"
#include "util/num.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

#include <string.h>
#include <sys/utsname.h>

#include "model/model.h"
#include "run/kernel.h"

const struct kprofile *cli_kernel(const char *cmd, const char *name)
{
	static struct kprofile k;
	char names[160];

	if (!name || !strcmp(name, "host"))
		return host_kernel();
	if (!kprofile_resolve(name, &k)) {
		cli_err(cmd, "--kernel: '%s' is not a version >= 3.10 (X.Y[.Z], a uname -r string), "
			"host or a preset (%s)", name, kprofile_names(names, sizeof names));
		return NULL;
	}
	return &k;
}
