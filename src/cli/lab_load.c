/*
 * lab_load.c - `twlab lab load`: option parsing and printing for the load
 * run (src/lab/load.c). Kept apart from lab.c so the load options (the
 * fleet options `sim` shares) live in one place. Decides nothing: every
 * figure printed was measured by the run.
 */
#include "cli/cli.h"
#include "cli/lab_opts.h"
#include "print/pr.h"
#include "util/inet.h"
#include "lab/load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
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

/* ---- one print path: each field once, with its JSON key and its text ---- */

/* The run's settings: JSON fields; text, the header line "twlab lab load:
 * <what>, firewall ...". */
static void run_print(struct pr *p, const struct lab *L, const char *server, const char *what)
{
	const struct fleet *f = &L->sc.fleet;
	char range[32];

	snprintf(range, sizeof range, "%u-%u", f->port_lo, f->port_hi);
	pr_text(p, "twlab lab load: %s, ", what);
	pr_str(p, "firewall", "firewall %s", fw_kind_str(L->sc.fw));
	pr_int(p, "fw_time_wait_s", " (conntrack TIME_WAIT %lld s), ", L->sc.fw_time_wait);
	pr_int(p, "clients", "%lld clients x ", L->sc.clients);
	pr_real(p, "rate", "%g req/s ", f->rate);
	pr_str(p, "arrivals", "%s, ", f->periodic ? "periodic" : "poisson");
	pr_real(p, "duration_s", "%g s, ", f->duration_s);
	pr_str(p, "port_range", "ports %s, ", range);
	pr_int(p, "connect_timeout_s", "connect timeout %lld s, ", L->sc.connect_timeout);
	pr_str(p, "server", "server %s\n", server);
	pr_str(p, "out", NULL, L->outdir);
	pr_real(p, "keepalive", NULL, f->keepalive);
}

/* The SNAT address all clients were given, if they all got the same one
 * (into buf), else NULL. */
static const char *one_address(const struct load_result *r, char *buf)
{
	uint32_t same = 0;

	for (unsigned i = 0; i < r->clients; i++) {
		const struct load_client *c = &r->client[i];
		if (c->naddr != 1 || (i && c->snat[0] != same))
			return NULL;
		same = c->snat[0];
	}
	return r->clients ? ip4_str(same, buf) : NULL;
}

/* How many SNAT addresses the clients were given between them. */
static unsigned addresses_used(const struct load_result *r)
{
	uint32_t seen[SCEN_MAX_CLIENTS * LOAD_MAX_ADDRS];
	unsigned n = 0;

	for (unsigned i = 0; i < r->clients; i++)
		for (unsigned k = 0; k < r->client[i].naddr; k++) {
			unsigned j = 0;
			while (j < n && seen[j] != r->client[i].snat[k])
				j++;
			if (j == n)
				seen[n++] = r->client[i].snat[k];
		}
	return n;
}

/* One line: what this row did compared with the baseline row (base NULL:
 * no comparison). */
static void verdict(const struct load_result *r, const struct load_result *base, bool is_base,
		    char *v, size_t len)
{
	double req = (double)r->requests, per1000 = 1000.0 * r->timeout_rate;
	char a[INET_ADDRSTRLEN];
	const char *same = one_address(r, a);
	bool quiet = r->timed_out == 0 && r->cap_collisions == 0;

	if (!base && quiet) {
		snprintf(v, len, "no collision, no timeout in %.0f requests", req);
	} else if (!base) {
		snprintf(v, len, "%.1f timeouts per 1000 requests (95%% CI %.1f-%.1f)%s%s", per1000,
			 1000.0 * r->ci95[0], 1000.0 * r->ci95[1], same ? ", all clients on " : "", same ? same : "");
	} else if (is_base) {
		snprintf(v, len, "baseline: %.1f timeouts per 1000 requests%s%s", per1000,
			 same ? ", all clients on " : "", same ? same : "");
	} else if (quiet) {
		snprintf(v, len, "fixed: no collision, no timeout in %.0f requests", req);
	} else {
		const char *word = r->ci95[1] < base->ci95[0] ? "lower" : r->ci95[0] > base->ci95[1] ? "higher"
			: "no change";
		char why[120] = "";
		if (!strncmp(r->mode, "overload", 8)) {
			if (same)
				snprintf(why, sizeof why, ": all %u clients hash to %s", r->clients, same);
			else
				snprintf(why, sizeof why, ": clients spread over %u addresses", addresses_used(r));
		}
		snprintf(v, len, "%s%s (%.1f vs %.1f per 1000%s)", word, why, per1000, 1000.0 * base->timeout_rate,
			 !strcmp(word, "no change") ? ", 95% CIs overlap" : ", 95% CIs apart");
	}
}

/* A row: the JSON object of one mode's run. Text: all of it (F, `lab load`
 * of one mode) or its line of the --compare table (printed first, from the
 * same struct; the fields then print as JSON only). */
static void row_print(struct pr *p, const struct load_result *r, const char *verdict_text, bool table)
{
	char a[INET_ADDRSTRLEN];
	const bool F = !table;
	unsigned kinds = 0;
#define T(fmt) (F ? (fmt) : NULL)

	if (table) {
		char ci[40];
		snprintf(ci, sizeof ci, "%.1f-%.1f", 1000.0 * r->ci95[0], 1000.0 * r->ci95[1]);
		pr_text(p, "  %-14s %9llu %10llu %9llu %8.1f  %-17s %9.1f %8s  %s\n", r->mode,
			(unsigned long long)r->requests, (unsigned long long)r->cap_collisions,
			(unsigned long long)r->timed_out, 1000.0 * r->timeout_rate, ci, r->p99_ms,
			r->counts_agree ? "yes" : "NO", verdict_text);
	}
	pr_str(p, "mode", NULL, r->mode);
	pr_int(p, "requests", T("requests %lld"), (long long)r->requests);
	pr_int(p, "ok", T("  ok %lld"), (long long)r->ok);
	pr_int(p, "delayed", T("  delayed %lld"), (long long)r->delayed);
	pr_int(p, "timed_out", T("  timed_out %lld"), (long long)r->timed_out);
	pr_int(p, "refused", T("  refused %lld"), (long long)r->refused);
	pr_int(p, "errors", T("  errors %lld"), (long long)r->errors);
	pr_int(p, "unfinished", T("  unfinished %lld\n"), (long long)r->unfinished);
	pr_open(p, "error_kinds", false);
	for (unsigned i = 0; i < 256; i++)
		if (r->errno_count[i]) {
			const char *n = i && i < 255 ? strerrorname_np((int)i) : NULL;
			char num[16];
			snprintf(num, sizeof num, "errno %u", i);
			if (F)
				pr_text(p, "%s  %s", kinds++ ? "" : "errors by kind", n ? n : num);
			pr_int(p, n ? n : num, T(" %lld"), (long long)r->errno_count[i]);
		}
	if (kinds)
		pr_text(p, "\n");
	pr_close(p);
	pr_real(p, "timeout_rate", NULL, r->timeout_rate);
	pr_open(p, "ci95", true);
	pr_real(p, NULL, NULL, r->ci95[0]);
	pr_real(p, NULL, NULL, r->ci95[1]);
	pr_close(p);
	if (F)   /* text shows rates per 1000 requests; JSON keeps fractions, as sim does */
		pr_text(p, "timeout rate   %.2f per 1000 requests (95%% CI %.2f-%.2f)\n", 1000.0 * r->timeout_rate,
			1000.0 * r->ci95[0], 1000.0 * r->ci95[1]);
	pr_open(p, "connect_ms", false);
	pr_real(p, "p50", T("connect        p50 %.2f ms"), r->p50_ms);
	pr_real(p, "p99", T("  p99 %.2f ms"), r->p99_ms);
	pr_real(p, "max", T("  max %.2f ms"), r->max_ms);
	pr_close(p);
	pr_int(p, "connections", T("  (%lld new connections)\n"), (long long)r->connections);
	pr_int(p, "collisions", T("collisions     %lld"), (long long)r->cap_collisions);
	pr_int(p, "collisions_paws", T(" (paws %lld"), (long long)r->cap_paws);
	pr_int(p, "collisions_seq", T(", seq %lld)"), (long long)r->cap_seq);
	pr_int(p, "port_reuses", T(" in %lld port reuses (analyze, server capture)\n"), (long long)r->cap_port_reuses);
	pr_open(p, "paws_rejected_syns", false);
	if (F)
		pr_text(p, "PAWS-rejected SYNs  nstat TcpExtPAWSTimewait ");
	if (r->nstat_paws >= 0)
		pr_int(p, "nstat", T("%lld"), r->nstat_paws);
	else
		pr_null(p, "nstat", T("-"));
	if (F)
		pr_text(p, ", capture ");
	if (r->cap_paws_syns != UINT64_MAX)
		pr_int(p, "capture", T("%lld"), (long long)r->cap_paws_syns);
	else
		pr_null(p, "capture", T("-"));
	pr_bool(p, "agree", NULL, r->counts_agree);
	if (F)
		pr_text(p, ": %s\n", r->counts_agree ? "agree" : "DISAGREE");
	pr_close(p);
	if (r->nstat_tw >= 0)
		pr_int(p, "server_time_waits", NULL, r->nstat_tw);
	else
		pr_null(p, "server_time_waits", NULL);
	if (F)
		pr_text(p, "\n  client  address          requests  timed_out  delayed  SNAT address (conntrack: connections)\n");
	pr_open(p, "per_client", true);
	for (unsigned i = 0; i < r->clients; i++) {
		const struct load_client *c = &r->client[i];
		pr_open(p, NULL, false);
		pr_int(p, "client", T("  c%-6lld "), i + 1);
		pr_str(p, "address", T("%-16s "), ip4_str(c->addr, a));
		pr_int(p, "requests", T("%9lld "), (long long)c->requests);
		pr_int(p, "ok", NULL, (long long)c->ok);
		pr_int(p, "timed_out", T("%10lld "), (long long)c->timed_out);
		pr_int(p, "delayed", T("%8lld  "), (long long)c->delayed);
		pr_int(p, "refused", NULL, (long long)c->refused);
		pr_int(p, "errors", NULL, (long long)c->errors);
		pr_open(p, "snat", false);
		for (unsigned k = 0; k < c->naddr; k++) {
			if (F)
				pr_text(p, "%s%s", k ? ", " : "", ip4_str(c->snat[k], a));
			pr_int(p, ip4_str(c->snat[k], a), T(" (%lld)"), (long long)c->snat_conns[k]);
		}
		pr_close(p);
		if (F)
			pr_text(p, "%s\n", c->naddr ? "" : "-");
		pr_close(p);
	}
	pr_close(p);
	pr_open(p, "nat", false);
	pr_int(p, "connections", NULL, (long long)r->ct_new);
	pr_int(p, "ports_changed", NULL, (long long)r->ct_port_changed);
	pr_int(p, "address_shared", NULL, (long long)r->addr_shared);
	pr_close(p);
	if (!strncmp(r->mode, "one-to-one", 10)) {
		pr_open(p, "pool", false);
		pr_int(p, "allocations", NULL, (long long)r->pool_allocations);
		pr_int(p, "releases", NULL, (long long)r->pool_releases);
		pr_int(p, "exhausted", NULL, (long long)r->pool_exhausted);
		pr_close(p);
	}
	pr_open(p, "generator", false);
	pr_real(p, "offered_per_s", T("\ngenerator      offered %.1f req/s"), r->offered_per_s);
	pr_real(p, "achieved_per_s", T(", achieved %.1f req/s"), r->achieved_per_s);
	pr_real(p, "cpu_s", T(", CPU %.2f s"), r->gen_cpu_s);
	pr_real(p, "requests_per_cpu_s", T(" (%.0f requests per CPU-second)\n"),
		r->gen_cpu_s > 0 ? (double)r->requests / r->gen_cpu_s : 0.0);
	pr_close(p);
	if (F) {
		pr_text(p, "NAT            %llu connections seen by conntrack, %llu with a changed port\n",
			(unsigned long long)r->ct_new, (unsigned long long)r->ct_port_changed);
		if (!strncmp(r->mode, "one-to-one", 10))
			pr_text(p, "pool           %llu allocations, %llu releases, %llu SYNs found it empty; "
				"%llu new sessions on an address another client held\n",
				(unsigned long long)r->pool_allocations, (unsigned long long)r->pool_releases,
				(unsigned long long)r->pool_exhausted, (unsigned long long)r->addr_shared);
	}
	pr_int(p, "server_answers", T("server         %lld answers"), (long long)r->server_served);
	pr_str(p, "capture", T("; capture %s"), r->pcap);
	pr_int(p, "capture_dropped", T(" (%lld packets dropped)\n"), (long long)r->pcap_dropped);
	pr_real(p, "elapsed_s", NULL, r->elapsed_s);
	pr_bool(p, "interrupted", NULL, r->interrupted);
	if (F && r->interrupted)
		pr_text(p, "INTERRUPTED after %.1f s: the figures cover what ran\n", r->elapsed_s);
	pr_str(p, "verdict", T("verdict        %s\n"), verdict_text);
#undef T
}

/* --compare, text: the SNAT addresses each client was given, a line per
 * row. */
static void snat_text(struct pr *p, const struct load_result *r)
{
	char a[INET_ADDRSTRLEN];

	pr_text(p, "\n%-14s SNAT per client (conntrack)", r->mode);
	for (unsigned i = 0; i < r->clients; i++) {
		const struct load_client *c = &r->client[i];
		pr_text(p, "%s c%u ", i ? "," : ":", i + 1);
		if (c->naddr > 3) {
			pr_text(p, "%u addresses", c->naddr);
			continue;
		}
		for (unsigned k = 0; k < c->naddr; k++)
			pr_text(p, "%s%s", k ? "/" : "", ip4_str(c->snat[k], a));
	}
	if (r->interrupted)
		pr_text(p, " (INTERRUPTED)");
}

int cmd_lab_load(int argc, char **argv)
{
	struct lopts o = { 0 };
	struct lab L;
	char err[600];
	int r;
	bool python;
	struct load_opts rows[6];
	unsigned nrows = 0, nrun = 0;
	struct load_result *res[6] = { 0 };
	char verdicts[6][300];
	struct pr p;
	int rc = EXIT_RUNTIME;
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
	for (unsigned i = 0; i < nrows && !interrupted; i++) {
		struct lab Li = L;
		char label[32];
		if (!(res[i] = calloc(1, sizeof *res[i]))) {
			cli_err("lab load", "out of memory");
			goto out;
		}
		if (rows[i].keepalive_row)
			snprintf(label, sizeof label, "keepalive");
		else
			snat_spec_str(&rows[i].snat, label, sizeof label);
		rows[i].label = label;
		if (o.compare)
			snprintf(Li.outdir, sizeof Li.outdir, "%.400s/%.31s", L.outdir, label);
		for (char *q = Li.outdir; *q; q++)
			if (*q == ':')
				*q = '-';
		if (!o.lab.json && !o.lab.dry_run)
			fprintf(stderr, "twlab: lab load: %s: building the lab in %s...\n", label, Li.outdir);
		if (lab_load(&Li, &rows[i], res[i], err, sizeof err)) {
			cli_err("lab load", "%s: %s", label, err);
			goto out;
		}
		interrupted = res[i]->interrupted;
		nrun = i + 1;
	}
	if (o.lab.dry_run) {
		rc = EXIT_OK;
		goto out;
	}
	for (unsigned i = 0; i < nrun; i++)
		verdict(res[i], o.compare ? res[0] : NULL, o.compare && i == 0, verdicts[i], sizeof verdicts[i]);
	pr_begin(&p, o.lab.json);
	if (o.compare) {
		run_print(&p, &L, python ? "python" : "epoll", "compare");
		pr_bool(&p, "interrupted", NULL, interrupted);
		pr_text(&p, "\n  %-14s %9s %10s %9s %8s  %-17s %9s %8s  %s\n", "mode", "requests", "collisions",
			"timed_out", "per_1000", "95% CI", "p99_ms", "nstat=cap", "verdict");
		pr_open(&p, "rows", true);
		for (unsigned i = 0; i < nrun; i++) {
			pr_open(&p, NULL, false);
			row_print(&p, res[i], verdicts[i], true);
			pr_close(&p);
		}
		pr_close(&p);
		for (unsigned i = 0; i < nrun; i++)
			snat_text(&p, res[i]);
		pr_text(&p, "\nout: %s\n", L.outdir);
	} else {
		run_print(&p, &L, python ? "python" : "epoll", res[0]->mode);
		row_print(&p, res[0], verdicts[0], false);
		pr_text(&p, "out            %s\n", L.outdir);
	}
	pr_end(&p);
	rc = interrupted ? EXIT_RUNTIME : EXIT_OK;
out:
	for (unsigned i = 0; i < 6; i++)
		free(res[i]);
	return rc;
}
