/* test_scenario_lookup.c - `--scenario NAME` as well as a path: names are
 * found in $TWLAB_SCENARIO_PATH (in order), with or without .ini; paths are
 * never looked up; a bad or unknown name says which names exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "scenario/lookup.h"
#include "scenario/scenario.h"

static char dir_a[64], dir_b[64];

static void put(const char *dir, const char *name, const char *text)
{
	char p[128];
	FILE *f;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static int setup(void **st)
{
	char path[160];
	(void)st;
	strcpy(dir_a, "/tmp/twlab-lookup-a.XXXXXX");
	strcpy(dir_b, "/tmp/twlab-lookup-b.XXXXXX");
	if (!mkdtemp(dir_a) || !mkdtemp(dir_b))
		return -1;
	put(dir_a, "edge.ini", "[lab]\nprefix = aa-\n");
	put(dir_b, "edge.ini", "[lab]\nprefix = bb-\n");
	put(dir_b, "bare", "[lab]\nprefix = cc-\n");
	put(dir_b, "other.ini", "[lab]\nclients = 3\n");
	snprintf(path, sizeof path, "/nonexistent:%s:%s", dir_a, dir_b);
	return setenv("TWLAB_SCENARIO_PATH", path, 1);
}

static int teardown(void **st)
{
	const char *files[] = { "a/edge.ini", "b/edge.ini", "b/bare", "b/other.ini" };
	char p[128];
	(void)st;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", files[i][0] == 'a' ? dir_a : dir_b, files[i] + 2);
		unlink(p);
	}
	rmdir(dir_a);
	rmdir(dir_b);
	return 0;
}

static void a_name_is_found_in_the_first_directory_that_has_it(void **st)
{
	char path[256], err[512], want[128];
	struct scenario s;
	(void)st;
	snprintf(want, sizeof want, "%s/edge.ini", dir_a);
	assert_string_equal(scenario_lookup("edge", path, sizeof path, err, sizeof err), want);
	assert_true(scenario_load("edge", &s, err, sizeof err));
	assert_string_equal(s.prefix, "aa-");
}

static void a_name_may_name_a_file_without_ini(void **st)
{
	char path[256], err[512];
	struct scenario s;
	(void)st;
	assert_true(scenario_load("bare", &s, err, sizeof err));
	assert_string_equal(s.prefix, "cc-");
	assert_non_null(scenario_lookup("other", path, sizeof path, err, sizeof err));
}

static void a_path_is_used_as_given(void **st)
{
	char path[256], err[512], p[128];
	const char *r;
	(void)st;
	snprintf(p, sizeof p, "%s/edge.ini", dir_b);
	assert_ptr_equal(scenario_lookup(p, path, sizeof path, err, sizeof err), p);
	/* a path is not looked up, even when it does not exist */
	r = scenario_lookup("./edge", path, sizeof path, err, sizeof err);
	assert_string_equal(r, "./edge");
}

static void an_unknown_name_lists_the_names_there_are(void **st)
{
	char path[256], err[512];
	(void)st;
	assert_null(scenario_lookup("nosuch", path, sizeof path, err, sizeof err));
	assert_non_null(strstr(err, "'nosuch': no such file"));
	/* each name once, from every directory searched */
	assert_non_null(strstr(err, "edge"));
	assert_non_null(strstr(err, "other"));
	assert_null(strstr(strstr(err, "edge") + 4, "edge,"));
}

static void a_name_with_odd_characters_is_refused(void **st)
{
	char path[256], err[512];
	(void)st;
	assert_null(scenario_lookup("..", path, sizeof path, err, sizeof err));
	assert_null(scenario_lookup("a b", path, sizeof path, err, sizeof err));
	assert_null(scenario_lookup("", path, sizeof path, err, sizeof err));
	assert_non_null(strstr(err, "not a scenario name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_name_is_found_in_the_first_directory_that_has_it),
		cmocka_unit_test(a_name_may_name_a_file_without_ini),
		cmocka_unit_test(a_path_is_used_as_given),
		cmocka_unit_test(an_unknown_name_lists_the_names_there_are),
		cmocka_unit_test(a_name_with_odd_characters_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
