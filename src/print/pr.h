/*
 * pr.h - one emitter for text and JSON (iproute2's print_uint(PRINT_ANY,
 * key, fmt, v), include/json_print.h): each field is written once, its JSON
 * key and its text format at one call site, so the two cannot disagree and
 * text never re-reads the JSON by string key.
 *
 * JSON mode builds one jansson object and prints it on one line at pr_end;
 * text mode prints each fmt now. key NULL: text only (inside an array the
 * value is appended: arrays have no keys); fmt NULL: JSON only.
 */
#ifndef TWLAB_PR_H
#define TWLAB_PR_H
#include <stdbool.h>
#include <stdio.h>

struct json_t;
struct tw_decision;

struct pr {
	FILE *f;                   /* where text and JSON go (stdout) */
	bool json;
	unsigned depth;
	struct json_t *stack[8];   /* [0] the root object, then open containers */
};

void pr_begin(struct pr *p, bool json);   /* to stdout */
void pr_begin_file(struct pr *p, bool json, FILE *f);
/* JSON: print the root object on one line and free it. */
void pr_end(struct pr *p);

void pr_int(struct pr *p, const char *key, const char *fmt, long long v);
void pr_real(struct pr *p, const char *key, const char *fmt, double v);
void pr_str(struct pr *p, const char *key, const char *fmt, const char *v);
/* text: fmt gets "yes" or "no" */
void pr_bool(struct pr *p, const char *key, const char *fmt, bool v);
void pr_null(struct pr *p, const char *key, const char *text);
/* Text only. */
void pr_text(struct pr *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A nested object or array under key (JSON only; text prints nothing). */
void pr_open(struct pr *p, const char *key, bool array);
void pr_close(struct pr *p);

/* The model's decision on a segment hitting TIME_WAIT, with explain's field
 * names (verdict, cause, paws_reject, why); text: "VERDICT (cause)". */
void pr_tw_decision(struct pr *p, const struct tw_decision *d);
#endif
