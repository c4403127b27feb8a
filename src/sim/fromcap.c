/*
 * fromcap.c - a fleet from captures (fromcap.h). analyze does the reading
 * and the judging (its public API only); this file turns its summary into
 * simulator parameters.
 */
#include "sim/fromcap.h"
#include "model/fleet.h"

#include <stdio.h>
#include <string.h>

static uint32_t v4(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

int sim_from_capture(const char *const *files, unsigned nfiles, const struct kprofile *server_k,
		     struct fromcap *fc, struct sim_params *p, char *err, size_t errlen)
{
	struct an_opts o = { .kernel = server_k };
	struct capture *cap;
	struct analyzer *a;
	struct tcp_seg seg;
	double first = -1, last = 0;
	int rc;

	memset(fc, 0, sizeof *fc);
	cap = capture_open(files, nfiles, err, errlen);
	if (!cap)
		return -1;
	a = an_new(&o);
	if (!a) {
		capture_close(cap);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((rc = capture_next(cap, &seg, err, errlen)) == 1) {
		if (first < 0)
			first = seg.ts;
		last = seg.ts;
		an_segment(a, &seg);
	}
	if (rc < 0) {
		an_free(a);
		capture_close(cap);
		return -1;
	}
	const struct an_result *r = an_finish(a);
	fc->span_s = first < 0 ? 0 : last - first;
	fc->connections = r->connections;
	fc->collisions = r->collisions;
	fc->coll_paws = r->coll_paws;
	fc->coll_seq = r->coll_seq;
	fc->recovered = r->recovered;
	fc->timed_out = r->timed_out;
	fc->server_closed_first = r->server_closed_first;
	fc->client_closed_first = r->client_closed_first;
	/* a client that heard the bare ACK resets and connects: recovered */
	fc->strict = r->timed_out > r->recovered;
	for (unsigned i = 0; i < r->nnat && fc->nnat < FROMCAP_MAX_NAT; i++) {
		if (r->nat[i].family != 4 || !r->nat[i].conns)
			continue;
		fc->nat_addr[fc->nnat] = v4(r->nat[i].addr);
		fc->nat_hosts[fc->nnat] = r->nat[i].hosts ? r->nat[i].hosts : 1;
		fc->nat_conns[fc->nnat] = r->nat[i].conns;
		fc->nnat++;
	}
	an_free(a);
	capture_close(cap);

	if (!fc->connections || fc->span_s <= 0 || !fc->nnat) {
		snprintf(err, errlen, "no TCP connections with timestamps to build a fleet from "
			 "(%llu connections over %.1f s)", (unsigned long long)fc->connections, fc->span_s);
		return -1;
	}
	/* one inside address per host seen, each hashing (by the model's
	 * find_best_ips_proto) to the pool index of the NAT address it used */
	unsigned n = 0;
	uint32_t cand = 0x0A000001u;
	for (unsigned i = 0; i < fc->nnat; i++)
		for (unsigned h = 0; h < fc->nat_hosts[i] && n < FROMCAP_MAX_HOSTS; h++) {
			uint32_t want = p->nat_addr + i;
			for (unsigned tries = 0; tries < 1000000; tries++, cand++)
				if (fc->nnat == 1 ||
				    nat_overload_addr(p->nat_addr, fc->nnat, cand, p->server_addr, 0, false) == want)
					break;
			fc->client_addrs[n++] = cand++;
		}
	fc->nclients = n;
	p->fleet.clients = n;
	p->client_addrs = fc->client_addrs;
	p->nclient_addrs = n;
	p->fleet.snat.mode = SNAT_OVERLOAD;
	p->fleet.snat.n = fc->nnat;
	/* every connection the captures show, spread over the hosts */
	uint64_t closed = fc->server_closed_first + fc->client_closed_first;
	p->fleet.keepalive = closed ? (double)fc->client_closed_first / (double)closed : 0;
	p->fleet.rate = (double)(fc->connections + fc->timed_out) / fc->span_s / n /
			(1 - p->fleet.keepalive > 0.01 ? 1 - p->fleet.keepalive : 0.01);
	p->fw = fc->strict ? FW_STRICT : FW_LINUX;
	return 0;
}
