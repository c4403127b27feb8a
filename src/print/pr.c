/*
 * pr.c - the text/JSON emitter (see pr.h).
 */
#include "print/pr.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"

void pr_begin(struct pr *p, bool json)
{
	pr_begin_file(p, json, stdout);
}

void pr_begin_file(struct pr *p, bool json, FILE *f)
{
	p->f = f;
	p->json = json;
	p->list = false;
	p->depth = 0;
	p->stack[0] = json ? json_object() : NULL;
	p->l_array[0] = p->l_any[0] = false;
}

void pr_begin_list(struct pr *p, bool json, FILE *f)
{
	pr_begin_file(p, json, f);
	p->list = !json;
}

void pr_set_list(struct pr *p, bool list)
{
	if (!p->depth)
		p->list = list && !p->json;
}

void pr_end(struct pr *p)
{
	if (!p->json || !p->stack[0])
		return;
	json_dumpf(p->stack[0], p->f, JSON_COMPACT);
	fputc('\n', p->f);
	json_decref(p->stack[0]);
	p->stack[0] = NULL;
}

/* JSON: put v under key in the open container (steals v). */
static void put(struct pr *p, const char *key, json_t *v)
{
	json_t *c = p->stack[p->depth];

	if (c && json_is_array(c))
		json_array_append_new(c, v);
	else if (c && key)
		json_object_set_new(c, key, v);
	else
		json_decref(v);
}

/* Is a value built as JSON here: in JSON mode, and in list mode inside a
 * container nested in a line's value (that prints as compact JSON)? */
static bool in_json(const struct pr *p)
{
	return p->json || (p->list && p->depth >= 2);
}

/* JSON wanted for this key? (text-only fields have no key, but in an array
 * every value is an element) */
static bool want_json(const struct pr *p, const char *key)
{
	return p->stack[p->depth] && (key || json_is_array(p->stack[p->depth]));
}

/* List mode: the value v of key, as a line, a pair or an array element
 * (a keyless value outside an array is not a field: nothing). */
static void list_put(struct pr *p, const char *key, const char *v)
{
	unsigned d = p->depth;

	if (d == 0) {
		if (key)
			fprintf(p->f, "%-14s %s\n", key, v);
	} else if (p->l_array[d]) {
		if (p->l_any[d])
			fprintf(p->f, "\n%-14s ", "");
		fputs(v, p->f);
	} else if (key) {
		fprintf(p->f, "%s%s %s", p->l_any[d] ? "  " : "", key, v);
	}
	p->l_any[d] = true;
}

/* The formats are the callers' literals, each taking the one value. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void pr_int(struct pr *p, const char *key, const char *fmt, long long v)
{
	char b[24];

	if (in_json(p)) {
		if (want_json(p, key))
			put(p, key, json_integer(v));
	} else if (p->list) {
		snprintf(b, sizeof b, "%lld", v);
		list_put(p, key, b);
	} else if (fmt) {
		fprintf(p->f, fmt, v);
	}
}

void pr_real(struct pr *p, const char *key, const char *fmt, double v)
{
	char b[48];

	if (in_json(p)) {
		if (want_json(p, key))
			put(p, key, json_real(v));
	} else if (p->list) {
		snprintf(b, sizeof b, "%.3f", v);
		list_put(p, key, b);
	} else if (fmt) {
		fprintf(p->f, fmt, v);
	}
}

void pr_str(struct pr *p, const char *key, const char *fmt, const char *v)
{
	if (in_json(p)) {
		if (want_json(p, key))
			put(p, key, v ? json_string(v) : json_null());
	} else if (p->list) {
		list_put(p, key, v ? v : "-");
	} else if (fmt) {
		fprintf(p->f, fmt, v ? v : "-");
	}
}

void pr_bool(struct pr *p, const char *key, const char *fmt, bool v)
{
	if (in_json(p)) {
		if (want_json(p, key))
			put(p, key, json_boolean(v));
	} else if (p->list) {
		list_put(p, key, v ? "yes" : "no");
	} else if (fmt) {
		fprintf(p->f, fmt, v ? "yes" : "no");
	}
}

void pr_null(struct pr *p, const char *key, const char *text)
{
	if (in_json(p)) {
		if (want_json(p, key))
			put(p, key, json_null());
	} else if (p->list) {
		list_put(p, key, "-");
	} else if (text) {
		fputs(text, p->f);
	}
}

void pr_discard(struct pr *p)
{
	for (; p->depth; p->depth--)
		if (in_json(p))
			json_decref(p->stack[p->depth]);
	json_decref(p->stack[0]);
	p->stack[0] = NULL;
}

void pr_text(struct pr *p, const char *fmt, ...)
{
	va_list ap;

	if (p->json)
		return;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

void pr_open(struct pr *p, const char *key, bool array)
{
	json_t *c;

	if (p->depth + 1 >= sizeof p->stack / sizeof p->stack[0])
		return;                       /* deeper than any caller nests */
	if (p->list && p->depth == 0) {       /* a line: "key  values" */
		fprintf(p->f, "%-14s ", key ? key : "");
		p->depth++;
		p->l_array[p->depth] = array;
		p->l_any[p->depth] = false;
		return;
	}
	if (p->list && p->depth == 1) {       /* a value of a line, as JSON */
		p->l_key = key;
		p->stack[++p->depth] = array ? json_array() : json_object();
		return;
	}
	if (!in_json(p))
		return;
	c = array ? json_array() : json_object();
	put(p, key, json_incref(c));
	p->stack[++p->depth] = c;
}

void pr_close(struct pr *p)
{
	if (!p->depth)
		return;
	if (p->list && p->depth == 2) {
		json_t *c = p->stack[2];
		char *t = json_dumps(c, JSON_COMPACT);
		p->stack[2] = NULL;
		p->depth--;
		list_put(p, p->l_key, t ? t : "?");
		free(t);
		json_decref(c);
		return;
	}
	if (p->list && p->depth == 1) {
		fputs(p->l_array[1] && !p->l_any[1] ? "-\n" : "\n", p->f);
		p->depth--;
		p->l_any[p->depth] = true;
		return;
	}
	if (!in_json(p))
		return;
	json_decref(p->stack[p->depth--]);
}

void pr_reply(struct pr *p, const char *key, const struct reply *r, bool seq_unknown)
{
	char fb[8];

	if (!r->sent) {
		pr_null(p, key, NULL);
		return;
	}
	pr_open(p, key, false);
	pr_str(p, "flags", NULL, tcp_flags_str(r->flags, fb));
	if (seq_unknown)
		pr_null(p, "seq", NULL);
	else
		pr_int(p, "seq", NULL, r->seq);
	if (r->flags & TCPF_ACK)
		pr_int(p, "ack", NULL, r->ack);
	if (r->has_ts)
		pr_int(p, "tsecr", NULL, r->tsecr);
	pr_close(p);
}

void pr_why(struct pr *p, const char *key, const struct why *w)
{
	pr_open(p, key, true);
	for (unsigned i = 0; i < w->n; i++)
		pr_str(p, NULL, NULL, w->line[i]);
	pr_close(p);
}

void pr_tw_decision(struct pr *p, const struct tw_decision *d)
{
	pr_str(p, "verdict", "%s", tw_verdict_str(d->verdict));
	pr_bool(p, "paws_reject", NULL, d->paws_reject);
	pr_str(p, "cause", " (%s)", tw_cause_str(d->cause));
	/* a SYN-ACK whose ISN the kernel loses carries a fresh one */
	pr_reply(p, "reply", &d->reply, d->isn_lost);
	if (d->verdict == TCP_TW_SYN) {
		pr_int(p, "isn", NULL, d->isn);
		pr_bool(p, "isn_lost", NULL, d->isn_lost);
	}
	pr_bool(p, "timer_rearmed", NULL, d->timer_rearmed);
	pr_bool(p, "tw_killed", NULL, d->tw_killed);
	pr_bool(p, "rate_limited", NULL, d->rate_limited);
	pr_str(p, "kernel_status", NULL, tw_kernel_status_str(d));
	pr_str(p, "drop_reason", NULL, d->drop_reason);
	pr_open(p, "counters", true);
	for (size_t i = 0; i < sizeof d->counters / sizeof d->counters[0] && d->counters[i]; i++)
		pr_str(p, NULL, NULL, d->counters[i]);
	pr_close(p);
	pr_why(p, "why", &d->why);
}

void pr_synsent_decision(struct pr *p, const struct synsent_decision *d)
{
	pr_str(p, "verdict", "%s", synsent_verdict_str(d->verdict));
	pr_reply(p, "reply", &d->reply, false);
	if (d->next_syn_ms)
		pr_int(p, "next_syn_ms", NULL, d->next_syn_ms);
	else
		pr_null(p, "next_syn_ms", NULL);
	pr_bool(p, "fast_retry", NULL, d->fast_retry);
	pr_str(p, "drop_reason", NULL, d->drop_reason);
	pr_why(p, "why", &d->why);
}
