/*
 * scenario.h - a topology and its load, read from an INI file (inih). The
 * same file describes the lab for `lab` and the fleet for `sim` ([fleet],
 * scenario/fleet.h); the report's topology is scenarios/report.ini, built
 * into the binary as the default.
 */
#ifndef TWLAB_SCENARIO_H
#define TWLAB_SCENARIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "scenario/fleet.h"

#define SCEN_MAX_CLIENTS 8

struct scenario {
	char prefix[16];             /* namespace name prefix */
	unsigned clients;            /* 1..SCEN_MAX_CLIENTS */
	uint32_t service_addr;       /* host order */
	uint16_t service_port;
	enum fw_kind fw;
	uint32_t snat_addr;
	unsigned fw_time_wait;       /* conntrack TIME_WAIT on the firewall, s */
	unsigned gw_time_wait;
	uint32_t server_addr;
	uint16_t server_port;
	unsigned connect_timeout;    /* s */
	/* [client] addresses: each client's own address, in client order;
	 * fewer than clients: the rest take the lab's default 198.18.N.2 */
	uint32_t client_addr[SCEN_MAX_CLIENTS];
	unsigned nclient_addr;
	struct fleet fleet;          /* [fleet]: the load for `lab load` and `sim` */
};

/* Parse INI text; false with "line 7: [firewall] time_wait: out of range"
 * in err. Starts from the built-in defaults (the report's lab). */
bool scenario_parse(const char *text, struct scenario *s, char *err, size_t errlen);
/* Read a file, or an installed scenario by name (scenario_lookup(), lookup.h);
 * NULL: the built-in report.ini. */
bool scenario_load(const char *path, struct scenario *s, char *err, size_t errlen);
/* A namespace name prefix: 1 to 11 of [A-Za-z0-9-]; false with why. */
bool scenario_prefix_ok(const char *p, const char **why);
/* Addresses that cannot build a working lab (overlapping links, an address
 * that is also a router's): false with the reason in err. */
bool scenario_check(const struct scenario *s, char *err, size_t errlen);
/* Every address inside 198.18.0.0/15? */
bool scenario_addr_ok(uint32_t a);
#endif
