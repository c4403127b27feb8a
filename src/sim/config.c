/*
 * config.c - `twlab sim` options and scenario into parameters (config.h).
 */
#include "sim/config.h"
#include "model/fleet.h"
#include "run/kernel.h"
#include "util/num.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sim_sweep_params[] = {
	"rate", "clients", "keepalive", "duration", "fw_time_wait", "connect_timeout",
	"pool", "rtt", NULL,
};

bool sim_kernel(const char *name, struct kprofile *store, const struct kprofile **k,
		uint32_t *kver, char *err, size_t errlen)
{
	char names[160];

	/* the exact version's facts (kprofile_resolve), as explain and the lab
	 * use them; "host" reads Debian's real release from uname -v */
	if (!name || !strcmp(name, "host"))
		*store = *host_kernel();
	else if (!kprofile_resolve(name, store)) {
		snprintf(err, errlen, "unknown kernel '%s' (a version >= 3.10 like 6.18.44, "
			 "host, or a preset: %s)", name ? name : "", kprofile_names(names, sizeof names));
		return false;
	}
	*k = store;
	*kver = store->kver;
	return true;
}

bool sim_sweep_set(struct sim_params *p, const char *param, double v, char *err, size_t errlen)
{
	if (!strcmp(param, "rate")) {
		p->fleet.rate = v;
	} else if (!strcmp(param, "clients")) {
		if (v < 1 || v > FLEET_MAX_CLIENTS || v != floor(v))
			goto bad;
		p->fleet.clients = (unsigned)v;
	} else if (!strcmp(param, "keepalive")) {
		p->fleet.keepalive = v;
	} else if (!strcmp(param, "duration")) {
		p->fleet.duration_s = v;
	} else if (!strcmp(param, "fw_time_wait")) {
		p->fw_time_wait_s = v;
	} else if (!strcmp(param, "connect_timeout")) {
		p->connect_timeout_s = v;
	} else if (!strcmp(param, "pool")) {
		if (v < 1 || v > 65536 || v != floor(v) ||
		    (p->fleet.snat.mode != SNAT_OVERLOAD && p->fleet.snat.mode != SNAT_ONE_TO_ONE)) {
			snprintf(err, errlen, "pool: a whole number of addresses from 1 to 65536, with "
				 "--snat overload:N or one-to-one:N");
			return false;
		}
		p->fleet.snat.n = (unsigned)v;
	} else if (!strcmp(param, "rtt")) {
		p->rtt_ms = v;
	} else {
		snprintf(err, errlen, "unknown parameter '%s' (valid: rate, clients, keepalive, "
			 "duration, fw_time_wait, connect_timeout, pool, rtt)", param);
		return false;
	}
	return true;
bad:
	snprintf(err, errlen, "%s: %g is out of range", param, v);
	return false;
}

/* "rate=1:10:0.5" */
static bool parse_sweep(const char *s, struct sim_config *c, char *err, size_t errlen)
{
	const char *eq = strchr(s, '=');
	char buf[3][32];
	double v[3];
	const char *why;

	if (!eq || eq == s || (size_t)(eq - s) >= sizeof c->sweep_param) {
		snprintf(err, errlen, "--sweep: expected PARAM=FROM:TO:STEP: '%s'", s);
		return false;
	}
	memcpy(c->sweep_param, s, (size_t)(eq - s));
	c->sweep_param[eq - s] = 0;
	const char *q = eq + 1;
	for (int i = 0; i < 3; i++) {
		const char *e = i < 2 ? strchr(q, ':') : q + strlen(q);
		if (!e || (size_t)(e - q) >= sizeof buf[i] || e == q) {
			snprintf(err, errlen, "--sweep: expected PARAM=FROM:TO:STEP: '%s'", s);
			return false;
		}
		memcpy(buf[i], q, (size_t)(e - q));
		buf[i][e - q] = 0;
		if (!parse_seconds(buf[i], 1e9, &v[i], &why)) {
			snprintf(err, errlen, "--sweep: %s: '%s'", why, buf[i]);
			return false;
		}
		q = e + 1;
	}
	if (v[2] <= 0 || v[1] < v[0]) {
		snprintf(err, errlen, "--sweep: need FROM <= TO and STEP > 0: '%s'", s);
		return false;
	}
	if ((v[1] - v[0]) / v[2] + 1 > SIM_SWEEP_MAX_POINTS) {
		snprintf(err, errlen, "--sweep: more than %d points: '%s'", SIM_SWEEP_MAX_POINTS, s);
		return false;
	}
	struct sim_params probe = c->p;
	if (!sim_sweep_set(&probe, c->sweep_param, v[0], err, errlen))
		return false;
	c->sweep = true;
	c->sweep_from = v[0];
	c->sweep_to = v[1];
	c->sweep_step = v[2];
	return true;
}

enum {
	O_SCEN = 256, O_FW, O_FWTW, O_CT, O_SEED, O_RTT, O_SVC, O_TWB, O_PRESET, O_COMPARE,
	O_SWEEP, O_PLOT, O_PCAP, O_JSON, O_FROM, O_FLEET,
};

int sim_config_parse(int argc, char **argv, struct sim_config *c, char *err, size_t errlen)
{
	static const struct option lo[] = {
		{ "scenario", required_argument, 0, O_SCEN }, { "firewall", required_argument, 0, O_FW },
		{ "fw-time-wait", required_argument, 0, O_FWTW },
		{ "connect-timeout", required_argument, 0, O_CT }, { "seed", required_argument, 0, O_SEED },
		{ "rtt", required_argument, 0, O_RTT }, { "service-time", required_argument, 0, O_SVC },
		{ "max-tw-buckets", required_argument, 0, O_TWB },
		{ "nat-preset", required_argument, 0, O_PRESET }, { "compare", no_argument, 0, O_COMPARE },
		{ "sweep", required_argument, 0, O_SWEEP }, { "plot", required_argument, 0, O_PLOT },
		{ "pcap", required_argument, 0, O_PCAP }, { "json", no_argument, 0, O_JSON },
		{ "from-capture", no_argument, 0, O_FROM }, { "help", no_argument, 0, 'h' },
		{ "snat", required_argument, 0, O_FLEET }, { "keepalive", required_argument, 0, O_FLEET },
		{ "clients", required_argument, 0, O_FLEET }, { "rate", required_argument, 0, O_FLEET },
		{ "duration", required_argument, 0, O_FLEET },
		{ "port-range", required_argument, 0, O_FLEET },
		{ "arrivals", required_argument, 0, O_FLEET },
		{ "client-kernel", required_argument, 0, O_FLEET },
		{ "server-kernel", required_argument, 0, O_FLEET },
		{ 0, 0, 0, 0 },
	};
	/* options are applied after the scenario: remember them in order */
	struct { int code; const char *name, *val; } later[64];
	unsigned nlater = 0;
	const char *scen = NULL, *sweep = NULL;
	bool from = false;
	int opt, idx;
	char e2[256];

	memset(c, 0, sizeof *c);
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		switch (opt) {
		case 'h':
			c->help = true;
			return 1;
		case O_SCEN:
			scen = optarg;
			break;
		case O_FROM:
			from = true;
			break;
		case O_COMPARE:
			c->compare = true;
			break;
		case O_JSON:
			c->json = true;
			break;
		case O_PLOT:
			c->plot = optarg;
			break;
		case O_PCAP:
			c->pcap = optarg;
			break;
		case O_SWEEP:
			sweep = optarg;
			break;
		case '?':
		case ':':
			snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)",
				 optind > 0 && optind <= argc ? argv[optind - 1] : "?");
			return 2;
		default:
			if (nlater == sizeof later / sizeof later[0]) {
				snprintf(err, errlen, "too many options");
				return 2;
			}
			later[nlater].code = opt;
			later[nlater].name = lo[idx].name;
			later[nlater].val = optarg;
			nlater++;
			break;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!from) {
			snprintf(err, errlen, "unexpected argument '%s' (captures go after --from-capture)",
				 argv[i]);
			return 2;
		}
		if (c->ncaptures == SIM_MAX_CAPTURES) {
			snprintf(err, errlen, "--from-capture: at most %d files", SIM_MAX_CAPTURES);
			return 2;
		}
		c->captures[c->ncaptures++] = argv[i];
	}
	if (from && !c->ncaptures) {
		snprintf(err, errlen, "--from-capture: no capture files given");
		return 2;
	}
	if (!scenario_load(scen, &c->sc, e2, sizeof e2)) {
		snprintf(err, errlen, "%s: %s", scen ? scen : "built-in scenario", e2);
		return 2;
	}
	sim_params_from_scenario(&c->p, &c->sc);
	for (unsigned i = 0; i < nlater; i++) {
		const char *v = later[i].val;
		char key[32];
		const char *why;
		uint64_t u;
		double d;

		switch (later[i].code) {
		case O_FLEET:
			snprintf(key, sizeof key, "--%s", later[i].name);
			if (!fleet_set(&c->p.fleet, fleet_option_key(key), v, e2, sizeof e2)) {
				snprintf(err, errlen, "%s: %s", key, e2);
				return 2;
			}
			break;
		case O_FW:
			if (!fw_kind_parse(v, &c->p.fw)) {
				snprintf(err, errlen, "--firewall: expected strict or linux: '%s'", v);
				return 2;
			}
			break;
		case O_FWTW:
			if (!parse_seconds(v, 86400, &c->p.fw_time_wait_s, &why)) {
				snprintf(err, errlen, "--fw-time-wait: %s: '%s'", why, v);
				return 2;
			}
			c->fw_time_wait_given = true;
			break;
		case O_CT:
			if (!parse_seconds(v, 3600, &d, &why) || d <= 0) {
				snprintf(err, errlen, "--connect-timeout: %s: '%s'",
					 d <= 0 ? "must be greater than 0" : why, v);
				return 2;
			}
			c->p.connect_timeout_s = d;
			break;
		case O_SEED:
			if (!parse_u64_max(v, UINT64_MAX, &u, &why)) {
				snprintf(err, errlen, "--seed: %s: '%s'", why, v);
				return 2;
			}
			c->p.seed = u;
			break;
		case O_RTT:
			if (!parse_seconds(v, 10000, &d, &why) || d <= 0) {
				snprintf(err, errlen, "--rtt: milliseconds, greater than 0: '%s'", v);
				return 2;
			}
			c->p.rtt_ms = d;
			break;
		case O_SVC:
			if (!parse_seconds(v, 60000, &d, &why)) {
				snprintf(err, errlen, "--service-time: %s: '%s'", why, v);
				return 2;
			}
			c->p.service_ms = d;
			break;
		case O_TWB:
			if (!parse_u64_max(v, 1u << 30, &u, &why)) {
				snprintf(err, errlen, "--max-tw-buckets: %s: '%s'", why, v);
				return 2;
			}
			c->p.max_tw_buckets = (unsigned)u;
			break;
		case O_PRESET: {
			const struct nat_preset *np = nat_preset_find(v);
			c->p.nat_preset = v;
			if (!np) {
				char names[256] = "";
				size_t n = 0;
				for (const struct nat_preset *const *q = nat_preset_all();
				     *q && n < sizeof names; q++)
					n += (size_t)snprintf(names + n, sizeof names - n, "%s%s",
							      n ? ", " : "", (*q)->name);
				snprintf(err, errlen, "--nat-preset: unknown '%s' (valid: %s)", v, names);
				return 2;
			}
			break;
		}
		}
	}
	/* a vendor preset brings its own hold unless --fw-time-wait was given */
	if (c->p.nat_preset && !c->fw_time_wait_given) {
		const struct nat_preset *np = nat_preset_find(c->p.nat_preset);
		c->p.fw_time_wait_s = np->hold_after_fin_ms / 1000.0;
	}
	if (!sim_kernel(c->p.fleet.client_kernel, &c->client_prof, &c->p.client_k, &c->p.client_kver, e2, sizeof e2)) {
		snprintf(err, errlen, "--client-kernel: %s", e2);
		return 2;
	}
	if (!sim_kernel(c->p.fleet.server_kernel, &c->server_prof, &c->p.server_k, &c->p.server_kver, e2, sizeof e2)) {
		snprintf(err, errlen, "--server-kernel: %s", e2);
		return 2;
	}
	if (sweep && !parse_sweep(sweep, c, err, errlen))
		return 2;
	if (c->plot && !c->sweep) {
		snprintf(err, errlen, "--plot: needs --sweep");
		return 2;
	}
	if (c->pcap && (c->compare || c->sweep)) {
		snprintf(err, errlen, "--pcap: one run only (not with --compare or --sweep)");
		return 2;
	}
	if (c->compare && c->sweep) {
		snprintf(err, errlen, "--compare and --sweep: one at a time");
		return 2;
	}
	if (!sim_check(&c->p, e2, sizeof e2)) {
		snprintf(err, errlen, "%s", e2);
		return 2;
	}
	return 0;
}
