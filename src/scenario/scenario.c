/*
 * scenario.c - scenario files: inih does the INI syntax, this file checks
 * every value strictly (numbers via util/num, addresses inside the
 * benchmarking range 198.18.0.0/15 only, names short enough for netns).
 */
#include "scenario/scenario.h"
#include "util/inet.h"
#include "util/num.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/lookup.h"
#include "report_ini.h"   /* generated from scenarios/report.ini */

struct ctx {
	struct scenario *s;
	char *err;
	size_t errlen;
	int line;
};

bool scenario_addr_ok(uint32_t a)
{
	return (a & 0xfffe0000u) == 0xc6120000u;   /* 198.18.0.0/15 */
}

bool scenario_prefix_ok(const char *v, const char **why)
{
	size_t n = strlen(v);
	bool ok = n >= 1 && n < 12;
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)v[i]) || v[i] == '-';
	if (!ok)
		*why = "1 to 11 letters, digits or '-'";
	return ok;
}

/*
 * The links the lab builds (src/lab/topo.c), each a /24:
 *   client i (1..clients): 198.18.i.0/24, client .2, firewall .1
 *   firewall - gateway:    snat/24, firewall = snat, gateway = .254
 *   gateway - server:      server/24, server = server, gateway = .254
 * The service address is DNATed on the firewall and must not be any of
 * those hosts, nor on a client's link (the client would ARP for it).
 */
bool scenario_check(const struct scenario *s, char *err, size_t errlen)
{
	uint32_t snet = s->snat_addr & 0xffffff00u, vnet = s->server_addr & 0xffffff00u;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (s->snat_addr == s->server_addr || s->service_addr == s->server_addr ||
	    s->service_addr == s->snat_addr) {
		snprintf(err, errlen, "the service, SNAT and server addresses must differ");
		return false;
	}
	if (snet == vnet) {
		snprintf(err, errlen, "[firewall] snat %s and [server] address %s share a /24: they are "
			 "two links of the lab", ip4_str(s->snat_addr, a), ip4_str(s->server_addr, b));
		return false;
	}
	struct { const char *what; uint32_t addr; } host[] = {
		{ "[firewall] snat", s->snat_addr }, { "[server] address", s->server_addr } };
	for (size_t i = 0; i < 2; i++) {
		uint8_t h = (uint8_t)host[i].addr;
		if (h == 0 || h == 255 || h == 254) {
			snprintf(err, errlen, "%s %s: .0, .255 and .254 are taken (network, broadcast, the "
				 "gateway's address on that link)", host[i].what, ip4_str(host[i].addr, a));
			return false;
		}
	}
	for (unsigned i = 1; i <= s->clients; i++) {
		uint32_t cnet = 0xc6120000u | i << 8;
		const char *clash = snet == cnet ? "[firewall] snat" : vnet == cnet ? "[server] address"
				    : (s->service_addr & 0xffffff00u) == cnet ? "[service] address" : NULL;
		if (clash) {
			snprintf(err, errlen, "%s is on client-%u's link %s/24 (clients use 198.18.1.0/24 to "
				 "198.18.%u.0/24)", clash, i, ip4_str(cnet, a), s->clients);
			return false;
		}
	}
	if (s->service_addr == (snet | 254) || s->service_addr == (vnet | 254)) {
		snprintf(err, errlen, "[service] address %s is the gateway's own address",
			 ip4_str(s->service_addr, a));
		return false;
	}
	return true;
}

static bool addr(const char *v, uint32_t *out, const char **why)
{
	struct in_addr in;
	if (inet_pton(AF_INET, v, &in) != 1) {
		*why = "not an IPv4 address";
		return false;
	}
	*out = ntohl(in.s_addr);
	if (!scenario_addr_ok(*out)) {
		*why = "outside 198.18.0.0/15 (the lab uses the benchmarking range only)";
		return false;
	}
	return true;
}

static bool num(const char *v, uint64_t lo, uint64_t hi, unsigned *out, const char **why)
{
	uint64_t x;
	if (!parse_u64_max(v, hi, &x, why))
		return false;
	if (x < lo) {
		*why = "out of range";
		return false;
	}
	*out = (unsigned)x;
	return true;
}

static int on_value(void *user, const char *sec, const char *key, const char *v)
{
	struct ctx *c = user;
	struct scenario *s = c->s;
	const char *why = NULL;
	unsigned u = 0;
	bool ok = true;

#define IS(a, b) (!strcmp(sec, a) && !strcmp(key, b))
	if (IS("lab", "prefix")) {
		if ((ok = scenario_prefix_ok(v, &why)))
			memcpy(s->prefix, v, strlen(v) + 1);
	} else if (IS("lab", "clients")) {
		ok = num(v, 1, SCEN_MAX_CLIENTS, &s->clients, &why);
	} else if (IS("service", "address")) {
		ok = addr(v, &s->service_addr, &why);
	} else if (IS("service", "port")) {
		ok = num(v, 1, 65535, &u, &why);
		s->service_port = (uint16_t)u;
	} else if (IS("firewall", "profile")) {
		ok = fw_kind_parse(v, &s->fw);
		why = "expected linux or strict";
	} else if (IS("firewall", "snat")) {
		ok = addr(v, &s->snat_addr, &why);
	} else if (IS("firewall", "time_wait")) {
		ok = num(v, 1, 3600, &s->fw_time_wait, &why);
	} else if (IS("gateway", "time_wait")) {
		ok = num(v, 1, 3600, &s->gw_time_wait, &why);
	} else if (IS("server", "address")) {
		ok = addr(v, &s->server_addr, &why);
	} else if (IS("server", "port")) {
		ok = num(v, 1, 65535, &u, &why);
		s->server_port = (uint16_t)u;
	} else if (IS("client", "addresses")) {
		/* a comma-separated list, at most SCEN_MAX_CLIENTS */
		char tmp[512], *save, *tok;
		snprintf(tmp, sizeof tmp, "%s", v);
		s->nclient_addr = 0;
		for (tok = strtok_r(tmp, ", \t", &save); ok && tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (s->nclient_addr == SCEN_MAX_CLIENTS) {
				ok = false;
				why = "more addresses than clients a scenario can have";
			} else {
				ok = addr(tok, &s->client_addr[s->nclient_addr++], &why);
			}
		}
		if (ok && !s->nclient_addr) {
			ok = false;
			why = "expected a comma-separated list of addresses";
		}
	} else if (IS("client", "connect_timeout")) {
		ok = num(v, 1, 600, &s->connect_timeout, &why);
	} else if (!strcmp(sec, "fleet")) {
		char e[200];
		if (!fleet_set(&s->fleet, key, v, e, sizeof e)) {
			snprintf(c->err, c->errlen, "[%s] %s: %s", sec, key, e);
			c->line = 1;
			return 0;
		}
	} else {
		snprintf(c->err, c->errlen, "[%s] %s: unknown setting", sec, key);
		c->line = 1;
		return 0;
	}
#undef IS
	if (!ok) {
		snprintf(c->err, c->errlen, "[%s] %s: %s: '%s'", sec, key, why, v);
		c->line = 1;
		return 0;
	}
	return 1;
}

bool scenario_parse(const char *text, struct scenario *s, char *err, size_t errlen)
{
	struct ctx c = { .s = s, .err = err, .errlen = errlen };
	int r;

	memset(s, 0, sizeof(*s));
	fleet_defaults(&s->fleet);
	if (text != report_ini && !scenario_parse(report_ini, s, err, errlen))
		return false;
	r = ini_parse_string(text, on_value, &c);
	if (r != 0) {
		/* inih returns the line of the first error (ours or its own) */
		char tmp[200];
		snprintf(tmp, sizeof tmp, "%s", c.line ? err : "not valid INI syntax");
		snprintf(err, errlen, "line %d: %s", r, tmp);
		return false;
	}
	return scenario_check(s, err, errlen);
}

bool scenario_load(const char *path, struct scenario *s, char *err, size_t errlen)
{
	FILE *f;
	char *buf, found[4096];
	long n;
	bool ok;

	if (!path)
		return scenario_parse(report_ini, s, err, errlen);
	/* a name of an installed scenario ("report") as well as a path */
	if (!(path = scenario_lookup(path, found, sizeof found, err, errlen)))
		return false;
	if (!(f = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > 1 << 20 || fseek(f, 0, SEEK_SET)) {
		snprintf(err, errlen, "%s: not a readable file of at most 1 MiB", path);
		fclose(f);
		return false;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		fclose(f);
		return false;
	}
	buf[n] = 0;
	fclose(f);
	if (memchr(buf, 0, (size_t)n)) {
		snprintf(err, errlen, "%s: binary file", path);
		free(buf);
		return false;
	}
	ok = scenario_parse(buf, s, err, errlen);
	if (!ok) {
		/* prefix the file name */
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
	}
	free(buf);
	return ok;
}
