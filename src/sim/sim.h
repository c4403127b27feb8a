/*
 * sim.h - `twlab sim`: a discrete-event simulator of a fleet of clients
 * behind a NAT and a firewall, connecting to one server that closes first
 * (HTTP/1.0) and so holds every 4-tuple in TIME_WAIT.
 *
 * The simulator only schedules. What a kernel or a middlebox does is asked
 * of src/model/: the client's ephemeral port, ISN and timestamp clock, the
 * NAT's address and port, the server's TIME_WAIT decision (tw_process_quiet),
 * the client's answer in SYN_SENT (synsent_process_quiet), the firewall
 * (fw_reply_passes). No allocation per connection: state lives in tables
 * sized by what is alive (TIME_WAIT entries, NAT mappings, open attempts).
 */
#ifndef TWLAB_SIM_H
#define TWLAB_SIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "scenario/fleet.h"
#include "scenario/scenario.h"

struct sim_params {
	struct fleet fleet;              /* clients, rate, arrivals, keep-alive, NAT */
	const struct kprofile *client_k; /* the clients' kernel */
	const struct kprofile *server_k; /* the server's kernel */
	uint32_t client_kver, server_kver; /* exact versions (KVER) when known, else 0 */
	enum fw_kind fw;                 /* strict: drops the bare ACK; linux: passes it */
	double   fw_time_wait_s;         /* how long the NAT keeps a closed session's
					  * mapping (the firewall's conntrack TIME_WAIT) */
	double   connect_timeout_s;      /* the application gives up after this */
	double   rtt_ms;                 /* client <-> server round trip */
	double   service_ms;             /* request in -> response and FIN out */
	unsigned max_tw_buckets;         /* net.ipv4.tcp_max_tw_buckets on the server */
	uint32_t nat_addr;               /* first address of the NAT pool (host order) */
	uint32_t server_addr;            /* host order */
	uint16_t server_port;
	uint32_t service_addr;           /* what clients connect to (DNAT'ed to the server) */
	uint16_t service_port;
	const uint32_t *client_addrs;    /* inside addresses of the first clients (else
					  * the lab's plan: client-N = 198.18.N.2) */
	unsigned nclient_addrs;
	const char *nat_preset;          /* model/fleet.h preset; NULL: by --snat mode */
	uint64_t seed;
	/* Every simulated server-side packet, in time order (NULL: none). */
	void   (*packet)(void *arg, int64_t t_us, const struct segment *seg,
			 uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport);
	void    *packet_arg;
};

/* The scenario's defaults: fleet, firewall, timers, addresses; clients taken
 * from [lab] when [fleet] clients is unset; kernels resolved by the caller. */
void sim_params_from_scenario(struct sim_params *p, const struct scenario *s);

/* Limits the simulator adds to fleet_check(): pool large enough, memory
 * bounded, kernels set. False with the reason in err. */
bool sim_check(const struct sim_params *p, char *err, size_t errlen);

#define SIM_LAT_BUCKETS (48 * 32)
#define SIM_TOP_CLIENTS 5

struct sim_client_stat {
	uint32_t client;                 /* index, 0-based */
	uint32_t addr;                   /* its (inside) address */
	uint64_t requests, collisions, timed_out;
};

struct sim_result {
	uint64_t requests;               /* requests made; rates are per request */
	uint64_t kept_alive;             /* of them, on the kept-alive connection (no connect) */
	uint64_t connections;            /* connect() calls */
	uint64_t established;            /* got a SYN-ACK in time */
	uint64_t collisions;             /* first SYN of an attempt found TIME_WAIT and
					  * drew no SYN-ACK */
	uint64_t collisions_paws, collisions_seq;
	uint64_t timed_out;              /* connect timeout (or SYN retries) reached */
	uint64_t delayed;                /* a collision that connected later */
	uint64_t tw_reopened;            /* SYN accepted by a TIME_WAIT socket (TCP_TW_SYN) */
	uint64_t port_reuses;            /* first SYNs that found the 4-tuple in TIME_WAIT */
	uint64_t syn_retransmits;
	uint64_t bare_acks, bare_acks_dropped, acks_rate_limited;
	uint64_t client_rsts, tw_killed_by_rst;
	uint64_t tw_overflow;            /* tcp_max_tw_buckets reached: no TIME_WAIT made */
	uint64_t nat_port_changed;       /* the NAT could not keep the client's port */
	uint64_t nat_exhausted;          /* no NAT address/port free: connect failed */
	uint64_t client_ports_exhausted; /* the client's own range was full */
	/* connect latency, first SYN -> SYN-ACK at the client, established only */
	uint64_t lat_hist[SIM_LAT_BUCKETS];
	double   lat_p50_ms, lat_p99_ms, lat_p999_ms, lat_max_ms;
	/* server TIME_WAIT occupancy */
	double   tw_mean;                /* time-weighted mean of live entries */
	uint64_t tw_max;
	uint64_t nat_max, attempts_max;  /* peak NAT mappings, open attempts */
	size_t   peak_bytes;             /* the simulator's own tables at their peak */
	/* per-client spread */
	unsigned clients;
	unsigned clients_with_collisions;
	double   coll_rate_client_max;   /* the worst client's collisions / connections */
	double   coll_share_top10;       /* share of all collisions on the top 10% of clients */
	unsigned ntop;
	struct sim_client_stat top[SIM_TOP_CLIENTS];
	double   sim_seconds;            /* simulated time */
	uint64_t events;
};

/* The model/fleet.h NAT preset a run uses: p->nat_preset, else "linux"
 * ("linux-random-fully" for --snat random-fully). */
const char *sim_preset_for(const struct sim_params *p);

/* Run one simulation. 0, or -1 with the reason in err (out of memory). */
int sim_run(const struct sim_params *p, struct sim_result *r, char *err, size_t errlen);

#endif
