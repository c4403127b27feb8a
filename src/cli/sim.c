/*
 * sim.c - `twlab sim`: parse (sim/config.c), run the simulator (sim/engine.c),
 * print. One JSON object per result serves --json and the text rendering.
 */
#include "cli/cli.h"
#include "util/inet.h"
#include "sim/config.h"
#include "sim/fromcap.h"
#include "sim/pcapout.h"
#include "util/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
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

static json_t *ci_json(uint64_t k, uint64_t n)
{
	double lo, hi;
	wilson95(k, n, &lo, &hi);
	return json_pack("[f,f]", lo, hi);
}

static double rate(uint64_t k, uint64_t n)
{
	return n ? (double)k / (double)n : 0;
}

static json_t *scenario_json(const struct sim_params *p)
{
	const struct fleet *f = &p->fleet;
	char mode[32], pr[16];
	snprintf(pr, sizeof pr, "%u-%u", f->port_lo, f->port_hi);
	return json_pack("{s:s,s:i,s:f,s:s,s:f,s:f,s:s,s:s,s:f,s:f,s:s,s:s,s:s,s:I}",
			 "snat", snat_spec_str(&f->snat, mode, sizeof mode), "clients", f->clients,
			 "rate", f->rate, "arrivals", f->periodic ? "periodic" : "poisson",
			 "keepalive", f->keepalive, "duration", f->duration_s, "port_range", pr,
			 "firewall", fw_kind_str(p->fw), "fw_time_wait", p->fw_time_wait_s,
			 "connect_timeout", p->connect_timeout_s, "nat_preset", sim_preset_for(p),
			 "client_kernel", p->client_k->name, "server_kernel", p->server_k->name,
			 "seed", (json_int_t)p->seed);
}

static json_t *result_json(const struct sim_params *p, const struct sim_result *r, double wall)
{
	json_t *o = json_object(), *top = json_array();
	char a[INET_ADDRSTRLEN];
	uint64_t n = r->requests;

	json_object_set_new(o, "requests", json_integer((json_int_t)n));
	json_object_set_new(o, "kept_alive", json_integer((json_int_t)r->kept_alive));
	json_object_set_new(o, "connections", json_integer((json_int_t)r->connections));
	json_object_set_new(o, "established", json_integer((json_int_t)r->established));
	json_object_set_new(o, "collisions", json_integer((json_int_t)r->collisions));
	json_object_set_new(o, "collisions_paws", json_integer((json_int_t)r->collisions_paws));
	json_object_set_new(o, "collisions_seq", json_integer((json_int_t)r->collisions_seq));
	json_object_set_new(o, "timed_out", json_integer((json_int_t)r->timed_out));
	json_object_set_new(o, "delayed", json_integer((json_int_t)r->delayed));
	json_object_set_new(o, "collision_rate", json_real(rate(r->collisions, n)));
	json_object_set_new(o, "collision_ci95", ci_json(r->collisions, n));
	json_object_set_new(o, "paws_rate", json_real(rate(r->collisions_paws, n)));
	json_object_set_new(o, "paws_ci95", ci_json(r->collisions_paws, n));
	json_object_set_new(o, "seq_rate", json_real(rate(r->collisions_seq, n)));
	json_object_set_new(o, "seq_ci95", ci_json(r->collisions_seq, n));
	json_object_set_new(o, "timeout_rate", json_real(rate(r->timed_out, n)));
	json_object_set_new(o, "timeout_ci95", ci_json(r->timed_out, n));
	json_object_set_new(o, "delayed_rate", json_real(rate(r->delayed, n)));
	json_object_set_new(o, "delayed_ci95", ci_json(r->delayed, n));
	json_object_set_new(o, "latency_ms", json_pack("{s:f,s:f,s:f,s:f}", "p50", r->lat_p50_ms,
		"p99", r->lat_p99_ms, "p999", r->lat_p999_ms, "max", r->lat_max_ms));
	json_object_set_new(o, "time_wait", json_pack("{s:f,s:I,s:I,s:I}", "mean", r->tw_mean,
		"max", (json_int_t)r->tw_max, "port_reuses", (json_int_t)r->port_reuses,
		"overflow", (json_int_t)r->tw_overflow));
	for (unsigned i = 0; i < r->ntop; i++)
		json_array_append_new(top, json_pack("{s:i,s:s,s:I,s:I,s:I}", "client", r->top[i].client,
			"addr", ip4_str(r->top[i].addr, a), "requests", (json_int_t)r->top[i].requests,
			"collisions", (json_int_t)r->top[i].collisions,
			"timed_out", (json_int_t)r->top[i].timed_out));
	json_object_set_new(o, "clients", json_pack("{s:i,s:i,s:f,s:f,s:o}", "count", r->clients,
		"with_collisions", r->clients_with_collisions, "worst_rate", r->coll_rate_client_max,
		"top10pct_share", r->coll_share_top10, "top", top));
	json_object_set_new(o, "details", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
		"tw_reopened", (json_int_t)r->tw_reopened, "syn_retransmits", (json_int_t)r->syn_retransmits,
		"bare_acks", (json_int_t)r->bare_acks, "bare_acks_dropped", (json_int_t)r->bare_acks_dropped,
		"acks_rate_limited", (json_int_t)r->acks_rate_limited, "client_rsts", (json_int_t)r->client_rsts,
		"tw_killed_by_rst", (json_int_t)r->tw_killed_by_rst, "nat_exhausted", (json_int_t)r->nat_exhausted,
		"client_ports_exhausted", (json_int_t)r->client_ports_exhausted,
		"nat_port_changed", (json_int_t)r->nat_port_changed, "rtt_ms", p->rtt_ms));
	json_object_set_new(o, "scenario", scenario_json(p));
	json_object_set_new(o, "perf", json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:I}", "wall_s", wall,
		"cpu_s", last_cpu, "conn_per_s", wall > 0 ? (double)n / wall : 0.0,
		"conn_per_cpu_s", last_cpu > 0 ? (double)n / last_cpu : 0.0, "events", (json_int_t)r->events,
		"peak_bytes", (json_int_t)r->peak_bytes, "nat_max", (json_int_t)r->nat_max));
	return o;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}


static int run_one(const struct sim_params *p, struct sim_result *r, double *wall)
{
	char err[256];
	double t0 = now_s(), c0 = cpu_s();
	if (sim_run(p, r, err, sizeof err) < 0) {
		cli_err("sim", "%s", err);
		return EXIT_RUNTIME;
	}
	*wall = now_s() - t0;
	last_cpu = cpu_s() - c0;
	return 0;
}

/* Text: the headline rates first, then the rest of the object. */
static void print_result(json_t *o, bool json)
{
	if (json) {
		cli_print(o, true);
		return;
	}
	static const char *const rates[][3] = {
		{ "collisions", "collision_rate", "collision_ci95" },
		{ "  paws", "paws_rate", "paws_ci95" },
		{ "  seq", "seq_rate", "seq_ci95" },
		{ "timed_out", "timeout_rate", "timeout_ci95" },
		{ "delayed", "delayed_rate", "delayed_ci95" },
	};
	static const char *const counts[] = { "collisions", "collisions_paws", "collisions_seq",
					      "timed_out", "delayed" };
	printf("%-14s %" JSON_INTEGER_FORMAT "  (%" JSON_INTEGER_FORMAT " on kept-alive connections, %"
	       JSON_INTEGER_FORMAT " connect() calls)\n", "requests",
	       json_integer_value(json_object_get(o, "requests")),
	       json_integer_value(json_object_get(o, "kept_alive")),
	       json_integer_value(json_object_get(o, "connections")));
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		json_t *ci = json_object_get(o, rates[i][2]);
		printf("%-14s %-9" JSON_INTEGER_FORMAT " %8.4f%%  (95%% CI %.4f%% .. %.4f%%)\n", rates[i][0],
		       json_integer_value(json_object_get(o, counts[i])),
		       100 * json_real_value(json_object_get(o, rates[i][1])),
		       100 * json_real_value(json_array_get(ci, 0)), 100 * json_real_value(json_array_get(ci, 1)));
	}
	static const char *const skip[] = { "requests", "kept_alive", "connections", "collisions", "collisions_paws", "collisions_seq",
		"timed_out", "delayed", "collision_rate", "collision_ci95", "paws_rate", "paws_ci95",
		"seq_rate", "seq_ci95", "timeout_rate", "timeout_ci95", "delayed_rate", "delayed_ci95" };
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
		json_object_del(o, skip[i]);
	cli_print(o, false);
}

/* ---- --compare */

static json_t *row_json(const char *mode, const struct sim_result *r)
{
	uint64_t n = r->requests;
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:f,s:o,s:f,s:f}",
			 "mode", mode, "requests", (json_int_t)n, "collisions", (json_int_t)r->collisions,
			 "collisions_paws", (json_int_t)r->collisions_paws,
			 "collisions_seq", (json_int_t)r->collisions_seq,
			 "timed_out", (json_int_t)r->timed_out, "delayed", (json_int_t)r->delayed,
			 "timeout_rate", rate(r->timed_out, n), "ci95", ci_json(r->timed_out, n),
			 "collision_rate", rate(r->collisions, n), "collision_ci95", ci_json(r->collisions, n),
			 "p99_ms", r->lat_p99_ms, "p999_ms", r->lat_p999_ms);
}

/* Every mitigation on one fleet: the scenario's own mode first, then each
 * --snat mode and keep-alive, all with the same arrivals (same seed). */
static json_t *compare_rows(const struct sim_params *base_p)
{
	static const char *const modes[] = { "overload:1", "overload:2", "one-to-one:16", "static",
					     "masquerade", "random-fully", "keepalive", NULL };
	char base[32], err[256];
	json_t *rows = json_array();
	struct sim_result *r = malloc(sizeof *r);
	const char *list[16];
	size_t n = 0;

	if (!r) {
		cli_err("sim", "out of memory");
		json_decref(rows);
		return NULL;
	}
	snat_spec_str(&base_p->fleet.snat, base, sizeof base);
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
		if (!sim_check(&p, err, sizeof err)) {
			json_array_append_new(rows, json_pack("{s:s,s:s}", "mode", list[i], "error", err));
			continue;
		}
		if (run_one(&p, r, &wall)) {
			free(r);
			json_decref(rows);
			return NULL;
		}
		json_array_append_new(rows, row_json(list[i], r));
	}
	free(r);
	return rows;
}

static void rows_text(json_t *rows)
{
	size_t i;
	json_t *row;
	printf("%-14s %10s %10s %7s %7s %9s %9s %-21s %9s\n", "mode", "requests", "collisions",
	       "paws", "seq", "timed_out", "timeout%", "95% CI", "p99 ms");
	json_array_foreach(rows, i, row) {
		const char *e = json_string_value(json_object_get(row, "error"));
		if (e) {
			printf("%-14s %s\n", json_string_value(json_object_get(row, "mode")), e);
			continue;
		}
		json_t *ci = json_object_get(row, "ci95");
		char cis[48];
		snprintf(cis, sizeof cis, "%.4f..%.4f", 100 * json_real_value(json_array_get(ci, 0)),
			 100 * json_real_value(json_array_get(ci, 1)));
		printf("%-14s %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT
		       " %7" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT " %9.4f %-21s %9.1f\n",
		       json_string_value(json_object_get(row, "mode")),
		       json_integer_value(json_object_get(row, "requests")),
		       json_integer_value(json_object_get(row, "collisions")),
		       json_integer_value(json_object_get(row, "collisions_paws")),
		       json_integer_value(json_object_get(row, "collisions_seq")),
		       json_integer_value(json_object_get(row, "timed_out")),
		       100 * json_real_value(json_object_get(row, "timeout_rate")), cis,
		       json_real_value(json_object_get(row, "p99_ms")));
	}
}

static int compare(const struct sim_config *c)
{
	json_t *o = json_object(), *rows = compare_rows(&c->p);
	if (!rows) {
		json_decref(o);
		return EXIT_RUNTIME;
	}
	json_object_set_new(o, "rows", rows);
	json_object_set_new(o, "scenario", scenario_json(&c->p));
	if (c->json) {
		cli_print(o, true);
	} else {
		rows_text(rows);
		json_decref(o);
	}
	return EXIT_OK;
}

/* ---- --from-capture */

static int from_capture(struct sim_config *c)
{
	struct fromcap *fc = malloc(sizeof *fc);
	struct sim_result *r = malloc(sizeof *r);
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
	json_t *o = json_object(), *nat = json_array();
	for (unsigned i = 0; i < fc->nnat; i++)
		json_array_append_new(nat, json_pack("{s:s,s:i,s:i}", "addr", ip4_str(fc->nat_addr[i], a),
			"hosts", fc->nat_hosts[i], "connections", fc->nat_conns[i]));
	json_object_set_new(o, "capture", json_pack("{s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s}",
		"span_s", fc->span_s, "connections", (json_int_t)fc->connections,
		"collisions", (json_int_t)fc->collisions, "collisions_paws", (json_int_t)fc->coll_paws,
		"collisions_seq", (json_int_t)fc->coll_seq, "recovered", (json_int_t)fc->recovered,
		"timed_out", (json_int_t)fc->timed_out,
		"server_closed_first", (json_int_t)fc->server_closed_first,
		"client_closed_first", (json_int_t)fc->client_closed_first, "nat", nat,
		"firewall", fc->strict ? "strict" : "linux"));
	json_object_set_new(o, "observed", json_pack("{s:f,s:[f,f]}", "collision_rate",
		rate(fc->collisions, on), "ci95", olo, ohi));
	json_object_set_new(o, "simulated", json_pack("{s:f,s:[f,f],s:f,s:[f,f]}", "collision_rate",
		rate(r->collisions, r->requests), "ci95", slo, shi, "timeout_rate",
		rate(r->timed_out, r->requests), "timeout_ci95", 0.0, 0.0));
	{
		double tlo, thi;
		wilson95(r->timed_out, r->requests, &tlo, &thi);
		json_object_set_new(json_object_get(o, "simulated"), "timeout_ci95", json_pack("[f,f]", tlo, thi));
	}
	json_object_set_new(o, "reproduces", json_boolean(same));
	json_object_set_new(o, "scenario", scenario_json(&c->p));
	json_t *rows = compare_rows(&c->p);
	if (!rows) {
		json_decref(o);
		goto out;
	}
	json_object_set_new(o, "rows", rows);
	if (c->json) {
		cli_print(o, true);
	} else {
		printf("capture        %.1f s, %llu connections, %llu collisions (%llu paws, %llu seq), "
		       "%llu recovered, %llu timed out\n", fc->span_s,
		       (unsigned long long)fc->connections, (unsigned long long)fc->collisions,
		       (unsigned long long)fc->coll_paws, (unsigned long long)fc->coll_seq,
		       (unsigned long long)fc->recovered, (unsigned long long)fc->timed_out);
		for (unsigned i = 0; i < fc->nnat; i++)
			printf("nat address    %s: %u hosts, %u connections\n", ip4_str(fc->nat_addr[i], a),
			       fc->nat_hosts[i], fc->nat_conns[i]);
		printf("fleet          %u clients x %.3f req/s, overload:%u, keep-alive %.2f, "
		       "firewall %s, server kernel %s (assumed: --server-kernel), client kernel %s\n",
		       c->p.fleet.clients, c->p.fleet.rate, c->p.fleet.snat.n, c->p.fleet.keepalive,
		       fw_kind_str(c->p.fw), c->p.server_k->name, c->p.client_k->name);
		printf("observed       %.4f%% collisions (95%% CI %.4f .. %.4f)\n", 100 * rate(fc->collisions, on),
		       100 * olo, 100 * ohi);
		printf("simulated      %.4f%% collisions (95%% CI %.4f .. %.4f): %s\n\n",
		       100 * rate(r->collisions, r->requests), 100 * slo, 100 * shi,
		       same ? "the baseline reproduces the capture" :
			      "the baseline does NOT reproduce the capture (check --server-kernel, --client-kernel, --fw-time-wait)");
		rows_text(rows);
		json_decref(o);
	}
	rc = EXIT_OK;
out:
	free(fc);
	free(r);
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
	json_t *o = json_object(), *rows = json_array();
	size_t cap = 4096, len = 0;
	char *csv = malloc(cap), err[256];
	int rc = EXIT_OK;

	if (!r || !csv) {
		cli_err("sim", "out of memory");
		free(r);
		free(csv);
		json_decref(o);
		json_decref(rows);
		return EXIT_RUNTIME;
	}
	if (c->plot) {
		/* before the runs: a sweep is long to lose to a typo */
		FILE *t = fopen(c->plot, "w");
		if (!t) {
			cli_err("sim", "--plot: %s: %s", c->plot, strerror(errno));
			free(r);
			free(csv);
			json_decref(o);
			json_decref(rows);
			return EXIT_RUNTIME;
		}
		fclose(t);
	}
	len = (size_t)snprintf(csv, cap, "param,value,requests,collisions,collision_rate,"
			       "collision_lo,collision_hi,timed_out,timeout_rate,timeout_lo,timeout_hi,"
			       "delayed,delayed_rate,p99_ms\n");
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
		json_t *row = row_json(c->sweep_param, r);
		json_object_set_new(row, "value", json_real(v));
		json_array_append_new(rows, row);
	}
	if (!rc) {
		if (c->json) {
			json_object_set_new(o, "param", json_string(c->sweep_param));
			json_object_set_new(o, "rows", rows);
			rows = NULL;
			json_object_set_new(o, "scenario", scenario_json(&c->p));
			cli_print(o, true);
			o = NULL;
		} else {
			fputs(csv, stdout);
		}
		if (c->plot)
			rc = plot(c->plot, c->sweep_param, csv);
	}
	json_decref(rows);
	json_decref(o);
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
		if (!rc) {
			json_t *o = result_json(&c->p, r, wall);
			if (c->pcap)
				json_object_set_new(o, "pcap", json_pack("{s:s,s:I}", "file", c->pcap,
					"packets", (json_int_t)packets));
			print_result(o, c->json);
		}
		free(r);
	}
	free(c);
	return rc;
}
