/*
 * cli.h - what every subcommand file shares: the handler signature, exit
 * codes and the error/usage printers.
 *
 * Contract (DESIGN.md): exit 0 success, 1 runtime failure, 2 usage error;
 * with --json only JSON on stdout; errors on stderr as
 *   twlab: <command>: <object>: <what>
 */
#ifndef TWLAB_CLI_H
#define TWLAB_CLI_H
#include <stdbool.h>
#include <stdint.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* argv[0] is the subcommand name ("explain"). */
typedef int (*cmd_fn)(int argc, char **argv);

int cmd_explain(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_lab(int argc, char **argv);
/* `lab load` (src/cli/lab_load.c); argv[0] is "load". */
int cmd_lab_load(int argc, char **argv);
int cmd_craft(int argc, char **argv);
int cmd_sim(int argc, char **argv);

/* "twlab: <cmd>: <message>\n" on stderr. */
void cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a u32 option value or print "twlab: cmd: --opt: <why>: 'val'" and
 * return false (the caller exits EXIT_USAGE). */
bool cli_u32(const char *cmd, const char *opt, const char *val, uint32_t *out);
bool cli_seconds(const char *cmd, const char *opt, const char *val, double max, double *out);

/* Results print through src/print (print/pr.h): one call per field, its
 * JSON key and its text side by side. */

/* Kernel profile by name, or "host" (uname -r). Prints a usage error listing
 * the valid names and returns NULL. */
struct kprofile;
const struct kprofile *cli_kernel(const char *cmd, const char *name);
#endif
