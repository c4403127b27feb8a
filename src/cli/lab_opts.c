/*
 * lab_opts.c - the options every lab command takes, parsed and applied in
 * one place (see lab_opts.h).
 */
#include "cli/lab_opts.h"
#include "cli/cli.h"
#include "scenario/scenario.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

bool lab_opt(int c, const char *arg, struct lab_opts *o)
{
	switch (c) {
	case 'v': o->verbose = true; return true;
	case LAB_O_SCEN: o->scenario = arg; return true;
	case LAB_O_PREFIX: o->prefix = arg; return true;
	case LAB_O_FW: o->firewall = arg; return true;
	case LAB_O_OUT: o->out = arg; return true;
	case LAB_O_JSON: o->json = true; return true;
	case LAB_O_DRY: o->dry_run = true; return true;
	default: return false;
	}
}

/* --out for a command that writes there: short enough for the file names
 * appended to it, and not a file or a directory that holds anything. */
static bool out_ok(const char *cmd, const char *out)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	bool empty = true;

	if (strlen(out) > LAB_OUTDIR_MAX || !*out) {
		cli_err(cmd, "--out: %s: between 1 and %d characters", *out ? "too long" : "empty",
			LAB_OUTDIR_MAX);
		return false;
	}
	if (stat(out, &st) < 0)
		return true;                  /* created by the lab */
	if (!S_ISDIR(st.st_mode)) {
		cli_err(cmd, "--out: %s: exists and is not a directory", out);
		return false;
	}
	if ((d = opendir(out))) {
		while (empty && (e = readdir(d)))
			empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
		closedir(d);
	}
	if (!empty)
		cli_err(cmd, "--out: %s: a directory that is not empty (its files would be overwritten); "
			"choose a new one", out);
	return empty;
}

int lab_setup(const char *cmd, const char *name, const struct lab_opts *o, bool check_out, struct lab *L)
{
	char err[512];
	const char *why;
	time_t now = time(NULL);
	struct tm tm;

	check_out = check_out && !o->dry_run;
	memset(L, 0, sizeof *L);
	if (!scenario_load(o->scenario, &L->sc, err, sizeof err)) {
		cli_err(cmd, "%s: %s", o->scenario ? "--scenario" : "built-in scenario", err);
		return EXIT_USAGE;
	}
	if (o->prefix) {
		/* checked as a value, not pasted into INI text */
		if (!scenario_prefix_ok(o->prefix, &why)) {
			cli_err(cmd, "--prefix: %s: '%s'", why, o->prefix);
			return EXIT_USAGE;
		}
		snprintf(L->sc.prefix, sizeof L->sc.prefix, "%s", o->prefix);
	}
	if (o->firewall && !fw_kind_parse(o->firewall, &L->sc.fw)) {
		cli_err(cmd, "--firewall: expected linux or strict: '%s'", o->firewall);
		return EXIT_USAGE;
	}
	L->verbose = o->verbose;
	L->dry_run = o->dry_run;
	gmtime_r(&now, &tm);
	if (o->out) {
		if (check_out && !out_ok(cmd, o->out))
			return EXIT_USAGE;
		snprintf(L->outdir, sizeof L->outdir, "%s", o->out);
	} else {
		char stamp[32];
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(L->outdir, sizeof L->outdir, "twlab-out/%s-%s", name, stamp);
		if (check_out && !out_ok(cmd, L->outdir))
			return EXIT_RUNTIME;
	}
	return 0;
}
