/*
 * lab.c - `twlab lab`: not built yet (placeholder so the dispatch table links).
 */
#include "cli/cli.h"

int cmd_lab(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_err("lab", "not implemented yet");
	return EXIT_RUNTIME;
}
