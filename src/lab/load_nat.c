/*
 * load_nat.c - the firewall's source NAT for each `--snat` mode, as nft
 * rules that replace the lab's single-address SNAT rule (table ip twlab,
 * chain post, built by lab_up in topo.c):
 *
 *   overload:N    snat to A-B: netfilter picks the address by hashing the
 *                 client address (nf_nat_core.c find_best_ips_proto, jhash2
 *                 seeded by the destination), keeps the port when free
 *   static        snat to ip saddr map { client : address, ... }
 *   masquerade    masquerade (the outside interface's address)
 *   random-fully  masquerade fully-random (a random port for every connection)
 *   one-to-one:N  snat to meta mark map { 0x100 : A0, ... }: the mark is
 *                 the allocator's choice (load_pool.c); no Linux NAT mode
 *                 does this by itself
 *
 * Pool addresses sit on the firewall's outside link (it must answer ARP for
 * them): N consecutive addresses from the scenario's SNAT address up, below
 * the gateway's .254.
 */
#include "lab/load.h"
#include "util/inet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

unsigned load_nat_free(const struct scenario *s)
{
	unsigned h = s->snat_addr & 0xff;
	return h >= 1 && h < 254 ? 254 - h : 0;
}

bool load_nat_build(const struct scenario *s, const struct snat_spec *m,
		    const uint32_t *client_addr, unsigned nclients,
		    struct load_nat *out, char *err, size_t errlen)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], spec[40];
	unsigned n = 0, fr = load_nat_free(s);
	int w = 0;
	size_t len = sizeof out->rules;

	memset(out, 0, sizeof *out);
	snat_spec_str(m, spec, sizeof spec);
	switch (m->mode) {
	case SNAT_OVERLOAD:
		n = m->n;
		break;
	case SNAT_STATIC:
		n = nclients;
		break;
	case SNAT_MASQUERADE:
	case SNAT_RANDOM_FULLY:
		n = 1;
		break;
	case SNAT_ONE_TO_ONE:
		n = m->n;
		out->queue = true;
		break;
	}
	if (n < 1 || n > fr || n > sizeof out->pool / sizeof out->pool[0]) {
		snprintf(err, errlen, "%s needs %u address%s from %s up, the firewall's outside "
			 "link has %u free", spec, n, n == 1 ? "" : "es", ip4_str(s->snat_addr, a), fr);
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		out->pool[i] = s->snat_addr + i;
	out->npool = n;
	w = snprintf(out->rules, len, "flush chain ip twlab post\n"
		     "add rule ip twlab post oifname \"gw\" ");
	switch (m->mode) {
	case SNAT_OVERLOAD:
		if (n == 1)
			w += snprintf(out->rules + w, len - (size_t)w, "snat to %s\n", ip4_str(out->pool[0], a));
		else
			w += snprintf(out->rules + w, len - (size_t)w, "snat to %s-%s\n",
				      ip4_str(out->pool[0], a), ip4_str(out->pool[n - 1], b));
		break;
	case SNAT_STATIC:
		w += snprintf(out->rules + w, len - (size_t)w, "snat to ip saddr map {");
		for (unsigned i = 0; i < nclients && (size_t)w < len; i++)
			w += snprintf(out->rules + w, len - (size_t)w, "%s %s : %s", i ? "," : "",
				      ip4_str(client_addr[i], a), ip4_str(out->pool[i], b));
		if ((size_t)w < len)
			w += snprintf(out->rules + w, len - (size_t)w, " }\n");
		break;
	case SNAT_MASQUERADE:
		w += snprintf(out->rules + w, len - (size_t)w, "masquerade\n");
		break;
	case SNAT_RANDOM_FULLY:
		w += snprintf(out->rules + w, len - (size_t)w, "masquerade fully-random\n");
		break;
	case SNAT_ONE_TO_ONE:
		/* the allocator (load_pool.c) marks each connection's first
		 * packet with its address; unmarked packets never leave */
		w += snprintf(out->rules + w, len - (size_t)w, "snat to meta mark map {");
		for (unsigned i = 0; i < n && (size_t)w < len; i++)
			w += snprintf(out->rules + w, len - (size_t)w, "%s 0x%x : %s", i ? "," : "",
				      LOAD_POOL_MARK + i, ip4_str(out->pool[i], a));
		if ((size_t)w < len)
			w += snprintf(out->rules + w, len - (size_t)w,
				      " }\nadd rule ip twlab post oifname \"gw\" counter drop\n");
		break;
	}
	if (w < 0 || (size_t)w >= len) {
		snprintf(err, errlen, "NAT rules too long");
		return false;
	}
	return true;
}
