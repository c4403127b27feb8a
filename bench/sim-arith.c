/*
 * sim-arith.c - the analytic cross-checks of SIM.md, run on the model's own
 * port allocators and NAT port rules (src/model/ports.c, nat.c), no engine:
 *
 *  1. occupancy: a NAT that picks ports uniformly from M, Poisson
 *     connections at rate lambda on one address, a server holding each
 *     4-tuple in TIME_WAIT for T: P(SYN lands on a TIME_WAIT tuple) vs
 *     1 - exp(-lambda * T / M). Also a NAT that holds its own tuple for h
 *     (GCP 30 s, Azure 65 s) through nat_pick_port().
 *  2. SIM.md's Monte Carlo: 50 clients x 0.2 conn/s behind one address that
 *     keeps their ports (FortiGate-like, 1 s session TIME_WAIT), T = 60 s,
 *     each client running a kernel's connect() allocator: collisions with
 *     another client's TIME_WAIT per connect, per allocator, with the spread
 *     over seeds, next to the formula with M = the ports the allocator uses.
 *  3. the report's overload pool: how often k pods all hash (netfilter's
 *     jhash2) to one of n addresses, vs (1/n)^(k-1).
 *  4. the cost of each model call the simulator makes per connection.
 *
 * Connections are short (the server closes at once), so each leaves the
 * server's TIME_WAIT from its connect time for T; the client holds no
 * TIME_WAIT (the server closed first), so a client's own ports are free.
 *
 * usage: sim-arith [SEEDS] [HOURS]   (default 40 seeds, 3 simulated hours)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fleet.h"

#define SERVER 0xC6130001u
#define NATADDR 0xC6120001u

static double tw_until[65536];   /* server TIME_WAIT per NAT port, seconds */
static int tw_owner[65536];
static double nat_until[65536];  /* NAT's own hold per port */
static double now;

static enum nat_tuple nat_cb(void *ctx, uint32_t addr, uint16_t port, uint32_t *old_end)
{
	(void)ctx; (void)addr; if (old_end) *old_end = 0;   /* NULL where not read (fleet.h) */
	return nat_until[port] > now ? NAT_TUPLE_USED : NAT_TUPLE_FREE;
}

static bool client_free(void *ctx, uint16_t port) { (void)ctx; (void)port; return false; }

static double expo(struct model_rng *r, double rate) { return -log(model_rng_unit(r)) / rate; }

/* 95% normal interval half-width for a proportion */
static double ci95(double p, double n) { return 1.96 * sqrt(p * (1 - p) / n); }

/* ---- 1. occupancy ------------------------------------------------------ */

static void occupancy(double lambda, unsigned m, double T, const struct nat_preset *p,
		      unsigned long nconn, uint64_t seed)
{
	struct model_rng rng;
	struct nat_state ns;
	unsigned long hits = 0, drops = 0;
	double hold = p ? p->hold_after_fin_ms / 1000.0 : 0;

	model_rng_seed(&rng, seed);
	memset(tw_until, 0, sizeof tw_until);
	memset(nat_until, 0, sizeof nat_until);
	now = 0;
	if (p) {
		nat_state_init(&ns, p, KVER(6, 18, 44));
		ns.port_lo = 1024;
		ns.port_hi = (uint16_t)(1024 + m - 1);
		ns.range_given = true;
	}
	for (unsigned long i = 0; i < nconn; i++) {
		uint16_t port;
		now += expo(&rng, lambda);
		if (p) {
			struct nat_req rq = { .nat_addr = NATADDR, .client_port = 40000 };
			struct nat_pick pk = nat_pick_port(&ns, &rq, &rng, nat_cb, NULL);
			if (!pk.port) { drops++; continue; }
			port = pk.port;
			nat_until[port] = now + hold;
		} else {
			port = (uint16_t)(1024 + model_rng_below(&rng, m));
		}
		hits += tw_until[port] > now;
		tw_until[port] = now + T;
	}
	double got = (double)hits / (double)(nconn - drops);
	/* With a NAT hold h < T the box picks among the M - lambda*h ports it
	 * is not holding (the picks of the last h seconds are all distinct),
	 * and only a use in (t - T, t - h] can still be in the server's
	 * TIME_WAIT: 1 - exp(-lambda (T - h) / (M - lambda h)). h >= T: 0. */
	double want = !p ? 1 - exp(-lambda * T / m) :
		      T <= hold ? 0 : 1 - exp(-lambda * (T - hold) / (m - lambda * hold));
	printf("%-22s %8.0f %6u %5.0f %5.0f %9.4f%% +-%.4f %9.4f%% %7.4f\n",
	       p ? p->name : "uniform (no NAT hold)", lambda, m, T, hold, 100 * got,
	       100 * ci95(got, (double)nconn), 100 * want, want > 0 ? got / want : (got == 0 ? 1.0 : INFINITY));
}

/* ---- 2. SIM.md Monte Carlo ----------------------------------------------- */

#define NCLIENT 50
static uint32_t tables[NCLIENT][65536];

struct mc { double mean, lo, hi, sd; unsigned long conns; unsigned long own; };

static struct mc monte_carlo(enum port_alg alg, uint16_t plo, uint16_t phi, unsigned seeds,
			     double hours)
{
	struct mc out = { 0, 1, 0, 0, 0, 0 };
	double sum = 0, sum2 = 0;
	const struct nat_preset *forti = nat_preset_find("fortigate");

	for (unsigned s = 0; s < seeds; s++) {
		struct model_rng rng;
		struct port_alloc pa[NCLIENT];
		struct nat_state ns;
		double next[NCLIENT], hold = forti->hold_after_fin_ms / 1000.0;
		uint64_t boot_ms[NCLIENT];
		unsigned long conns = 0, coll = 0;

		model_rng_seed(&rng, 1000 + s);
		memset(tw_until, 0, sizeof tw_until);
		memset(nat_until, 0, sizeof nat_until);
		nat_state_init(&ns, forti, 0);
		for (int c = 0; c < NCLIENT; c++) {
			port_alloc_init(&pa[c], alg, plo, phi, tables[c], &rng);
			/* hosts have been up a while: the global hint is anywhere */
			pa[c].hint = (uint32_t)model_rng_next(&rng);
			boot_ms[c] = model_rng_below(&rng, 30u * 86400u) * 1000ull;
			next[c] = expo(&rng, 0.2);
		}
		double end = hours * 3600;
		/* warm-up of one TIME_WAIT length before counting */
		for (;;) {
			int c = 0;
			for (int k = 1; k < NCLIENT; k++)
				if (next[k] < next[c])
					c = k;
			now = next[c];
			if (now > end + 60)
				break;
			next[c] = now + expo(&rng, 0.2);
			uint32_t saddr = 0x0A000001u + (uint32_t)c;
			struct port_pick pp = port_alloc_connect(&pa[c], saddr, SERVER, 80,
								 boot_ms[c] + (uint64_t)(now * 1000),
								 &rng, client_free, NULL);
			struct nat_req rq = { .nat_addr = NATADDR, .client_port = pp.port };
			struct nat_pick np = nat_pick_port(&ns, &rq, &rng, nat_cb, NULL);
			nat_until[np.port] = now + hold;
			if (now > 60) {
				conns++;
				if (tw_until[np.port] > now) {
					if (tw_owner[np.port] != c)
						coll++;
					else
						out.own++;
				}
			}
			tw_until[np.port] = now + 60;
			tw_owner[np.port] = c;
		}
		double p = (double)coll / (double)conns;
		sum += p; sum2 += p * p;
		if (p < out.lo) out.lo = p;
		if (p > out.hi) out.hi = p;
		out.conns += conns;
	}
	out.mean = sum / seeds;
	out.sd = seeds > 1 ? sqrt((sum2 - sum * sum / seeds) / (seeds - 1)) : 0;
	return out;
}

/* ---- 3. the report's overload pool: how often do k pods share one address? */

static void overload_share(unsigned k, unsigned n, unsigned trials, bool consecutive)
{
	struct model_rng rng;
	unsigned all_one = 0;

	model_rng_seed(&rng, 4242 + k * 100 + n);
	for (unsigned t = 0; t < trials; t++) {
		/* k pod addresses in 10.0.0.0/8 (random, or consecutive from a
		 * random start as a CNI hands them out), one server */
		uint32_t first = 0, base = 0x0A000000u | model_rng_below(&rng, (1u << 24) - k);
		bool same = true;
		for (unsigned c = 0; c < k; c++) {
			uint32_t pod = consecutive ? base + c : 0x0A000000u | model_rng_below(&rng, 1u << 24);
			uint32_t a = nat_overload_addr(NATADDR, n, pod, SERVER, 0, false);
			if (c == 0)
				first = a;
			else if (a != first)
				same = false;
		}
		all_one += same;
	}
	double got = (double)all_one / trials, want = pow(1.0 / n, k - 1);
	printf("%3u %-11s pods, overload:%u %9.3f%% +-%.3f   %9.3f%%  %7.3f\n", k,
	       consecutive ? "consecutive" : "random", n, 100 * got, 100 * ci95(got, trials), 100 * want, got / want);
}

/* ---- 4. cost of the model calls the simulator makes per connection -------- */

#include <time.h>
static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t big_tables[1000][65536];

static void cost_ports(enum port_alg alg, unsigned hosts, bool compact, unsigned long n,
		       uint64_t ms_per_call)
{
	static struct port_alloc pa[1000];
	struct model_rng rng;
	unsigned long sum = 0;

	model_rng_seed(&rng, 99);
	for (unsigned h = 0; h < hosts; h++)
		port_alloc_init(&pa[h], alg, 32768, 60999, compact ? NULL : big_tables[h], &rng);
	double t0 = secs();
	for (unsigned long i = 0; i < n; i++) {
		unsigned h = (unsigned)(i * 2654435761u % hosts);
		sum += port_alloc_connect(&pa[h], 0x0A000000u + h, SERVER, 80, i * ms_per_call, &rng,
					  client_free, NULL).port;
	}
	double dt = secs() - t0;
	printf("port_alloc_connect %-10s %4u hosts %-7s %-9s %6.1f ns/call %6.2f M/s (chk %lu)\n",
	       port_alg_str(alg), hosts, alg >= PORT_ALG_PERTURB256 ? (compact ? "compact" : "table") : "-",
	       ms_per_call >= 10000 ? "new-10s" : "same-10s", dt / n * 1e9, n / dt / 1e6, sum % 1000);
}

static void cost_rest(unsigned long n)
{
	struct model_rng rng;
	struct host_clock c;
	struct nat_state ns;
	unsigned long sum = 0;
	double t0, dt;

	model_rng_seed(&rng, 98);
	host_clock_init(&c, KVER(6, 18, 44), 1, 1000, &rng);
	t0 = secs();
	for (unsigned long i = 0; i < n; i++)
		sum += tcp_tsval(&c, NATADDR, SERVER, (uint16_t)i, 80, i);
	dt = secs() - t0;
	printf("tcp_tsval (4-tuple offset)                  %8.1f ns/call %7.2f M/s (chk %lu)\n",
	       dt / n * 1e9, n / dt / 1e6, sum % 1000);
	t0 = secs();
	for (unsigned long i = 0; i < n; i++)
		sum += tcp_isn(&c, NATADDR, SERVER, (uint16_t)i, 80, i * 1000);
	dt = secs() - t0;
	printf("tcp_isn                                     %8.1f ns/call %7.2f M/s (chk %lu)\n",
	       dt / n * 1e9, n / dt / 1e6, sum % 1000);
	t0 = secs();
	for (unsigned long i = 0; i < n; i++) {
		struct conn_clock k;
		tcp_conn_clock(&c, NATADDR, SERVER, (uint16_t)i, 80, &k);
		sum += conn_isn(&k, i * 1000) + conn_tsval(&c, &k, i) + conn_tsval(&c, &k, i + 1000)
		       + conn_tsval(&c, &k, i + 2000);
	}
	dt = secs() - t0;
	printf("tcp_conn_clock + ISN + 3 TSvals             %8.1f ns/conn %7.2f M/s (chk %lu)\n",
	       dt / n * 1e9, n / dt / 1e6, sum % 1000);
	t0 = secs();
	for (unsigned long i = 0; i < n; i++)
		sum += nat_overload_addr(NATADDR, 2, 0x0A000000u + (uint32_t)i, SERVER, 0, false);
	dt = secs() - t0;
	printf("nat_overload_addr                           %8.1f ns/call %7.2f M/s (chk %lu)\n",
	       dt / n * 1e9, n / dt / 1e6, sum % 1000);
	memset(nat_until, 0, sizeof nat_until);
	now = 0;
	nat_state_init(&ns, nat_preset_find("linux"), KVER(6, 18, 44));
	t0 = secs();
	for (unsigned long i = 0; i < n; i++) {
		struct nat_req rq = { .nat_addr = NATADDR, .client_port = (uint16_t)(32768 + i % 28232) };
		sum += nat_pick_port(&ns, &rq, &rng, nat_cb, NULL).port;
	}
	dt = secs() - t0;
	printf("nat_pick_port linux, port free              %8.1f ns/call %7.2f M/s (chk %lu)\n",
	       dt / n * 1e9, n / dt / 1e6, sum % 1000);
}

int main(int argc, char **argv)
{
	unsigned seeds = argc > 1 ? (unsigned)atoi(argv[1]) : 40;
	double hours = argc > 2 ? atof(argv[2]) : 3;

	if (seeds < 1 || hours <= 0) {
		fprintf(stderr, "usage: sim-arith [SEEDS>=1] [HOURS>0]\n");
		return 2;
	}
	printf("1. occupancy: P(SYN on a server TIME_WAIT tuple per connect), ports uniform from M\n");
	printf("%-22s %8s %6s %5s %5s %21s %10s %7s\n", "NAT", "lambda/s", "M", "T s", "hold",
	       "model (95% CI)", "formula", "ratio");
	occupancy(10, 64512, 60, NULL, 2000000, 1);
	occupancy(300, 64512, 60, NULL, 2000000, 2);
	occupancy(9.8, 14116, 60, NULL, 2000000, 3);
	occupancy(10, 1000, 60, NULL, 2000000, 4);
	occupancy(300, 64512, 60, nat_preset_find("linux-random-fully"), 2000000, 5);
	occupancy(300, 64512, 60, nat_preset_find("gcp-30s"), 2000000, 6);
	occupancy(300, 64512, 60, nat_preset_find("azure"), 2000000, 7);
	printf("   (NAT hold h < T: formula 1 - exp(-lambda (T - h) / (M - lambda h)); h >= T: 0)\n\n");

	double lam = (NCLIENT - 1) * 0.2;
	printf("2. SIM.md Monte Carlo: %d clients x 0.2 conn/s, one address, port kept "
	       "(fortigate preset), T = 60 s, %u seeds x %.1f h;\n"
	       "   a collision: a SYN on a 4-tuple another client left in the server's TIME_WAIT\n",
	       NCLIENT, seeds, hours);
	printf("%-34s %10s %8s %8s %8s %8s %10s %8s\n", "client allocator (range)", "collisions",
	       "+-se", "sd", "min", "max", "formula", "ratio");
	static const struct { enum port_alg a; uint16_t lo, hi; unsigned m; const char *label; } rows[] = {
		{ PORT_ALG_PERTURB64K, 32768, 60999, 14116, "6.x perturb64k (32768-60999)" },
		{ PORT_ALG_PERTURB256, 32768, 60999, 14116, "5.12 perturb256 (32768-60999)" },
		{ PORT_ALG_EVEN_ODD, 32768, 60999, 14116, "4.6-5.11 even/odd +2" },
		{ PORT_ALG_HINT_EVEN, 32768, 60999, 14116, "RHEL 7.7 / 4.2 hint-even" },
		{ PORT_ALG_HINT_310, 32768, 61000, 28233, "3.10 upstream hint+1 (32768-61000)" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mc r = monte_carlo(rows[i].a, rows[i].lo, rows[i].hi, seeds, hours);
		/* the box's own 1 s hold moves a port used in the last second:
		 * only (t - 60, t - 1] can collide */
		double h = nat_preset_find("fortigate")->hold_after_fin_ms / 1000.0;
		double f = 1 - exp(-lam * (60 - h) / (rows[i].m - lam * h));
		printf("%-34s %9.3f%% %7.3f%% %7.3f%% %7.3f%% %7.3f%% %9.3f%% %8.3f\n", rows[i].label,
		       100 * r.mean, 100 * r.sd / sqrt(seeds), 100 * r.sd, 100 * r.lo, 100 * r.hi,
		       100 * f, r.mean / f);
	}
	printf("   (formula: 1 - exp(-lambda (T - h) / (M - lambda h)), lambda = 49 x 0.2/s, h = 1 s,\n"
	       "    M = ports the allocator walks: 14116 even ones, 28233 for 3.10's +1 walk;\n"
	       "    SIM.md: formula 4.08%% (h = 0), 6.x 4.10%%, 4.19 ~4.5%% wide spread, 3.10 ~1.7%%;\n"
	       "    se: standard error of the mean over seeds, sd: spread between seeds)\n\n");

	printf("3. overload pool (netfilter's jhash2): P(all pods on one address) vs (1/n)^(k-1)\n");
	printf("%-32s %19s %12s %7s\n", "pods, pool", "model (95% CI)", "formula", "ratio");
	overload_share(4, 2, 200000, false);
	overload_share(4, 2, 200000, true);
	overload_share(4, 4, 200000, false);
	overload_share(4, 4, 200000, true);
	overload_share(8, 2, 200000, false);
	printf("   (the report: 4 pods, a second overload address, all 4 on one: 1 pool in 8)\n\n");

	printf("4. cost of the model's per-connection calls (one core, shared machine)\n");
	/* same-10s: a host connecting many times per 10 s window (the port
	 * hash is memoised); new-10s: every connect in a new window */
	cost_ports(PORT_ALG_PERTURB64K, 1, false, 4000000, 0);
	cost_ports(PORT_ALG_PERTURB64K, 1000, false, 4000000, 0);
	cost_ports(PORT_ALG_PERTURB64K, 1000, false, 4000000, 10000);
	cost_ports(PORT_ALG_PERTURB64K, 1000, true, 4000000, 10000);
	cost_ports(PORT_ALG_EVEN_ODD, 1000, false, 4000000, 10000);
	cost_ports(PORT_ALG_HINT_310, 1000, false, 4000000, 10000);
	cost_rest(4000000);
	return 0;
}
