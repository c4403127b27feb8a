/*
 * lab_load.c - `twlab lab load`: option parsing and printing for the load
 * run (src/lab/load.c). Kept apart from lab.c so the load options (the
 * fleet options `sim` shares) live in one place. Decides nothing: every
 * figure printed was measured by the run.
 */
#include "cli/cli.h"
#include "cli/lab_opts.h"
#include "util/inet.h"
#include "lab/load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
"usage: twlab lab load [options]\n"
"\n"
"Real load through the report's lab, one NAT mode at a time: each client\n"
"namespace runs a load generator (connect() without bind: the kernel picks the\n"
"port from --port-range; HTTP/1.0 GET read to EOF, the server closes first),\n"
"the firewall does --snat, the server is a small epoll HTTP server. Measured:\n"
"outcomes per request (ok, delayed = SYN retransmitted, timed_out, refused),\n"
"the timeout rate per 1000 requests with a 95% Wilson interval, connect latency,\n"
"which client got which SNAT address (the firewall's conntrack events), and\n"
"collisions counted twice: the server's TcpExtPAWSTimewait delta (nstat) and\n"
"analyze over the server's capture (PAWS-rejected SYNs; they must agree).\n"
"\n"
"options (the fleet options are the ones `twlab sim` takes):\n"
"  --scenario FILE     topology and [fleet] load (default: built-in report.ini)\n"
"  --snat MODE         overload:N   N addresses, picked by a hash of the client\n"
"                                   address (netfilter's find_best_ips_proto)\n"
"                      static       one fixed address per client\n"
"                      masquerade, random-fully   plain Linux NAT\n"
"                      one-to-one:N a dynamic 1:1 pool: a client with no session\n"
"                                   gets the free address released longest ago\n"
"                                   and gives it back when its last session ends\n"
"                                   (Linux has no such NAT: an allocator behind\n"
"                                   NFQUEUE picks, conntrack events release)\n"
"  --keepalive F       fraction of requests on a kept-alive HTTP/1.1 connection\n"
"                      (the client closes first)\n"
"  --clients N         client namespaces (at most 8)\n"
"  --rate R            new requests per second per client\n"
"  --duration S        seconds of load\n"
"  --port-range LO-HI  the clients' net.ipv4.ip_local_port_range (at least 2 ports\n"
"                      per client, not 20000-20999: the lab's readiness check);\n"
"                      a narrow range makes reuse happen in seconds\n"
"  --arrivals K        poisson | periodic\n"
"  --firewall K        strict | linux (see `twlab lab --help`)\n"
"  --fw-time-wait S    the firewall's conntrack TIME_WAIT (scenario default 2 s)\n"
"  --server K          epoll (default) | python (http.server, HTTP/1.0 only)\n"
"  --compare           baseline (overload:1), keepalive, overload:N, one-to-one:N,\n"
"                      static, one after another on the same scenario: the\n"
"                      report's table with a verdict per row\n"
"  --prefix P          namespace name prefix (default from the scenario)\n"
"  --out DIR           captures and logs (default ./twlab-out/load-<UTC time>)\n"
"  --json              one JSON object on stdout\n"
"  -v, --verbose       print every command run\n"
"  --dry-run           print the commands without running them\n"
"\n"
"Progress on stderr. Ctrl-C stops the load, prints what was measured, exits 1.\n"
"Needs root. Everything created is removed, also on error and Ctrl-C;\n"
"`twlab lab down --prefix P` cleans up after a killed run.\n";

struct lopts {
	struct lab_opts lab;          /* --scenario --prefix --firewall --out --json -v --dry-run */
	const char *server;
	const char *fleet_key[16], *fleet_val[16];
	unsigned nfleet;
	double fw_tw;
	bool compare;
};

static int parse(int argc, char **argv, struct lopts *o)
{
	enum { O_COMPARE = LAB_O__END, O_SERVER, O_FWTW, O_FLEET };
	static struct option lo[32];
	unsigned n = 0;
	int c, idx;

	if (!lo[0].name) {
		const struct option base[] = {
			LAB_OPTIONS,
			{ "compare", no_argument, 0, O_COMPARE }, { "server", required_argument, 0, O_SERVER },
			{ "fw-time-wait", required_argument, 0, O_FWTW },
		};
		for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
			lo[n++] = base[i];
		for (size_t i = 0; fleet_option_names[i]; i++)
			lo[n++] = (struct option){ fleet_option_names[i], required_argument, 0, O_FLEET };
		lo[n] = (struct option){ 0, 0, 0, 0 };
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", lo, &idx)) != -1) {
		if (lab_opt(c, optarg, &o->lab))
			continue;
		switch (c) {
		case 'h': fputs(usage, stdout); return -1;
		case O_COMPARE: o->compare = true; break;
		case O_SERVER:
			if (strcmp(optarg, "epoll") && strcmp(optarg, "python")) {
				cli_err("lab load", "--server: expected epoll or python: '%s'", optarg);
				return EXIT_USAGE;
			}
			o->server = optarg;
			break;
		case O_FWTW:
			if (!cli_seconds("lab load", "--fw-time-wait", optarg, 3600, &o->fw_tw))
				return EXIT_USAGE;
			if (o->fw_tw < 1 || o->fw_tw != (double)(unsigned)o->fw_tw) {
				cli_err("lab load", "--fw-time-wait: whole seconds from 1 to 3600: '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_FLEET: {
			char opt[40];
			snprintf(opt, sizeof opt, "--%s", lo[idx].name);
			if (o->nfleet == 16) {
				cli_err("lab load", "too many options");
				return EXIT_USAGE;
			}
			if (!strcmp(opt, "--client-kernel") || !strcmp(opt, "--server-kernel")) {
				cli_err("lab load", "%s: the lab runs this machine's kernel; kernel "
					"versions are for `twlab sim`", opt);
				return EXIT_USAGE;
			}
			o->fleet_key[o->nfleet] = fleet_option_key(opt);
			o->fleet_val[o->nfleet++] = optarg;
			break;
		}
		default:
			cli_err("lab load", "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("lab load", "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

/* The lab's own limits, checked for every mode before anything is built. */
static bool lab_limits(const struct lab *L, const struct snat_spec *m, double keepalive,
		       bool python, char *err, size_t errlen)
{
	const struct scenario *s = &L->sc;
	const struct fleet *f = &s->fleet;
	unsigned nc = s->clients, ports = (unsigned)f->port_hi - f->port_lo + 1;
	char a[INET_ADDRSTRLEN], spec[40];
	struct load_nat nat;
	uint32_t caddr[SCEN_MAX_CLIENTS];

	if (ports < 2 * nc) {
		snprintf(err, errlen, "--port-range: %u-%u has %u port%s for %u clients: need at least 2 per "
			 "client (%u)", f->port_lo, f->port_hi, ports, ports == 1 ? "" : "s", nc, 2 * nc);
		return false;
	}
	/* lab_up's readiness check (topo.c) fetches from 20000-20999: a load
	 * client there could meet that connection's TIME_WAIT */
	if (f->port_lo <= 20999 && f->port_hi >= 20000) {
		snprintf(err, errlen, "--port-range: %u-%u overlaps 20000-20999, which the lab's readiness "
			 "check uses", f->port_lo, f->port_hi);
		return false;
	}
	if (f->rate * nc > 50000) {
		snprintf(err, errlen, "--rate: %g per client x %u clients is more than the lab's 50000 "
			 "requests/s", f->rate, nc);
		return false;
	}
	if (python && keepalive > 0) {
		snprintf(err, errlen, "--keepalive: python's http.server speaks HTTP/1.0 only: "
			 "use --server epoll");
		return false;
	}
	for (unsigned i = 0; i < nc; i++) {
		uint32_t x = load_client_addr(s, i);
		caddr[i] = x;
		if ((x & 0xffffff00u) != (0xc6120000u | (i + 1) << 8) || (x & 0xff) < 2 || (x & 0xff) > 254) {
			snprintf(err, errlen, "[client] addresses: client %u's address %s must be in its "
				 "link's 198.18.%u.2-198.18.%u.254", i + 1, ip4_str(x, a), i + 1, i + 1);
			return false;
		}
	}
	if (!load_nat_build(s, m, caddr, nc, &nat, err, errlen)) {
		char tmp[700];
		snprintf(tmp, sizeof tmp, "--snat: %s", err);
		snprintf(err, errlen, "%.*s", (int)(errlen - 1), tmp);
		return false;
	}
	(void)spec;
	return true;
}

static int setup(const struct lopts *o, struct lab *L)
{
	char err[512];
	int r = lab_setup("lab load", "load", &o->lab, false, L);

	if (r)
		return r;
	for (unsigned i = 0; i < o->nfleet; i++)
		if (!fleet_set(&L->sc.fleet, o->fleet_key[i], o->fleet_val[i], err, sizeof err)) {
			char opt[40];
			snprintf(opt, sizeof opt, "%s", o->fleet_key[i]);
			for (char *p = opt; *p; p++)
				if (*p == '_')
					*p = '-';
			cli_err("lab load", "--%s: %s", opt, err);
			return EXIT_USAGE;
		}
	if (!fleet_check(&L->sc.fleet, err, sizeof err)) {
		cli_err("lab load", "%s", err);
		return EXIT_USAGE;
	}
	if (L->sc.fleet.clients) {
		if (L->sc.fleet.clients > SCEN_MAX_CLIENTS) {
			cli_err("lab load", "--clients: the lab builds at most %u client namespaces: '%u'",
				SCEN_MAX_CLIENTS, L->sc.fleet.clients);
			return EXIT_USAGE;
		}
		L->sc.clients = L->sc.fleet.clients;
	}
	if (o->fw_tw > 0)
		L->sc.fw_time_wait = (unsigned)o->fw_tw;
	if (!o->lab.out)
		mkdir("twlab-out", 0755);    /* the default --out's parent */
	return 0;
}

/* ---- one print path: a row as JSON; text is rendered from it ---- */

static json_t *row_json(const struct lab *L, const struct load_result *r)
{
	json_t *o = json_object(), *cl = json_array();
	char a[INET_ADDRSTRLEN];

	json_object_set_new(o, "mode", json_string(r->mode));
	json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
	json_object_set_new(o, "ok", json_integer((json_int_t)r->ok));
	json_object_set_new(o, "delayed", json_integer((json_int_t)r->delayed));
	json_object_set_new(o, "timed_out", json_integer((json_int_t)r->timed_out));
	json_object_set_new(o, "refused", json_integer((json_int_t)r->refused));
	json_object_set_new(o, "errors", json_integer((json_int_t)r->errors));
	json_object_set_new(o, "unfinished", json_integer((json_int_t)r->unfinished));
	json_object_set_new(o, "connections", json_integer((json_int_t)r->connections));
	{
		json_t *e = json_object();
		for (unsigned i = 0; i < 256; i++)
			if (r->errno_count[i]) {
				const char *n = i && i < 255 ? strerrorname_np((int)i) : NULL;
				char num[16];
				snprintf(num, sizeof num, "errno %u", i);
				json_object_set_new(e, n ? n : num, json_integer((json_int_t)r->errno_count[i]));
			}
		json_object_set_new(o, "error_kinds", e);
	}
	json_object_set_new(o, "collisions", json_integer((json_int_t)r->cap_collisions));
	json_object_set_new(o, "collisions_paws", json_integer((json_int_t)r->cap_paws));
	json_object_set_new(o, "collisions_seq", json_integer((json_int_t)r->cap_seq));
	json_object_set_new(o, "timeout_rate", json_real(r->timeout_rate));
	json_object_set_new(o, "ci95", json_pack("[f,f]", r->ci95[0], r->ci95[1]));
	json_object_set_new(o, "connect_ms", json_pack("{s:f,s:f,s:f}", "p50", r->p50_ms,
						       "p99", r->p99_ms, "max", r->max_ms));
	json_object_set_new(o, "paws_rejected_syns", json_pack("{s:o,s:o,s:b}",
		"nstat", r->nstat_paws >= 0 ? json_integer(r->nstat_paws) : json_null(),
		"capture", r->cap_paws_syns != UINT64_MAX ? json_integer((json_int_t)r->cap_paws_syns) : json_null(),
		"agree", r->counts_agree));
	json_object_set_new(o, "server_time_waits", r->nstat_tw >= 0 ? json_integer(r->nstat_tw) : json_null());
	json_object_set_new(o, "port_reuses", json_integer((json_int_t)r->cap_port_reuses));
	for (unsigned i = 0; i < r->clients; i++) {
		const struct load_client *c = &r->client[i];
		json_t *snat = json_object();
		for (unsigned k = 0; k < c->naddr; k++)
			json_object_set_new(snat, ip4_str(c->snat[k], a), json_integer((json_int_t)c->snat_conns[k]));
		json_array_append_new(cl, json_pack("{s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
			"client", i + 1, "address", ip4_str(c->addr, a),
			"requests", (json_int_t)c->requests, "ok", (json_int_t)c->ok,
			"delayed", (json_int_t)c->delayed, "timed_out", (json_int_t)c->timed_out,
			"refused", (json_int_t)c->refused, "errors", (json_int_t)c->errors, "snat", snat));
	}
	json_object_set_new(o, "per_client", cl);
	json_object_set_new(o, "nat", json_pack("{s:I,s:I,s:I}", "connections", (json_int_t)r->ct_new,
						"ports_changed", (json_int_t)r->ct_port_changed,
						"address_shared", (json_int_t)r->addr_shared));
	if (!strncmp(r->mode, "one-to-one", 10))
		json_object_set_new(o, "pool", json_pack("{s:I,s:I,s:I}",
			"allocations", (json_int_t)r->pool_allocations, "releases", (json_int_t)r->pool_releases,
			"exhausted", (json_int_t)r->pool_exhausted));
	json_object_set_new(o, "generator", json_pack("{s:f,s:f,s:f,s:f}",
		"offered_per_s", r->offered_per_s, "achieved_per_s", r->achieved_per_s,
		"cpu_s", r->gen_cpu_s,
		"requests_per_cpu_s", r->gen_cpu_s > 0 ? (double)r->requests / r->gen_cpu_s : 0.0));
	json_object_set_new(o, "server_answers", json_integer((json_int_t)r->server_served));
	json_object_set_new(o, "capture_dropped", json_integer((json_int_t)r->pcap_dropped));
	json_object_set_new(o, "elapsed_s", json_real(r->elapsed_s));
	json_object_set_new(o, "interrupted", json_boolean(r->interrupted));
	json_object_set_new(o, "capture", json_string(r->pcap));
	(void)L;
	return o;
}

static json_t *run_json(const struct lab *L, const char *server)
{
	const struct fleet *f = &L->sc.fleet;
	char range[32];
	snprintf(range, sizeof range, "%u-%u", f->port_lo, f->port_hi);
	return json_pack("{s:s,s:i,s:i,s:f,s:s,s:f,s:s,s:s,s:i,s:s,s:f}",
			 "firewall", fw_kind_str(L->sc.fw), "fw_time_wait_s", L->sc.fw_time_wait,
			 "clients", L->sc.clients, "rate", f->rate,
			 "arrivals", f->periodic ? "periodic" : "poisson", "duration_s", f->duration_s,
			 "port_range", range, "server", server,
			 "connect_timeout_s", L->sc.connect_timeout, "out", L->outdir,
			 "keepalive", f->keepalive);
}

/* The SNAT addresses all clients were given, if they all got the same one. */
static const char *one_address(json_t *row)
{
	const char *same = NULL;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(row, "per_client"), i, c) {
		json_t *snat = json_object_get(c, "snat");
		const char *k;
		json_t *v;
		if (json_object_size(snat) != 1)
			return NULL;
		json_object_foreach(snat, k, v) {
			if (same && strcmp(same, k))
				return NULL;
			same = k;
		}
	}
	return same;
}

static unsigned addresses_used(json_t *row)
{
	json_t *all = json_object(), *c;
	size_t i;
	unsigned n;
	json_array_foreach(json_object_get(row, "per_client"), i, c) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(c, "snat"), k, v)
			json_object_set_new(all, k, json_true());
	}
	n = (unsigned)json_object_size(all);
	json_decref(all);
	return n;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

/* Text shows rates per 1000 requests; the JSON keeps fractions, as sim's
 * rows do, so the two can be laid side by side. */
static double per1000(json_t *row, const char *key) { return 1000.0 * jnum(row, key); }
static double ci1000(json_t *ci, size_t i) { return 1000.0 * json_real_value(json_array_get(ci, i)); }

/* One line: what this row did compared with the baseline row. */
static void verdict(json_t *row, json_t *base, bool is_base)
{
	char v[300];
	const char *mode = json_string_value(json_object_get(row, "mode"));
	double to = jnum(row, "timed_out"), coll = jnum(row, "collisions"), req = jnum(row, "requests");
	json_t *ci = json_object_get(row, "ci95"), *bci = base ? json_object_get(base, "ci95") : NULL;
	const char *same = one_address(row);
	unsigned nclients = (unsigned)json_array_size(json_object_get(row, "per_client"));

	if (!base && to == 0 && coll == 0) {
		snprintf(v, sizeof v, "no collision, no timeout in %.0f requests", req);
	} else if (!base) {
		snprintf(v, sizeof v, "%.1f timeouts per 1000 requests (95%% CI %.1f-%.1f)%s%s",
			 per1000(row, "timeout_rate"), ci1000(ci, 0),
			 ci1000(ci, 1), same ? ", all clients on " : "", same ? same : "");
	} else if (is_base) {
		snprintf(v, sizeof v, "baseline: %.1f timeouts per 1000 requests%s%s", per1000(row, "timeout_rate"),
			 same ? ", all clients on " : "", same ? same : "");
	} else if (to == 0 && coll == 0) {
		snprintf(v, sizeof v, "fixed: no collision, no timeout in %.0f requests", req);
	} else {
		double lo = json_real_value(json_array_get(ci, 0)), hi = json_real_value(json_array_get(ci, 1));
		double blo = json_real_value(json_array_get(bci, 0)), bhi = json_real_value(json_array_get(bci, 1));
		const char *word = hi < blo ? "lower" : lo > bhi ? "higher" : "no change";
		char why[120] = "";
		if (!strncmp(mode, "overload", 8)) {
			if (same)
				snprintf(why, sizeof why, ": all %u clients hash to %s", nclients, same);
			else
				snprintf(why, sizeof why, ": clients spread over %u addresses", addresses_used(row));
		}
		snprintf(v, sizeof v, "%s%s (%.1f vs %.1f per 1000%s)", word, why, per1000(row, "timeout_rate"),
			 per1000(base, "timeout_rate"),
			 !strcmp(word, "no change") ? ", 95% CIs overlap" : ", 95% CIs apart");
	}
	json_object_set_new(row, "verdict", json_string(v));
}

static void row_text(json_t *row)
{
	json_t *c, *snat;
	size_t i;
	char a[64];

	printf("requests %.0f  ok %.0f  delayed %.0f  timed_out %.0f  refused %.0f  errors %.0f  unfinished %.0f\n",
	       jnum(row, "requests"), jnum(row, "ok"), jnum(row, "delayed"), jnum(row, "timed_out"),
	       jnum(row, "refused"), jnum(row, "errors"), jnum(row, "unfinished"));
	if (json_object_size(json_object_get(row, "error_kinds"))) {
		const char *k;
		json_t *v;
		printf("errors by kind");
		json_object_foreach(json_object_get(row, "error_kinds"), k, v)
			printf("  %s %lld", k, (long long)json_integer_value(v));
		printf("\n");
	}
	printf("timeout rate   %.2f per 1000 requests (95%% CI %.2f-%.2f)\n", per1000(row, "timeout_rate"),
	       ci1000(json_object_get(row, "ci95"), 0), ci1000(json_object_get(row, "ci95"), 1));
	c = json_object_get(row, "connect_ms");
	printf("connect        p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%.0f new connections)\n",
	       jnum(c, "p50"), jnum(c, "p99"), jnum(c, "max"), jnum(row, "connections"));
	c = json_object_get(row, "paws_rejected_syns");
	printf("collisions     %.0f (paws %.0f, seq %.0f) in %.0f port reuses (analyze, server capture)\n",
	       jnum(row, "collisions"), jnum(row, "collisions_paws"), jnum(row, "collisions_seq"),
	       jnum(row, "port_reuses"));
	printf("PAWS-rejected SYNs  nstat TcpExtPAWSTimewait %s, capture %s: %s\n",
	       json_is_null(json_object_get(c, "nstat")) ? "-" : (snprintf(a, 32, "%lld",
		       (long long)json_integer_value(json_object_get(c, "nstat"))), a),
	       json_is_null(json_object_get(c, "capture")) ? "-" : (snprintf(a + 32, 32, "%lld",
		       (long long)json_integer_value(json_object_get(c, "capture"))), a + 32),
	       json_is_true(json_object_get(c, "agree")) ? "agree" : "DISAGREE");
	printf("\n  client  address          requests  timed_out  delayed  SNAT address (conntrack: connections)\n");
	json_array_foreach(json_object_get(row, "per_client"), i, c) {
		const char *k;
		json_t *v;
		bool first = true;
		printf("  c%-6.0f %-16s %9.0f %10.0f %8.0f  ", jnum(c, "client"),
		       json_string_value(json_object_get(c, "address")), jnum(c, "requests"),
		       jnum(c, "timed_out"), jnum(c, "delayed"));
		snat = json_object_get(c, "snat");
		json_object_foreach(snat, k, v) {
			printf("%s%s (%lld)", first ? "" : ", ", k, (long long)json_integer_value(v));
			first = false;
		}
		printf("%s\n", first ? "-" : "");
	}
	c = json_object_get(row, "generator");
	printf("\ngenerator      offered %.1f req/s, achieved %.1f req/s, CPU %.2f s (%.0f requests per CPU-second)\n",
	       jnum(c, "offered_per_s"), jnum(c, "achieved_per_s"), jnum(c, "cpu_s"), jnum(c, "requests_per_cpu_s"));
	printf("NAT            %.0f connections seen by conntrack, %.0f with a changed port\n",
	       jnum(json_object_get(row, "nat"), "connections"), jnum(json_object_get(row, "nat"), "ports_changed"));
	if (json_object_get(row, "pool"))
		printf("pool           %.0f allocations, %.0f releases, %.0f SYNs found it empty; "
		       "%.0f new sessions on an address another client held\n",
		       jnum(json_object_get(row, "pool"), "allocations"), jnum(json_object_get(row, "pool"), "releases"),
		       jnum(json_object_get(row, "pool"), "exhausted"), jnum(json_object_get(row, "nat"), "address_shared"));
	printf("server         %.0f answers; capture %s (%.0f packets dropped)\n", jnum(row, "server_answers"),
	       json_string_value(json_object_get(row, "capture")), jnum(row, "capture_dropped"));
	if (json_is_true(json_object_get(row, "interrupted")))
		printf("INTERRUPTED after %.1f s: the figures cover what ran\n", jnum(row, "elapsed_s"));
}

static void header_text(json_t *run, const char *what)
{
	printf("twlab lab load: %s, firewall %s (conntrack TIME_WAIT %.0f s), %.0f clients x %g req/s %s, "
	       "%g s, ports %s, connect timeout %.0f s, server %s\n", what,
	       json_string_value(json_object_get(run, "firewall")), jnum(run, "fw_time_wait_s"),
	       jnum(run, "clients"), jnum(run, "rate"), json_string_value(json_object_get(run, "arrivals")),
	       jnum(run, "duration_s"), json_string_value(json_object_get(run, "port_range")),
	       jnum(run, "connect_timeout_s"), json_string_value(json_object_get(run, "server")));
}

static void compare_text(json_t *run, json_t *rows)
{
	size_t i;
	json_t *r;
	header_text(run, "compare");
	printf("\n  %-14s %9s %10s %9s %8s  %-17s %9s %8s  %s\n", "mode", "requests", "collisions",
	       "timed_out", "per_1000", "95% CI", "p99_ms", "nstat=cap", "verdict");
	json_array_foreach(rows, i, r) {
		char ci[40];
		snprintf(ci, sizeof ci, "%.1f-%.1f", ci1000(json_object_get(r, "ci95"), 0),
			 ci1000(json_object_get(r, "ci95"), 1));
		printf("  %-14s %9.0f %10.0f %9.0f %8.1f  %-17s %9.1f %8s  %s\n",
		       json_string_value(json_object_get(r, "mode")), jnum(r, "requests"), jnum(r, "collisions"),
		       jnum(r, "timed_out"), per1000(r, "timeout_rate"), ci,
		       jnum(json_object_get(r, "connect_ms"), "p99"),
		       json_is_true(json_object_get(json_object_get(r, "paws_rejected_syns"), "agree")) ? "yes" : "NO",
		       json_string_value(json_object_get(r, "verdict")));
	}
	json_array_foreach(rows, i, r) {
		json_t *c;
		size_t k;
		printf("\n%-14s SNAT per client (conntrack)", json_string_value(json_object_get(r, "mode")));
		json_array_foreach(json_object_get(r, "per_client"), k, c) {
			const char *a;
			json_t *v, *snat = json_object_get(c, "snat");
			bool first = true;
			printf("%s c%.0f ", k ? "," : ":", jnum(c, "client"));
			if (json_object_size(snat) > 3) {
				printf("%zu addresses", json_object_size(snat));
				continue;
			}
			json_object_foreach(snat, a, v) {
				printf("%s%s", first ? "" : "/", a);
				first = false;
			}
		}
		if (json_is_true(json_object_get(r, "interrupted")))
			printf(" (INTERRUPTED)");
	}
	printf("\nout: %s\n", json_string_value(json_object_get(run, "out")));
}

int cmd_lab_load(int argc, char **argv)
{
	struct lopts o = { 0 };
	struct lab L;
	char err[600];
	int r;
	bool python;
	struct load_opts rows[6];
	unsigned nrows = 0;
	json_t *run, *jrows;
	bool interrupted = false;

	if ((r = parse(argc, argv, &o)))
		return r < 0 ? EXIT_OK : r;
	if ((r = setup(&o, &L)))
		return r;
	python = o.server && !strcmp(o.server, "python");
	if (o.compare) {
		const struct snat_spec *m = &L.sc.fleet.snat;
		unsigned nover = m->mode == SNAT_OVERLOAD && m->n > 1 ? m->n : 2;
		unsigned none = m->mode == SNAT_ONE_TO_ONE ? m->n : 16;
		rows[nrows++] = (struct load_opts){ .snat = { SNAT_OVERLOAD, 1 } };
		rows[nrows++] = (struct load_opts){ .snat = { SNAT_OVERLOAD, 1 }, .keepalive = 1,
						    .keepalive_row = true };
		rows[nrows++] = (struct load_opts){ .snat = { SNAT_OVERLOAD, nover } };
		rows[nrows++] = (struct load_opts){ .snat = { SNAT_ONE_TO_ONE, none } };
		rows[nrows++] = (struct load_opts){ .snat = { SNAT_STATIC, 0 } };
	} else {
		rows[nrows++] = (struct load_opts){ .snat = L.sc.fleet.snat, .keepalive = L.sc.fleet.keepalive };
	}
	/* every row's limits, before anything is built */
	for (unsigned i = 0; i < nrows; i++) {
		rows[i].server = python ? LOAD_SERVER_PYTHON : LOAD_SERVER_EPOLL;
		rows[i].progress = true;
		if (!lab_limits(&L, &rows[i].snat, rows[i].keepalive, python, err, sizeof err)) {
			cli_err("lab load", "%s", err);
			return EXIT_USAGE;
		}
	}
	if (!o.lab.dry_run && !lab_preflight(err, sizeof err)) {
		cli_err("lab load", "%s", err);
		return EXIT_RUNTIME;
	}
	/* what lab load needs beyond lab_preflight(): the firewall's NAT
	 * bindings (conntrack -E, line-buffered by stdbuf), the one-to-one
	 * pool's queue rule (iptables: this kernel's nft has no queue) */
	for (unsigned i = 0; !o.lab.dry_run && i < 3; i++) {
		static const char *const tool[] = { "conntrack", "stdbuf", "iptables" };
		char cmd[64];
		bool need = i < 2;
		for (unsigned k = 0; k < nrows; k++)
			need |= rows[k].snat.mode == SNAT_ONE_TO_ONE;
		snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool[i]);
		if (need && system(cmd) != 0) {
			cli_err("lab load", "'%s' not found (run scripts/deps)", tool[i]);
			return EXIT_RUNTIME;
		}
	}
	if (!o.lab.dry_run && mkdir(L.outdir, 0755) && errno != EEXIST) {
		cli_err("lab load", "%s: cannot create", L.outdir);
		return EXIT_RUNTIME;
	}
	run = run_json(&L, python ? "python" : "epoll");
	jrows = json_array();
	for (unsigned i = 0; i < nrows && !interrupted; i++) {
		struct load_result *res = calloc(1, sizeof *res);
		struct lab Li = L;
		char label[32];
		if (!res) {
			cli_err("lab load", "out of memory");
			return EXIT_RUNTIME;
		}
		if (rows[i].keepalive_row)
			snprintf(label, sizeof label, "keepalive");
		else
			snat_spec_str(&rows[i].snat, label, sizeof label);
		rows[i].label = label;
		if (o.compare)
			snprintf(Li.outdir, sizeof Li.outdir, "%.400s/%.31s", L.outdir, label);
		for (char *p = Li.outdir; *p; p++)
			if (*p == ':')
				*p = '-';
		if (!o.lab.json && !o.lab.dry_run)
			fprintf(stderr, "twlab: lab load: %s: building the lab in %s...\n", label, Li.outdir);
		if (lab_load(&Li, &rows[i], res, err, sizeof err)) {
			cli_err("lab load", "%s: %s", label, err);
			free(res);
			json_decref(run);
			json_decref(jrows);
			return EXIT_RUNTIME;
		}
		if (!o.lab.dry_run)
			json_array_append_new(jrows, row_json(&Li, res));
		interrupted = res->interrupted;
		free(res);
	}
	if (o.lab.dry_run) {
		json_decref(run);
		json_decref(jrows);
		return EXIT_OK;
	}
	{
		json_t *base = o.compare ? json_array_get(jrows, 0) : NULL, *row;
		size_t i;
		json_array_foreach(jrows, i, row)
			verdict(row, base, o.compare && i == 0);
	}
	if (o.compare) {
		json_object_set_new(run, "interrupted", json_boolean(interrupted));
		json_object_set_new(run, "rows", jrows);
		if (o.lab.json) {
			cli_print(run, true);
		} else {
			compare_text(run, jrows);
			json_decref(run);
		}
	} else {
		json_t *row = json_array_get(jrows, 0);
		json_object_update(row, run);
		if (o.lab.json) {
			json_incref(row);
			cli_print(row, true);
		} else {
			header_text(run, json_string_value(json_object_get(row, "mode")));
			row_text(row);
			printf("verdict        %s\nout            %s\n", json_string_value(json_object_get(row, "verdict")),
			       json_string_value(json_object_get(run, "out")));
		}
		json_decref(run);
		json_decref(jrows);
	}
	return interrupted ? EXIT_RUNTIME : EXIT_OK;
}
