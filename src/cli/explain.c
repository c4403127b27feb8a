/*
 * explain.c - `twlab explain`: not built yet (placeholder so the dispatch table links).
 */
#include "cli/cli.h"

int cmd_explain(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_err("explain", "not implemented yet");
	return EXIT_RUNTIME;
}
