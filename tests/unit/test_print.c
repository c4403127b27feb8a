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

/* What an emitter writes, caught in memory: mem_open, then mem_close
 * returns the text (caller frees). */
struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	return m->f;
}

static char *mem_close(struct mem *m)
{
	fclose(m->f);
	return m->buf;
}

/* Where an emitter writes: a jansson object printed at pr_end, or stream
 * mode's buffer (trace's events). */
enum sink { TREE, STREAM };

static char line[4096];

static void begin(struct pr *p, bool json, FILE *f, enum sink s)
{
	if (s == STREAM)
		pr_begin_buf(p, json, f, line, sizeof line);
	else
		pr_begin_file(p, json, f);
}

/* The same emitter run in one mode; returns what it wrote (caller frees). */
static char *emit_to(bool json, enum sink s)
{
	struct mem m;
	FILE *f = mem_open(&m);
	struct pr p;

	begin(&p, json, f, s);
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
	return mem_close(&m);
}

static char *emit(bool json)
{
	return emit_to(json, TREE);
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
	struct mem m;
	char *buf;
	FILE *f = mem_open(&m);
	struct pr p;

	pr_begin_file(&p, true, f);
	pr_tw_decision(&p, &d);
	pr_end(&p);
	buf = mem_close(&m);
	assert_string_equal(buf, "{\"verdict\":\"TCP_TW_ACK\",\"paws_reject\":true,\"cause\":\"paws\",\"reply\":null,"
			    "\"timer_rearmed\":false,\"tw_killed\":false,\"rate_limited\":false,"
			    "\"kernel_status\":\"TCP_TW_ACK\",\"drop_reason\":null,\"counters\":[],\"why\":[]}\n");
	free(buf);
	f = mem_open(&m);
	pr_begin_file(&p, false, f);
	pr_tw_decision(&p, &d);
	pr_end(&p);
	buf = mem_close(&m);
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
	struct mem m;
	char *buf;
	FILE *f = mem_open(&m);
	struct pr p;

	pr_begin_list(&p, false, f);
	pr_tw_decision(&p, &d);
	pr_real(&p, "t", "unused %f", 1.5);
	pr_open(&p, "empty", true);
	pr_close(&p);
	pr_text(&p, "text\n");
	pr_end(&p);
	buf = mem_close(&m);
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
	f = mem_open(&m);
	pr_begin_list(&p, true, f);
	pr_tw_decision(&p, &d);
	pr_text(&p, "text\n");
	pr_end(&p);
	buf = mem_close(&m);
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
	struct mem m;
	char *buf;
	FILE *f = mem_open(&m);
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
	buf = mem_close(&m);
	assert_string_equal(buf, "requests 7\n"
			    "clients        count 2  top [{\"client\":1,\"addr\":\"198.18.1.2\"}]  share 0.250\n");
	free(buf);
	f = mem_open(&m);
	pr_begin_file(&p, true, f);
	pr_open(&p, "rows", true);
	pr_int(&p, NULL, NULL, 1);
	pr_discard(&p);
	pr_end(&p);
	buf = mem_close(&m);
	assert_string_equal(buf, "");
	free(buf);
}

/* Stream mode writes what the jansson tree does, byte for byte, in both
 * modes: one emitter, two sinks. */
static void stream_mode_writes_what_the_tree_writes(void **state)
{
	(void)state;
	for (int json = 0; json < 2; json++) {
		char *a = emit_to(json, TREE), *b = emit_to(json, STREAM);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

/* A decision, with a reply, counters, why lines that need escaping and
 * reals of every shape: the same JSON from both sinks. */
static char *decision_to(enum sink s)
{
	struct tw_decision d = {
		.verdict = TCP_TW_ACK, .cause = TW_CAUSE_PAWS, .paws_reject = true, .timer_rearmed = true,
		.reply = { .sent = true, .flags = TCPF_ACK, .seq = 4000000000u, .ack = 7, .has_ts = true, .tsecr = 9 },
		.drop_reason = "TCP_RFC7323_TW_PAWS",
		.counters = { "TcpExtPAWSTimewait", NULL },
		.why = { .n = 2, .line = { "say \"no\"\tnow\\", "bell \a, slash /, caf\xc3\xa9" } },
	};
	struct mem m;
	FILE *f = mem_open(&m);
	struct pr p;

	begin(&p, true, f, s);
	pr_open(&p, "model", false);
	pr_tw_decision(&p, &d);
	pr_close(&p);
	pr_open(&p, "reals", true);
	pr_real(&p, NULL, NULL, 1.0);
	pr_real(&p, NULL, NULL, 0.1);
	pr_real(&p, NULL, NULL, -2.5e-7);
	pr_real(&p, NULL, NULL, 1e22);
	pr_close(&p);
	pr_opt_int(&p, "absent", NULL, false, 5);
	pr_opt_int(&p, "present", NULL, true, 5);
	pr_end(&p);
	return mem_close(&m);
}

static void a_decision_streams_as_the_tree_prints_it(void **state)
{
	(void)state;
	char *a = decision_to(TREE), *b = decision_to(STREAM);

	assert_string_equal(a, b);
	assert_non_null(strstr(b, "\"model\":{\"verdict\":\"TCP_TW_ACK\",\"paws_reject\":true,\"cause\":\"paws\","
				  "\"reply\":{\"flags\":\"A\",\"seq\":4000000000,\"ack\":7,\"tsecr\":9},"));
	assert_non_null(strstr(b, "\"absent\":null,\"present\":5}"));
	free(a);
	free(b);
}

/* pr_open_json: inside it the fields are JSON only (trace's model object
 * in a text line that says it its own way); text before and after prints. */
static void a_json_only_object_prints_no_text(void **state)
{
	(void)state;
	struct tw_decision d = { .verdict = TCP_TW_ACK, .cause = TW_CAUSE_SEQ };
	for (int s = TREE; s <= STREAM; s++) {
		struct mem m;
		char *buf;
		FILE *f = mem_open(&m);
		struct pr p;

		begin(&p, false, f, (enum sink)s);
		pr_int(&p, "seq", "seq %lld", 5);
		pr_open_json(&p, "model", false);
		pr_tw_decision(&p, &d);
		pr_text(&p, " hidden");
		pr_open(&p, "inner", false);
		pr_int(&p, "x", " x %lld", 1);
		pr_close(&p);
		pr_close(&p);
		pr_int(&p, "ack", " ack %lld", 7);
		pr_text(&p, "\n");
		pr_end(&p);
		buf = mem_close(&m);
		assert_string_equal(buf, "seq 5 ack 7\n");
		free(buf);
	}
}

/* Stream mode writes a whole line or nothing: a line longer than the
 * buffer is not written cut off (it would not be JSON), and says so. */
static void a_line_longer_than_the_buffer_is_not_written(void **state)
{
	(void)state;
	char small[32], *buf;
	struct mem m;
	FILE *f = mem_open(&m);
	struct pr p;

	pr_begin_buf(&p, true, f, small, sizeof small);
	pr_str(&p, "a", NULL, "0123456789");
	pr_str(&p, "b", NULL, "0123456789");
	pr_end(&p);
	assert_true(p.overflow);
	pr_begin_buf(&p, true, f, small, sizeof small);
	pr_str(&p, "a", NULL, "0123456789");
	pr_end(&p);
	assert_false(p.overflow);
	buf = mem_close(&m);
	assert_string_equal(buf, "{\"a\":\"0123456789\"}\n");
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
		cmocka_unit_test(stream_mode_writes_what_the_tree_writes),
		cmocka_unit_test(a_decision_streams_as_the_tree_prints_it),
		cmocka_unit_test(a_json_only_object_prints_no_text),
		cmocka_unit_test(a_line_longer_than_the_buffer_is_not_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
