/*
 * analyze.c - `twlab analyze`: not built yet (placeholder so the dispatch table links).
 */
#include "cli/cli.h"

int cmd_analyze(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_err("analyze", "not implemented yet");
	return EXIT_RUNTIME;
}
