/*
 * craft.c - `twlab craft`: not built yet (placeholder so the dispatch table links).
 */
#include "cli/cli.h"

int cmd_craft(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_err("craft", "not implemented yet");
	return EXIT_RUNTIME;
}
