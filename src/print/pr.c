/*
 * pr.c - the text/JSON emitter (see pr.h).
 */
#include "print/pr.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "model/model.h"

void pr_begin(struct pr *p, bool json)
{
	pr_begin_file(p, json, stdout);
}

void pr_begin_file(struct pr *p, bool json, FILE *f)
{
	p->f = f;
	p->json = json;
	p->depth = 0;
	p->stack[0] = json ? json_object() : NULL;
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

/* JSON wanted for this key? (text-only fields have no key, but in an array
 * every value is an element) */
static bool want_json(const struct pr *p, const char *key)
{
	return p->json && p->stack[p->depth] && (key || json_is_array(p->stack[p->depth]));
}

/* The formats are the callers' literals, each taking the one value. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void pr_int(struct pr *p, const char *key, const char *fmt, long long v)
{
	if (want_json(p, key))
		put(p, key, json_integer(v));
	else if (!p->json && fmt)
		fprintf(p->f, fmt, v);
}

void pr_real(struct pr *p, const char *key, const char *fmt, double v)
{
	if (want_json(p, key))
		put(p, key, json_real(v));
	else if (!p->json && fmt)
		fprintf(p->f, fmt, v);
}

void pr_str(struct pr *p, const char *key, const char *fmt, const char *v)
{
	if (want_json(p, key))
		put(p, key, v ? json_string(v) : json_null());
	else if (!p->json && fmt)
		fprintf(p->f, fmt, v ? v : "-");
}

void pr_bool(struct pr *p, const char *key, const char *fmt, bool v)
{
	if (want_json(p, key))
		put(p, key, json_boolean(v));
	else if (!p->json && fmt)
		fprintf(p->f, fmt, v ? "yes" : "no");
}

void pr_null(struct pr *p, const char *key, const char *text)
{
	if (want_json(p, key))
		put(p, key, json_null());
	else if (!p->json && text)
		fputs(text, p->f);
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

	if (!p->json)
		return;
	if (p->depth + 1 >= sizeof p->stack / sizeof p->stack[0])
		return;                       /* deeper than any caller nests */
	c = array ? json_array() : json_object();
	put(p, key, json_incref(c));
	p->stack[++p->depth] = c;
}

void pr_close(struct pr *p)
{
	if (!p->json || !p->depth)
		return;
	json_decref(p->stack[p->depth--]);
}

void pr_tw_decision(struct pr *p, const struct tw_decision *d)
{
	pr_str(p, "verdict", "%s", tw_verdict_str(d->verdict));
	pr_str(p, "cause", " (%s)", tw_cause_str(d->cause));
	pr_bool(p, "paws_reject", NULL, d->paws_reject);
	pr_open(p, "why", true);
	for (unsigned i = 0; i < d->why.n; i++)
		pr_str(p, NULL, NULL, d->why.line[i]);
	pr_close(p);
}
