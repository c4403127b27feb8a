/*
 * lab_opts.h - the options every lab command takes (`lab up|down|status|
 * repro|probe` in lab.c and `lab load` in lab_load.c): one option table,
 * one parser and one setup of the lab from them.
 */
#ifndef TWLAB_CLI_LAB_OPTS_H
#define TWLAB_CLI_LAB_OPTS_H
#include <getopt.h>
#include <stdbool.h>

#include "lab/lab.h"

struct lab_opts {
	const char *scenario, *prefix, *firewall, *out;
	bool json, verbose, dry_run;
};

/* getopt_long values of the shared options; a command's own start at
 * LAB_O__END. */
enum { LAB_O_SCEN = 256, LAB_O_PREFIX, LAB_O_FW, LAB_O_OUT, LAB_O_JSON, LAB_O_DRY, LAB_O__END };

/* The shared entries of a command's struct option table (with -v and -h:
 * the command prints its own --help). */
#define LAB_OPTIONS \
	{ "scenario", required_argument, 0, LAB_O_SCEN }, { "prefix", required_argument, 0, LAB_O_PREFIX }, \
	{ "firewall", required_argument, 0, LAB_O_FW }, { "out", required_argument, 0, LAB_O_OUT }, \
	{ "json", no_argument, 0, LAB_O_JSON }, { "verbose", no_argument, 0, 'v' }, \
	{ "dry-run", no_argument, 0, LAB_O_DRY }, { "help", no_argument, 0, 'h' }

/* c, as getopt_long returned it: true when it is a shared option (but -h),
 * stored in *o. */
bool lab_opt(int c, const char *arg, struct lab_opts *o);

/* *L from the scenario (--scenario, or the built-in one) with --prefix,
 * --firewall, --verbose and --dry-run applied, and its output directory:
 * --out, or twlab-out/<name>-<UTC time>. check_out (a command that writes
 * there, not --dry-run): the directory must be new or empty and short
 * enough. Errors as "twlab: <cmd>: ..."; returns 0 or the exit code. */
int lab_setup(const char *cmd, const char *name, const struct lab_opts *o, bool check_out, struct lab *L);
#endif
