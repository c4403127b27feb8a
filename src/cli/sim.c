/*
 * sim.c - `twlab sim`: parse (sim/config.c), run the simulator (sim/engine.c),
 * print. Text and JSON of a result come from one emitter (src/print).
 */
#include "cli/cli.h"
#include "print/pr.h"
#include "util/inet.h"
#include "util/clock.h"
#include "sim/config.h"
#include "sim/fromcap.h"
#include "sim/pcapout.h"
#include "util/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static const char usage[] =
"usage: twlab sim [options]\n"
"\n"
"Predict TIME_WAIT collisions and connect timeouts for a fleet of clients\n"
"behind a NAT, per mitigation: a discrete-event simulation whose every TCP\n"
"decision (client port, timestamps, ISN, NAT address and port, the server's\n"
"TIME_WAIT verdict, the client's answer in SYN_SENT, the firewall) comes from\n"
"the same model explain/analyze/lab use. Deterministic for a given --seed.\n"
"\n"
"the load (same options and [fleet] keys as `twlab lab load`):\n"
"  --scenario FILE        topology and [fleet] (default: the built-in report.ini)\n"
"  --clients N            client hosts behind the NAT (default: the lab's clients)\n"
"  --rate R               requests per second per client (each a new connection\n"
"                         unless it rides the kept-alive one)\n"
"  --arrivals poisson|periodic\n"
"  --duration S           simulated seconds of arrivals\n"
"  --keepalive F          fraction of requests on the client's kept-alive\n"
"                         connection (no connect, no TIME_WAIT on the server)\n"
"  --port-range LO-HI     the clients' ip_local_port_range\n"
"  --snat MODE            overload:N (address by hash of the client, port kept\n"
"                         if free), one-to-one:N (dynamic 1:1 pool), static,\n"
"                         masquerade (Linux), random-fully (Linux)\n"
"  --client-kernel K      host, a version (3.10, 4.19.124, 6.18.44) or rhel7.7\n"
"  --server-kernel K\n"
"the path:\n"
"  --firewall strict|linux  strict drops the server's bare ACK (timeouts);\n"
"                         linux passes it (client RST, retry: delays)\n"
"  --fw-time-wait S       how long the NAT keeps a closed session's tuple\n"
"                         (default: the scenario's [firewall] time_wait)\n"
"  --nat-preset NAME      NAT behaviour: linux, linux-random-fully, fortigate,\n"
"                         azure, gcp, gcp-30s (brings its own hold)\n"
"  --connect-timeout S    the application gives up (default: the scenario's)\n"
"  --rtt MS               client-server round trip (default 1)\n"
"  --service-time MS      request in -> response and FIN out (default 1)\n"
"  --max-tw-buckets N     the server's tcp_max_tw_buckets (default 262144)\n"
"  --seed N               (default 1)\n"
"output:\n"
"  --json                 one JSON object on stdout\n"
"  --compare              every mitigation on this scenario, one row each\n"
"  --sweep P=A:B:STEP     vary P (rate, clients, keepalive, duration,\n"
"                         fw_time_wait, connect_timeout, pool, rtt): CSV on stdout\n"
"  --plot FILE.svg        with --sweep: draw the rates with gnuplot\n"
"  --pcap FILE            the server-side packets of the run (twlab analyze reads it)\n"
"  --from-capture FILE... the fleet from captures (analyze: hosts behind each NAT\n"
"                         address, rate, who closes first, firewall); checks the\n"
"                         simulated baseline against the observed collision rate,\n"
"                         then every mitigation for that fleet\n"
"\n"
"Rates are per request, with a 95% Wilson confidence interval.\n";

/* CPU seconds of the last run (perf figures) */
static double last_cpu;

static double rate(uint64_t k, uint64_t n)
{
	return n ? (double)k / (double)n : 0;
}

/* The 95% Wilson interval of k in n under key: [lo, hi] (JSON only). */
static void ci_print(struct pr *p, const char *key, uint64_t k, uint64_t n, double *lo, double *hi)
{
	wilson95(k, n, lo, hi);
	pr_open(p, key, true);
	pr_real(p, NULL, NULL, *lo);
	pr_real(p, NULL, NULL, *hi);
	pr_close(p);
}

static void scenario_print(struct pr *p, const struct sim_params *sp)
{
	const struct fleet *f = &sp->fleet;
	char mode[32], range[16];

	snprintf(range, sizeof range, "%u-%u", f->port_lo, f->port_hi);
	pr_open(p, "scenario", false);
	pr_str(p, "snat", NULL, snat_spec_str(&f->snat, mode, sizeof mode));
	pr_int(p, "clients", NULL, f->clients);
	pr_real(p, "rate", NULL, f->rate);
	pr_str(p, "arrivals", NULL, f->periodic ? "periodic" : "poisson");
	pr_real(p, "keepalive", NULL, f->keepalive);
	pr_real(p, "duration", NULL, f->duration_s);
	pr_str(p, "port_range", NULL, range);
	pr_str(p, "firewall", NULL, fw_kind_str(sp->fw));
	pr_real(p, "fw_time_wait", NULL, sp->fw_time_wait_s);
	pr_real(p, "connect_timeout", NULL, sp->connect_timeout_s);
	pr_str(p, "nat_preset", NULL, sim_preset_for(sp));
	pr_str(p, "client_kernel", NULL, sp->client_k->name);
	pr_str(p, "server_kernel", NULL, sp->server_k->name);
	pr_int(p, "seed", NULL, (long long)sp->seed);
	pr_close(p);
}

/* A count, its rate per request and the rate's interval: text as one line
 * "label  count  rate%  (95% CI lo% .. hi%)". */
static void rate_print(struct pr *p, const char *label, const char *count_key, const char *rate_key,
		       const char *ci_key, uint64_t k, uint64_t n)
{
	double lo, hi;

	pr_text(p, "%-14s ", label);
	pr_int(p, count_key, "%-9lld ", (long long)k);
	pr_real(p, rate_key, NULL, rate(k, n));
	ci_print(p, ci_key, k, n, &lo, &hi);
	pr_text(p, "%8.4f%%  (95%% CI %.4f%% .. %.4f%%)\n", 100 * rate(k, n), 100 * lo, 100 * hi);
}

/* One run: text has the headline rates first, then every other field as a
 * "key  value" line. pcap: --pcap's file and its packet count, or NULL. */
static void result_print(bool json, const struct sim_params *sp, const struct sim_result *r, double wall,
			 const char *pcap, uint64_t packets)
{
	char a[INET_ADDRSTRLEN];
	uint64_t n = r->requests;
	struct pr p;

	pr_begin(&p, json);
	pr_text(&p, "%-14s ", "requests");
	pr_int(&p, "requests", "%lld", (long long)n);
	pr_int(&p, "kept_alive", "  (%lld on kept-alive connections, ", (long long)r->kept_alive);
	pr_int(&p, "connections", "%lld connect() calls)\n", (long long)r->connections);
	rate_print(&p, "collisions", "collisions", "collision_rate", "collision_ci95", r->collisions, n);
	rate_print(&p, "  paws", "collisions_paws", "paws_rate", "paws_ci95", r->collisions_paws, n);
	rate_print(&p, "  seq", "collisions_seq", "seq_rate", "seq_ci95", r->collisions_seq, n);
	rate_print(&p, "timed_out", "timed_out", "timeout_rate", "timeout_ci95", r->timed_out, n);
	rate_print(&p, "delayed", "delayed", "delayed_rate", "delayed_ci95", r->delayed, n);
	pr_set_list(&p, true);
	pr_int(&p, "established", NULL, (long long)r->established);
	pr_open(&p, "latency_ms", false);
	pr_real(&p, "p50", NULL, r->lat_p50_ms);
	pr_real(&p, "p99", NULL, r->lat_p99_ms);
	pr_real(&p, "p999", NULL, r->lat_p999_ms);
	pr_real(&p, "max", NULL, r->lat_max_ms);
	pr_close(&p);
	pr_open(&p, "time_wait", false);
	pr_real(&p, "mean", NULL, r->tw_mean);
	pr_int(&p, "max", NULL, (long long)r->tw_max);
	pr_int(&p, "port_reuses", NULL, (long long)r->port_reuses);
	pr_int(&p, "overflow", NULL, (long long)r->tw_overflow);
	pr_close(&p);
	pr_open(&p, "clients", false);
	pr_int(&p, "count", NULL, r->clients);
	pr_int(&p, "with_collisions", NULL, r->clients_with_collisions);
	pr_real(&p, "worst_rate", NULL, r->coll_rate_client_max);
	pr_real(&p, "top10pct_share", NULL, r->coll_share_top10);
	pr_open(&p, "top", true);
	for (unsigned i = 0; i < r->ntop; i++) {
		pr_open(&p, NULL, false);
		pr_int(&p, "client", NULL, r->top[i].client);
		pr_str(&p, "addr", NULL, ip4_str(r->top[i].addr, a));
		pr_int(&p, "requests", NULL, (long long)r->top[i].requests);
		pr_int(&p, "collisions", NULL, (long long)r->top[i].collisions);
		pr_int(&p, "timed_out", NULL, (long long)r->top[i].timed_out);
		pr_close(&p);
	}
	pr_close(&p);
	pr_close(&p);
	pr_open(&p, "details", false);
	pr_int(&p, "tw_reopened", NULL, (long long)r->tw_reopened);
	pr_int(&p, "syn_retransmits", NULL, (long long)r->syn_retransmits);
	pr_int(&p, "bare_acks", NULL, (long long)r->bare_acks);
	pr_int(&p, "bare_acks_dropped", NULL, (long long)r->bare_acks_dropped);
	pr_int(&p, "acks_rate_limited", NULL, (long long)r->acks_rate_limited);
	pr_int(&p, "client_rsts", NULL, (long long)r->client_rsts);
	pr_int(&p, "tw_killed_by_rst", NULL, (long long)r->tw_killed_by_rst);
	pr_int(&p, "nat_exhausted", NULL, (long long)r->nat_exhausted);
	pr_int(&p, "client_ports_exhausted", NULL, (long long)r->client_ports_exhausted);
	pr_int(&p, "nat_port_changed", NULL, (long long)r->nat_port_changed);
	pr_real(&p, "rtt_ms", NULL, sp->rtt_ms);
	pr_close(&p);
	scenario_print(&p, sp);
	pr_open(&p, "perf", false);
	pr_real(&p, "wall_s", NULL, wall);
	pr_real(&p, "cpu_s", NULL, last_cpu);
	pr_real(&p, "conn_per_s", NULL, wall > 0 ? (double)n / wall : 0.0);
	pr_real(&p, "conn_per_cpu_s", NULL, last_cpu > 0 ? (double)n / last_cpu : 0.0);
	pr_int(&p, "events", NULL, (long long)r->events);
	pr_int(&p, "peak_bytes", NULL, (long long)r->peak_bytes);
	pr_int(&p, "nat_max", NULL, (long long)r->nat_max);
	pr_close(&p);
	if (pcap) {
		pr_open(&p, "pcap", false);
		pr_str(&p, "file", NULL, pcap);
		pr_int(&p, "packets", NULL, (long long)packets);
		pr_close(&p);
	}
	pr_end(&p);
}

static int run_one(const struct sim_params *p, struct sim_result *r, double *wall)
{
	char err[256];
	double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	if (sim_run(p, r, err, sizeof err) < 0) {
		cli_err("sim", "%s", err);
		return EXIT_RUNTIME;
	}
	*wall = clock_s(CLOCK_MONOTONIC) - t0;
	last_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return 0;
}

/* ---- --compare */

/* One mitigation's figures (or why it could not run), a row of --compare
 * and of --sweep. */
struct row {
	const char *mode;
	char error[256];              /* the row did not run: why */
	const struct sim_result *r;   /* ... else its result */
	bool has_value;               /* --sweep: the parameter's value */
	double value;
};

#define MAX_ROWS 16

/* Text: the header of the rows' table. */
static void rows_head(struct pr *p)
{
	pr_text(p, "%-14s %10s %10s %7s %7s %9s %9s %-21s %9s\n", "mode", "requests", "collisions",
		"paws", "seq", "timed_out", "timeout%", "95% CI", "p99 ms");
}

/* A row: an object of the JSON array, a line of the text table. */
static void row_print(struct pr *p, const struct row *w)
{
	const struct sim_result *r = w->r;
	uint64_t n;
	double lo, hi, clo, chi;
	char cis[48];

	pr_open(p, NULL, false);
	pr_str(p, "mode", "%-14s ", w->mode);
	if (w->error[0]) {
		pr_str(p, "error", "%s\n", w->error);
		pr_close(p);
		return;
	}
	n = r->requests;
	pr_int(p, "requests", "%10lld ", (long long)n);
	pr_int(p, "collisions", "%10lld ", (long long)r->collisions);
	pr_int(p, "collisions_paws", "%7lld ", (long long)r->collisions_paws);
	pr_int(p, "collisions_seq", "%7lld ", (long long)r->collisions_seq);
	pr_int(p, "timed_out", "%9lld ", (long long)r->timed_out);
	pr_int(p, "delayed", NULL, (long long)r->delayed);
	pr_real(p, "timeout_rate", NULL, rate(r->timed_out, n));
	ci_print(p, "ci95", r->timed_out, n, &lo, &hi);
	snprintf(cis, sizeof cis, "%.4f..%.4f", 100 * lo, 100 * hi);
	pr_text(p, "%9.4f %-21s ", 100 * rate(r->timed_out, n), cis);
	pr_real(p, "collision_rate", NULL, rate(r->collisions, n));
	ci_print(p, "collision_ci95", r->collisions, n, &clo, &chi);
	pr_real(p, "p99_ms", "%9.1f\n", r->lat_p99_ms);
	pr_real(p, "p999_ms", NULL, r->lat_p999_ms);
	if (w->has_value)
		pr_real(p, "value", NULL, w->value);
	pr_close(p);
}

/* Every mitigation on one fleet: the scenario's own mode first, then each
 * --snat mode and keep-alive, all with the same arrivals (same seed). Rows
 * into w (MAX_ROWS), their number into *nw, their results into r (MAX_ROWS);
 * 0 or the exit code. The modes point into base (the caller's) or string
 * literals. */
static int compare_rows(const struct sim_params *base_p, char base[32], struct row *w, size_t *nw,
			struct sim_result *r)
{
	static const char *const modes[] = { "overload:1", "overload:2", "one-to-one:16", "static",
					     "masquerade", "random-fully", "keepalive", NULL };
	char err[256];
	const char *list[MAX_ROWS];
	size_t n = 0;

	snat_spec_str(&base_p->fleet.snat, base, 32);
	list[n++] = base;
	for (size_t i = 0; modes[i]; i++)
		if (strcmp(modes[i], base))
			list[n++] = modes[i];
	for (size_t i = 0; i < n; i++) {
		struct sim_params p = *base_p;
		double wall;
		if (!strcmp(list[i], "keepalive"))
			p.fleet.keepalive = 1;
		else
			snat_spec_parse(list[i], &p.fleet.snat, err, sizeof err);
		memset(&w[i], 0, sizeof w[i]);
		w[i].mode = list[i];
		if (!sim_check(&p, err, sizeof err)) {
			snprintf(w[i].error, sizeof w[i].error, "%s", err);
			continue;
		}
		if (run_one(&p, &r[i], &wall))
			return EXIT_RUNTIME;
		w[i].r = &r[i];
	}
	*nw = n;
	return 0;
}

static void rows_print(struct pr *p, const struct row *w, size_t n)
{
	rows_head(p);
	pr_open(p, "rows", true);
	for (size_t i = 0; i < n; i++)
		row_print(p, &w[i]);
	pr_close(p);
}

static int compare(const struct sim_config *c)
{
	struct row w[MAX_ROWS];
	struct sim_result *r = calloc(MAX_ROWS, sizeof *r);
	char base[32];
	size_t n = 0;
	struct pr p;
	int rc = r ? compare_rows(&c->p, base, w, &n, r) : EXIT_RUNTIME;

	if (!rc) {
		pr_begin(&p, c->json);
		rows_print(&p, w, n);
		scenario_print(&p, &c->p);
		pr_end(&p);
	} else if (!r) {
		cli_err("sim", "out of memory");
	}
	free(r);
	return rc;
}

/* ---- --from-capture */

static int from_capture(struct sim_config *c)
{
	struct fromcap *fc = malloc(sizeof *fc);
	struct sim_result *r = malloc(sizeof *r), *rows_r = NULL;
	char err[512], a[INET_ADDRSTRLEN];
	double wall, olo, ohi, slo, shi;
	int rc = EXIT_RUNTIME;

	if (!fc || !r) {
		cli_err("sim", "out of memory");
		goto out;
	}
	if (sim_from_capture(c->captures, c->ncaptures, c->p.server_k, fc, &c->p, err, sizeof err) < 0) {
		cli_err("sim", "--from-capture: %s", err);
		goto out;
	}
	/* long enough for a tight interval, never shorter than the capture */
	c->p.fleet.duration_s = fc->span_s > 3600 ? fc->span_s : 3600;
	if (!sim_check(&c->p, err, sizeof err)) {
		cli_err("sim", "--from-capture: the fleet the captures show: %s", err);
		goto out;
	}
	if (run_one(&c->p, r, &wall))
		goto out;
	uint64_t on = fc->connections + fc->timed_out;
	wilson95(fc->collisions, on, &olo, &ohi);
	wilson95(r->collisions, r->requests, &slo, &shi);
	bool same = olo <= shi && slo <= ohi;
	struct row w[MAX_ROWS];
	char base[32];
	size_t nw = 0;
	struct pr p;
	if (!(rows_r = calloc(MAX_ROWS, sizeof *rows_r))) {
		cli_err("sim", "out of memory");
		goto out;
	}
	if (compare_rows(&c->p, base, w, &nw, rows_r))
		goto out;
	pr_begin(&p, c->json);
	pr_open(&p, "capture", false);
	pr_real(&p, "span_s", "capture        %.1f s, ", fc->span_s);
	pr_int(&p, "connections", "%lld connections, ", (long long)fc->connections);
	pr_int(&p, "collisions", "%lld collisions (", (long long)fc->collisions);
	pr_int(&p, "collisions_paws", "%lld paws, ", (long long)fc->coll_paws);
	pr_int(&p, "collisions_seq", "%lld seq), ", (long long)fc->coll_seq);
	pr_int(&p, "recovered", "%lld recovered, ", (long long)fc->recovered);
	pr_int(&p, "timed_out", "%lld timed out\n", (long long)fc->timed_out);
	pr_int(&p, "server_closed_first", NULL, (long long)fc->server_closed_first);
	pr_int(&p, "client_closed_first", NULL, (long long)fc->client_closed_first);
	pr_open(&p, "nat", true);
	for (unsigned i = 0; i < fc->nnat; i++) {
		pr_open(&p, NULL, false);
		pr_str(&p, "addr", "nat address    %s: ", ip4_str(fc->nat_addr[i], a));
		pr_int(&p, "hosts", "%lld hosts, ", fc->nat_hosts[i]);
		pr_int(&p, "connections", "%lld connections\n", fc->nat_conns[i]);
		pr_close(&p);
	}
	pr_close(&p);
	pr_str(&p, "firewall", NULL, fc->strict ? "strict" : "linux");
	pr_close(&p);
	pr_text(&p, "fleet          %u clients x %.3f req/s, overload:%u, keep-alive %.2f, "
		"firewall %s, server kernel %s (assumed: --server-kernel), client kernel %s\n",
		c->p.fleet.clients, c->p.fleet.rate, c->p.fleet.snat.n, c->p.fleet.keepalive,
		fw_kind_str(c->p.fw), c->p.server_k->name, c->p.client_k->name);
	pr_open(&p, "observed", false);
	pr_real(&p, "collision_rate", NULL, rate(fc->collisions, on));
	ci_print(&p, "ci95", fc->collisions, on, &olo, &ohi);
	pr_text(&p, "observed       %.4f%% collisions (95%% CI %.4f .. %.4f)\n", 100 * rate(fc->collisions, on),
		100 * olo, 100 * ohi);
	pr_close(&p);
	pr_open(&p, "simulated", false);
	pr_real(&p, "collision_rate", NULL, rate(r->collisions, r->requests));
	ci_print(&p, "ci95", r->collisions, r->requests, &slo, &shi);
	pr_real(&p, "timeout_rate", NULL, rate(r->timed_out, r->requests));
	{
		double tlo, thi;
		ci_print(&p, "timeout_ci95", r->timed_out, r->requests, &tlo, &thi);
	}
	pr_close(&p);
	pr_text(&p, "simulated      %.4f%% collisions (95%% CI %.4f .. %.4f): ",
		100 * rate(r->collisions, r->requests), 100 * slo, 100 * shi);
	pr_bool(&p, "reproduces", NULL, same);
	pr_text(&p, "%s\n\n", same ? "the baseline reproduces the capture" :
		"the baseline does NOT reproduce the capture (check --server-kernel, --client-kernel, --fw-time-wait)");
	scenario_print(&p, &c->p);
	rows_print(&p, w, nw);
	pr_end(&p);
	rc = EXIT_OK;
out:
	free(fc);
	free(r);
	free(rows_r);
	return rc;
}

/* ---- --sweep / --plot */

static int plot(const char *file, const char *param, const char *csv)
{
	/* gnuplot's errors go to stderr; its stdout (nothing, with an output
	 * file set) never reaches ours */
	FILE *g = popen("gnuplot >/dev/null", "w");
	if (!g) {
		cli_err("sim", "--plot: cannot run gnuplot (Debian package gnuplot-nox)");
		return EXIT_RUNTIME;
	}
	fprintf(g, "set terminal svg size 800,500 dynamic\nset output '%s'\n", file);
	fprintf(g, "set datafile separator ','\nset key top left\nset grid\n");
	fprintf(g, "set xlabel '%s'\nset ylabel 'per connection (%%)'\n", param);
	fprintf(g, "$d << EOD\n%sEOD\n", csv);
	fprintf(g, "plot $d using 2:($5*100):($6*100):($7*100) every ::1 with yerrorlines "
		   "title 'collisions', $d using 2:($9*100):($10*100):($11*100) every ::1 with "
		   "yerrorlines title 'timeouts', $d using 2:($13*100) every ::1 with linespoints "
		   "title 'delayed'\n");
	int st = pclose(g);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		cli_err("sim", "--plot: %s: gnuplot failed (is gnuplot-nox installed?)", file);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int sweep(const struct sim_config *c)
{
	struct sim_result *r = malloc(sizeof *r);
	struct pr out;
	size_t cap = 4096, len = 0;
	char *csv = malloc(cap), err[256];
	int rc = EXIT_OK;

	if (!r || !csv) {
		cli_err("sim", "out of memory");
		free(r);
		free(csv);
		return EXIT_RUNTIME;
	}
	if (c->plot) {
		/* before the runs: a sweep is long to lose to a typo */
		FILE *t = fopen(c->plot, "w");
		if (!t) {
			cli_err("sim", "--plot: %s: %s", c->plot, strerror(errno));
			free(r);
			free(csv);
			return EXIT_RUNTIME;
		}
		fclose(t);
	}
	len = (size_t)snprintf(csv, cap, "param,value,requests,collisions,collision_rate,"
			       "collision_lo,collision_hi,timed_out,timeout_rate,timeout_lo,timeout_hi,"
			       "delayed,delayed_rate,p99_ms\n");
	/* JSON: the rows as they come; text is the CSV */
	pr_begin(&out, true);
	pr_str(&out, "param", NULL, c->sweep_param);
	pr_open(&out, "rows", true);
	unsigned npts = (unsigned)((c->sweep_to - c->sweep_from) / c->sweep_step + 1e-9) + 1;
	for (unsigned i = 0; i < npts; i++) {
		double v = c->sweep_from + i * c->sweep_step, wall;
		struct sim_params p = c->p;
		double clo, chi, tlo, thi;
		if (!sim_sweep_set(&p, c->sweep_param, v, err, sizeof err) || !sim_check(&p, err, sizeof err)) {
			cli_err("sim", "--sweep %s=%g: %s", c->sweep_param, v, err);
			rc = EXIT_USAGE;
			break;
		}
		if ((rc = run_one(&p, r, &wall)))
			break;
		uint64_t n = r->requests;
		wilson95(r->collisions, n, &clo, &chi);
		wilson95(r->timed_out, n, &tlo, &thi);
		char line[512];
		int w = snprintf(line, sizeof line, "%s,%g,%llu,%llu,%.6f,%.6f,%.6f,%llu,%.6f,%.6f,%.6f,"
				 "%llu,%.6f,%.3f\n", c->sweep_param, v, (unsigned long long)n,
				 (unsigned long long)r->collisions, rate(r->collisions, n), clo, chi,
				 (unsigned long long)r->timed_out, rate(r->timed_out, n), tlo, thi,
				 (unsigned long long)r->delayed, rate(r->delayed, n), r->lat_p99_ms);
		if (len + (size_t)w + 1 > cap) {
			char *nc = realloc(csv, cap * 2 + (size_t)w);
			if (!nc) {
				rc = EXIT_RUNTIME;
				break;
			}
			csv = nc;
			cap = cap * 2 + (size_t)w;
		}
		memcpy(csv + len, line, (size_t)w + 1);
		len += (size_t)w;
		struct row row = { .mode = c->sweep_param, .r = r, .has_value = true, .value = v };
		row_print(&out, &row);
	}
	pr_close(&out);
	if (!rc && c->json) {
		scenario_print(&out, &c->p);
		pr_end(&out);
	} else {
		pr_discard(&out);
	}
	if (!rc) {
		if (!c->json)
			fputs(csv, stdout);
		if (c->plot)
			rc = plot(c->plot, c->sweep_param, csv);
	}
	free(csv);
	free(r);
	return rc;
}

int cmd_sim(int argc, char **argv)
{
	struct sim_config *c = malloc(sizeof *c);
	char err[512];
	int rc;

	if (!c) {
		cli_err("sim", "out of memory");
		return EXIT_RUNTIME;
	}
	rc = sim_config_parse(argc, argv, c, err, sizeof err);
	if (rc == 1) {
		fputs(usage, stdout);
		free(c);
		return EXIT_OK;
	}
	if (rc) {
		cli_err("sim", "%s", err);
		free(c);
		return EXIT_USAGE;
	}
	if (c->ncaptures) {
		rc = from_capture(c);
	} else if (c->compare) {
		rc = compare(c);
	} else if (c->sweep) {
		rc = sweep(c);
	} else {
		struct sim_result *r = malloc(sizeof *r);
		struct sim_pcap *w = NULL;
		double wall = 0;
		if (!r) {
			free(c);
			return EXIT_RUNTIME;
		}
		if (c->pcap) {
			w = sim_pcap_open(c->pcap, err, sizeof err);
			if (!w) {
				cli_err("sim", "--pcap: %s", err);
				free(r);
				free(c);
				return EXIT_RUNTIME;
			}
			c->p.packet = sim_pcap_packet;
			c->p.packet_arg = w;
		}
		rc = run_one(&c->p, r, &wall);
		uint64_t packets = 0;
		if (w && sim_pcap_close(w, &packets) < 0 && !rc) {
			cli_err("sim", "--pcap: %s: write failed", c->pcap);
			rc = EXIT_RUNTIME;
		}
		if (!rc)
			result_print(c->json, &c->p, r, wall, c->pcap, packets);
		free(r);
	}
	free(c);
	return rc;
}
