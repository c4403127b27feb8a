/*
 * trace.c - user-space side of `twlab trace`: open the skeleton, set the
 * filters, load (with fexit and fentry where the kernel permits it, without
 * otherwise),
 * attach, poll the ring buffer, read the per-CPU counters.
 */
#include <linux/types.h>
#include "trace/trace.h"
#include "twlab.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
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

/* How many arguments tcp_timewait_state_process has here (3 before 6.10,
 * 4 until 6.14, 5 from 6.15), from the kernel's BTF; 0 if unknown. */
static int tw_process_args(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	int id, n = 0;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, "tcp_timewait_state_process", BTF_KIND_FUNC);
	if (id > 0 && (t = btf__type_by_id(btf, id)) && (t = btf__type_by_id(btf, t->type)))
		n = btf_vlen(t);
	btf__free(btf);
	return n;
}

/* Does tp_btf/kfree_skb pass rx_sk (6.11+)? btf_trace_kfree_skb is
 * (void *, skb, location, reason[, rx_sk]). */
static bool kfree_has_rx_sk(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	bool yes = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_kfree_skb", BTF_KIND_TYPEDEF);
	if (id > 0 && (t = btf__type_by_id(btf, id)) && (t = btf__type_by_id(btf, t->type)) &&
	    btf_is_ptr(t) && (t = btf__type_by_id(btf, t->type)) && btf_is_func_proto(t))
		yes = btf_vlen(t) >= 5;
	btf__free(btf);
	return yes;
}

/* The loaded fexit program (the one matching this kernel), or NULL. */
static struct bpf_program *tw_exit_prog(struct twlab_bpf *s, struct bpf_link ***link)
{
	if (bpf_program__autoload(s->progs.on_tw_exit)) {
		*link = &s->links.on_tw_exit;
		return s->progs.on_tw_exit;
	}
	if (bpf_program__autoload(s->progs.on_tw_exit4)) {
		*link = &s->links.on_tw_exit4;
		return s->progs.on_tw_exit4;
	}
	if (bpf_program__autoload(s->progs.on_tw_exit3)) {
		*link = &s->links.on_tw_exit3;
		return s->progs.on_tw_exit3;
	}
	return NULL;
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
	{
		int n = fexit ? tw_process_args() : 0;
		bool rx_sk = kfree_has_rx_sk();

		if (!rx_sk && !n) {     /* no way to see the drops */
			twlab_bpf__destroy(s);
			*err = -EOPNOTSUPP;
			return NULL;
		}
		bpf_program__set_autoload(s->progs.on_kfree_skb, rx_sk);
		s->rodata->fexit_drops = !rx_sk;
		bpf_program__set_autoload(s->progs.on_tw_exit, n == 5);
		bpf_program__set_autoload(s->progs.on_tw_exit4, n == 4);
		bpf_program__set_autoload(s->progs.on_tw_exit3, n == 3);
		bpf_program__set_autoload(s->progs.on_tw_entry, n > 0);
	}
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
			struct bpf_link **lp = NULL;
			struct bpf_program *p = tw_exit_prog(t->skel, &lp);

			l = p ? bpf_program__attach(p) : NULL;
			if (l) {
				*lp = l;
				att->fexit = true;
				/* the same trampoline kind: if it fails anyway,
				 * classify.c falls back to a tolerance */
				l = bpf_program__attach(t->skel->progs.on_tw_entry);
				if (l) {
					t->skel->links.on_tw_entry = l;
					att->fentry = true;
				}
			} else {
				att->fexit_err = p ? -errno : -ENOENT;
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
	if (bpf_program__autoload(t->skel->progs.on_kfree_skb)) {
		ATTACH(on_kfree_skb, kfree_skb);
	} else if (!att->fexit) {
		err = -EOPNOTSUPP;
		*what = "skb:kfree_skb has no rx_sk here (before 6.11) and fexit did not attach";
		goto fail;
	}
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
