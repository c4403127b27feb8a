/*
 * lookup.h - find a scenario file by name (`--scenario report`) as well as
 * by path (`--scenario ./my.ini`), the way a user of an installed twlab
 * expects: installed files live in $(PREFIX)/share/twlab/scenarios.
 */
#ifndef TWLAB_SCENARIO_LOOKUP_H
#define TWLAB_SCENARIO_LOOKUP_H
#include <stdbool.h>
#include <stddef.h>

/* The directory `make install` puts scenario files in (fixed at build time
 * from PREFIX, e.g. /usr/local/share/twlab/scenarios). */
const char *scenario_dir(void);

/* Resolve the argument of --scenario into a file path: arg itself when it
 * is a path (it has a '/' or names an existing file), else the file found
 * for the name, written into path[len]; NULL with a message in err.
 * Otherwise it is a name (letters, digits, '.', '_', '-'), looked up as
 * NAME.ini, then NAME, in each directory of $TWLAB_SCENARIO_PATH
 * (colon-separated), scenario_dir(), <exe>/../share/twlab/scenarios (a
 * relocated install) and <exe>/../scenarios (build/twlab in a source tree).
 * The message lists the names it did find. */
const char *scenario_lookup(const char *arg, char *path, size_t len, char *err, size_t errlen);

/* Every scenario name found in those directories, first one wins, ", "
 * separated into buf ("" if none). */
const char *scenario_names(char *buf, size_t len);
#endif
