/*
 * pr.c - the text/JSON emitter (see pr.h): jansson builds the JSON of a
 * result printed once; stream mode writes it as it comes, into the
 * caller's buffer, for a result printed at a high rate.
 */
#include "print/pr.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* The formats are the callers' literals, each taking the one value. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void pr_begin(struct pr *p, bool json)
{
	pr_begin_file(p, json, stdout);
}

void pr_begin_file(struct pr *p, bool json, FILE *f)
{
	p->f = f;
	p->json = json;
	p->list = false;
	p->width = 14;
	p->depth = 0;
	p->stack[0] = json ? json_object() : NULL;
	p->l_array[0] = p->l_any[0] = false;
	p->mute[0] = false;
	p->buf = NULL;
	p->cap = p->n = 0;
	p->overflow = false;
}

void pr_begin_list(struct pr *p, bool json, FILE *f)
{
	pr_begin_file(p, json, f);
	p->list = !json;
}

static void outf(struct pr *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outs(struct pr *p, const char *s);

void pr_begin_buf(struct pr *p, bool json, FILE *f, char *buf, size_t cap)
{
	pr_begin_file(p, false, f);
	p->json = json;
	p->buf = buf;
	p->cap = cap;
	if (json)
		outs(p, "{");
}

void pr_set_list(struct pr *p, bool list)
{
	if (!p->depth && !p->buf)
		p->list = list && !p->json;
}

/* Text, and stream mode's JSON: into the buffer in stream mode (nothing
 * more once it is full), else to f now. */
static void outv(struct pr *p, const char *fmt, va_list ap)
{
	int m;

	if (!p->buf) {
		vfprintf(p->f, fmt, ap);
		return;
	}
	if (p->overflow)
		return;
	m = vsnprintf(p->buf + p->n, p->cap - p->n, fmt, ap);
	if (m < 0 || (size_t)m >= p->cap - p->n)
		p->overflow = true;
	else
		p->n += (size_t)m;
}

static void outf(struct pr *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	outv(p, fmt, ap);
	va_end(ap);
}

/* len bytes of s, as outf does but without a format: stream mode's JSON
 * is written a piece at a time for every event, and a vsnprintf per piece
 * was most of trace's cost per event. */
static void outn(struct pr *p, const char *s, size_t len)
{
	if (!p->buf) {
		fwrite(s, 1, len, p->f);
		return;
	}
	if (p->overflow)
		return;
	if (len >= p->cap - p->n) {
		p->overflow = true;
		return;
	}
	memcpy(p->buf + p->n, s, len);
	p->n += len;
}

static void outs(struct pr *p, const char *s)
{
	outn(p, s, strlen(s));
}

/* v in decimal. */
static void out_int(struct pr *p, long long v)
{
	char b[24], *e = b + sizeof b, *s = e;
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	do {
		*--s = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--s = '-';
	outn(p, s, (size_t)(e - s));
}

void pr_end(struct pr *p)
{
	if (p->buf) {
		if (p->json)
			outs(p, "}\n");
		if (!p->overflow)
			fwrite(p->buf, 1, p->n, p->f);
		p->n = 0;
		return;
	}
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
	if (p->buf)
		return key || p->l_array[p->depth];
	return p->stack[p->depth] && (key || json_is_array(p->stack[p->depth]));
}

/* Text wanted: a format, outside a pr_open_json container. */
static bool want_text(const struct pr *p, const char *fmt)
{
	return fmt && !p->mute[p->depth];
}

/* Stream JSON: a string with the escapes RFC 8259 requires (as jansson
 * writes them); the runs between them are copied as they are. */
static void s_string(struct pr *p, const char *v)
{
	const char *run = v;
	char u[8];

	outn(p, "\"", 1);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		const char *e;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		outn(p, run, (size_t)(v - run));
		run = v + 1;
		e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t" :
		    c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
		if (!e) {
			snprintf(u, sizeof u, "\\u%04x", c);
			e = u;
		}
		outs(p, e);
	}
	outn(p, run, (size_t)(v - run));
	outn(p, "\"", 1);
}

/* Stream JSON: the comma and the key before a value (no key in an array). */
static void s_key(struct pr *p, const char *key)
{
	unsigned d = p->depth;

	if (p->l_any[d])
		outn(p, ",", 1);
	p->l_any[d] = true;
	if (!p->l_array[d]) {
		s_string(p, key ? key : "");
		outn(p, ":", 1);
	}
}

/* List mode: the value v of key, as a line, a pair or an array element
 * (a keyless value outside an array is not a field: nothing). */
static void list_put(struct pr *p, const char *key, const char *v)
{
	unsigned d = p->depth;

	if (p->mute[d])
		return;
	if (d == 0) {
		if (key)
			outf(p, "%-*s %s\n", (int)p->width, key, v);
	} else if (p->l_array[d]) {
		if (p->l_any[d])
			outf(p, "\n%-*s ", (int)p->width, "");
		outf(p, "%s", v);
	} else if (key) {
		outf(p, "%s%s %s", p->l_any[d] ? "  " : "", key, v);
	}
	p->l_any[d] = true;
}

void pr_int(struct pr *p, const char *key, const char *fmt, long long v)
{
	char b[24];

	if (in_json(p)) {
		if (!want_json(p, key))
			return;
		if (p->buf) {
			s_key(p, key);
			out_int(p, v);
		} else {
			put(p, key, json_integer(v));
		}
	} else if (p->list) {
		snprintf(b, sizeof b, "%lld", v);
		list_put(p, key, b);
	} else if (want_text(p, fmt)) {
		outf(p, fmt, v);
	}
}

void pr_opt_int(struct pr *p, const char *key, const char *fmt, bool have, long long v)
{
	if (have)
		pr_int(p, key, fmt, v);
	else
		pr_null(p, key, NULL);
}

void pr_real(struct pr *p, const char *key, const char *fmt, double v)
{
	char b[48];

	if (in_json(p)) {
		if (!want_json(p, key))
			return;
		if (p->buf) {
			/* jansson's form: %.17g, the exponent without "+" and
			 * leading zeros, a ".0" when that looks integral */
			char *w, *r;
			snprintf(b, sizeof b, "%.17g", v);
			if ((w = strchr(b, 'e'))) {
				r = ++w;
				if (*r == '-')
					r = ++w;
				else if (*r == '+')
					r++;
				while (*r == '0' && r[1])
					r++;
				memmove(w, r, strlen(r) + 1);
			}
			s_key(p, key);
			outf(p, "%s%s", b, b[strcspn(b, ".eni")] ? "" : ".0");
		} else {
			put(p, key, json_real(v));
		}
	} else if (p->list) {
		snprintf(b, sizeof b, "%.3f", v);
		list_put(p, key, b);
	} else if (want_text(p, fmt)) {
		outf(p, fmt, v);
	}
}

void pr_str(struct pr *p, const char *key, const char *fmt, const char *v)
{
	if (in_json(p)) {
		if (!want_json(p, key))
			return;
		if (p->buf) {
			s_key(p, key);
			if (v)
				s_string(p, v);
			else
				outs(p, "null");
		} else {
			put(p, key, v ? json_string(v) : json_null());
		}
	} else if (p->list) {
		list_put(p, key, v ? v : "-");
	} else if (want_text(p, fmt)) {
		outf(p, fmt, v ? v : "-");
	}
}

void pr_bool(struct pr *p, const char *key, const char *fmt, bool v)
{
	if (in_json(p)) {
		if (!want_json(p, key))
			return;
		if (p->buf) {
			s_key(p, key);
			outs(p, v ? "true" : "false");
		} else {
			put(p, key, json_boolean(v));
		}
	} else if (p->list) {
		list_put(p, key, v ? "yes" : "no");
	} else if (want_text(p, fmt)) {
		outf(p, fmt, v ? "yes" : "no");
	}
}

void pr_null(struct pr *p, const char *key, const char *text)
{
	if (in_json(p)) {
		if (!want_json(p, key))
			return;
		if (p->buf) {
			s_key(p, key);
			outs(p, "null");
		} else {
			put(p, key, json_null());
		}
	} else if (p->list) {
		list_put(p, key, "-");
	} else if (want_text(p, text)) {
		outf(p, "%s", text);
	}
}

void pr_discard(struct pr *p)
{
	if (p->buf) {
		p->n = 0;
		p->depth = 0;
		p->overflow = true;    /* pr_end writes nothing */
		return;
	}
	for (; p->depth; p->depth--)
		if (in_json(p))
			json_decref(p->stack[p->depth]);
	json_decref(p->stack[0]);
	p->stack[0] = NULL;
}

void pr_text(struct pr *p, const char *fmt, ...)
{
	va_list ap;

	if (p->json || p->mute[p->depth])
		return;
	va_start(ap, fmt);
	outv(p, fmt, ap);
	va_end(ap);
}

static void open_(struct pr *p, const char *key, bool array, bool mute)
{
	unsigned d = p->depth;
	json_t *c;

	if (d + 1 >= sizeof p->stack / sizeof p->stack[0])
		return;                       /* deeper than any caller nests */
	if (p->list && d == 0) {              /* a line: "key  values" */
		if (!p->mute[0] && !mute)
			outf(p, "%-*s ", (int)p->width, key ? key : "");
		p->depth++;
		p->l_array[p->depth] = array;
		p->l_any[p->depth] = false;
	} else if (p->list && d == 1) {       /* a value of a line, as JSON */
		p->l_key = key;
		p->stack[++p->depth] = array ? json_array() : json_object();
	} else if (!in_json(p)) {             /* text: only the depth */
		p->stack[++p->depth] = NULL;
	} else if (p->buf) {
		s_key(p, key);
		outs(p, array ? "[" : "{");
		p->depth++;
		p->l_array[p->depth] = array;
		p->l_any[p->depth] = false;
	} else {
		c = array ? json_array() : json_object();
		put(p, key, json_incref(c));
		p->stack[++p->depth] = c;
	}
	p->mute[p->depth] = p->mute[d] || mute;
}

void pr_open(struct pr *p, const char *key, bool array)
{
	open_(p, key, array, false);
}

void pr_open_json(struct pr *p, const char *key, bool array)
{
	open_(p, key, array, true);
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
		if (!p->mute[1])
			outf(p, "%s", p->l_array[1] && !p->l_any[1] ? "-\n" : "\n");
		p->depth--;
		p->l_any[p->depth] = true;
		return;
	}
	if (!in_json(p)) {
		p->depth--;
		return;
	}
	if (p->buf) {
		outs(p, p->l_array[p->depth] ? "]" : "}");
		p->depth--;
		return;
	}
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
