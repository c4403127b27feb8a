/*
 * fleet.h - the load a scenario puts on the path: how many clients, how
 * often they connect, which NAT mode, which port range. `twlab lab load`
 * (real kernels in namespaces) and `twlab sim` (discrete-event model) read
 * the same struct, from the same [fleet] section and the same options, so
 * one command line can be given to both and their tables laid side by side.
 */
#ifndef TWLAB_FLEET_H
#define TWLAB_FLEET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the firewall picks the outside address (and port) of a connection. */
enum snat_mode {
	SNAT_OVERLOAD,      /* "overload:N": N addresses, address by hash of the
			     * client address, port kept when free */
	SNAT_ONE_TO_ONE,    /* "one-to-one:N": dynamic 1:1 pool of N addresses, an
			     * address is held while its client has a session */
	SNAT_STATIC,        /* "static": one fixed address per client */
	SNAT_MASQUERADE,    /* "masquerade": Linux, port kept if free, else random */
	SNAT_RANDOM_FULLY,  /* "random-fully": Linux, random port always */
};

struct snat_spec {
	enum snat_mode mode;
	unsigned n;         /* pool size for overload / one-to-one; else 0 */
};

/* "overload:2", "one-to-one:16", "static", "masquerade", "random-fully".
 * "overload" alone means overload:1. False with a reason in err. */
bool snat_spec_parse(const char *s, struct snat_spec *out, char *err, size_t errlen);
/* The canonical spelling (the one --snat takes), into buf. */
const char *snat_spec_str(const struct snat_spec *s, char *buf, size_t len);

#define FLEET_MAX_CLIENTS 1000000u

struct fleet {
	unsigned clients;          /* client hosts behind the NAT; 0: the lab's [lab] clients */
	double   rate;             /* new connections per second per client */
	bool     periodic;         /* fixed intervals instead of Poisson arrivals */
	double   keepalive;        /* fraction of requests that ride a kept-alive
				    * connection (client closes first), 0 .. 1 */
	double   duration_s;       /* length of the run */
	uint16_t port_lo, port_hi; /* clients' net.ipv4.ip_local_port_range */
	struct snat_spec snat;
	char     client_kernel[32];/* version or preset the clients run ("6.18.44") */
	char     server_kernel[32];/* version or preset the server runs */
};

/* The defaults: one client per lab client, 2 conn/s each, Poisson, no
 * keep-alive, 30 s, Linux's default range 32768-60999, overload:1, host
 * kernels. */
void fleet_defaults(struct fleet *f);

/* One [fleet] key = value (scenario files): true if valid; false with
 * "unknown setting" or a reason in err. */
bool fleet_set(struct fleet *f, const char *key, const char *val, char *err, size_t errlen);

/* The command-line options both `lab load` and `sim` take, as a table for
 * getopt_long users: --snat --keepalive --clients --rate --duration
 * --port-range --arrivals --client-kernel --server-kernel. Each maps to the
 * [fleet] key of the same name (dashes for underscores). */
extern const char *const fleet_option_names[];
/* "--rate" -> the key "rate"; NULL if opt is not a fleet option. */
const char *fleet_option_key(const char *opt);

/* Checks that hold for every consumer: clients >= 1 (when set), rate > 0,
 * duration > 0, port range not inverted and at least as large as the
 * number of connections a client can have open at once (2 ports), keep-alive
 * in [0, 1], pool size >= 1. Consumers add their own limits (the lab's
 * address plan, the simulator's memory). */
bool fleet_check(const struct fleet *f, char *err, size_t errlen);
#endif
