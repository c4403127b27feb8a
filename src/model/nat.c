/*
 * nat.c - which outside address and port a NAT box gives a new connection:
 * Linux netfilter exactly (net/netfilter/nf_nat_core.c), vendor boxes from
 * their documentation (presets below, each with its source).
 *
 * Why it matters: the report's firewall hashed all four pods to one overload
 * address and kept their ports, so two pods' connections landed on the same
 * server 4-tuple; whether the box keeps the client's port, picks a random one
 * or walks to the next free one decides how often that happens.
 */
#include "model/fleet.h"

#include <string.h>

/* ---- find_best_ips_proto(): the overload address ----------------------- */

static inline uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> (32 - s)); }

/* include/linux/jhash.h: Bob Jenkins' lookup3 (public domain), as the
 * kernel's jhash2() uses it: JHASH_INITVAL 0xdeadbeef, __jhash_mix over
 * each 3-word block, __jhash_final over the rest. Written from the lookup3
 * description; test_model_nat.c checks it against lookup3's published
 * hashword() values. */
#define JHASH_MIX(a, b, c) do { \
	a -= c; a ^= rol32(c, 4);  c += b; \
	b -= a; b ^= rol32(a, 6);  a += c; \
	c -= b; c ^= rol32(b, 8);  b += a; \
	a -= c; a ^= rol32(c, 16); c += b; \
	b -= a; b ^= rol32(a, 19); a += c; \
	c -= b; c ^= rol32(b, 4);  b += a; \
} while (0)
#define JHASH_FINAL(a, b, c) do { \
	c ^= b; c -= rol32(b, 14); \
	a ^= c; a -= rol32(c, 11); \
	b ^= a; b -= rol32(a, 25); \
	c ^= b; c -= rol32(b, 16); \
	a ^= c; a -= rol32(c, 4);  \
	b ^= a; b -= rol32(a, 14); \
	c ^= b; c -= rol32(b, 24); \
} while (0)

uint32_t model_jhash2(const uint32_t *k, uint32_t len, uint32_t initval)
{
	uint32_t a, b, c;

	a = b = c = 0xdeadbeefu + (len << 2) + initval;
	while (len > 3) {
		a += k[0]; b += k[1]; c += k[2];
		JHASH_MIX(a, b, c);
		len -= 3;
		k += 3;
	}
	switch (len) {
	case 3: c += k[2]; /* fall through */
	case 2: b += k[1]; /* fall through */
	case 1: a += k[0];
		JHASH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

/* The u32 a little-endian kernel loads from a network-order address. */
static inline uint32_t be_word(uint32_t host_order)
{
	return __builtin_bswap32(host_order);
}

/* include/linux/kernel.h reciprocal_scale(): (u64)val * ep_ro >> 32 */
static inline uint32_t reciprocal_scale(uint32_t val, uint32_t ep_ro)
{
	return (uint32_t)(((uint64_t)val * ep_ro) >> 32);
}

/* net/netfilter/nf_nat_core.c find_best_ips_proto() (read from
 * torvalds/linux 002c6ca7, a 5.x/6.x text; agrees with the running 6.18.44
 * kernel for 40 clients, tests/integration/model_nat.sh):
 *   j = jhash2((u32 *)&tuple->src.u3, sizeof(tuple->src.u3) / sizeof(u32),
 *              PERSISTENT ? 0 : tuple->dst.u3.all[max] ^ zone->id);
 *   address = minip + reciprocal_scale(j, maxip - minip + 1)
 * src.u3 is a 16-byte union nf_inet_addr: for IPv4 the client address then
 * three zero words; max = 0 for IPv4, so only word 0 of the server address
 * enters the initval and only one round of the loop runs. */
uint32_t nat_overload_addr(uint32_t pool_lo, uint32_t n, uint32_t client,
			   uint32_t server, uint16_t zone, bool persistent)
{
	uint32_t k[4] = { be_word(client), 0, 0, 0 };
	uint32_t j;

	if (n <= 1)           /* the fast path: only one choice */
		return pool_lo;
	j = model_jhash2(k, 4, persistent ? 0 : be_word(server) ^ zone);
	return pool_lo + reciprocal_scale(j, n);
}

/* ---- presets ------------------------------------------------------------ */

static const struct nat_preset p_linux = {
	.name = "linux",
	.desc = "Linux SNAT/MASQUERADE: keep the port if free, else random + probe; "
		"conntrack TIME_WAIT 120 s, CLOSE 10 s (nf_conntrack_proto_tcp.c tcp_timeouts)",
	.rule = NAT_PORT_PRESERVE_RANDOM, .netfilter = true, .port_lo = 1024, .port_hi = 65535,
	.hold_after_fin_ms = 120000, .hold_after_rst_ms = 10000,
	.hold_per_destination = true,
};
static const struct nat_preset p_linux_rf = {
	.name = "linux-random-fully",
	.desc = "Linux SNAT/MASQUERADE --random-fully: random port always; conntrack timers as linux",
	.rule = NAT_PORT_RANDOM, .netfilter = true, .port_lo = 1024, .port_hi = 65535,
	.hold_after_fin_ms = 120000, .hold_after_rst_ms = 10000,
	.hold_per_destination = true,
};
static const struct nat_preset p_forti = {
	.name = "fortigate",
	.desc = "FortiGate-like overload pool: port-preserve (5117-65533), else next higher port; "
		"tcp-timewait-timer 1 s (FortiOS docs; the report's firewall). RST hold not documented: 0",
	.rule = NAT_PORT_PRESERVE_NEXT, .port_lo = 5117, .port_hi = 65533,
	.hold_after_fin_ms = 1000, .hold_after_rst_ms = 0,
	.hold_per_destination = true,
};
static const struct nat_preset p_azure = {
	.name = "azure",
	.desc = "Azure NAT Gateway: random ports, 64,512 per address; port held 65 s after FIN, "
		"16 s after RST before reuse toward the same destination (Azure docs)",
	.rule = NAT_PORT_RANDOM, .port_lo = 1024, .port_hi = 65535,
	.hold_after_fin_ms = 65000, .hold_after_rst_ms = 16000,
	.hold_per_destination = true, .ports_per_addr = 64512,
};
static const struct nat_preset p_gcp = {
	.name = "gcp",
	.desc = "GCP Cloud NAT: tcpTimeWaitTimeoutSec 120 s (default); each VM a static block of "
		"64 ports (minPortsPerVm default); choice within the block not documented: random "
		"(GCP docs, SIM.md)",
	.rule = NAT_PORT_RANDOM, .port_lo = 1024, .port_hi = 65535,
	.hold_after_fin_ms = 120000, .hold_after_rst_ms = 0,
	.hold_per_destination = true, .ports_per_client = 64,
};
static const struct nat_preset p_gcp30 = {
	.name = "gcp-30s",
	.desc = "GCP Cloud NAT with tcpTimeWaitTimeoutSec 30 s (new gateways): shorter than a "
		"Linux server's 60 s TIME_WAIT; 64-port blocks per VM (GCP docs, SIM.md)",
	.rule = NAT_PORT_RANDOM, .port_lo = 1024, .port_hi = 65535,
	.hold_after_fin_ms = 30000, .hold_after_rst_ms = 0,
	.hold_per_destination = true, .ports_per_client = 64,
};
/* AWS NAT gateway: no documented reuse hold (SIM.md), so no preset: a
 * number would be invented. */

static const struct nat_preset *const presets[] = {
	&p_linux, &p_linux_rf, &p_forti, &p_azure, &p_gcp, &p_gcp30, NULL,
};

const struct nat_preset *const *nat_preset_all(void) { return presets; }

const struct nat_preset *nat_preset_find(const char *name)
{
	for (size_t i = 0; name && presets[i]; i++)
		if (!strcmp(presets[i]->name, name))
			return presets[i];
	return NULL;
}

void nat_state_init(struct nat_state *ns, const struct nat_preset *p, uint32_t kver)
{
	*ns = (struct nat_state){ .preset = p, .kver = kver,
				  .port_lo = p->port_lo, .port_hi = p->port_hi };
}

/* ---- port choice --------------------------------------------------------- */

static bool is_linux(const struct nat_state *ns)
{
	return ns->preset->netfilter;
}

/* 6.5+ net/netfilter/nf_nat_core.c nf_nat_used_tuple_harder(): in the last
 * NF_NAT_HARDER_THRESH (max_attempts / 4 = 32) attempts of a round, for a
 * TCP SYN, a colliding entry that is NATed, in TIME_WAIT or later and whose
 * ORIGINAL-direction td_end the new SYN has passed ((s32)(new - old) > 0,
 * nf_seq_has_advanced) is killed and the tuple taken. Read from the 2023
 * patch text (merged for 6.5). */
static bool used_harder(const struct nat_state *ns, const struct nat_req *req,
			uint32_t addr, uint16_t port, uint32_t attempts_left,
			nat_tuple_fn fn, void *ctx, bool *evicted)
{
	uint32_t old_end = 0;
	/* the closing entry's td_end only where the rule reads it */
	bool harder = ns->kver >= KVER(6, 5, 0) && attempts_left <= 32;
	enum nat_tuple t = fn(ctx, addr, port, harder ? &old_end : NULL);

	if (t == NAT_TUPLE_FREE)
		return false;
	if (t == NAT_TUPLE_USED_CLOSING && harder) {
		uint32_t syn_end = req->syn_seq_end_fn ? req->syn_seq_end_fn(ctx) : req->syn_seq_end;
		if ((int32_t)(syn_end - old_end) > 0) {
			*evicted = true;
			return false;
		}
	}
	return true;
}

static inline bool taken(nat_tuple_fn fn, void *ctx, uint32_t addr, uint16_t port)
{
	return fn(ctx, addr, port, NULL) != NAT_TUPLE_FREE;
}

/* nf_nat_l4proto_unique_tuple(), 5.10+ (torvalds/linux 002c6ca7, and the
 * 6.5+ text with the harder check): range = --to-ports, or 1024-65535 for
 * a source port >= 1024 (600-1023 / 1-511 below); off = random u16;
 * attempts = min(range_size, 128);
 * another_round: for (i = 0; i < attempts; i++, off++)
 *   port = min + off % range_size; free -> done;
 * if (attempts >= range_size || attempts < 16) give up;
 * attempts /= 2; off = random; goto another_round.
 * Giving up leaves a used tuple: __nf_conntrack_confirm then drops the
 * packet (insert_failed) -- reported as port 0. */
static void unique_tuple_510(struct nat_state *ns, const struct nat_req *req,
			     uint32_t min, uint32_t range_size, struct model_rng *rng,
			     nat_tuple_fn fn, void *ctx, struct nat_pick *out)
{
	uint32_t attempts = range_size < 128 ? range_size : 128;
	uint16_t off = (uint16_t)model_rng_next(rng);

	for (;;) {
		for (uint32_t i = 0; i < attempts; i++, off++) {
			uint16_t port = (uint16_t)(min + off % range_size);
			out->probes++;
			if (!used_harder(ns, req, out->addr, port, attempts - i, fn, ctx,
					 &out->evicted)) {
				out->port = port;
				return;
			}
		}
		if (attempts >= range_size || attempts < 16)
			return;
		attempts /= 2;
		off = (uint16_t)model_rng_next(rng);
	}
}

/* Before 5.10 (4.19 net/netfilter/nf_nat_proto_common.c
 * nf_nat_l4proto_unique_tuple, per SIM.md: a global per-protocol rover,
 * random start only with --random/--random-fully):
 *   off = random flags ? random : *rover;
 *   for (i = 0; ; ++off) { port = min + off % range_size;
 *     if (++i != range_size && used) continue;
 *     if (!random flags) *rover = off; return; }
 * The last candidate is returned even if used (then dropped at confirm). */
static void unique_tuple_rover(struct nat_state *ns, uint32_t min, uint32_t range_size,
			       bool random, struct model_rng *rng, nat_tuple_fn fn,
			       void *ctx, struct nat_pick *out)
{
	uint32_t off = random ? (uint32_t)model_rng_next(rng) : ns->rover;

	for (uint32_t i = 0;; ++off) {
		uint16_t port = (uint16_t)(min + off % range_size);
		bool used;
		out->probes++;
		used = taken(fn, ctx, out->addr, port);
		if (++i != range_size && used)
			continue;
		if (!random)
			ns->rover = off;
		out->port = used ? 0 : port;
		return;
	}
}

struct nat_pick nat_pick_port(struct nat_state *ns, const struct nat_req *req,
			      struct model_rng *rng, nat_tuple_fn fn, void *ctx)
{
	struct nat_pick out = { .addr = req->nat_addr };
	const struct nat_preset *p = ns->preset;
	bool random = p->rule == NAT_PORT_RANDOM;
	uint32_t min, range_size;

	if (ns->port_lo > ns->port_hi)       /* an empty range: nothing to give */
		return out;
	if (p->rule == NAT_PORT_PRESERVE_NEXT) {
		/* FortiGate port-preserve (FortiOS docs, SIM.md): keep the
		 * port if it is in 5117-65533 and free; without it "the next
		 * higher port". Walk up, wrapping once, through the range. */
		uint32_t lo = ns->port_lo, n = (uint32_t)ns->port_hi - lo + 1;
		uint32_t start = req->client_port;
		if (start < lo || start > ns->port_hi)
			start = lo;
		for (uint32_t i = 0; i < n; i++) {
			uint16_t port = (uint16_t)(lo + (start - lo + i) % n);
			out.probes++;
			if (!taken(fn, ctx, out.addr, port)) {
				out.port = port;
				out.preserved = port == req->client_port;
				return out;
			}
		}
		return out;
	}

	/* net/netfilter/nf_nat_core.c get_unique_tuple(), SNAT without
	 * random flags: 1) the original tuple if in range (never, for a
	 * private client address and a public pool), else an existing
	 * mapping for this client addr:port (find_appropriate_src) if its
	 * reply tuple is free; 2) find_best_ips_proto() (the caller's
	 * nat_addr); 3) keep the client's port if it is in range (when
	 * --to-ports given) and the reply tuple is free; else
	 * nf_nat_l4proto_unique_tuple(). With NF_NAT_RANGE_PROTO_RANDOM_ALL
	 * steps 1 and 3 are skipped. */
	if (!random) {
		if (req->mapped_port && (!ns->range_given ||
		    (req->mapped_port >= ns->port_lo && req->mapped_port <= ns->port_hi))) {
			out.probes++;
			if (!taken(fn, ctx, req->mapped_addr, req->mapped_port)) {
				out.addr = req->mapped_addr;
				out.port = req->mapped_port;
				out.preserved = out.port == req->client_port;
				return out;
			}
		}
		if (!ns->range_given ||
		    (req->client_port >= ns->port_lo && req->client_port <= ns->port_hi)) {
			out.probes++;
			if (!taken(fn, ctx, out.addr, req->client_port)) {
				out.port = req->client_port;
				out.preserved = true;
				return out;
			}
		}
	}

	if (p->ports_per_client && req->client_slot) {
		/* the host's own static block; past the address's ports the
		 * host has none (GCP: the VM gets no NAT) */
		uint64_t first = ns->port_lo + (uint64_t)(req->client_slot - 1) * p->ports_per_client;
		if (first + p->ports_per_client - 1 > ns->port_hi)
			return out;
		min = (uint32_t)first;
		range_size = p->ports_per_client;
	} else if (ns->range_given) {
		min = ns->port_lo;
		range_size = (uint32_t)ns->port_hi - ns->port_lo + 1;
	} else if (!is_linux(ns)) {
		min = ns->port_lo;    /* vendor preset: its documented range */
		range_size = (uint32_t)ns->port_hi - ns->port_lo + 1;
	} else if (req->client_port < 512) {
		min = 1; range_size = 511;
	} else if (req->client_port < 1024) {
		min = 600; range_size = 1023 - 600 + 1;
	} else {
		min = 1024; range_size = 65535 - 1024 + 1;
	}

	if (!is_linux(ns) || ns->kver >= KVER(5, 10, 0))
		unique_tuple_510(ns, req, min, range_size, rng, fn, ctx, &out);
	else
		unique_tuple_rover(ns, min, range_size, random, rng, fn, ctx, &out);
	return out;
}

/* ---- one-to-one pool ------------------------------------------------------ */

int nat_one_to_one_pick(const uint64_t *released_ms, const bool *busy, uint32_t n)
{
	int best = -1;

	for (uint32_t i = 0; i < n; i++) {
		if (busy[i])
			continue;
		if (best < 0 || released_ms[i] < released_ms[best])
			best = (int)i;
	}
	return best;
}
