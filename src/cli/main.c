/*
 * main.c - twlab entry point: dispatch to one subcommand through a small
 * table (iproute2 style). Each subcommand lives in its own src/cli/<name>.c.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	cmd_fn fn;
	const char *summary;
} cmds[] = {
	{ "explain", cmd_explain, "what the kernel does with one segment (TIME_WAIT / SYN_SENT)" },
	{ "analyze", cmd_analyze, "find TIME_WAIT collisions in packet captures" },
	{ "trace",   cmd_trace,   "watch TIME_WAIT collisions live with eBPF" },
	{ "lab",     cmd_lab,     "reproduce the incident in network namespaces; probe the model" },
	{ "craft",   cmd_craft,   "send a crafted SYN or a scripted TCP session" },
	{ "sim",     cmd_sim,     "predict collisions and timeouts for a fleet, per mitigation" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: twlab <command> [options]   (twlab <command> --help)\n\n"
		   "TIME_WAIT collisions behind NAT: prove, watch, reproduce, explain, predict.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "twlab: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
