/* test_sim.c - the simulator: its containers, determinism, the outcomes the
 * issue fixes exactly (static and keep-alive: no collision; the report's
 * overload pool: a second address changes nothing; one-to-one: far fewer,
 * not none), what each firewall makes of a collision, and bad input. The
 * statistical checks against arithmetic run in tests/integration/sim.sh
 * (optimised binary, long runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "model/fleet.h"
#include "sim/config.h"
#include "sim/sim.h"
#include "sim/rexp.h"
#include "sim/table.h"

static void params(struct sim_params *p, const char *snat, unsigned clients, double rate, double dur)
{
	struct scenario sc;
	char err[256];
	assert_true(scenario_load(NULL, &sc, err, sizeof err));
	sim_params_from_scenario(p, &sc);
	assert_true(snat_spec_parse(snat, &p->fleet.snat, err, sizeof err));
	p->fleet.clients = clients;
	p->fleet.rate = rate;
	p->fleet.duration_s = dur;
	p->fw_time_wait_s = 1;
	p->client_k = p->server_k = kprofile_find("6.18");
	p->client_kver = p->server_kver = KVER(6, 18, 44);
	snprintf(p->fleet.client_kernel, sizeof p->fleet.client_kernel, "6.18.44");
	snprintf(p->fleet.server_kernel, sizeof p->fleet.server_kernel, "6.18.44");
	assert_true(sim_check(p, err, sizeof err));
}

static struct sim_result *run(const struct sim_params *p)
{
	struct sim_result *r = malloc(sizeof *r);
	char err[256];
	assert_non_null(r);
	assert_int_equal(sim_run(p, r, err, sizeof err), 0);
	return r;
}

static void map_keeps_every_key_through_growth_and_deletion(void **st)
{
	(void)st;
	struct tmap m;
	assert_true(tmap_init(&m, 16));
	for (uint64_t k = 1; k <= 5000; k++) {
		bool created;
		struct tent *e = tmap_put(&m, k * 7919, &created);
		assert_true(created);
		e->a = (uint32_t)k;
	}
	/* half by key, half by the entry a look-up returned */
	for (uint64_t k = 1; k <= 5000; k += 2) {
		if (k % 4 == 1) {
			tmap_del(&m, k * 7919);
			continue;
		}
		struct tent *e = tmap_get(&m, k * 7919);
		assert_non_null(e);
		tmap_del_at(&m, e);
	}
	assert_int_equal(m.n, 2500);
	for (uint64_t k = 1; k <= 5000; k++) {
		struct tent *e = tmap_get(&m, k * 7919);
		if (k % 2)
			assert_null(e);
		else
			assert_true(e && e->a == k);
	}
	tmap_free(&m);
}

static void heap_pops_in_time_then_id_order(void **st)
{
	(void)st;
	struct heap h = { 0 };
	struct hent x;
	int64_t last = -1;
	uint64_t last_id = 0;
	for (uint64_t i = 0; i < 1000; i++)
		assert_true(heap_push(&h, (int64_t)((i * 7919) % 101), i));
	while (h.n) {
		heap_pop(&h, &x);
		assert_true(x.t > last || (x.t == last && x.id > last_id));
		last = x.t;
		last_id = x.id;
	}
	heap_free(&h);
}

/* Pushes, pops and replace_top mixed, every pop checked against the
 * minimum of a plain array holding the same entries. */
static void heap_replace_top_and_pop_match_a_linear_scan(void **st)
{
	(void)st;
	struct heap h = { 0 };
	struct hent shadow[600], x;
	size_t n = 0;
	uint64_t r = 12345, id = 0;
	for (int step = 0; step < 20000; step++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		unsigned op = (unsigned)(r >> 60) % 3;
		int64_t t = (int64_t)((r >> 20) % 97);
		if (op == 0 && n < 600) {
			assert_true(heap_push(&h, t, ++id));
			shadow[n++] = (struct hent){ t, id };
			continue;
		}
		if (!n)
			continue;
		size_t m = 0;
		for (size_t k = 1; k < n; k++)
			if (shadow[k].t < shadow[m].t || (shadow[k].t == shadow[m].t && shadow[k].id < shadow[m].id))
				m = k;
		assert_int_equal(h.v[0].t, shadow[m].t);
		assert_int_equal(h.v[0].id, shadow[m].id);
		if (op == 1) {
			heap_pop(&h, &x);
			assert_int_equal(x.id, shadow[m].id);
			shadow[m] = shadow[--n];
		} else {
			heap_replace_top(&h, t, ++id);
			shadow[m] = (struct hent){ t, id };
		}
		assert_int_equal(h.n, n);
	}
	heap_free(&h);
}

/* The loser tree's winner is always the (time, source) minimum of a plain
 * array, for every source count from 1 (no internal node) to a non-power
 * of two, with ties and sources that run out (INT64_MAX). */
static void ltree_winner_matches_a_linear_scan(void **st)
{
	(void)st;
	uint32_t counts[] = { 1, 2, 3, 7, 100 };
	uint64_t r = 99;
	for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
		uint32_t n = counts[c];
		int64_t t[100];
		struct ltree lt;
		for (uint32_t i = 0; i < n; i++) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			t[i] = (int64_t)((r >> 33) % 50);
		}
		assert_true(ltree_init(&lt, t, n));
		for (int step = 0; step < 5000; step++) {
			uint32_t m = 0;
			for (uint32_t i = 1; i < n; i++)
				if (t[i] < t[m])
					m = i;
			assert_int_equal(ltree_top(&lt), m);
			assert_int_equal(ltree_next(&lt), t[m]);
			if (t[m] == INT64_MAX)
				break;
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			int64_t nt = (r >> 60) == 0 ? INT64_MAX : t[m] + (int64_t)((r >> 33) % 20);
			t[m] = nt;
			ltree_replace_top(&lt, nt);
		}
		ltree_free(&lt);
	}
}

/* The ziggurat's draws are Exp(1): mean, variance and P(X > x) at points
 * in the first layers, the middle, the wedges' region and past the last
 * layer (x > R = 7.697: the tail path), each within 4.5 standard errors
 * of the formula on 4 million draws (a wrong table or a wedge test with
 * the wrong sign moves them by far more). */
static void ziggurat_draws_are_exponential(void **st)
{
	(void)st;
	static const double at[] = { 0.05, 0.3, 1, 2, 4, 6, 7.5, 8, 10 };
	enum { N = 4000000, K = sizeof at / sizeof at[0] };
	struct rexp_tab t;
	struct model_rng r;
	double sum = 0, sum2 = 0;
	uint64_t above[K] = { 0 };
	rexp_init(&t);
	model_rng_seed(&r, 12345);
	for (unsigned i = 0; i < N; i++) {
		double x = rexp_draw(&t, &r);
		assert_true(x >= 0);
		sum += x;
		sum2 += x * x;
		for (unsigned k = 0; k < K; k++)
			above[k] += x > at[k];
	}
	double mean = sum / N, var = sum2 / N - mean * mean;
	assert_true(fabs(mean - 1) < 4.5 * sqrt(1.0 / N));
	assert_true(fabs(var - 1) < 4.5 * sqrt(8.0 / N));
	for (unsigned k = 0; k < K; k++) {
		double p = exp(-at[k]), se = sqrt(p * (1 - p) / N);
		assert_true(fabs((double)above[k] / N - p) < 4.5 * se + 1.0 / N);
	}
}

/* The packed TIME_WAIT index: what was set is found with its low bits
 * (masked to sbits), through growth and backward-shift deletions; del_if
 * removes only on matching low bits. */
static void pmap_keeps_tags_and_low_bits_through_growth_and_deletes(void **st)
{
	(void)st;
	struct pmap m;
	assert_true(pmap_init(&m, 16, 20));
	for (uint64_t t = 1; t <= 5000; t++)
		assert_true(pmap_set(&m, t * 7919, t * 3));
	assert_int_equal(m.n, 5000);
	assert_true(pmap_set(&m, 7919, (1ull << 20) + 5));      /* update, masked */
	assert_int_equal(m.n, 5000);
	for (uint64_t t = 1; t <= 5000; t += 2)
		assert_false(pmap_del_if(&m, t * 7919, t * 3 + 1));
	for (uint64_t t = 3; t <= 5000; t += 2)
		assert_true(pmap_del_if(&m, t * 7919, t * 3));
	pmap_del(&m, 7919);
	assert_int_equal(m.n, 2500);
	for (uint64_t t = 1; t <= 5000; t++) {
		uint64_t low;
		bool found = pmap_get(&m, t * 7919, &low);
		assert_int_equal(found, t % 2 == 0);
		if (found)
			assert_int_equal(low, t * 3);
	}
	pmap_free(&m);
}

static void fifo_wraps_and_grows_in_order(void **st)
{
	(void)st;
	struct fifo q = { 0 };
	int64_t next = 0;
	for (int64_t t = 0; t < 5000; t++) {
		assert_true(fifo_push(&q, t, (uint64_t)t, 0));
		if (t % 3 == 0) {
			assert_int_equal(fifo_peek(&q)->t, next++);
			fifo_pop(&q);
		}
	}
	while (q.n) {
		assert_int_equal(fifo_peek(&q)->t, next++);
		fifo_pop(&q);
	}
	assert_int_equal(next, 5000);
	fifo_free(&q);
}

static void same_seed_same_run_other_seed_other_run(void **st)
{
	(void)st;
	struct sim_params p;
	params(&p, "overload:1", 20, 1, 2000);
	struct sim_result *a = run(&p), *b = run(&p);
	assert_true(a->collisions > 0);
	assert_int_equal(a->collisions, b->collisions);
	assert_int_equal(a->timed_out, b->timed_out);
	assert_int_equal(a->port_reuses, b->port_reuses);
	assert_memory_equal(a->lat_hist, b->lat_hist, sizeof a->lat_hist);
	p.seed = 2;
	struct sim_result *c = run(&p);
	assert_int_not_equal(a->port_reuses, c->port_reuses);
	free(a);
	free(b);
	free(c);
}

static void static_snat_and_keepalive_never_collide(void **st)
{
	(void)st;
	struct sim_params p;
	params(&p, "static", 20, 5, 2000);
	struct sim_result *r = run(&p);
	assert_true(r->connections > 150000);
	assert_int_equal(r->collisions, 0);
	assert_int_equal(r->timed_out, 0);
	free(r);
	params(&p, "overload:1", 20, 5, 2000);
	p.fleet.keepalive = 1;
	r = run(&p);
	assert_int_equal(r->kept_alive, r->requests);
	assert_int_equal(r->connections, 0);
	assert_int_equal(r->collisions, 0);
	assert_int_equal(r->port_reuses, 0);
	free(r);
	/* and the same load without keep-alive does collide */
	p.fleet.keepalive = 0;
	r = run(&p);
	assert_true(r->collisions > 100);
	free(r);
}

/* The report: four pods whose addresses all hash to the same of two
 * overload addresses (found with the model's own hash, as the firewall
 * computes it). */
static void second_overload_address_changes_nothing_when_all_clients_hash_alike(void **st)
{
	(void)st;
	struct sim_params p;
	uint32_t addrs[4];
	unsigned n = 0;
	params(&p, "overload:1", 4, 2, 5000);
	for (uint32_t i = 1; n < 4 && i < 250; i++) {
		uint32_t a = 0xC6120002u | i << 8;
		if (nat_overload_addr(p.nat_addr, 2, a, p.server_addr, 0, false) == p.nat_addr)
			addrs[n++] = a;
	}
	assert_int_equal(n, 4);
	p.client_addrs = addrs;
	p.nclient_addrs = 4;
	struct sim_result *one = run(&p);
	p.fleet.snat.n = 2;
	struct sim_result *two = run(&p);
	assert_true(one->collisions > 20);
	assert_int_equal(one->collisions, two->collisions);
	assert_int_equal(one->timed_out, two->timed_out);
	/* a one-to-one /28 gives each pod its own address most of the time */
	p.fleet.snat.mode = SNAT_ONE_TO_ONE;
	p.fleet.snat.n = 16;
	p.fleet.rate = 0.2;        /* idle gaps: addresses go back to the pool */
	p.fleet.duration_s = 400000; /* ~20 collisions expected: none would be a 1e-9 chance */
	struct sim_result *o2o = run(&p);
	p.fleet.snat.mode = SNAT_OVERLOAD;
	p.fleet.snat.n = 1;
	struct sim_result *base = run(&p);
	assert_true(o2o->collisions > 0);
	assert_true(o2o->collisions * 4 < base->collisions);
	free(one);
	free(two);
	free(o2o);
	free(base);
}

static void count_packets(void *arg, int64_t t_us, const struct segment *seg, uint32_t saddr,
			  uint16_t sport, uint32_t daddr, uint16_t dport)
{
	(void)t_us; (void)seg; (void)saddr; (void)sport; (void)daddr; (void)dport;
	++*(uint64_t *)arg;
}

/* Without --pcap, a connection's ISN and TS offset are computed only when
 * a SYN finds its TIME_WAIT or the NAT's 6.5+ eviction rule compares
 * sequence ends (engine.c clock_later); with a packet callback they are
 * computed at connect(). Both must give the same run, collisions and all. */
static void same_run_with_and_without_packets(struct sim_params *p, uint64_t min_collisions)
{
	uint64_t npk = 0;
	p->packet = NULL;
	struct sim_result *a = run(p);
	p->packet = count_packets;
	p->packet_arg = &npk;
	struct sim_result *b = run(p);
	assert_true(npk > 0);
	assert_true(a->collisions > min_collisions);
	assert_true(a->port_reuses > a->collisions);
	assert_int_equal(a->requests, b->requests);
	assert_int_equal(a->established, b->established);
	assert_int_equal(a->collisions, b->collisions);
	assert_int_equal(a->collisions_paws, b->collisions_paws);
	assert_int_equal(a->collisions_seq, b->collisions_seq);
	assert_int_equal(a->timed_out, b->timed_out);
	assert_int_equal(a->delayed, b->delayed);
	assert_int_equal(a->tw_reopened, b->tw_reopened);
	assert_int_equal(a->port_reuses, b->port_reuses);
	assert_int_equal(a->syn_retransmits, b->syn_retransmits);
	assert_int_equal(a->bare_acks, b->bare_acks);
	assert_int_equal(a->client_rsts, b->client_rsts);
	assert_int_equal(a->tw_killed_by_rst, b->tw_killed_by_rst);
	assert_int_equal(a->nat_port_changed, b->nat_port_changed);
	assert_int_equal(a->nat_exhausted, b->nat_exhausted);
	assert_int_equal(a->events, b->events);
	assert_memory_equal(a->lat_hist, b->lat_hist, sizeof a->lat_hist);
	assert_true(a->tw_mean == b->tw_mean);
	free(a);
	free(b);
}

/* A one-to-one pool of 4 for 4 clients: addresses change hands, SYNs meet
 * other hosts' TIME_WAIT. Masquerade with the box holding ~90% of its
 * 64512 ports (1000 conn/s x 58 s): the random port search reaches its
 * last 32 attempts and evicts closing sessions (about 5,000 in this run,
 * counted once with a temporary counter; sim_result has none), so
 * the rule's deferred sequence ends are compared. */
static void deferred_clock_gives_the_same_run(void **st)
{
	(void)st;
	struct sim_params p;
	params(&p, "one-to-one:4", 4, 1, 20000);
	same_run_with_and_without_packets(&p, 20);
	params(&p, "masquerade", 20, 50, 120);
	p.fw_time_wait_s = 58;
	same_run_with_and_without_packets(&p, 1000);
}

static void strict_firewall_times_out_linux_firewall_delays(void **st)
{
	(void)st;
	struct sim_params p;
	params(&p, "overload:1", 20, 1, 3000);
	p.fw = FW_STRICT;
	struct sim_result *s = run(&p);
	assert_true(s->collisions > 50);
	assert_int_equal(s->delayed + s->timed_out, s->collisions);
	assert_true(s->timed_out > s->collisions / 2);
	assert_int_equal(s->client_rsts, 0);
	assert_int_equal(s->bare_acks_dropped, s->bare_acks);
	p.fw = FW_LINUX;
	struct sim_result *l = run(&p);
	assert_true(l->collisions > 50);
	assert_int_equal(l->timed_out, 0);
	assert_int_equal(l->delayed, l->collisions);
	/* RST kills the TIME_WAIT; the fast retry (6.18: TCP_TIMEOUT_MIN)
	 * connects within a few ms, not after the 1 s RTO */
	assert_int_equal(l->tw_killed_by_rst, l->collisions);
	assert_true(l->lat_max_ms < 50);
	free(s);
	free(l);
}

static void tcp_max_tw_buckets_caps_time_wait(void **st)
{
	(void)st;
	struct sim_params p;
	params(&p, "overload:1", 10, 5, 600);
	p.max_tw_buckets = 100;
	struct sim_result *r = run(&p);
	assert_true(r->tw_max <= 100);
	assert_true(r->tw_overflow > 0);
	free(r);
}

static void memory_follows_live_state_not_connections(void **st)
{
	(void)st;
	struct sim_params p;
	params(&p, "static", 10, 10, 300);
	struct sim_result *a = run(&p);
	p.fleet.duration_s = 3000;
	struct sim_result *b = run(&p);
	assert_true(b->connections > 9 * a->connections);
	assert_true(b->peak_bytes < a->peak_bytes * 2);
	free(a);
	free(b);
}

static int parse(const char *line, struct sim_config *c, char *err, size_t errlen)
{
	char buf[512], *argv[32];
	int argc = 0;
	snprintf(buf, sizeof buf, "%s", line);
	for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return sim_config_parse(argc, argv, c, err, errlen);
}

static void bad_input_is_a_usage_error_with_the_reason(void **st)
{
	(void)st;
	static const struct { const char *args, *want; } cases[] = {
		{ "sim --snat bogus", "unknown mode" },
		{ "sim --snat overload:0", "pool size must be at least 1" },
		{ "sim --rate -3", "--rate" },
		{ "sim --rate 0", "greater than 0" },
		{ "sim --clients 0", "at least 1" },
		{ "sim --clients 2000 --rate 50 --snat overload:1", "pool smaller than needed" },
		{ "sim --clients 100 --rate 5 --snat one-to-one:4", "pool smaller than needed" },
		{ "sim --sweep rate=5:1:1", "FROM <= TO" },
		{ "sim --sweep nope=1:2:1", "unknown parameter" },
		{ "sim --plot x.svg", "needs --sweep" },
		{ "sim --client-kernel windows", "unknown kernel" },
		{ "sim --nat-preset cisco", "unknown 'cisco'" },
		{ "sim --firewall pf", "strict or linux" },
		{ "sim --keepalive 1.5", "fraction" },
		{ "sim extra", "unexpected argument" },
	};
	struct sim_config *c = malloc(sizeof *c);
	char err[512];
	assert_non_null(c);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = parse(cases[i].args, c, err, sizeof err);
		if (rc != 2 || !strstr(err, cases[i].want))
			fail_msg("%s: rc %d, '%s' (want '%s')", cases[i].args, rc, err, cases[i].want);
	}
	assert_int_equal(parse("sim --snat one-to-one:16 --clients 4 --seed 7", c, err, sizeof err), 0);
	assert_int_equal(c->p.fleet.snat.mode, SNAT_ONE_TO_ONE);
	assert_int_equal(c->p.seed, 7);
	assert_int_equal(parse("sim --help", c, err, sizeof err), 1);
	free(c);
}

/* pmap_set_at / pmap_del_at at the slot pmap_get_slot gave write in place;
 * with a slot that no longer holds the tag (an insert or removal moved
 * it) they fall back to a probe: the map ends as pmap_set/pmap_del leave
 * a reference map, checked against a plain array. */
static void pmap_slot_writes_match_probing_ones_also_with_a_stale_slot(void **st)
{
	(void)st;
	struct pmap m;
	enum { N = 3000 };
	static uint64_t want[N];              /* 0: absent, else low + 1 */
	assert_true(pmap_init(&m, 16, 20));
	uint64_t x = 88172645463325252ull;
	for (unsigned step = 0; step < 40000; step++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t t = x % N, tag = t * 7919 + 1, low;
		size_t slot;
		bool found = pmap_get_slot(&m, tag, &low, &slot);
		assert_int_equal(found, want[t] != 0);
		if (found)
			assert_int_equal(low, want[t] - 1);
		if (!found) {
			assert_true(pmap_set(&m, tag, step));
			want[t] = step + 1;
			continue;
		}
		/* every third step, a stale slot: another tag's insert or
		 * removal first (it may move this one) */
		if (x % 3 == 0) {
			uint64_t o = (t + 1 + (x >> 20) % (N - 1)) % N, otag = o * 7919 + 1;
			if (want[o]) {
				pmap_del(&m, otag);
				want[o] = 0;
			} else {
				assert_true(pmap_set(&m, otag, step));
				want[o] = step + 1;
			}
		}
		if ((x >> 8) & 1) {
			pmap_del_at(&m, slot, tag);
			want[t] = 0;
		} else {
			assert_true(pmap_set_at(&m, slot, tag, step));
			want[t] = step + 1;
		}
	}
	size_t n = 0;
	for (uint64_t t = 0; t < N; t++) {
		uint64_t low;
		bool found = pmap_get(&m, t * 7919 + 1, &low);
		assert_int_equal(found, want[t] != 0);
		if (found)
			assert_int_equal(low, want[t] - 1);
		n += found;
	}
	assert_int_equal(m.n, n);
	pmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_keeps_every_key_through_growth_and_deletion),
		cmocka_unit_test(heap_pops_in_time_then_id_order),
		cmocka_unit_test(heap_replace_top_and_pop_match_a_linear_scan),
		cmocka_unit_test(ltree_winner_matches_a_linear_scan),
		cmocka_unit_test(ziggurat_draws_are_exponential),
		cmocka_unit_test(pmap_keeps_tags_and_low_bits_through_growth_and_deletes),
		cmocka_unit_test(pmap_slot_writes_match_probing_ones_also_with_a_stale_slot),
		cmocka_unit_test(fifo_wraps_and_grows_in_order),
		cmocka_unit_test(same_seed_same_run_other_seed_other_run),
		cmocka_unit_test(static_snat_and_keepalive_never_collide),
		cmocka_unit_test(second_overload_address_changes_nothing_when_all_clients_hash_alike),
		cmocka_unit_test(deferred_clock_gives_the_same_run),
		cmocka_unit_test(strict_firewall_times_out_linux_firewall_delays),
		cmocka_unit_test(tcp_max_tw_buckets_caps_time_wait),
		cmocka_unit_test(memory_follows_live_state_not_connections),
		cmocka_unit_test(bad_input_is_a_usage_error_with_the_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
