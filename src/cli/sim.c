/*
 * sim.c - `twlab sim`: not built yet (placeholder so the dispatch table links).
 */
#include "cli/cli.h"

int cmd_sim(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_err("sim", "not implemented yet");
	return EXIT_RUNTIME;
}
