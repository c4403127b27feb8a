/*
 * fromcap.h - `twlab sim --from-capture`: a fleet's parameters read from
 * packet captures through the analyze library (client hosts behind each NAT
 * address, connection rate, who closes first, what the firewall did with
 * the bare ACKs, the observed collision rate), for the simulator to
 * reproduce and then to try mitigations on.
 */
#ifndef TWLAB_SIM_FROMCAP_H
#define TWLAB_SIM_FROMCAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/analyze.h"
#include "sim/sim.h"

#define FROMCAP_MAX_HOSTS 4096
#define FROMCAP_MAX_NAT 64

struct fromcap {
	double   span_s;                   /* first to last segment */
	uint64_t connections, collisions, coll_paws, coll_seq, recovered, timed_out;
	uint64_t server_closed_first, client_closed_first;
	unsigned nnat;                     /* NAT addresses seen (clients' side) */
	uint32_t nat_addr[FROMCAP_MAX_NAT];
	unsigned nat_hosts[FROMCAP_MAX_NAT], nat_conns[FROMCAP_MAX_NAT];
	bool     strict;                   /* bare ACKs never answered by the client */
	/* the derived fleet: one inside address per host, chosen so that the
	 * model's overload hash sends each to the NAT address it was seen on */
	uint32_t client_addrs[FROMCAP_MAX_HOSTS];
	unsigned nclients;
};

/* Read the captures and fill fc; then set p (started from the caller's
 * scenario and options) to the fleet the captures show: clients, rate,
 * overload pool, keep-alive share (connections the client closed first),
 * firewall, duration. 0, or -1 with the reason in err. */
int sim_from_capture(const char *const *files, unsigned nfiles, const struct kprofile *server_k,
		     struct fromcap *fc, struct sim_params *p, char *err, size_t errlen);
#endif
