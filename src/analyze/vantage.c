/*
 * vantage.c - which capture is which, when one incident was captured at
 * several points (the client, the firewall's inside or outside interface,
 * the server), and how a collision's bare ACK travelled between them.
 *
 * Detection looks at the first SYNs of each file. The same SYN seen in two
 * files carries the same ISN and TCP timestamp (a NAT rewrites addresses
 * and ports, not those). Along the path client -> server:
 *   - each router hop takes one off the SYN's TTL and the reply's, so the
 *     SYN's TTL falls and the SYN-ACK's TTL rises toward the server;
 *   - where clocks agree (one host, or synchronised), the SYN is seen
 *     later toward the server;
 *   - a file whose SYNs carry other addresses than the same SYNs nearest
 *     the server is before the NAT (the client, or the firewall's inside).
 * The file nearest the server is the server when its own replies carry an
 * initial TTL (64, 128 or 255: not forwarded), else the firewall's outside
 * interface; a file before the NAT is the client when its SYNs carry an
 * initial TTL, else the firewall's inside interface.
 */
#include "analyze/analyze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[AN_ROLE__N] = {
	"unknown", "client", "firewall-inside", "firewall-outside", "server",
};

const char *an_role_str(enum an_role r)
{
	return r < AN_ROLE__N ? role_names[r] : "unknown";
}

bool an_role_parse(const char *s, enum an_role *out)
{
	for (int i = 1; i < AN_ROLE__N; i++)
		if (!strcmp(s, role_names[i])) {
			*out = (enum an_role)i;
			return true;
		}
	if (!strcmp(s, "firewall")) {
		*out = AN_ROLE_FW_OUTSIDE;
		return true;
	}
	return false;
}

#define LOOK_SYNS 512                  /* SYNs looked at per file */
#define LOOK_SEGS 200000               /* ... within this many segments */

struct look_syn {
	uint32_t seq, tsval;
	bool     has_ts;
	uint8_t  family, saddr[16], daddr[16];
	uint16_t sport, dport;
	double   ts;
};

struct look {
	struct look_syn syn[LOOK_SYNS];
	unsigned nsyn;
	unsigned syn_ttl[256], reply_ttl[256];
	int      syn_mode, reply_mode;         /* most common TTL; -1 none */
	bool     ok;
};

static int mode(const unsigned *h)
{
	int best = -1;
	for (int i = 0; i < 256; i++)
		if (h[i] && (best < 0 || h[i] > h[best]))
			best = i;
	return best;
}

static bool initial_ttl(int t) { return t == 64 || t == 128 || t == 255; }

static void look_at(const char *file, struct look *l)
{
	char err[256];
	const char *files[1] = { file };
	struct capture *c = capture_open(files, 1, err, sizeof err);
	struct tcp_seg s;
	unsigned long n = 0;

	memset(l, 0, sizeof *l);
	if (!c)
		return;
	while (n++ < LOOK_SEGS && l->nsyn < LOOK_SYNS && capture_next(c, &s, err, sizeof err) == 1) {
		if ((s.flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN) {
			struct look_syn *y = &l->syn[l->nsyn++];
			y->seq = s.seq;
			y->tsval = s.tsval;
			y->has_ts = s.has_ts;
			y->family = s.family;
			memcpy(y->saddr, s.saddr, 16);
			memcpy(y->daddr, s.daddr, 16);
			y->sport = s.sport;
			y->dport = s.dport;
			y->ts = s.ts;
			l->syn_ttl[s.ttl]++;
		} else if ((s.flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
			l->reply_ttl[s.ttl]++;
		}
	}
	capture_close(c);
	l->syn_mode = mode(l->syn_ttl);
	l->reply_mode = mode(l->reply_ttl);
	l->ok = l->nsyn > 0;
}

/* The same SYN in both: how many, with the same addresses or not, and
 * the mean time from a to b. */
struct pair { unsigned shared, same_addr; double dt; };

static struct pair compare(const struct look *a, const struct look *b)
{
	struct pair p = { 0, 0, 0 };
	for (unsigned i = 0; i < a->nsyn; i++)
		for (unsigned j = 0; j < b->nsyn; j++) {
			const struct look_syn *x = &a->syn[i], *y = &b->syn[j];
			if (x->seq != y->seq || x->has_ts != y->has_ts || x->tsval != y->tsval)
				continue;
			p.shared++;
			p.same_addr += x->family == y->family && x->sport == y->sport && x->dport == y->dport &&
				       !memcmp(x->saddr, y->saddr, 16) && !memcmp(x->daddr, y->daddr, 16);
			p.dt += y->ts - x->ts;
			break;
		}
	if (p.shared)
		p.dt /= p.shared;
	return p;
}

/* Is a nearer the client than b? TTLs first (clock-free), then time. */
static bool nearer_client(const struct look *a, const struct look *b, const struct pair *ab)
{
	if (a->syn_mode >= 0 && b->syn_mode >= 0 && a->syn_mode != b->syn_mode)
		return a->syn_mode > b->syn_mode;
	if (a->reply_mode >= 0 && b->reply_mode >= 0 && a->reply_mode != b->reply_mode)
		return a->reply_mode < b->reply_mode;
	return ab->dt > 0;             /* b saw the SYN later */
}

int an_vantage_detect(struct an_vantage *v, size_t n, char *err, size_t errlen)
{
	struct look *l = calloc(n, sizeof *l);
	int rc = 0;

	err[0] = 0;
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= v[i].role == AN_ROLE_UNKNOWN;
	for (size_t i = 0; any && i < n; i++)
		look_at(v[i].name, &l[i]);     /* named ones too: the others are placed against them */
	/* the server-most file: nearer the server than every file it shares SYNs with */
	int far = -1;
	for (size_t i = 0; i < n; i++) {
		if (!l[i].ok)
			continue;
		bool best = true, shares = false;
		for (size_t j = 0; j < n && best; j++) {
			if (j == i || !l[j].ok)
				continue;
			struct pair p = compare(&l[i], &l[j]);
			if (!p.shared)
				continue;
			shares = true;
			best = !nearer_client(&l[i], &l[j], &p);
		}
		if (best && shares && (far < 0 || l[i].syn_mode < l[far].syn_mode))
			far = (int)i;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].role != AN_ROLE_UNKNOWN)
			continue;
		if (!l[i].ok) {
			v[i].why = "no SYN in its first packets";
			continue;
		}
		struct pair p = far >= 0 && (int)i != far ? compare(&l[i], &l[far]) : (struct pair){ 0, 0, 0 };
		if ((int)i == far || (far >= 0 && p.shared && p.same_addr == p.shared && !nearer_client(&l[i], &l[far], &p))) {
			bool own = initial_ttl(l[i].reply_mode);
			v[i].role = own ? AN_ROLE_SERVER : AN_ROLE_FW_OUTSIDE;
			v[i].why = own ? "nearest the server; the SYN-ACKs carry an initial TTL (sent here)"
				       : "nearest the server; the SYN-ACKs were forwarded (TTL below an initial one)";
		} else if (p.shared && p.same_addr < p.shared) {
			bool own = initial_ttl(l[i].syn_mode);
			v[i].role = own ? AN_ROLE_CLIENT : AN_ROLE_FW_INSIDE;
			v[i].why = own ? "its SYNs are seen NATed nearer the server; they carry an initial TTL (sent here)"
				       : "its SYNs are seen NATed nearer the server; they were forwarded (TTL below initial)";
		} else if (p.shared) {
			v[i].role = initial_ttl(l[i].syn_mode) ? AN_ROLE_CLIENT : AN_ROLE_FW_OUTSIDE;
			v[i].why = "the same SYNs, same addresses, nearer the client";
		} else {
			v[i].why = "shares no SYN with the capture nearest the server";
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].role == AN_ROLE_UNKNOWN) {
			size_t k = strlen(err);
			snprintf(err + k, errlen - k, "%s%s: %s", k ? "; " : "", v[i].name, v[i].why);
			rc = -1;
		}
	free(l);
	return rc;
}

/* ---- how a bare ACK travelled */

static const char *stem(const char *name, char *buf, size_t len)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	snprintf(buf, len, "%s", b);
	char *d = strrchr(buf, '.');
	if (d && d != buf)
		*d = 0;
	return buf;
}

static const char *where(const struct an_vantage *v, char *buf, size_t len)
{
	char s[128];
	switch (v->role) {
	case AN_ROLE_SERVER: return "the server";
	case AN_ROLE_FW_OUTSIDE: return "the firewall's outside interface";
	case AN_ROLE_FW_INSIDE: return "the firewall's inside interface";
	default: snprintf(buf, len, "%s", stem(v->name, s, sizeof s)); return buf;
	}
}

const char *an_path_drop_str(const struct an_path *p, const struct an_vantage *v)
{
	if (!p->known || p->lost_before < 0 || p->last_seen < 0)
		return NULL;
	enum an_role a = v[p->last_seen].role, b = v[p->lost_before].role;
	if (a == AN_ROLE_FW_OUTSIDE)
		return "firewall";                 /* in at its outside, not out at its inside */
	if (a == AN_ROLE_SERVER && b == AN_ROLE_FW_OUTSIDE)
		return "before_firewall";
	if (a == AN_ROLE_FW_INSIDE)
		return "after_firewall";
	return "between";                          /* server -> inside/client, no capture between */
}

void an_path_text(const struct an_path *p, const struct an_vantage *v, size_t n, char *buf, size_t len)
{
	char w[128];
	size_t o = 0;
	(void)n;
	buf[0] = 0;
	if (!p->known) {
		snprintf(buf, len, "not traced");
		return;
	}
	/* the points along the way back, server first, that saw it */
	for (int r = AN_ROLE_SERVER; r >= AN_ROLE_CLIENT; r--)
		for (size_t i = 0; i < n && i < AN_MAX_VANTAGE; i++) {
			if (v[i].role != (enum an_role)r || !(p->ack_seen >> i & 1))
				continue;
			if (r == AN_ROLE_CLIENT && (int)i != p->client_file)
				continue;
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s %s", o ? ", " : "",
					      r == AN_ROLE_SERVER ? "left" : "reached", where(&v[i], w, sizeof w));
			break;
		}
	const char *d = an_path_drop_str(p, v);
	if (p->lost_before < 0 && p->client_file < 0) {
		snprintf(buf + o, o < len ? len - o : 0, "%sfollowed no further: the capture of the client "
			 "that sent the SYN is not among the files", o ? "; " : "");
		return;
	}
	if (p->lost_before < 0) {
		snprintf(buf + o, o < len ? len - o : 0, ": delivered, no drop");
		return;
	}
	const char *by = !d ? "" : !strcmp(d, "firewall") ? "dropped by the firewall"
		: !strcmp(d, "before_firewall") ? "lost between the server and the firewall"
		: !strcmp(d, "after_firewall") ? "lost between the firewall and the client"
		: "lost on the way (no capture between to say where)";
	snprintf(buf + o, o < len ? len - o : 0, ", never reached %s: %s", where(&v[p->lost_before], w, sizeof w),
		 by);
}
