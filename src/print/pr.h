/*
 * pr.h - one emitter for text and JSON (iproute2's print_uint(PRINT_ANY,
 * key, fmt, v), include/json_print.h): each field is written once, its JSON
 * key and its text format at one call site, so the two cannot disagree and
 * text never re-reads the JSON by string key.
 *
 * JSON mode builds one jansson object and prints it on one line at pr_end;
 * text mode prints each fmt now. key NULL: text only (inside an array the
 * value is appended: arrays have no keys); fmt NULL: JSON only.
 *
 * Stream mode (pr_begin_buf) is the same calls without allocation, for a
 * result printed at a high rate (trace's events): JSON is written as it
 * comes, text too, into the caller's buffer, and pr_end writes the line
 * with one fwrite. So the per-object emitters below serve every command.
 *
 * List mode (pr_begin_list) is text for a result that is all fields: each
 * keyed field is a "key  value" line (key padded to 14), a nested object
 * one line of "key value" pairs, an array one value per line ("-" when
 * empty), anything nested deeper compact JSON; fmt is not used. Values:
 * yes/no, "-" for null, reals %.3f.
 */
#ifndef TWLAB_PR_H
#define TWLAB_PR_H
#include <stdbool.h>
#include <stdio.h>

struct json_t;
struct tw_decision;
struct synsent_decision;
struct reply;
struct why;

struct pr {
	FILE *f;                   /* where text and JSON go (stdout) */
	bool json;
	bool list;                 /* text as "key  value" lines */
	unsigned width;            /* list mode: the key column (14) */
	unsigned depth;
	struct json_t *stack[8];   /* [0] the root object, then open containers */
	/* list mode and stream JSON: the open containers (depth), arrays or
	 * objects, and whether a value was printed in each yet */
	bool l_array[8], l_any[8];
	bool mute[8];              /* text: nothing inside (pr_open_json) */
	const char *l_key;         /* the key of a line's value built as JSON */
	char *buf;                 /* stream mode: the line built here */
	size_t cap, n;
	bool overflow;             /* stream mode: buf was too small, nothing written */
};

void pr_begin(struct pr *p, bool json);   /* to stdout */
void pr_begin_file(struct pr *p, bool json, FILE *f);
/* Text in list mode (json: as pr_begin). */
void pr_begin_list(struct pr *p, bool json, FILE *f);
/* Stream mode: JSON or text into buf (cap bytes), written to f with one
 * fwrite at pr_end; no allocation. No list mode; pr_discard drops the
 * line. A line longer than cap is not written at all (p->overflow): size
 * buf for the longest. */
void pr_begin_buf(struct pr *p, bool json, FILE *f, char *buf, size_t cap);
/* Text from here on in list mode or not (at the top level only). */
void pr_set_list(struct pr *p, bool list);
/* Drop what was built without printing it (an error came up). */
void pr_discard(struct pr *p);
/* JSON: print the root object on one line and free it. */
void pr_end(struct pr *p);

void pr_int(struct pr *p, const char *key, const char *fmt, long long v);
void pr_real(struct pr *p, const char *key, const char *fmt, double v);
void pr_str(struct pr *p, const char *key, const char *fmt, const char *v);
/* text: fmt gets "yes" or "no" */
void pr_bool(struct pr *p, const char *key, const char *fmt, bool v);
void pr_null(struct pr *p, const char *key, const char *text);
/* have false: null (text: nothing). */
void pr_opt_int(struct pr *p, const char *key, const char *fmt, bool have, long long v);
/* Text only. */
void pr_text(struct pr *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A nested object or array under key (JSON only; text prints nothing). */
void pr_open(struct pr *p, const char *key, bool array);
/* The same, but text prints nothing of what is inside (a result whose
 * text line says it its own way, e.g. trace's model decision). */
void pr_open_json(struct pr *p, const char *key, bool array);
void pr_close(struct pr *p);

/* One emitter per object of the model, so explain, lab and trace name the
 * same thing the same way (trace in stream mode). */

/* A segment the kernel sends back: an object {flags, seq, ack (when the
 * ACK bit is set), tsecr (when it carries timestamps)}, or null when
 * nothing is sent. seq_unknown: seq is null (a fresh ISN). JSON and list
 * mode only. */
void pr_reply(struct pr *p, const char *key, const struct reply *r, bool seq_unknown);
/* The why lines as an array of strings under key. JSON and list mode
 * only. */
void pr_why(struct pr *p, const char *key, const struct why *w);
/* The model's decision on a segment hitting TIME_WAIT: verdict,
 * paws_reject, cause, reply, isn and isn_lost (TCP_TW_SYN), timer_rearmed,
 * tw_killed, rate_limited, kernel_status, drop_reason, counters, why.
 * Text: "VERDICT (cause)"; list mode: every field. */
void pr_tw_decision(struct pr *p, const struct tw_decision *d);
/* The model's decision in SYN_SENT: verdict, reply, next_syn_ms (null: no
 * SYN again), fast_retry, drop_reason, why. Text: the verdict. */
void pr_synsent_decision(struct pr *p, const struct synsent_decision *d);
#endif
