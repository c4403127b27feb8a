/* test_print.c - the text/JSON emitter: one call per field gives the text
 * format in text mode and the key in JSON mode, never both, never a field
 * of the other mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "print/pr.h"

/* The same emitter run in one mode; returns what it wrote (caller frees). */
static char *emit(bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pr p;

	assert_non_null(f);
	pr_begin_file(&p, json, f);
	pr_text(&p, "row: ");
	pr_int(&p, "port", "port %lld", 41000);
	pr_real(&p, "t", " t %.1f", 3.5);
	pr_str(&p, "outcome", " %s", "timed_out");
	pr_bool(&p, "reuse", " reuse %s", true);
	pr_int(&p, "syns", NULL, 3);                  /* JSON only */
	pr_null(&p, "rst_to_syn_ms", " -");
	pr_open(&p, "captures", false);
	pr_str(&p, "server", " server=%s", "s.pcap");
	pr_close(&p);
	pr_open(&p, "why", true);
	pr_str(&p, NULL, NULL, "line 1");
	pr_str(&p, NULL, NULL, "line 2");
	pr_close(&p);
	pr_text(&p, "\n");
	pr_end(&p);
	fclose(f);
	return buf;
}

static void text_mode_prints_the_formats_and_no_json_only_field(void **state)
{
	(void)state;
	char *s = emit(false);
	assert_string_equal(s, "row: port 41000 t 3.5 timed_out reuse yes - server=s.pcap\n");
	free(s);
}

static void json_mode_prints_one_object_with_every_key_and_no_text(void **state)
{
	(void)state;
	char *s = emit(true);
	assert_string_equal(s, "{\"port\":41000,\"t\":3.5,\"outcome\":\"timed_out\",\"reuse\":true,"
			       "\"syns\":3,\"rst_to_syn_ms\":null,\"captures\":{\"server\":\"s.pcap\"},"
			       "\"why\":[\"line 1\",\"line 2\"]}\n");
	free(s);
}

static void a_decision_has_explains_field_names(void **state)
{
	(void)state;
	struct tw_decision d = { .verdict = TCP_TW_ACK, .cause = TW_CAUSE_PAWS, .paws_reject = true };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pr p;

	pr_begin_file(&p, true, f);
	pr_tw_decision(&p, &d);
	pr_end(&p);
	fclose(f);
	assert_string_equal(buf, "{\"verdict\":\"TCP_TW_ACK\",\"cause\":\"paws\",\"paws_reject\":true,\"why\":[]}\n");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	pr_begin_file(&p, false, f);
	pr_tw_decision(&p, &d);
	pr_end(&p);
	fclose(f);
	assert_string_equal(buf, "TCP_TW_ACK (paws)");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_mode_prints_the_formats_and_no_json_only_field),
		cmocka_unit_test(json_mode_prints_one_object_with_every_key_and_no_text),
		cmocka_unit_test(a_decision_has_explains_field_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
