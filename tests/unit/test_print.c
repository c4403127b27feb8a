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
	assert_string_equal(buf, "{\"verdict\":\"TCP_TW_ACK\",\"paws_reject\":true,\"cause\":\"paws\",\"reply\":null,"
			    "\"timer_rearmed\":false,\"tw_killed\":false,\"rate_limited\":false,"
			    "\"kernel_status\":\"TCP_TW_ACK\",\"drop_reason\":null,\"counters\":[],\"why\":[]}\n");
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

/* List mode: every keyed field a "key  value" line, objects on one line,
 * arrays one value per line, and the same decision as JSON. */
static void list_mode_prints_every_field_as_a_line(void **state)
{
	(void)state;
	struct tw_decision d = {
		.verdict = TCP_TW_SYN, .isn = 65547, .isn_lost = true, .tw_killed = true,
		.reply = { .sent = true, .flags = TCPF_SYN | TCPF_ACK, .seq = 9, .ack = 7 },
		.counters = { "TcpExtTW", NULL },
		.why = { .n = 2, .line = { "line 1", "line 2" } },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pr p;

	pr_begin_list(&p, false, f);
	pr_tw_decision(&p, &d);
	pr_real(&p, "t", "unused %f", 1.5);
	pr_open(&p, "empty", true);
	pr_close(&p);
	pr_text(&p, "text\n");
	pr_end(&p);
	fclose(f);
	assert_string_equal(buf,
		"verdict        TCP_TW_SYN\n"
		"paws_reject    no\n"
		"cause          none\n"
		"reply          flags SA  seq -  ack 7\n"
		"isn            65547\n"
		"isn_lost       yes\n"
		"timer_rearmed  no\n"
		"tw_killed      yes\n"
		"rate_limited   no\n"
		"kernel_status  TCP_TW_SYN\n"
		"drop_reason    -\n"
		"counters       TcpExtTW\n"
		"why            line 1\n"
		"               line 2\n"
		"t              1.500\n"
		"empty          -\n"
		"text\n");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	pr_begin_list(&p, true, f);
	pr_tw_decision(&p, &d);
	pr_text(&p, "text\n");
	pr_end(&p);
	fclose(f);
	assert_string_equal(buf, "{\"verdict\":\"TCP_TW_SYN\",\"paws_reject\":false,\"cause\":\"none\","
			    "\"reply\":{\"flags\":\"SA\",\"seq\":null,\"ack\":7},\"isn\":65547,\"isn_lost\":true,"
			    "\"timer_rearmed\":false,\"tw_killed\":true,\"rate_limited\":false,"
			    "\"kernel_status\":\"TCP_TW_SYN\",\"drop_reason\":null,\"counters\":[\"TcpExtTW\"],"
			    "\"why\":[\"line 1\",\"line 2\"]}\n");
	free(buf);
}

/* List mode from pr_set_list on: what is nested in a line's value prints as
 * compact JSON; pr_discard drops a JSON result unprinted. */
static void list_mode_nests_deeper_values_as_json(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pr p;

	pr_begin_file(&p, false, f);
	pr_int(&p, "requests", "requests %lld\n", 7);
	pr_set_list(&p, true);
	pr_open(&p, "clients", false);
	pr_int(&p, "count", NULL, 2);
	pr_open(&p, "top", true);
	pr_open(&p, NULL, false);
	pr_int(&p, "client", NULL, 1);
	pr_str(&p, "addr", NULL, "198.18.1.2");
	pr_close(&p);
	pr_close(&p);
	pr_real(&p, "share", NULL, 0.25);
	pr_close(&p);
	pr_end(&p);
	fclose(f);
	assert_string_equal(buf, "requests 7\n"
			    "clients        count 2  top [{\"client\":1,\"addr\":\"198.18.1.2\"}]  share 0.250\n");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	pr_begin_file(&p, true, f);
	pr_open(&p, "rows", true);
	pr_int(&p, NULL, NULL, 1);
	pr_discard(&p);
	pr_end(&p);
	fclose(f);
	assert_string_equal(buf, "");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_mode_prints_the_formats_and_no_json_only_field),
		cmocka_unit_test(json_mode_prints_one_object_with_every_key_and_no_text),
		cmocka_unit_test(a_decision_has_explains_field_names),
		cmocka_unit_test(list_mode_prints_every_field_as_a_line),
		cmocka_unit_test(list_mode_nests_deeper_values_as_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
