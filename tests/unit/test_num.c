/* test_num.c - the strict number parser accepts exactly u32 decimal/hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/num.h"

static void decimal_and_hex_parse(void **state)
{
	(void)state;
	uint32_t v; const char *why;
	assert_true(parse_u32("2851797348", &v, &why)); assert_int_equal(v, 2851797348u);
	assert_true(parse_u32("0xffffffff", &v, &why)); assert_int_equal(v, 0xffffffffu);
	assert_true(parse_u32("0", &v, &why)); assert_int_equal(v, 0);
	assert_true(parse_u32("4294967295", &v, &why)); assert_int_equal(v, 4294967295u);
}

static void junk_sign_and_overflow_are_rejected(void **state)
{
	(void)state;
	uint32_t v; const char *why;
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "12x", "0x", "0xg", "4294967296",
			      "99999999999999999999999", "1e3", "0x1ffffffff", NULL };
	for (int i = 0; bad[i]; i++) {
		why = NULL;
		assert_false(parse_u32(bad[i], &v, &why));
		assert_non_null(why);
	}
}

static void seconds_accept_fractions_but_not_negatives(void **state)
{
	(void)state;
	double d; const char *why;
	assert_true(parse_seconds("0.5", 100, &d, &why)); assert_true(d == 0.5);
	assert_false(parse_seconds("-1", 100, &d, &why));
	assert_false(parse_seconds("101", 100, &d, &why));
	assert_false(parse_seconds("nan", 100, &d, &why));
	assert_false(parse_seconds("5s", 100, &d, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decimal_and_hex_parse),
		cmocka_unit_test(junk_sign_and_overflow_are_rejected),
		cmocka_unit_test(seconds_accept_fractions_but_not_negatives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
