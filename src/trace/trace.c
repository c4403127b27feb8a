/*
 * trace.c - user-space side of `twlab trace`: open the skeleton, set the
 * filters, load (with fexit where the kernel permits it, without otherwise),
 * attach, poll the ring buffer, read the per-CPU counters.
 */
#include <linux/types.h>
#include "trace/trace.h"
#include "twlab.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct trace_ctx {
	struct twlab_bpf *skel;
	struct ring_buffer *rb;
	trace_event_fn fn;
	void *arg;
	int ncpu;
};

/* libbpf's own log: shown with --verbose (as bcc's tools do with -v),
 * otherwise dropped: trace_open() reports what failed in one line of its
 * own, and an expected fexit failure would print pages. */
static int libbpf_log(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l;
	return vfprintf(stderr, fmt, ap);
}

static int libbpf_quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l;
	(void)fmt;
	(void)ap;
	return 0;
}

static int on_sample(void *ctx, void *data, size_t len)
{
	struct trace_ctx *t = ctx;
	if (len < sizeof(struct twlab_event))
		return 0;
	return t->fn ? t->fn(data, t->arg) : 0;
}

static struct twlab_bpf *open_load(const struct trace_filter *f, bool fexit, int *err)
{
	struct twlab_bpf *s = twlab_bpf__open();

	if (!s) {
		*err = -errno;
		return NULL;
	}
	s->rodata->f_saddr = f->saddr;
	s->rodata->f_daddr = f->daddr;
	s->rodata->f_sport = f->sport;
	s->rodata->f_dport = f->dport;
	s->rodata->f_netns = f->netns;
	bpf_program__set_autoload(s->progs.on_tw_exit, fexit);
	*err = twlab_bpf__load(s);
	if (*err) {
		twlab_bpf__destroy(s);
		return NULL;
	}
	return s;
}

int trace_open(const struct trace_filter *f, bool try_fexit, bool verbose,
	       struct trace_ctx **out, struct trace_attach *att, const char **what)
{
	struct trace_ctx *t;
	struct bpf_link *l;
	int err = 0;

	libbpf_set_print(verbose ? libbpf_log : libbpf_quiet);
	memset(att, 0, sizeof(*att));
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ncpu = libbpf_num_possible_cpus();
	if (try_fexit) {
		t->skel = open_load(f, true, &err);
		if (t->skel) {
			l = bpf_program__attach(t->skel->progs.on_tw_exit);
			if (l) {
				t->skel->links.on_tw_exit = l;
				att->fexit = true;
			} else {
				att->fexit_err = -errno;
			}
		} else {
			att->fexit_err = err;
		}
	}
	if (!t->skel) {
		t->skel = open_load(f, false, &err);
		if (!t->skel) {
			*what = "load BPF programs";
			free(t);
			return err;
		}
	}
#define ATTACH(prog, flag) do { \
		l = bpf_program__attach(t->skel->progs.prog); \
		if (!l) { err = -errno; *what = "attach " #prog; goto fail; } \
		t->skel->links.prog = l; att->flag = true; \
	} while (0)
	ATTACH(on_kfree_skb, kfree_skb);
	ATTACH(on_send_reset, send_reset);
	ATTACH(on_receive_reset, receive_reset);
	ATTACH(on_set_state, set_state);
#undef ATTACH
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_sample, t, NULL);
	if (!t->rb) {
		err = -errno;
		*what = "ring buffer";
		goto fail;
	}
	*out = t;
	return 0;
fail:
	twlab_bpf__destroy(t->skel);
	free(t);
	return err;
}

int trace_poll(struct trace_ctx *t, int timeout_ms, trace_event_fn fn, void *arg)
{
	int n;

	t->fn = fn;
	t->arg = arg;
	/* events submitted without a wakeup are there all the same */
	n = ring_buffer__poll(t->rb, timeout_ms);
	if (n < 0)
		return n;
	return ring_buffer__consume(t->rb);
}

void trace_counters(struct trace_ctx *t, struct trace_counters *c)
{
	int fd = bpf_map__fd(t->skel->maps.counters);
	__u64 *vals = calloc(t->ncpu > 0 ? t->ncpu : 1, sizeof(__u64));

	memset(c, 0, sizeof(*c));
	if (!vals)
		return;
	for (__u32 k = 0; k < TC__MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int i = 0; i < t->ncpu; i++)
			c->v[k] += vals[i];
	}
	free(vals);
}

void trace_close(struct trace_ctx *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	twlab_bpf__destroy(t->skel);
	free(t);
}
