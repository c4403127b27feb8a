/* test_lab_scenario.c - scenario files: the report's default, overrides,
 * and strict rejection of bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lab/scenario.h"

static void builtin_default_is_the_reports_lab(void **st)
{
	(void)st;
	struct scenario s;
	char err[256];
	assert_true(scenario_load(NULL, &s, err, sizeof err));
	assert_string_equal(s.prefix, "twl-");
	assert_int_equal(s.clients, 2);
	assert_int_equal(s.fw, FW_STRICT);
	assert_int_equal(s.fw_time_wait, 2);
	assert_int_equal(s.gw_time_wait, 60);
	assert_int_equal(s.service_port, 80);
	assert_int_equal(s.service_addr, 0xc6126450u);   /* 198.18.100.80 */
	assert_true(scenario_addr_ok(s.snat_addr) && scenario_addr_ok(s.server_addr));
}

static void shipped_file_parses_the_same_as_the_builtin(void **st)
{
	(void)st;
	struct scenario a, b;
	char err[256];
	assert_true(scenario_load(NULL, &a, err, sizeof err));
	assert_true(scenario_load("scenarios/report.ini", &b, err, sizeof err));
	assert_memory_equal(&a, &b, sizeof a);
}

static void a_file_overrides_only_what_it_names(void **st)
{
	(void)st;
	struct scenario s;
	char err[256];
	assert_true(scenario_parse("[firewall]\nprofile = linux\ntime_wait = 5\n[lab]\nclients=3\n",
				   &s, err, sizeof err));
	assert_int_equal(s.fw, FW_LINUX);
	assert_int_equal(s.fw_time_wait, 5);
	assert_int_equal(s.clients, 3);
	assert_int_equal(s.gw_time_wait, 60);
}

static void bad_values_are_rejected_with_the_line(void **st)
{
	(void)st;
	struct scenario s;
	char err[256];
	const char *bad[] = {
		"[service]\naddress = 10.0.0.1\n",            /* outside 198.18.0.0/15 */
		"[service]\naddress = 8.8.8.8\n",
		"[firewall]\ntime_wait = -1\n",
		"[firewall]\ntime_wait = 99999\n",
		"[firewall]\nprofile = cisco\n",
		"[lab]\nclients = 0\n",
		"[lab]\nclients = 9\n",
		"[lab]\nprefix = bad prefix\n",
		"[lab]\nprefix = muchtoolongprefix\n",
		"[server]\nport = 70000\n",
		"[nonsense]\nkey = 1\n",
		"[lab\nclients = 2\n",
		"[server]\naddress = 198.18.200.1\n",           /* same as SNAT */
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		err[0] = 0;
		assert_false(scenario_parse(bad[i], &s, err, sizeof err));
		assert_true(strncmp(err, "line ", 5) == 0 || strstr(err, "must differ"));
	}
	assert_false(scenario_load("/nonexistent/x.ini", &s, err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/x.ini"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builtin_default_is_the_reports_lab),
		cmocka_unit_test(shipped_file_parses_the_same_as_the_builtin),
		cmocka_unit_test(a_file_overrides_only_what_it_names),
		cmocka_unit_test(bad_values_are_rejected_with_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
