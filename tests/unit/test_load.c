/* test_load.c - the pure parts of `lab load`: the server's request parse,
 * the client's and server's messages, the 95 % interval and quantiles, the
 * conntrack event line, the NAT rules per mode and the scenario's client
 * addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lab/load.h"
#include "util/stats.h"
#include "lab/load_http.h"

static enum http_parse parse(const char *s, struct http_req *r)
{
	const char *why;
	return http_parse_request(s, strlen(s), r, &why);
}

static void http10_get_closes_and_http11_keeps_alive(void **st)
{
	(void)st;
	struct http_req r;
	assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\n\r\n", &r), HTTP_OK);
	assert_false(r.keepalive);
	assert_int_equal(r.head_len, strlen("GET / HTTP/1.0\r\nHost: a\r\n\r\n"));
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r), HTTP_OK);
	assert_true(r.keepalive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", &r), HTTP_OK);
	assert_false(r.keepalive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", &r), HTTP_OK);
	assert_true(r.keepalive);
	assert_int_equal(parse("HEAD /x HTTP/1.0\r\n\r\n", &r), HTTP_OK);
	assert_true(r.head);
}

static void incomplete_heads_wait_and_bad_ones_are_refused(void **st)
{
	(void)st;
	struct http_req r;
	const char *why;
	char big[HTTP_MAX_REQUEST + 10];
	assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\n", &r), HTTP_NEED_MORE);
	assert_int_equal(parse("", &r), HTTP_NEED_MORE);
	assert_int_equal(parse("POST / HTTP/1.0\r\n\r\n", &r), HTTP_BAD);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &r), HTTP_BAD);
	assert_int_equal(parse("GET  HTTP/1.0\r\n\r\n", &r), HTTP_BAD);
	assert_int_equal(parse("GET / HTTP/1.0\r\nno colon\r\n\r\n", &r), HTTP_BAD);
	assert_int_equal(parse("GET / HTTP/1.0\r\n: empty name\r\n\r\n", &r), HTTP_BAD);
	assert_int_equal(http_parse_request("GET /\0 HTTP/1.0\r\n\r\n", 20, &r, &why), HTTP_BAD);
	assert_non_null(why);
	memset(big, 'a', sizeof big);
	assert_int_equal(http_parse_request(big, sizeof big, &r, &why), HTTP_BAD);
	assert_string_equal(why, "request head longer than 2048 bytes");
}

static void what_the_client_sends_the_server_parses(void **st)
{
	(void)st;
	char buf[256];
	struct http_req r;
	size_t n = http_client_request(false, "198.18.100.80", buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(parse(buf, &r), HTTP_OK);
	assert_false(r.keepalive);
	n = http_client_request(true, "198.18.100.80", buf, sizeof buf);
	assert_int_equal(parse(buf, &r), HTTP_OK);
	assert_true(r.keepalive);
	assert_int_equal(r.head_len, n);
	/* the HTTP/1.0 answer has no length (the server's FIN ends it), the
	 * kept-alive one has */
	http_server_response(false, false, buf, sizeof buf);
	assert_null(strstr(buf, "Content-Length"));
	assert_non_null(strstr(buf, "HTTP/1.0 200"));
	http_server_response(true, false, buf, sizeof buf);
	assert_non_null(strstr(buf, "Content-Length: 17\r\n"));
}

static void wilson_interval_matches_the_textbook(void **st)
{
	(void)st;
	double lo, hi;
	/* 10 of 100: Wilson 95 % = [0.0552, 0.1744] */
	wilson95(10, 100, &lo, &hi);
	assert_true(lo > 0.0551 && lo < 0.0553);
	assert_true(hi > 0.1743 && hi < 0.1745);
	/* 0 of 1000: lower bound 0, upper 3.83 per 1000 */
	wilson95(0, 1000, &lo, &hi);
	assert_true(lo == 0);
	assert_true(hi > 0.0038 && hi < 0.0039);
	/* all of them: upper bound exactly 1 */
	wilson95(7, 7, &lo, &hi);
	assert_true(hi == 1 && lo > 0.5);
	wilson95(0, 0, &lo, &hi);
	assert_true(lo == 0 && hi == 1);
}

static void quantiles_are_nearest_rank(void **st)
{
	(void)st;
	float v[100];
	for (int i = 0; i < 100; i++)
		v[i] = (float)(100 - i);     /* 100 .. 1, unsorted */
	assert_true(load_quantile(v, 100, 0.50) == 50);
	assert_true(load_quantile(v, 100, 0.99) == 99);
	assert_true(load_quantile(v, 100, 1.0) == 100);
	assert_true(load_quantile(v, 0, 0.5) == 0);
}

static void conntrack_new_event_gives_client_and_snat_address(void **st)
{
	(void)st;
	uint32_t src = 0, nat = 0;
	uint16_t sp = 0, np = 0;
	const char *l = "    [NEW] tcp      6 120 SYN_SENT src=198.18.1.10 dst=198.18.100.80 sport=40012 "
			"dport=80 [UNREPLIED] src=198.19.0.2 dst=198.18.200.2 sport=80 dport=51234\n";
	assert_true(load_ct_line(l, &src, &sp, &nat, &np));
	assert_int_equal(src, 0xc612010au);
	assert_int_equal(sp, 40012);
	assert_int_equal(nat, 0xc612c802u);
	assert_int_equal(np, 51234);
	assert_false(load_ct_line("NOTICE: Netlink socket buffer size has been set", &src, &sp, &nat, &np));
	assert_false(load_ct_line("[NEW] udp 17 30 src=1.2.3.4 dst=1.2.3.5 sport=1 dport=2", &src, &sp, &nat, &np));
	assert_false(load_ct_line("[NEW] tcp 6 120 SYN_SENT src=198.18.1.10 dst=198.18.100.80 sport=99999 "
				  "dport=80 src=198.19.0.2 dst=198.18.200.2 sport=80 dport=1", &src, &sp, &nat, &np));
}

static void conntrack_update_and_destroy_with_timestamps(void **st)
{
	(void)st;
	struct load_ct_ev e;
	assert_int_equal(load_ct_parse("[1795614770.364980]\t [UPDATE] tcp      6 2 TIME_WAIT src=198.18.1.10 "
				       "dst=198.18.100.80 sport=40012 dport=80 src=198.19.0.2 dst=198.18.200.3 "
				       "sport=80 dport=40012 [ASSURED] mark=1", &e), 2);
	assert_true(e.ts > 1795614770.36 && e.ts < 1795614770.37);
	assert_int_equal(e.timeout, 2);
	assert_int_equal(e.nat, 0xc612c803u);
	assert_int_equal(load_ct_parse("[DESTROY] tcp      6 TIME_WAIT src=198.18.1.10 dst=198.18.100.80 "
				       "sport=40012 dport=80 src=198.19.0.2 dst=198.18.200.3 sport=80 dport=40012", &e), -1);
	assert_int_equal(e.timeout, -1);
	assert_true(e.ts == 0);
}

static void a_session_lives_until_its_entry_expires_or_is_destroyed(void **st)
{
	(void)st;
	static struct load_sessions s;
	struct load_ct_ev e = { .type = 1, .ts = 100, .timeout = 120, .src = 1, .sport = 40000, .nat = 7 };
	load_sessions_event(&s, &e);
	assert_true(load_sessions_alive(&s, 101, 0));
	assert_true(load_sessions_alive(&s, 101, 7));
	assert_false(load_sessions_alive(&s, 101, 8));
	e.type = 2;                        /* TIME_WAIT, 2 s left, at t = 103 */
	e.ts = 103;
	e.timeout = 2;
	load_sessions_event(&s, &e);
	assert_true(load_sessions_alive(&s, 104.9, 0));
	assert_false(load_sessions_alive(&s, 105.1, 0));   /* expired: its DESTROY may come later */
	e.type = 1;                        /* a new session on another port, destroyed early */
	e.ts = 110;
	e.timeout = 120;
	e.sport = 40002;
	load_sessions_event(&s, &e);
	e.type = -1;
	e.ts = 111;
	load_sessions_event(&s, &e);
	assert_true(load_sessions_alive(&s, 110.5, 0));
	assert_false(load_sessions_alive(&s, 111.5, 0));
}

static void nat_rules_per_mode_and_pool_limits(void **st)
{
	(void)st;
	struct scenario s;
	struct load_nat n;
	struct snat_spec m;
	char err[256];
	uint32_t c[2] = { 0xc6120102u, 0xc6120202u };

	assert_true(scenario_load(NULL, &s, err, sizeof err));
	assert_int_equal(load_nat_free(&s), 253);          /* .1 .. .253 */
	assert_true(snat_spec_parse("overload:2", &m, err, sizeof err));
	assert_true(load_nat_build(&s, &m, c, 2, &n, err, sizeof err));
	assert_non_null(strstr(n.rules, "snat to 198.18.200.1-198.18.200.2\n"));
	assert_int_equal(n.npool, 2);
	assert_true(snat_spec_parse("static", &m, err, sizeof err));
	assert_true(load_nat_build(&s, &m, c, 2, &n, err, sizeof err));
	assert_non_null(strstr(n.rules, "snat to ip saddr map { 198.18.1.2 : 198.18.200.1, "
				    "198.18.2.2 : 198.18.200.2 }"));
	assert_true(snat_spec_parse("overload:254", &m, err, sizeof err));
	assert_false(load_nat_build(&s, &m, c, 2, &n, err, sizeof err));
	assert_non_null(strstr(err, "253 free"));
	/* one-to-one: the allocator's mark picks the address; unmarked never leaves */
	assert_true(snat_spec_parse("one-to-one:3", &m, err, sizeof err));
	assert_true(load_nat_build(&s, &m, c, 2, &n, err, sizeof err));
	assert_true(n.queue);
	assert_non_null(strstr(n.rules, "snat to meta mark map { 0x100 : 198.18.200.1, 0x101 : 198.18.200.2, "
				    "0x102 : 198.18.200.3 }\nadd rule ip twlab post oifname \"gw\" counter drop\n"));
}

static void scenario_client_addresses(void **st)
{
	(void)st;
	struct scenario s;
	char err[256];
	assert_true(scenario_parse("[lab]\nclients = 4\n[client]\naddresses = 198.18.1.10, 198.18.2.2\n",
				   &s, err, sizeof err));
	assert_int_equal(s.nclient_addr, 2);
	assert_int_equal(load_client_addr(&s, 0), 0xc612010au);
	assert_int_equal(load_client_addr(&s, 1), 0xc6120202u);
	assert_int_equal(load_client_addr(&s, 3), 0xc6120402u);     /* the default */
	assert_false(scenario_parse("[client]\naddresses = 10.0.0.1\n", &s, err, sizeof err));
	assert_non_null(strstr(err, "198.18.0.0/15"));
	assert_false(scenario_parse("[client]\naddresses = ,\n", &s, err, sizeof err));
}

/* The pool address the measured table gives a client (pool of n). */
static uint32_t measured_snat(uint32_t client, unsigned n)
{
	FILE *f = fopen("tests/data/nat_overload_measured.tsv", "r");
	char line[256], k[64], first[32], srv[32], cl[32], nat[32];
	unsigned pool;
	uint32_t found = 0;

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %u %31s %31s %31s %31s", k, &pool, first, srv, cl, nat) == 6 &&
		    pool == n) {
			struct scenario t;
			char text[128], err[128];
			snprintf(text, sizeof text, "[client]\naddresses = %s, %s\n", cl, nat);
			assert_true(scenario_parse(text, &t, err, sizeof err));
			if (t.client_addr[0] == client)
				found = t.client_addr[1];
		}
	fclose(f);
	return found;
}

static void shipped_scenarios_place_clients_as_measured(void **st)
{
	(void)st;
	struct scenario c, s;
	char err[256];
	uint32_t a[4];

	assert_true(scenario_load("scenarios/coincidence.ini", &c, err, sizeof err));
	assert_true(scenario_load("scenarios/spread.ini", &s, err, sizeof err));
	assert_int_equal(c.clients, 4);
	assert_int_equal(s.clients, 4);
	/* coincidence: all four on one address of overload:2 */
	for (unsigned i = 0; i < 4; i++) {
		a[i] = measured_snat(load_client_addr(&c, i), 2);
		assert_true(a[i] != 0);
		assert_int_equal(a[i], a[0]);
	}
	/* spread: two on each */
	unsigned on_first = 0;
	for (unsigned i = 0; i < 4; i++) {
		a[i] = measured_snat(load_client_addr(&s, i), 2);
		assert_true(a[i] != 0);
		on_first += a[i] == 0xc612c801u;
	}
	assert_int_equal(on_first, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(http10_get_closes_and_http11_keeps_alive),
		cmocka_unit_test(incomplete_heads_wait_and_bad_ones_are_refused),
		cmocka_unit_test(what_the_client_sends_the_server_parses),
		cmocka_unit_test(wilson_interval_matches_the_textbook),
		cmocka_unit_test(quantiles_are_nearest_rank),
		cmocka_unit_test(conntrack_new_event_gives_client_and_snat_address),
		cmocka_unit_test(conntrack_update_and_destroy_with_timestamps),
		cmocka_unit_test(a_session_lives_until_its_entry_expires_or_is_destroyed),
		cmocka_unit_test(nat_rules_per_mode_and_pool_limits),
		cmocka_unit_test(scenario_client_addresses),
		cmocka_unit_test(shipped_scenarios_place_clients_as_measured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
