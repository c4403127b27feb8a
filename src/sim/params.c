/*
 * params.c - a simulation's parameters from a scenario, and the limits the
 * simulator adds to fleet_check(): enough NAT addresses and ports for the
 * load, enough client ports, memory bounded (sim.h).
 */
#include "sim/sim.h"
#include "model/fleet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void sim_params_from_scenario(struct sim_params *p, const struct scenario *s)
{
	memset(p, 0, sizeof *p);
	p->fleet = s->fleet;
	if (!p->fleet.clients)
		p->fleet.clients = s->clients;
	p->fw = s->fw;
	p->fw_time_wait_s = s->fw_time_wait;
	p->connect_timeout_s = s->connect_timeout;
	p->rtt_ms = 1.0;
	p->service_ms = 1.0;
	/* net.ipv4.tcp_max_tw_buckets: the kernel sizes it from the
	 * established hash (half of it, tcp_init / tcp_sk_init); 262144 on a
	 * machine with a few GiB of memory */
	p->max_tw_buckets = 262144;
	p->nat_addr = s->snat_addr;
	p->server_addr = s->server_addr;
	p->server_port = s->server_port;
	p->service_addr = s->service_addr;
	p->service_port = s->service_port;
	p->seed = 1;
	/* [client] addresses: the lab's clients' own addresses, so the NAT's
	 * hash places each client as it does in `lab load` */
	p->client_addrs = s->client_addr;
	p->nclient_addrs = s->nclient_addr;
}

/* Bytes the allocator tables take per client host. */
static size_t table_bytes(const struct sim_params *p)
{
	enum port_alg alg;
	uint32_t v = 0;
	if (!port_alg_for_release(p->fleet.client_kernel, &alg)) {
		if (!p->client_kver && !kver_parse(p->client_k->name, &v))
			v = KVER(6, 18, 0);
		alg = port_alg_for(p->client_kver ? p->client_kver : v, false);
	}
	return port_alloc_table_len(alg) * sizeof(uint32_t);
}

#define SIM_MEM_LIMIT (3ull << 30)

bool sim_check(const struct sim_params *p, char *err, size_t errlen)
{
	const struct fleet *f = &p->fleet;
	char mode[32];

	if (!fleet_check(f, err, errlen))
		return false;
	if (f->clients < 1) {
		snprintf(err, errlen, "the scenario has no clients ([fleet] clients or [lab] clients)");
		return false;
	}
	if (!p->client_k || !p->server_k) {
		snprintf(err, errlen, "client and server kernels must be set");
		return false;
	}
	if (!(p->rtt_ms > 0) || p->rtt_ms > 10000 || p->service_ms < 0 || p->service_ms > 60000) {
		snprintf(err, errlen, "--rtt: between 0 and 10000 ms (exclusive of 0)");
		return false;
	}
	if (!(p->connect_timeout_s > 0)) {
		snprintf(err, errlen, "--connect-timeout: must be greater than 0");
		return false;
	}
	if (!(p->fw_time_wait_s >= 0)) {
		snprintf(err, errlen, "--fw-time-wait: must not be negative");
		return false;
	}
	if (!nat_preset_find(sim_preset_for(p))) {
		char names[256] = "";
		size_t n = 0;
		for (const struct nat_preset *const *q = nat_preset_all(); *q && n < sizeof names; q++)
			n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", (*q)->name);
		snprintf(err, errlen, "--nat-preset: unknown '%s' (valid: %s)", sim_preset_for(p), names);
		return false;
	}
	/* memory: the per-client tables are the only part that does not follow
	 * the live state (the 2022 allocator's table_perturb is 256 KiB a host) */
	size_t per = table_bytes(p) + 256;
	if ((unsigned long long)per * f->clients > SIM_MEM_LIMIT) {
		snprintf(err, errlen, "--clients: %u client hosts need %llu MiB of port-allocator "
			 "state (%zu KiB each for this kernel); at most %llu clients",
			 f->clients, (unsigned long long)per * f->clients >> 20, per >> 10,
			 (unsigned long long)(SIM_MEM_LIMIT / per));
		return false;
	}
	/* How many connections hold a tuple at once: each lives 2 RTT + the
	 * service time, then the NAT keeps it for its hold. */
	double life = (2 * p->rtt_ms + p->service_ms) / 1000.0;
	double total = f->rate * f->clients;
	double hold = life + p->fw_time_wait_s;
	snat_spec_str(&f->snat, mode, sizeof mode);
	switch (f->snat.mode) {
	case SNAT_OVERLOAD:
	case SNAT_MASQUERADE:
	case SNAT_RANDOM_FULLY: {
		const struct nat_preset *np = nat_preset_find(sim_preset_for(p));
		double ports = (double)np->port_hi - np->port_lo + 1;
		unsigned addrs = f->snat.mode == SNAT_OVERLOAD ? f->snat.n : 1;
		if (addrs > f->clients)
			addrs = f->clients;       /* one address per client at most */
		double need = total * hold / addrs;
		if (need > 0.9 * ports) {
			snprintf(err, errlen, "--snat %s: pool smaller than needed: %.0f ports per "
				 "address, the fleet holds about %.0f at once (%.0f conn/s x %.1f s "
				 "held); add addresses or shorten --fw-time-wait",
				 mode, ports, need, total, hold);
			return false;
		}
		break;
	}
	case SNAT_ONE_TO_ONE: {
		/* a client holds an address while any of its sessions (or their
		 * holds) lasts: busy with probability 1 - exp(-rate * hold) */
		double busy = f->clients * (1 - exp(-f->rate * hold));
		if (f->clients > f->snat.n && busy > f->snat.n) {
			snprintf(err, errlen, "--snat %s: pool smaller than needed: about %.0f of %u "
				 "clients hold an address at any time", mode, busy, f->clients);
			return false;
		}
		break;
	}
	case SNAT_STATIC:
		if ((uint64_t)p->nat_addr + f->clients - 1 > 0xffffffffull) {
			snprintf(err, errlen, "--snat static: %u addresses do not fit after the "
				 "scenario's snat address", f->clients);
			return false;
		}
		break;
	}
	/* the client's own ports: each connection holds one while it lives */
	double range = (double)f->port_hi - f->port_lo + 1;
	double cneed = f->rate * life;
	if (cneed > 0.9 * range) {
		snprintf(err, errlen, "--port-range %u-%u: smaller than needed: a client holds "
			 "about %.0f ports at once", f->port_lo, f->port_hi, cneed);
		return false;
	}
	return true;
}
