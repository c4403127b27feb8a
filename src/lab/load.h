/*
 * load.h - `lab load`: real load through the lab, measured.
 *
 * Each client namespace runs a load generator (load_gen.c, entered with
 * lab_in_ns: plain connect() without bind, so the kernel picks the port),
 * the server namespace runs a small epoll HTTP server (load_server.c) or
 * python's http.server, the firewall does the NAT mode under test
 * (load_nat.c). Every figure is measured: outcomes by the clients, which
 * client got which SNAT address by the firewall's conntrack events,
 * collisions twice (the server's nstat counters, and analyze over the
 * server's capture).
 */
#ifndef TWLAB_LOAD_H
#define TWLAB_LOAD_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lab/lab.h"

enum load_outcome { LOAD_OK, LOAD_DELAYED, LOAD_TIMED_OUT, LOAD_REFUSED, LOAD_ERROR,
		    LOAD_UNFINISHED };
const char *load_outcome_str(enum load_outcome o);

/* One request as its client saw it. */
struct load_rec {
	double   t;             /* start, s since the run started (CLOCK_MONOTONIC) */
	float    connect_ms;    /* connect() to established; 0 on a kept-alive connection */
	float    total_ms;      /* start to the end of the answer */
	uint16_t sport;         /* the local port the kernel chose */
	uint8_t  outcome;       /* enum load_outcome */
	uint8_t  kept_alive;    /* rode an open kept-alive connection (no connect) */
	uint8_t  syn_retrans;   /* SYN retransmissions before the connection was up */
	uint8_t  err;           /* errno for LOAD_ERROR (truncated) */
};

/* What one generator shares with the parent: its records (MAP_SHARED,
 * written by the child, read by the parent for progress and at the end). */
struct load_shared {
	_Atomic uint64_t n;     /* records written */
	_Atomic uint64_t timed_out;
	_Atomic int done;       /* the generator has finished */
	double   cpu_s;         /* its user+system CPU time at the end */
	uint64_t cap;
	struct load_rec rec[];
};

struct load_gen_cfg {
	unsigned client;        /* 0-based */
	uint32_t service_addr;  /* host order */
	uint16_t service_port;
	double   rate;          /* new requests per second */
	bool     periodic;
	double   keepalive;     /* fraction of requests on the kept-alive connection */
	double   duration_s;
	double   connect_timeout_s;
	double   t0;            /* CLOCK_MONOTONIC of the run's start */
	uint64_t seed;
	int      stop_fd;       /* read end: EOF means stop now */
	struct load_shared *sh;
};
/* Runs inside the client's namespace (lab_in_ns): 0, or an error code. */
int load_gen_main(void *cfg);

struct load_server_cfg {
	uint32_t addr;
	uint16_t port;
	int      stop_fd;       /* read end: EOF means stop */
	int      ready_fd;      /* write end: one byte once listening */
	_Atomic uint64_t *served;   /* shared: answers sent */
};
/* The epoll HTTP server, inside the server's namespace (lab_in_ns). */
int load_server_main(void *cfg);

/* one-to-one:N (load_pool.c): the allocator in the firewall's namespace. */
#define LOAD_POOL_MARK 0x100u     /* packet mark of address i: 0x100 + i */
#define LOAD_POOL_QUEUE 0         /* NFQUEUE number */
struct load_pool_stats {
	_Atomic uint64_t allocations, releases, exhausted;
};
struct load_pool_cfg {
	unsigned n;                   /* pool size */
	uint16_t qnum;
	uint32_t client_addr[SCEN_MAX_CLIENTS];
	unsigned nclients;
	const char *events;           /* the conntrack -E NEW,DESTROY file */
	int stop_fd, ready_fd;
	struct load_pool_stats *st;   /* shared */
};
int load_pool_main(void *cfg);

/* NAT rules on the firewall for a mode: an nft script that replaces the
 * lab's SNAT rule (chain ip twlab post) and the pool addresses the
 * firewall must answer ARP for. client_addr[i] is client i's address. */
struct load_nat {
	char     rules[16384];
	uint32_t pool[256];     /* addresses to add on the firewall's outside link */
	unsigned npool;
	bool queue;             /* one-to-one: first SYNs go to the allocator */
};
/* False with a reason (pool larger than the free addresses, ...). */
bool load_nat_build(const struct scenario *s, const struct snat_spec *m,
		    const uint32_t *client_addr, unsigned nclients,
		    struct load_nat *out, char *err, size_t errlen);
/* Addresses the firewall's outside /24 has free for a pool starting at
 * the SNAT address (the gateway holds .254). */
unsigned load_nat_free(const struct scenario *s);

/* ---- one run ---- */

enum load_server_kind { LOAD_SERVER_EPOLL, LOAD_SERVER_PYTHON };

struct load_opts {
	struct snat_spec snat;  /* the mode */
	double keepalive;       /* overrides the scenario's fleet keepalive */
	bool keepalive_row;     /* the row is named "keepalive" */
	enum load_server_kind server;
	bool progress;          /* progress lines on stderr */
	const char *label;      /* for progress: "overload:2" */
};

#define LOAD_MAX_ADDRS 32       /* SNAT addresses listed per client */

struct load_client {
	uint32_t addr;                  /* the client's own address */
	uint64_t requests, ok, delayed, timed_out, refused, errors;
	unsigned naddr;                 /* SNAT addresses the firewall gave it */
	uint32_t snat[LOAD_MAX_ADDRS];
	uint64_t snat_conns[LOAD_MAX_ADDRS];
};

struct load_result {
	char mode[32];                  /* "overload:2", "static", "keepalive" */
	bool interrupted;
	double elapsed_s;
	unsigned clients;
	uint64_t requests, ok, delayed, timed_out, refused, errors, unfinished;
	uint64_t errno_count[256];      /* LOAD_ERROR records by errno (255: other) */
	uint64_t connections;           /* new connections (requests not kept alive) */
	double timeout_rate;            /* timed_out / requests (a fraction) */
	double ci95[2];                 /* its Wilson 95 % interval (fractions) */
	double p50_ms, p99_ms, max_ms;  /* connect latency over new connections */
	/* collisions, twice */
	long long nstat_paws;           /* server: TcpExtPAWSTimewait delta (-1: unread) */
	long long nstat_tw;             /* server: TcpExtTW delta (TIME_WAIT sockets made) */
	uint64_t cap_collisions, cap_paws, cap_seq, cap_recovered, cap_timed_out;
	uint64_t cap_paws_syns;         /* SYNs the capture shows PAWS-rejected */
	uint64_t cap_port_reuses, cap_connections;
	bool counts_agree;              /* nstat_paws == cap_paws_syns */
	uint64_t pcap_dropped;          /* tcpdump's own drop count */
	/* NAT, measured from the firewall's conntrack events */
	uint64_t ct_new, ct_port_changed;
	uint64_t pool_allocations, pool_releases, pool_exhausted;   /* one-to-one */
	uint64_t addr_shared;           /* NEW events on an address another client
					 * had a live session on (conntrack) */
	struct load_client client[SCEN_MAX_CLIENTS];
	/* generator and server */
	double offered_per_s, achieved_per_s, gen_cpu_s, server_served;
	char out[512];
	char pcap[600];
};

/* Build the lab, run the load, measure, tear down. 0, or -1 with err. On
 * Ctrl-C: stops, still measures what ran, r->interrupted. */
int lab_load(struct lab *L, const struct load_opts *o, struct load_result *r,
	     char *err, size_t errlen);

/* Client i's own address: the scenario's [client] addresses, or the
 * lab's default 198.18.(i+1).2. */
uint32_t load_client_addr(const struct scenario *s, unsigned i);

/* The q-quantile (0..1) of v[0..n) (sorted in place); 0 if n == 0. */
double load_quantile(float *v, size_t n, double q);
/* One line of `conntrack -E -o timestamp` output. */
struct load_ct_ev {
	int      type;          /* 1 NEW, 2 UPDATE, -1 DESTROY */
	double   ts;            /* the event's wall-clock time; 0 if not printed */
	long     timeout;       /* seconds the entry has left; -1 if not printed */
	uint32_t src, nat;      /* the client; the reply's destination (SNAT address) */
	uint16_t sport, nat_port;
};
/* The event's type (0: not a tcp NEW/UPDATE/DESTROY line). */
int load_ct_parse(const char *line, struct load_ct_ev *e);
/* NEW only: the client and the SNAT address and ports. */
bool load_ct_line(const char *line, uint32_t *src, uint16_t *sport, uint32_t *nat,
		  uint16_t *nat_port);

/* A client's firewall sessions (conntrack entries), by source port: alive
 * until the entry's own timeout (a NEW or UPDATE event's timeout counted
 * from its time) or its DESTROY, whichever comes first. The GC may report
 * DESTROY seconds after the entry expired; the expiry is what a firewall's
 * session table means. */
struct load_sessions {
	double   expiry[65536];
	uint16_t active[65536];     /* ports with an entry, unordered */
	uint32_t nactive;
	uint32_t nat[65536];        /* the address each session is on */
};
void load_sessions_event(struct load_sessions *s, const struct load_ct_ev *e);
/* Does the client have a session alive at t (on address nat, or any if 0)? */
bool load_sessions_alive(struct load_sessions *s, double t, uint32_t nat);
#endif
