/*
 * lookup.c - scenario names to files. The search path is built once per
 * call from the environment, the install directory compiled in and the
 * executable's own location, so an installed, a relocated and an in-tree
 * twlab all find their scenario files without configuration.
 */
#include "scenario/lookup.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildinfo.h"   /* TWLAB_SCENARIODIR */

#define MAX_DIRS 16

const char *scenario_dir(void)
{
	return TWLAB_SCENARIODIR;
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool valid_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!(( *s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* The directories to search, in order, into store (one NUL-separated
 * string each); returns how many. */
static int search_dirs(char store[MAX_DIRS][PATH_MAX])
{
	int n = 0;
	const char *env = getenv("TWLAB_SCENARIO_PATH");
	char exe[PATH_MAX];
	ssize_t r;

	while (env && *env && n < MAX_DIRS - 3) {
		size_t l = strcspn(env, ":");
		if (l && l < PATH_MAX)
			snprintf(store[n++], PATH_MAX, "%.*s", (int)l, env);
		env += l + (env[l] == ':');
	}
	snprintf(store[n++], PATH_MAX, "%s", TWLAB_SCENARIODIR);
	r = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (r > 0) {
		char *slash;
		exe[r] = 0;
		if ((slash = strrchr(exe, '/'))) {
			*slash = 0;
			snprintf(store[n++], PATH_MAX, "%.*s/../share/twlab/scenarios", PATH_MAX - 32, exe);
			snprintf(store[n++], PATH_MAX, "%.*s/../scenarios", PATH_MAX - 32, exe);
		}
	}
	return n;
}

/* Is name one of the ", "-separated entries of list? */
static bool listed(const char *list, const char *name)
{
	size_t l = strlen(name);
	for (const char *p = list; (p = strstr(p, name)); p += l)
		if ((p == list || p[-1] == ' ') && (p[l] == ',' || p[l] == 0))
			return true;
	return false;
}

const char *scenario_names(char *buf, size_t len)
{
	static char dirs[MAX_DIRS][PATH_MAX];
	int nd = search_dirs(dirs);
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	for (int i = 0; i < nd; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		if (!d)
			continue;
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);
			char name[80];
			char p[PATH_MAX + 80];
			if (l < 5 || l > 68 || strcmp(e->d_name + l - 4, ".ini"))
				continue;
			snprintf(name, sizeof name, "%.*s", (int)(l - 4), e->d_name);
			snprintf(p, sizeof p, "%.4000s/%.70s", dirs[i], e->d_name);
			if (!valid_name(name) || !is_file(p))
				continue;
			if (listed(buf, name))   /* an earlier directory gave it */
				continue;
			if (used + l + 2 >= len)
				break;
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
		}
		closedir(d);
	}
	return buf;
}

const char *scenario_lookup(const char *arg, char *path, size_t len, char *err, size_t errlen)
{
	static char dirs[MAX_DIRS][PATH_MAX];
	char names[512];
	int nd;

	if (strchr(arg, '/') || is_file(arg))
		return arg;
	if (!valid_name(arg)) {
		snprintf(err, errlen, "'%.200s': no such file, and not a scenario name "
			 "(letters, digits, '.', '_', '-')", arg);
		return NULL;
	}
	nd = search_dirs(dirs);
	for (int i = 0; i < nd; i++) {
		static const char *const suffix[] = { ".ini", "" };
		for (int j = 0; j < 2; j++) {
			if ((size_t)snprintf(path, len, "%s/%s%s", dirs[i], arg, suffix[j]) < len &&
			    is_file(path))
				return path;
		}
	}
	scenario_names(names, sizeof names);
	snprintf(err, errlen, "'%s': no such file, and no scenario of that name in "
		 "$TWLAB_SCENARIO_PATH or %s (names: %s)", arg, TWLAB_SCENARIODIR,
		 names[0] ? names : "none installed");
	return NULL;
}
