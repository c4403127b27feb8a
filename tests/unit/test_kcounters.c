/*
 * test_kcounters.c - the counter fallback of `twlab trace` reads nstat's
 * TcpExt pairs, TIME_WAIT sockets and conntrack -S from a fake proc root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "trace/kcounters.h"

static void counters_come_from_their_columns(void **st)
{
	(void)st;
	struct kcounters c;
	char why[256];

	assert_int_equal(kcounters_read("tests/data/kcounters", &c, why, sizeof why), 0);
	assert_int_equal(c.paws_estab, 17);
	assert_int_equal(c.paws_tw, 5);
	assert_int_equal(c.ack_skipped_tw, 4);
	assert_int_equal(c.tw_overflow, 2);
	assert_int_equal(c.paws_passive, -1);       /* not in this kernel's list */
	assert_int_equal(c.time_wait, 2);           /* state 06 only */
	assert_true(c.has_ct);
	assert_int_equal(c.ct_invalid, 0xa + 6);    /* summed over CPUs, hex */
	assert_int_equal(c.ct_insert_failed, 3);
}

static void a_missing_proc_root_is_an_error_that_names_the_file(void **st)
{
	(void)st;
	struct kcounters c;
	char why[256];

	assert_true(kcounters_read("tests/data/no-such-dir", &c, why, sizeof why) < 0);
	assert_non_null(strstr(why, "tests/data/no-such-dir/net/netstat"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counters_come_from_their_columns),
		cmocka_unit_test(a_missing_proc_root_is_an_error_that_names_the_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
