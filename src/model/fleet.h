/*
 * model/fleet.h - the kernel and middlebox choices a fleet makes many times a
 * second: which ephemeral port a client's connect() takes, which outside
 * address and port a NAT gives that connection, and which TCP timestamp and
 * ISN the client puts in its SYN. `twlab sim` calls these for every simulated
 * connection; the lab and analyze may call them to predict what a real kernel
 * picked.
 *
 * Same rules as the rest of src/model/: pure C, no I/O, no allocation (the
 * caller owns every table), no global mutable state. Randomness comes only
 * from a caller-owned struct model_rng, so a run is a function of its seed.
 * Each rule in ports.c, nat.c and clock.c cites the kernel file, function and
 * version it was read from.
 *
 * Addresses are IPv4 in host byte order (198.18.0.1 == 0xC6120001); ports
 * are host-order uint16_t. Where the kernel hashes the network-order bytes
 * (jhash2 in netfilter) the code converts as a little-endian host would, so
 * the result matches an x86/arm64 kernel bit for bit.
 *
 * Times: `uptime_ms` is the host's time since boot (jiffies and the TCP ms
 * clock count from boot); `real_ns` is wall-clock time (ISNs use
 * ktime_get_real). The simulator keeps one simulated clock and adds each
 * host's boot offset.
 */
#ifndef TWLAB_MODEL_FLEET_H
#define TWLAB_MODEL_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* ---- deterministic randomness ------------------------------------------
 * xoshiro256** seeded through splitmix64. One state per independent stream
 * (the engine may keep one per host or one for the whole run). */
struct model_rng { uint64_t s[4]; };

void model_rng_seed(struct model_rng *r, uint64_t seed);

static inline uint64_t model_rng_rotl_(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t model_rng_next(struct model_rng *r)
{
	uint64_t *s = r->s, out = model_rng_rotl_(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
	s[2] ^= t; s[3] = model_rng_rotl_(s[3], 45);
	return out;
}
/* Uniform in [0, n), n >= 1 (multiply-shift; bias < n / 2^32). */
static inline uint32_t model_rng_below(struct model_rng *r, uint32_t n)
{
	return (uint32_t)(((model_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
/* Uniform in (0, 1]: safe for -log(u) (exponential inter-arrival times). */
static inline double model_rng_unit(struct model_rng *r)
{
	return (double)((model_rng_next(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* A per-boot secret (net_secret, ts_secret, the perturb table's contents)
 * drawn from the stream. */
struct model_key { uint64_t k0, k1; };
void model_key_draw(struct model_key *k, struct model_rng *r);

/* SipHash-2-4 of four, three and two u32 words (the kernel's siphash_4u32,
 * siphash_3u32, siphash_2u32: words packed little-endian two per u64). */
uint64_t model_siphash_4u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d,
			    const struct model_key *k);
uint64_t model_siphash_3u32(uint32_t a, uint32_t b, uint32_t c,
			    const struct model_key *k);
uint64_t model_siphash_2u32(uint32_t a, uint32_t b, const struct model_key *k);

/* ---- client: ephemeral port of connect() ---------------------------------
 * net/ipv4/inet_hashtables.c __inet_hash_connect(), per version. */
enum port_alg {
	PORT_ALG_HINT_310,       /* upstream 3.10.y (3.x - 4.1): one global
				  * hint, offset = hint + port_offset, scan +1
				  * over both parities, hint += i */
	PORT_ALG_HINT_EVEN,      /* 4.2 - 4.5 and RHEL 7.7 3.10.0-1062 (which
				  * carries 4.2's change): offset made even,
				  * scan +1, hint += (i + 2) & ~1 */
	PORT_ALG_EVEN_ODD,       /* 4.6 - 5.11 (before the 2022 stable fix):
				  * global hint, siphash offset, even first,
				  * scan +2, hint += i + 2 */
	PORT_ALG_PERTURB256,     /* 5.12 - 5.17: RFC 6056 alg. 4, 256-entry
				  * table_perturb, += i + 2 */
	PORT_ALG_PERTURB64K,     /* the 2022 fix (CVE-2022-1012): 2^16 entries,
				  * 10 s re-salt, += max(i, rand(8)*2) + 2 */
	PORT_ALG_PERTURB64K_STEP1, /* 6.8+ socket with IP_LOCAL_PORT_RANGE set:
				  * same table, step 1, no parity split */
};
#define PORT_ALG_COUNT 6

/* The allocator a kernel release runs. kver from kver_parse(); `rhel` marks
 * a RHEL/CentOS 7 kernel (3.10.0-NNN.el7; the project's "3.10" profile). */
enum port_alg port_alg_for(uint32_t kver, bool rhel);
/* "rhel7.7", "3.10", "3.10.0-1062.el7.x86_64", "4.19.124", "6.18.44" ->
 * allocator; "3.10" and "3.10.0..." are RHEL 7 (the only 3.10.0 in use);
 * false on a string kver_parse() rejects. */
bool port_alg_for_release(const char *release, enum port_alg *out);
const char *port_alg_str(enum port_alg a);   /* "perturb64k" ... */

/* Entries of table_perturb the caller should provide: 256 for 5.12's table,
 * 0 for the rest -- hint-based allocators need none, and the 2022 fix's
 * 2^16 table is kept compact inside struct port_alloc by default (see
 * below). A caller that wants the kernel's whole table may still pass
 * PORT_TABLE_FULL entries for PERTURB64K*. */
#define PORT_TABLE_FULL 65536
size_t port_alloc_table_len(enum port_alg a);

#define PORT_ALLOC_HOT 8

struct port_alloc {              /* one per kernel: see "One host or one kernel?" */
	enum port_alg alg;
	uint16_t lo, hi;             /* net.ipv4.ip_local_port_range, inclusive */
	struct model_key secret;     /* net_secret: keys the port offset hash */
	uint32_t hint;               /* the static hint of hint-based allocators */
	unsigned hz;                 /* CONFIG_HZ: jiffies for the 10 s re-salt
				      * (port_alloc_init sets 250, Debian's) */
	uint32_t *table;             /* table_perturb (256 entries for 5.12,
				      * PORT_TABLE_FULL for the 2022 table),
				      * caller-owned, or NULL: compact */
	const uint64_t *reserved;    /* ip_local_reserved_ports: 65536-bit map
				      * (1024 u64), or NULL for none */
	/* Compact table (table == NULL): the kernel's table is random bytes
	 * plus the increments of recent connects. The initial value of entry
	 * i is drawn from a keyed hash of i; the PORT_ALLOC_HOT entries touched
	 * last keep their increments. Exact while a host has at most that
	 * many (destination, 10 s window) pairs in flight -- one destination
	 * uses one entry per 10 s; an entry evicted earlier restarts from its
	 * initial value if its index comes up again (1 in 65536 per window).
	 * Saves 256 KiB per host and a cache miss per connect. */
	struct model_key table_key;
	struct { uint32_t idx, val; } hot[PORT_ALLOC_HOT];
	uint32_t hot_n, hot_next;
	uint32_t hot_last;            /* the entry found last (checked first) */
	/* one-entry memo of the port_offset hash (same destination, same
	 * 10 s window: the kernel would compute the same value) */
	bool     memo_ok;
	uint32_t memo_in[4];
	uint64_t memo_out;
};

/* One host or one kernel? table_perturb, the hint and net_secret are
 * globals of the kernel, not per network namespace (inet_hashtables.c
 * `static u32 *table_perturb`, `static u32 hint`; secure_seq.c
 * `net_secret`); only ip_local_port_range is per netns. Clients that are
 * namespaces on one kernel (the lab) therefore share one struct port_alloc
 * -- give it a PORT_TABLE_FULL table, as many clients make many entries
 * hot -- and one struct host_clock (same boot, same secrets; the per-pair
 * or per-tuple offsets still differ by address). Separate machines (a real
 * fleet) have one of each per host. */

/* Fill *pa: secret and table contents drawn from rng (the kernel fills both
 * with random bytes once per boot), hint 0, hz 250. `table`: NULL (compact,
 * above), or 256 entries (PERTURB256) / PORT_TABLE_FULL entries
 * (PERTURB64K*); ignored by hint-based allocators. Returns false if lo > hi
 * or lo == 0. */
bool port_alloc_init(struct port_alloc *pa, enum port_alg alg, uint16_t lo,
		     uint16_t hi, uint32_t *table, struct model_rng *rng);

/* Is `port` unusable for a connect() from saddr:port to daddr:dport on this
 * host? True when __inet_check_established() would fail: an open socket on
 * that 4-tuple, or this host's own TIME_WAIT on it that tcp_twsk_unique()
 * does not reuse (tcp_tw_reuse=2, the default, reuses only on loopback);
 * also true if a socket bind()ed the port explicitly. */
typedef bool (*port_taken_fn)(void *ctx, uint16_t port);

struct port_pick {
	uint16_t port;               /* 0: EADDRNOTAVAIL (every port taken) */
	uint32_t probes;             /* candidate ports looked at (cost, and
				      * the `i` the kernel adds to its state) */
};

/* One connect() without a bound port: the port __inet_hash_connect() takes.
 * Updates the allocator state exactly as the kernel does on success. */
struct port_pick port_alloc_connect(struct port_alloc *pa, uint32_t saddr,
				    uint32_t daddr, uint16_t dport,
				    uint64_t uptime_ms, struct model_rng *rng,
				    port_taken_fn taken, void *ctx);

/* ---- NAT: netfilter and vendor boxes -------------------------------------
 * net/netfilter/nf_nat_core.c get_unique_tuple(), find_best_ips_proto(),
 * nf_nat_l4proto_unique_tuple(), nf_nat_used_tuple_harder(). */

/* find_best_ips_proto() for an IPv4 SNAT to pool_lo .. pool_lo+n-1: the
 * outside address for this (client, server) pair. Bit-exact with the kernel
 * (jhash2 over the 4-word client address, initval = server address ^ zone,
 * or 0 with --persistent; reciprocal_scale). n >= 1. */
uint32_t nat_overload_addr(uint32_t pool_lo, uint32_t n, uint32_t client,
			   uint32_t server, uint16_t zone, bool persistent);
/* The kernel's jhash2() (include/linux/jhash.h), exposed for tests. */
uint32_t model_jhash2(const uint32_t *k, uint32_t len, uint32_t initval);

enum nat_port_rule {
	NAT_PORT_PRESERVE_RANDOM, /* Linux SNAT/MASQUERADE: keep the client's
				   * port if the reply tuple is free, else a
				   * random start and a linear probe */
	NAT_PORT_RANDOM,          /* --random / --random-fully (5.10+), Azure,
				   * GCP: never keep, random start, probe */
	NAT_PORT_PRESERVE_NEXT,   /* FortiGate port-preserve: keep if free,
				   * else the next higher free port */
};

/* How a NAT box behaves: data, one per preset. */
struct nat_preset {
	const char *name;            /* "linux", "linux-random-fully", "fortigate", ... */
	const char *desc;            /* one line, with its source */
	enum nat_port_rule rule;
	bool     netfilter;          /* Linux: port search and range rules of
				      * nf_nat_core.c by version (nat_state.kver) */
	uint16_t port_lo, port_hi;   /* ports the box translates into */
	/* How long after the session closed a (nat addr:port, server addr:port)
	 * tuple stays unavailable: conntrack TIME_WAIT, a vendor's session
	 * TIME_WAIT timer, or a documented port hold. */
	uint32_t hold_after_fin_ms;
	uint32_t hold_after_rst_ms;
	bool     hold_per_destination; /* the hold blocks only the same server */
	uint32_t ports_per_addr;     /* documented ports per address (0: range) */
	/* Static per-host port blocks (GCP Cloud NAT: each VM is given
	 * minPortsPerVm ports of the address, 64 by default, and its
	 * connections use only those): block size, 0 for none. Used when the
	 * caller says which host it is (nat_req.client_slot). */
	uint32_t ports_per_client;
};

/* NULL-terminated list, and lookup by name (NULL if unknown). */
const struct nat_preset *const *nat_preset_all(void);
const struct nat_preset *nat_preset_find(const char *name);

/* Per-NAT-box state (the 4.19 port rover). */
struct nat_state {
	const struct nat_preset *preset;
	uint32_t kver;               /* netfilter version (Linux presets) */
	uint16_t port_lo, port_hi;   /* effective range (preset's, or --to-ports) */
	bool     range_given;        /* --to-ports given (NF_NAT_RANGE_PROTO_SPECIFIED) */
	uint32_t rover;              /* < 5.10 global rover */
};
void nat_state_init(struct nat_state *ns, const struct nat_preset *p, uint32_t kver);

/* What the box's table holds for the reply tuple (server:sport ->
 * nat_addr:nat_port) -- the engine's conntrack/session table answers. */
enum nat_tuple {
	NAT_TUPLE_FREE = 0,
	NAT_TUPLE_USED,              /* a live session, or one within its hold */
	NAT_TUPLE_USED_CLOSING,      /* a Linux conntrack entry in TIME_WAIT or
				      * CLOSE, NATed, not fixed-timeout: 6.5+
				      * nf_nat_used_tuple_harder() may evict it;
				      * the callback then sets *old_seq_end to
				      * that entry's seen[ORIGINAL].td_end
				      * (old_seq_end is NULL where the rule
				      * does not read it) */
};
typedef enum nat_tuple (*nat_tuple_fn)(void *ctx, uint32_t nat_addr,
				       uint16_t nat_port, uint32_t *old_seq_end);

struct nat_req {                 /* one new connection through the box */
	uint32_t nat_addr;           /* from nat_overload_addr(), a 1:1 pool
				      * or a static map */
	uint16_t client_port;        /* the client's source port */
	uint32_t syn_seq_end;        /* SYN seq + 1 (the new conntrack's
				      * seen[ORIGINAL].td_end, compared by the
				      * 6.5+ eviction rule) */
	/* If set: called (with the nat_tuple_fn's ctx) for that value instead
	 * of reading syn_seq_end, only when the eviction rule compares it --
	 * a caller whose ISN is costly computes it only then. */
	uint32_t (*syn_seq_end_fn)(void *ctx);
	/* find_appropriate_src(): a mapping the box already holds for this
	 * client addr:port (toward another server, or a closing entry):
	 * netfilter tries it before anything else. 0/0: none. */
	uint32_t mapped_addr;
	uint16_t mapped_port;
	/* 1-based index of the client host among those sharing nat_addr, for
	 * presets with ports_per_client (its block is ports lo + (slot-1) *
	 * block ..); 0: not given, the whole range is used. */
	uint32_t client_slot;
};

struct nat_pick {
	uint32_t addr;               /* outside address (req->nat_addr, or
				      * mapped_addr when that mapping was kept) */
	uint16_t port;               /* outside port; 0: no free tuple found,
				      * the packet is dropped (conntrack
				      * insert_failed) */
	bool     preserved;          /* the client's own port was kept */
	bool     evicted;            /* a closing conntrack entry on that tuple
				      * was killed to make room (engine removes it) */
	uint32_t probes;
};

/* The outside address and port netfilter's get_unique_tuple() (or the
 * vendor preset's rule) gives a new connection. */
struct nat_pick nat_pick_port(struct nat_state *ns, const struct nat_req *req,
			      struct model_rng *rng, nat_tuple_fn tuple, void *ctx);

/* One-to-one dynamic pool: which free address a client gets. No vendor
 * documents the order, so this is an assumption, stated: the address free
 * the longest (least recently released; never-used first, then lowest
 * index). A "lowest free" box would hand a just-released address straight
 * back and collide more. released_ms[i]: when address i was last released
 * (0: never used); busy[i]: held now. Returns the index, or -1 if the pool
 * is exhausted (the session is dropped). */
int nat_one_to_one_pick(const uint64_t *released_ms, const bool *busy, uint32_t n);

/* ---- client clocks: TCP timestamps and ISNs -------------------------------
 * include/net/tcp.h tcp_time_stamp / tcp_clock_ts, net/core/secure_seq.c
 * secure_tcp_ts_off(), secure_tcp_seq(), secure_tcp_seq_and_ts_off(). */
struct host_clock {
	enum ts_clock kind;          /* from model.h */
	unsigned ts_hz;              /* TS ticks per second (HZ for jiffies) */
	bool     offsets;            /* false: tcp_timestamps=2 (or before 4.10) */
	bool     per_tuple_410;      /* 4.10 only: offset per 4-tuple, own key */
	uint64_t boot_uptime_ms;     /* uptime when the simulation starts */
	struct model_key net_secret; /* ISN key */
	struct model_key ts_secret;  /* TS offset key */
	/* one-entry memo of the per-(saddr,daddr) offset (tcp_conn_clock) */
	bool     memo_ok;
	uint32_t memo_saddr, memo_daddr, memo_off;
};

/* The clock a kernel release runs (kver from kver_parse()), with the host's
 * net.ipv4.tcp_timestamps (1 default, 2: no offsets) and its uptime at
 * simulated time 0; secrets drawn from rng. */
void host_clock_init(struct host_clock *c, uint32_t kver, int tcp_timestamps,
		     uint64_t boot_uptime_ms, struct model_rng *rng);
enum ts_clock ts_clock_for(uint32_t kver);

/* TSval of a segment sent at simulated time sim_ms on this 4-tuple. */
uint32_t tcp_tsval(const struct host_clock *c, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint64_t sim_ms);
/* The offset alone (tcp_sk(sk)->tsoffset; 0 without offsets). */
uint32_t tcp_ts_offset(const struct host_clock *c, uint32_t saddr, uint32_t daddr,
		       uint16_t sport, uint16_t dport);
/* ISN of a connect() at wall-clock time real_ns: keyed hash of the 4-tuple
 * + (real_ns >> 6). */
uint32_t tcp_isn(const struct host_clock *c, uint32_t saddr, uint32_t daddr,
		 uint16_t sport, uint16_t dport, uint64_t real_ns);

/* The hot path: hash a connection's 4-tuple once at connect() (one SipHash
 * on 6.18.17+, where one hash gives both; the pair offset of older kernels
 * is memoised per host), then every TSval and the ISN are arithmetic.
 * conn_tsval(c, k, t) == tcp_tsval(c, 4-tuple, t) and conn_isn(k, t) ==
 * tcp_isn(c, 4-tuple, t) (test_model_clock checks both). */
struct conn_clock { uint32_t ts_off, isn_hash; };
void tcp_conn_clock(struct host_clock *c, uint32_t saddr, uint32_t daddr,
		    uint16_t sport, uint16_t dport, struct conn_clock *out);
/* The host's TS clock without offset at simulated time sim_ms. */
static inline uint32_t host_ts_clock(const struct host_clock *c, uint64_t sim_ms)
{
	uint64_t up = c->boot_uptime_ms + sim_ms;
	if (c->kind == TS_CLOCK_JIFFIES)   /* INITIAL_JIFFIES = -300 * HZ */
		return (uint32_t)(-(int32_t)(300 * c->ts_hz)) + (uint32_t)(up * c->ts_hz / 1000);
	return (uint32_t)up;
}
static inline uint32_t conn_tsval(const struct host_clock *c, const struct conn_clock *k,
				  uint64_t sim_ms)
{
	return host_ts_clock(c, sim_ms) + k->ts_off;
}
static inline uint32_t conn_isn(const struct conn_clock *k, uint64_t real_ns)
{
	return k->isn_hash + (uint32_t)(real_ns >> 6);
}

#endif
