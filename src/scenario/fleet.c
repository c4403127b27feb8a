/*
 * fleet.c - the [fleet] section and the load options `lab load` and `sim`
 * share (see fleet.h). Every value is checked strictly, with the reason.
 */
#include "scenario/fleet.h"
#include "util/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; enum snat_mode mode; bool pool; } modes[] = {
	{ "overload", SNAT_OVERLOAD, true },
	{ "one-to-one", SNAT_ONE_TO_ONE, true },
	{ "static", SNAT_STATIC, false },
	{ "masquerade", SNAT_MASQUERADE, false },
	{ "random-fully", SNAT_RANDOM_FULLY, false },
};
#define NMODES (sizeof modes / sizeof modes[0])

bool snat_spec_parse(const char *s, struct snat_spec *out, char *err, size_t errlen)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	size_t len = colon ? (size_t)(colon - s) : (s ? strlen(s) : 0);

	for (size_t i = 0; s && i < NMODES; i++) {
		uint64_t n = 1;
		const char *why;

		if (strlen(modes[i].name) != len || strncmp(s, modes[i].name, len))
			continue;
		if (colon && !modes[i].pool) {
			snprintf(err, errlen, "'%s' takes no pool size", modes[i].name);
			return false;
		}
		if (colon && !parse_u64_max(colon + 1, 65536, &n, &why)) {
			snprintf(err, errlen, "pool size: %s", why);
			return false;
		}
		if (n == 0) {
			snprintf(err, errlen, "pool size must be at least 1");
			return false;
		}
		out->mode = modes[i].mode;
		out->n = modes[i].pool ? (unsigned)n : 0;
		return true;
	}
	snprintf(err, errlen, "unknown mode (valid: overload:N, one-to-one:N, static, "
			      "masquerade, random-fully)");
	return false;
}

const char *snat_spec_str(const struct snat_spec *s, char *buf, size_t len)
{
	for (size_t i = 0; i < NMODES; i++)
		if (modes[i].mode == s->mode) {
			if (modes[i].pool)
				snprintf(buf, len, "%s:%u", modes[i].name, s->n);
			else
				snprintf(buf, len, "%s", modes[i].name);
			return buf;
		}
	snprintf(buf, len, "?");
	return buf;
}

void fleet_defaults(struct fleet *f)
{
	memset(f, 0, sizeof *f);
	f->rate = 2;
	f->duration_s = 30;
	f->port_lo = 32768;
	f->port_hi = 60999;
	f->snat.mode = SNAT_OVERLOAD;
	f->snat.n = 1;
	snprintf(f->client_kernel, sizeof f->client_kernel, "host");
	snprintf(f->server_kernel, sizeof f->server_kernel, "host");
}

/* A positive real ("0.5", "300"), at most max. */
static bool positive(const char *v, double max, double *out, const char **why)
{
	if (!parse_seconds(v, max, out, why))
		return false;
	if (*out <= 0) {
		*why = "must be greater than 0";
		return false;
	}
	return true;
}

static bool port_range(const char *v, uint16_t *lo, uint16_t *hi, const char **why)
{
	const char *dash = strchr(v, '-');
	char a[16];
	uint64_t x, y;

	if (!dash || (size_t)(dash - v) >= sizeof a) {
		*why = "expected LO-HI";
		return false;
	}
	memcpy(a, v, (size_t)(dash - v));
	a[dash - v] = 0;
	if (!parse_u64_max(a, 65535, &x, why) || !parse_u64_max(dash + 1, 65535, &y, why))
		return false;
	if (x < 1 || x >= y) {
		*why = "LO must be at least 1 and below HI (2 ports at least)";
		return false;
	}
	*lo = (uint16_t)x;
	*hi = (uint16_t)y;
	return true;
}

static bool kernel_name(const char *v, char *out, size_t len, const char **why)
{
	size_t n = strlen(v);

	if (n == 0 || n >= len) {
		*why = "empty or too long";
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
		      v[i] == '.' || v[i] == '-' || v[i] == '_' || v[i] == '+')) {
			*why = "a version (6.18.44), a preset (rhel7.7) or host";
			return false;
		}
	memcpy(out, v, n + 1);
	return true;
}

bool fleet_set(struct fleet *f, const char *key, const char *v, char *err, size_t errlen)
{
	const char *why = NULL;
	uint64_t u;
	bool ok;

	if (!strcmp(key, "clients")) {
		ok = parse_u64_max(v, FLEET_MAX_CLIENTS, &u, &why);
		if (ok && u == 0) {
			ok = false;
			why = "must be at least 1";
		}
		if (ok)
			f->clients = (unsigned)u;
	} else if (!strcmp(key, "rate")) {
		ok = positive(v, 1e6, &f->rate, &why);
	} else if (!strcmp(key, "arrivals")) {
		ok = !strcmp(v, "poisson") || !strcmp(v, "periodic");
		if (ok)
			f->periodic = !strcmp(v, "periodic");
		else
			why = "expected poisson or periodic";
	} else if (!strcmp(key, "keepalive")) {
		ok = parse_seconds(v, 1, &f->keepalive, &why);
		if (!ok)
			why = "a fraction from 0 to 1";
	} else if (!strcmp(key, "duration")) {
		ok = positive(v, 366 * 86400.0, &f->duration_s, &why);
	} else if (!strcmp(key, "port_range")) {
		ok = port_range(v, &f->port_lo, &f->port_hi, &why);
	} else if (!strcmp(key, "snat")) {
		char e[160];
		ok = snat_spec_parse(v, &f->snat, e, sizeof e);
		if (!ok) {
			snprintf(err, errlen, "%s: '%s'", e, v);
			return false;
		}
	} else if (!strcmp(key, "client_kernel")) {
		ok = kernel_name(v, f->client_kernel, sizeof f->client_kernel, &why);
	} else if (!strcmp(key, "server_kernel")) {
		ok = kernel_name(v, f->server_kernel, sizeof f->server_kernel, &why);
	} else {
		snprintf(err, errlen, "unknown setting");
		return false;
	}
	if (!ok) {
		snprintf(err, errlen, "%s: '%s'", why ? why : "invalid", v);
		return false;
	}
	return true;
}

const char *const fleet_option_names[] = {
	"snat", "keepalive", "clients", "rate", "duration", "port-range", "arrivals",
	"client-kernel", "server-kernel", NULL,
};

const char *fleet_option_key(const char *opt)
{
	static const char *const keys[] = {
		"snat", "keepalive", "clients", "rate", "duration", "port_range", "arrivals",
		"client_kernel", "server_kernel",
	};

	if (!opt || strncmp(opt, "--", 2))
		return NULL;
	for (size_t i = 0; fleet_option_names[i]; i++)
		if (!strcmp(opt + 2, fleet_option_names[i]))
			return keys[i];
	return NULL;
}

bool fleet_check(const struct fleet *f, char *err, size_t errlen)
{
	if (f->rate <= 0) {
		snprintf(err, errlen, "--rate: must be greater than 0");
		return false;
	}
	if (f->duration_s <= 0) {
		snprintf(err, errlen, "--duration: must be greater than 0");
		return false;
	}
	if (f->port_lo < 1 || f->port_lo > f->port_hi || f->port_hi - f->port_lo + 1 < 2) {
		snprintf(err, errlen, "--port-range: %u-%u: need LO <= HI and at least 2 ports",
			 f->port_lo, f->port_hi);
		return false;
	}
	if (f->keepalive < 0 || f->keepalive > 1) {
		snprintf(err, errlen, "--keepalive: a fraction from 0 to 1");
		return false;
	}
	if ((f->snat.mode == SNAT_OVERLOAD || f->snat.mode == SNAT_ONE_TO_ONE) && f->snat.n < 1) {
		snprintf(err, errlen, "--snat: pool size must be at least 1");
		return false;
	}
	return true;
}
