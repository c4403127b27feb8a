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

/* Resolve the argument of --scenario into a readable file path.
 * An argument with a '/' or naming an existing file is a path, used as is.
 * Otherwise it is a name (letters, digits, '.', '_', '-'), looked up as
 * NAME.ini, then NAME, in each directory of $TWLAB_SCENARIO_PATH
 * (colon-separated), scenario_dir(), <exe>/../share/twlab/scenarios (a
 * relocated install) and <exe>/../scenarios (build/twlab in a source tree).
 * False with a message in err that lists the names it did find. */
bool scenario_lookup(const char *arg, char *path, size_t len, char *err, size_t errlen);

/* Every scenario name found in those directories, first one wins, ", "
 * separated into buf ("" if none). */
const char *scenario_names(char *buf, size_t len);
#endif
