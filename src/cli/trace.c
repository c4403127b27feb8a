/*
 * trace.c - `twlab trace`: not built yet (placeholder so the dispatch table links).
 */
#include "cli/cli.h"

int cmd_trace(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_err("trace", "not implemented yet");
	return EXIT_RUNTIME;
}
