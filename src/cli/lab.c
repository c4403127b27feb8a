/*
 * lab.c - `twlab lab up|down|status|repro`: option parsing and printing for
 * the namespace lab (src/lab/). Decides nothing: the lab measures, the model
 * (called from src/lab/repro.c) classifies.
 */
#include "cli/cli.h"
#include "cli/lab_opts.h"
#include "print/pr.h"
#include "lab/probe.h"
#include "lab/repro.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
"usage: twlab lab up|down|status|repro|probe|load [options]\n"
"\n"
"The report's lab in network namespaces on this machine: N clients -> firewall\n"
"(DNAT of the service address, SNAT of every client to one address, short\n"
"conntrack TIME_WAIT) -> gateway (conntrack) -> server (python3 http.server,\n"
"HTTP/1.0, closes first). Addresses from 198.18.0.0/15 only, no route out.\n"
"\n"
"  up        build the lab and start the server (stays until `lab down`)\n"
"  down      remove what the lab with this prefix created (by its record in\n"
"            /run/twlab: namespaces, the processes it started, tables an\n"
"            interrupted `craft` left in them); nothing else with the prefix\n"
"  status    the lab's namespaces, whether a twlab is using it now, and\n"
"            namespaces with the prefix that are not the lab's (not_ours)\n"
"  repro     build a lab, reproduce the incident, measure, tear down:\n"
"            the client with the newer timestamp clock uses a port, the one\n"
"            with the older clock reuses it after the firewall forgot the\n"
"            session: the server (TIME_WAIT, 60 s) answers with a bare ACK.\n"
"  probe     the model against this kernel: --count N scripted sessions, each\n"
"            leaving a TIME_WAIT socket with known numbers, each hit by a\n"
"            crafted SYN (s32 boundaries, with/without timestamps); the kernel's\n"
"            answer is compared with tw_process() for the host profile\n"
"  load      real load through the lab, one NAT mode or --compare: see\n"
"            `twlab lab load --help`\n"
"\n"
"options:\n"
"  --scenario FILE|NAME  topology: a file, or the name of an installed one\n"
"                      (`twlab --version` says where; default: the built-in report)\n"
"  --prefix P          namespace name prefix, 1-11 of [A-Za-z0-9-] (default twl-)\n"
"  --firewall K        linux | strict (default from the scenario: strict)\n"
"                      linux: plain netfilter NAT; Linux conntrack lets the bare\n"
"                        ACK through, the client resets and retries (delayed)\n"
"                      strict: an nft rule drops any reply that is neither SYN-ACK\n"
"                        nor RST to a conntrack entry that has not carried a\n"
"                        SYN-ACK yet (ct mark), like the report's firewall: the\n"
"                        client times out\n"
"  --reuses N          colliding port reuses in repro (default 1, at most 31)\n"
"  --count N           probe: number of probes (default 200)\n"
"  --seed N            probe: random seed (default 1)\n"
"  --out DIR           captures and logs: a new or empty directory, at most 400\n"
"                      characters (default ./twlab-out/<command>-<UTC time>)\n"
"  --keep              repro: leave the lab up afterwards\n"
"  --json              one JSON object on stdout\n"
"  -v, --verbose       print every command run (ip, nft, sysctl, tcpdump, curl)\n"
"  --dry-run           print the commands of `up`/`repro` without running them\n"
"\n"
"Needs root. A prefix belongs to one lab at a time: a second `up`, `repro` or\n"
"`probe` with it is refused and changes nothing. Everything created is removed\n"
"on exit, on error and on Ctrl-C; `twlab lab down` cleans up after a killed run.\n"
"`up` returns once the server answers through the firewall.\n";

struct opts {
	struct lab_opts lab;          /* --scenario --prefix --firewall --out --json -v --dry-run */
	unsigned reuses;
	uint32_t count, seed;
	bool keep;
};

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_REUSES = LAB_O__END, O_KEEP, O_COUNT, O_SEED };
	static const struct option lo[] = {
		LAB_OPTIONS,
		{ "reuses", required_argument, 0, O_REUSES }, { "keep", no_argument, 0, O_KEEP },
		{ "count", required_argument, 0, O_COUNT }, { "seed", required_argument, 0, O_SEED },
		{ 0, 0, 0, 0 },
	};
	int c;
	uint32_t v;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		if (lab_opt(c, optarg, &o->lab))
			continue;
		switch (c) {
		case 'h': fputs(usage, stdout); return -1;
		case O_KEEP: o->keep = true; break;
		case O_COUNT:
			if (!cli_u32("lab", "--count", optarg, &o->count))
				return EXIT_USAGE;
			if (o->count < 1 || o->count > 30000) {
				cli_err("lab", "--count: between 1 and 30000: '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_SEED:
			if (!cli_u32("lab", "--seed", optarg, &o->seed))
				return EXIT_USAGE;
			break;
		case O_REUSES:
			if (!cli_u32("lab", "--reuses", optarg, &v))
				return EXIT_USAGE;
			if (v < 1 || v > 31) {
				cli_err("lab", "--reuses: between 1 and 31: '%s'", optarg);
				return EXIT_USAGE;
			}
			o->reuses = v;
			break;
		default:
			cli_err("lab", "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* Scenario + command-line overrides into the lab. Creates nothing: `up`,
 * `repro` and `probe` make the output directory once they own the prefix. */
static int setup(const char *cmd, const struct opts *o, struct lab *L)
{
	return lab_setup("lab", cmd, &o->lab, strcmp(cmd, "status") && strcmp(cmd, "down"), L);
}

/* One attempt: a row of the text table, an object of the JSON array. */
static void attempt_emit(struct pr *p, unsigned i, const struct attempt *a)
{
	char ans[40];

	pr_text(p, "  %-2u ", i + 1);
	pr_int(p, "client", "c%-6lld ", a->client);
	pr_int(p, "port", "%-6lld ", a->port);
	pr_real(p, "t", "%5.2f  ", a->t);
	pr_str(p, "outcome", "%-10s ", outcome_str(a->outcome));
	pr_real(p, "connect_ms", "%11.1f  ", a->connect_ms);
	pr_int(p, "http", NULL, a->http);
	pr_str(p, "server_answer", NULL, a->answer[0] ? a->answer : "none");
	if (a->collision) {
		pr_int(p, "ack", NULL, a->answer_ack);
		snprintf(ans, sizeof ans, "bare ACK ack %u", a->answer_ack);
	} else {
		snprintf(ans, sizeof ans, "%s", a->answer[0] ? a->answer : "none");
	}
	pr_text(p, "%-26s ", ans);
	pr_bool(p, "reuse", "%-5s  ", a->reuse);
	pr_bool(p, "collision", NULL, a->collision);
	pr_int(p, "syns", NULL, a->syn_sent);
	pr_int(p, "syns_bare_acked", NULL, a->syns_bare_acked);
	if (a->rst_to_syn_ms > 0)
		pr_real(p, "rst_to_syn_ms", NULL, a->rst_to_syn_ms);
	if (a->answer[0]) {
		pr_open(p, "firewall_model", false);
		pr_bool(p, "passes", NULL, a->fw_passes);
		pr_bool(p, "agrees", NULL, a->fw_agree);
		pr_close(p);
	}
	if (!a->modelled) {
		pr_text(p, "-\n");
		return;
	}
	pr_open(p, "model", false);
	pr_tw_decision(p, &a->model);
	pr_bool(p, "agrees", NULL, a->agree);
	pr_text(p, "%s\n", a->agree ? "" : "  DISAGREES");
	pr_close(p);
	pr_open(p, "tw", false);
	pr_int(p, "rcv_nxt", NULL, a->tw.rcv_nxt);
	pr_int(p, "snd_nxt", NULL, a->tw.snd_nxt);
	pr_bool(p, "timestamps", NULL, a->tw.ts_recent_stamp_set);
	pr_int(p, "ts_recent", NULL, a->tw.ts_recent);
	pr_int(p, "ts_recent_age_s", NULL, a->tw.ts_recent_age_s);
	pr_close(p);
	pr_open(p, "syn", false);
	pr_int(p, "seq", NULL, a->syn.seq);
	if (a->syn.has_ts)
		pr_int(p, "tsval", NULL, a->syn.tsval);
	else
		pr_null(p, "tsval", NULL);
	pr_close(p);
}

/* The text diagnosis of the first modelled collision (text only: the JSON
 * has its parts in the attempt). */
static void diagnosis_text(struct pr *p, const struct repro_result *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		const struct attempt *a = &r->a[i];
		if (!a->collision || !a->modelled)
			continue;
		pr_text(p, "\ndiagnosis (attempt %u): client-%u reused port %u while the server held the "
			"4-tuple in TIME_WAIT;\n", i + 1, a->client, a->port);
		for (unsigned j = 0; j < a->model.why.n; j++)
			pr_text(p, "  %s\n", a->model.why.line[j]);
		pr_text(p, "  -> %s\n", a->outcome == OUT_TIMED_OUT
			? "the firewall dropped that bare ACK: the client never heard back and timed out"
			: "the bare ACK reached the client, which reset and retried: a delay, not a failure");
		break;
	}
}

/* The whole result, text or JSON, in one pass. */
static void repro_emit(bool json, const struct lab *L, const struct repro_result *r)
{
	const struct kprofile *k = r->kernel;
	unsigned modelled = 0;
	struct pr p;

	for (unsigned i = 0; i < r->n; i++)
		modelled += r->a[i].modelled;
	pr_begin(&p, json);
	pr_str(&p, "firewall", "twlab lab repro: firewall %s, ", fw_kind_str(L->sc.fw));
	pr_str(&p, "kernel", "server kernel profile %s, ", k->name);
	pr_int(&p, "connect_timeout_s", "client connect timeout %lld s\n", L->sc.connect_timeout);
	pr_int(&p, "clock_gap_ms", "client timestamp clocks toward the service differ by %lld ms\n\n",
	       r->clock_gap_ms);
	pr_text(&p, "  #  client  port    t(s)  outcome    connect(ms)  server answered            reuse  model (cause)\n");
	pr_open(&p, "attempts", true);
	for (unsigned i = 0; i < r->n; i++) {
		pr_open(&p, NULL, false);
		attempt_emit(&p, i, &r->a[i]);
		pr_close(&p);
	}
	pr_close(&p);
	pr_int(&p, "requests", "\nrequests %lld", r->n);
	pr_int(&p, "ok", "  ok %lld", r->ok);
	pr_int(&p, "delayed", "  delayed %lld", r->delayed);
	pr_int(&p, "timed_out", "  timed_out %lld", r->timed_out);
	pr_int(&p, "collisions", "  collisions %lld", r->collisions);
	pr_int(&p, "collisions_paws", " (paws %lld", r->coll_paws);
	pr_int(&p, "collisions_seq", ", seq %lld)", r->coll_seq);
	pr_int(&p, "model_agrees", "  model agreed %lld", r->agree);
	pr_text(&p, "/%u\n", modelled);
	if (r->rst_to_syn_max_ms > 0)
		pr_real(&p, "rst_to_syn_ms", "client RST -> retransmitted SYN (client capture): %.1f ms\n",
			r->rst_to_syn_max_ms);
	else
		pr_null(&p, "rst_to_syn_ms", NULL);
	pr_text(&p, "server kernel: %s ", k->paws_tw_counter);
	if (r->kernel_paws >= 0)
		pr_int(&p, "kernel_paws", "+%lld", r->kernel_paws);
	else
		pr_null(&p, "kernel_paws", "unreadable");
	pr_int(&p, "model_paws_syns", ", SYNs the model PAWS-rejects %lld\n", r->model_paws_syns);
	pr_text(&p, "firewall (%s): ", fw_kind_str(L->sc.fw));
	pr_int(&p, "firewall_model_agrees", "fw_reply_passes() agreed with what the clients heard %lld",
	       r->fw_agree);
	pr_int(&p, "firewall_model_judged", "/%lld\n", r->fw_judged);
	diagnosis_text(&p, r);
	/* the server kernel's own names for a TIME_WAIT PAWS drop (profile) */
	pr_text(&p, "\nconfirm live: nstat -az %s", k->paws_tw_counter);
	if (k->paws_tw_drop_reason)
		pr_text(&p, ", drop reason %s", k->paws_tw_drop_reason);
	pr_text(&p, ", conntrack -S\n");
	pr_text(&p, "captures:");
	pr_open(&p, "captures", false);
	for (unsigned i = 0; i < r->ncaptures; i++) {
		pr_text(&p, " %s=", r->cap[i].name);
		pr_str(&p, r->cap[i].name, "%s", r->cap[i].path);
	}
	pr_close(&p);
	pr_text(&p, "\n");
	pr_str(&p, "out", NULL, L->outdir);
	pr_end(&p);
}

int cmd_lab(int argc, char **argv)
{
	struct opts o = { .reuses = 1, .count = 200, .seed = 1 };
	struct lab L;
	char err[600], names[2048];
	const char *sub = argc >= 2 ? argv[1] : NULL;
	int r;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	if (!strcmp(sub, "load"))               /* its own options: src/cli/lab_load.c */
		return cmd_lab_load(argc - 1, argv + 1);
	if (strcmp(sub, "up") && strcmp(sub, "down") && strcmp(sub, "status") && strcmp(sub, "repro") &&
	    strcmp(sub, "probe")) {
		cli_err("lab", "unknown subcommand '%s' (up, down, status, repro, probe)", sub);
		return EXIT_USAGE;
	}
	if ((r = parse(argc - 1, argv + 1, &o)))
		return r < 0 ? EXIT_OK : r;
	if (optind < argc - 1) {
		cli_err("lab", "unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if ((r = setup(sub, &o, &L)))
		return r;

	if (!strcmp(sub, "status")) {
		struct lab_status st;
		struct pr p;
		lab_status(L.sc.prefix, &st);
		pr_begin_list(&p, o.lab.json, stdout);
		pr_str(&p, "prefix", NULL, L.sc.prefix);
		pr_bool(&p, "up", NULL, st.up);
		pr_int(&p, "namespaces", NULL, st.namespaces);
		pr_str(&p, "names", NULL, st.names);
		pr_bool(&p, "in_use", NULL, st.in_use);
		pr_int(&p, "creator_pid", NULL, (int)st.creator);
		pr_int(&p, "processes", NULL, st.processes);
		pr_int(&p, "missing", NULL, st.missing);
		pr_str(&p, "not_ours", NULL, st.unowned);
		pr_end(&p);
		return EXIT_OK;
	}
	if (!o.lab.dry_run && !lab_preflight(err, sizeof err)) {
		cli_err("lab", "%s", err);
		return EXIT_RUNTIME;
	}
	if (!strcmp(sub, "down")) {
		unsigned n = 0;
		struct pr p;
		r = lab_down_names(&L, names, sizeof names, err, sizeof err);
		if (r) {
			cli_err("lab", "down: %s", err);
			return EXIT_RUNTIME;
		}
		for (const char *p = names; *p; p++)
			n += p == names || p[-1] == ' ';
		pr_begin_list(&p, o.lab.json, stdout);
		pr_str(&p, "prefix", NULL, L.sc.prefix);
		pr_int(&p, "removed", NULL, n);
		pr_str(&p, "names", NULL, names);
		pr_end(&p);
		return EXIT_OK;
	}
	if (!strcmp(sub, "up")) {
		struct lab_status st;
		struct pr p;
		lab_guard(&L);
		if (lab_up(&L, err, sizeof err)) {
			cli_err("lab", "up: %s", err);
			lab_down(&L);         /* only what this run created */
			return EXIT_RUNTIME;
		}
		lab_status(L.sc.prefix, &st);
		pr_begin_list(&p, o.lab.json, stdout);
		pr_str(&p, "prefix", NULL, L.sc.prefix);
		pr_str(&p, "firewall", NULL, fw_kind_str(L.sc.fw));
		pr_str(&p, "namespaces", NULL, st.names);
		pr_str(&p, "out", NULL, L.outdir);
		pr_end(&p);
		own_release(&L.own);      /* the lab stays up; its record stays */
		return EXIT_OK;
	}
	if (!strcmp(sub, "probe")) {
		struct probe_opts po = { .count = o.count, .seed = o.seed, .progress = !o.lab.json && isatty(2) };
		struct probe_result *pr = calloc(1, sizeof *pr);
		struct pr p;
		if (!pr) {
			cli_err("lab", "out of memory");
			return EXIT_RUNTIME;
		}
		if (lab_probe(&L, &po, pr, err, sizeof err)) {
			cli_err("lab", "probe: %s", err);
			free(pr);
			return EXIT_RUNTIME;
		}
		pr_begin_list(&p, o.lab.json, stdout);
		pr_str(&p, "kernel", NULL, pr->kernel->name);
		pr_int(&p, "probes", NULL, pr->probes);
		pr_int(&p, "agree", NULL, pr->agree);
		pr_int(&p, "disagree", NULL, pr->disagree);
		pr_int(&p, "failed_sessions", NULL, pr->failed);
		pr_open(&p, "disagreements", true);
		for (unsigned i = 0; i < pr->nlisted; i++)
			pr_str(&p, NULL, NULL, pr->listed[i]);
		pr_close(&p);
		pr_str(&p, "log", NULL, pr->log);
		pr_end(&p);
		r = pr->disagree || !pr->probes ? EXIT_RUNTIME : EXIT_OK;
		free(pr);
		return r;
	}
	/* repro */
	{
		struct repro_opts ro = { .reuses = o.reuses, .keep = o.keep };
		struct repro_result *res = calloc(1, sizeof *res);
		if (!res) {
			cli_err("lab", "out of memory");
			return EXIT_RUNTIME;
		}
		if (!o.lab.json && !o.lab.dry_run)
			fprintf(stderr, "twlab: lab repro: building the lab in %s (firewall %s)...\n",
				L.outdir, fw_kind_str(L.sc.fw));
		if (lab_repro(&L, &ro, res, err, sizeof err)) {
			cli_err("lab", "repro: %s", err);
			free(res);
			return EXIT_RUNTIME;
		}
		if (o.lab.dry_run) {
			free(res);
			return EXIT_OK;
		}
		repro_emit(o.lab.json, &L, res);
		free(res);
		return EXIT_OK;
	}
}
