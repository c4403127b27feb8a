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

#include <jansson.h>
#include <string.h>
#include <sys/utsname.h>

#include "model/model.h"
#include "run/kernel.h"

static void print_scalar(FILE *f, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: fputs(json_string_value(v), f); break;
	case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(f, "%.3f", json_real_value(v)); break;
	case JSON_TRUE: fputs("yes", f); break;
	case JSON_FALSE: fputs("no", f); break;
	case JSON_NULL: fputs("-", f); break;
	default: {
		char *s = json_dumps(v, JSON_COMPACT);
		fputs(s ? s : "?", f);
		free(s);
	}
	}
}

void cli_print(json_t *obj, bool json)
{
	const char *key;
	json_t *v;

	if (!obj)
		return;
	if (json) {
		json_dumpf(obj, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(obj);
		return;
	}
	json_object_foreach(obj, key, v) {
		printf("%-14s ", key);
		if (json_is_object(v)) {
			const char *k2;
			json_t *v2;
			int first = 1;
			json_object_foreach(v, k2, v2) {
				printf("%s%s ", first ? "" : "  ", k2);
				print_scalar(stdout, v2);
				first = 0;
			}
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			if (!json_array_size(v))
				fputs("-", stdout);
			json_array_foreach(v, i, e) {
				if (i)
					printf("\n%-14s ", "");
				print_scalar(stdout, e);
			}
		} else {
			print_scalar(stdout, v);
		}
		putchar('\n');
	}
	json_decref(obj);
}

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
