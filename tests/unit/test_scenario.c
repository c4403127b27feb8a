/* test_lab_scenario.c - scenario files: the report's default, overrides,
 * and strict rejection of bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "scenario/scenario.h"

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
		"[fleet]\nrate = 0\n",
		"[fleet]\nrate = -1\n",
		"[fleet]\nclients = 0\n",
		"[fleet]\nsnat = overload:0\n",
		"[fleet]\nsnat = static:2\n",
		"[fleet]\nsnat = hash\n",
		"[fleet]\nport_range = 61000-32768\n",
		"[fleet]\nport_range = 0-10\n",
		"[fleet]\nport_range = 4-4\n",             /* fuzz_scenario found it */
		"[fleet]\nport_range = 100\n",
		"[fleet]\nkeepalive = 1.5\n",
		"[fleet]\narrivals = bursty\n",
		"[fleet]\nclient_kernel = 6.18;rm\n",
		"[fleet]\nwhatever = 1\n",
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

/* Each of these builds a lab that cannot work (topo.c's links: client i on
 * 198.18.i.0/24, the gateway at .254 of the SNAT and server /24s). */
static void overlapping_addresses_are_rejected(void **st)
{
	(void)st;
	struct scenario s;
	char err[256];
	const struct { const char *ini, *says; } bad[] = {
		{ "[firewall]\nsnat = 198.18.1.5\n", "client-1's link" },
		{ "[lab]\nclients = 8\n[firewall]\nsnat = 198.18.8.1\n", "client-8's link" },
		{ "[server]\naddress = 198.18.2.9\n", "client-2's link" },
		{ "[service]\naddress = 198.18.2.80\n", "client-2's link" },
		{ "[server]\naddress = 198.19.0.254\n", ".254" },
		{ "[firewall]\nsnat = 198.18.200.254\n", ".254" },
		{ "[server]\naddress = 198.19.0.255\n", ".255" },
		{ "[firewall]\nsnat = 198.19.0.7\n", "share a /24" },
		{ "[service]\naddress = 198.18.200.254\n", "gateway's own address" },
		{ "[service]\naddress = 198.18.200.1\n", "must differ" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		assert_false(scenario_parse(bad[i].ini, &s, err, sizeof err));
		if (!strstr(err, bad[i].says))
			fail_msg("%s: '%s' does not say '%s'", bad[i].ini, err, bad[i].says);
	}
	/* the same addresses where they fit */
	assert_true(scenario_parse("[lab]\nclients = 3\n[firewall]\nsnat = 198.18.4.1\n", &s, err, sizeof err));
	assert_true(scenario_parse("[server]\naddress = 198.19.0.253\n", &s, err, sizeof err));
}

static void prefix_is_checked_as_a_value(void **st)
{
	(void)st;
	const char *why;
	const char *bad[] = { "", "a b", "a;b", "a\nclients = 9", "abcdefghijkl", "../x", "a/b", NULL };
	for (int i = 0; bad[i]; i++)
		assert_false(scenario_prefix_ok(bad[i], &why));
	assert_true(scenario_prefix_ok("twl-", &why));
	assert_true(scenario_prefix_ok("abcdefghijk", &why));
}

static void fleet_section_sets_the_load_and_defaults_hold(void **st)
{
	(void)st;
	struct scenario s;
	char err[256], buf[32];
	assert_true(scenario_load(NULL, &s, err, sizeof err));
	assert_int_equal(s.fleet.clients, 0);            /* the lab's clients */
	assert_true(s.fleet.rate == 2 && s.fleet.duration_s == 30 && !s.fleet.periodic);
	assert_int_equal(s.fleet.port_lo, 32768);
	assert_int_equal(s.fleet.port_hi, 60999);
	assert_string_equal(snat_spec_str(&s.fleet.snat, buf, sizeof buf), "overload:1");
	assert_true(scenario_parse("[fleet]\nclients = 400\nrate = 0.75\narrivals = periodic\n"
				   "snat = one-to-one:16\nport_range = 40000-40009\n"
				   "keepalive = 0.5\nclient_kernel = 3.10\n", &s, err, sizeof err));
	assert_int_equal(s.fleet.clients, 400);
	assert_true(s.fleet.rate == 0.75 && s.fleet.periodic && s.fleet.keepalive == 0.5);
	assert_int_equal(s.fleet.snat.mode, SNAT_ONE_TO_ONE);
	assert_int_equal(s.fleet.snat.n, 16);
	assert_int_equal(s.fleet.port_lo, 40000);
	assert_int_equal(s.fleet.port_hi, 40009);
	assert_string_equal(s.fleet.client_kernel, "3.10");
	assert_string_equal(s.fleet.server_kernel, "host");
	assert_true(fleet_check(&s.fleet, err, sizeof err));
}

static void snat_modes_round_trip_and_options_map_to_keys(void **st)
{
	(void)st;
	const char *ok[] = { "overload:1", "overload:2", "one-to-one:16", "static",
			     "masquerade", "random-fully", NULL };
	struct snat_spec sp;
	char err[160], buf[32];
	for (int i = 0; ok[i]; i++) {
		assert_true(snat_spec_parse(ok[i], &sp, err, sizeof err));
		assert_string_equal(snat_spec_str(&sp, buf, sizeof buf), ok[i]);
	}
	assert_true(snat_spec_parse("overload", &sp, err, sizeof err));
	assert_int_equal(sp.n, 1);
	assert_false(snat_spec_parse("overload:", &sp, err, sizeof err));
	assert_false(snat_spec_parse("overload:x", &sp, err, sizeof err));
	assert_false(snat_spec_parse("", &sp, err, sizeof err));
	assert_string_equal(fleet_option_key("--port-range"), "port_range");
	assert_string_equal(fleet_option_key("--snat"), "snat");
	assert_null(fleet_option_key("--seed"));
	assert_null(fleet_option_key("snat"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builtin_default_is_the_reports_lab),
		cmocka_unit_test(shipped_file_parses_the_same_as_the_builtin),
		cmocka_unit_test(a_file_overrides_only_what_it_names),
		cmocka_unit_test(bad_values_are_rejected_with_the_line),
		cmocka_unit_test(overlapping_addresses_are_rejected),
		cmocka_unit_test(prefix_is_checked_as_a_value),
		cmocka_unit_test(fleet_section_sets_the_load_and_defaults_hold),
		cmocka_unit_test(snat_modes_round_trip_and_options_map_to_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
