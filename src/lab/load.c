/*
 * load.c - `lab load`: one NAT mode under real load, measured.
 *
 *   1. lab_up() builds the report's lab (topo.c); then this file adapts it:
 *      each client's own address (scenario [client] addresses, as the route's
 *      preferred source: connect() stays unbound), the clients' port range,
 *      the firewall's NAT mode (load_nat.c), the epoll server instead of
 *      python's when asked.
 *   2. The server's capture (tcpdump) and the firewall's conntrack events
 *      (`conntrack -E`: which client got which SNAT address) run alongside.
 *   3. One generator per client namespace (load_gen.c, lab_in_ns), records
 *      into shared memory; progress on stderr; Ctrl-C stops them.
 *   4. Collisions counted twice: the server namespace's TcpExtPAWSTimewait
 *      delta, and analyze (src/analyze/) over the server's capture.
 *   5. lab_down().
 */
#include "lab/load.h"
#include "run/kernel.h"
#include "util/inet.h"
#include "util/clock.h"
#include "util/stats.h"
#include "analyze/analyze.h"
#include "capture/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *load_outcome_str(enum load_outcome o)
{
	static const char *const s[] = { "ok", "delayed", "timed_out", "refused", "error", "unfinished" };
	return (unsigned)o < sizeof s / sizeof s[0] ? s[o] : "?";
}


static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

double load_quantile(float *v, size_t n, double q)
{
	size_t i;
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_float);
	/* nearest rank */
	i = (size_t)ceil(q * (double)n);
	return v[i ? i - 1 : 0];
}

/* "[NEW] tcp 6 120 SYN_SENT src=A dst=S sport=P dport=80 [UNREPLIED]
 *  src=SRV dst=NAT sport=80 dport=NP" */
int load_ct_parse(const char *line, struct load_ct_ev *e)
{
	static const struct { const char *tag; int type; } tags[] = {
		{ "[NEW]", 1 }, { "[UPDATE]", 2 }, { "[DESTROY]", -1 },
	};
	const char *p = NULL;
	unsigned nsrc = 0, ndst = 0, nsp = 0, ndp = 0;
	char *end;

	memset(e, 0, sizeof *e);
	e->timeout = -1;
	if (line[0] == '[' && line[1] >= '0' && line[1] <= '9')
		e->ts = strtod(line + 1, NULL);
	for (size_t i = 0; i < sizeof tags / sizeof tags[0] && !p; i++)
		if ((p = strstr(line, tags[i].tag)))
			e->type = tags[i].type;
	if (!p || !(p = strstr(p, " tcp ")))
		return e->type = 0;
	/* "tcp      6 120 SYN_SENT": the protocol number, then the timeout */
	strtol(p + 5, &end, 10);
	if (end != p + 5) {
		char *num = end;
		long t = strtol(num, &end, 10);
		if (end != num && *end == ' ' && t >= 0)
			e->timeout = t;
	}
	while ((p = strpbrk(p, "sd"))) {
		char addr[INET_ADDRSTRLEN];
		struct in_addr in;
		unsigned long v;
		int n = 0;
		if (!strncmp(p, "src=", 4) || !strncmp(p, "dst=", 4)) {
			bool is_src = p[0] == 's';
			if (sscanf(p + 4, "%15[0-9.]%n", addr, &n) != 1 || inet_pton(AF_INET, addr, &in) != 1)
				return e->type = 0;
			if (is_src && nsrc++ == 0)
				e->src = ntohl(in.s_addr);
			if (!is_src && ++ndst == 2)
				e->nat = ntohl(in.s_addr);
			p += 4 + n;
		} else if (!strncmp(p, "sport=", 6) || !strncmp(p, "dport=", 6)) {
			bool is_s = p[0] == 's';
			v = strtoul(p + 6, &end, 10);
			if (end == p + 6 || v > 65535)
				return e->type = 0;
			if (is_s && nsp++ == 0)
				e->sport = (uint16_t)v;
			if (!is_s && ++ndp == 2)
				e->nat_port = (uint16_t)v;
			p = end;
		} else {
			p++;
		}
	}
	if (nsrc < 1 || ndst < 2 || nsp < 1 || ndp < 2)
		e->type = 0;
	return e->type;
}

bool load_ct_line(const char *line, uint32_t *src, uint16_t *sport, uint32_t *nat,
		  uint16_t *nat_port)
{
	struct load_ct_ev e;
	if (load_ct_parse(line, &e) != 1)
		return false;
	*src = e.src;
	*sport = e.sport;
	*nat = e.nat;
	*nat_port = e.nat_port;
	return true;
}

void load_sessions_event(struct load_sessions *s, const struct load_ct_ev *e)
{
	uint16_t p = e->sport;
	bool known = s->expiry[p] != 0;

	if (e->type < 0) {
		if (known && e->ts < s->expiry[p])
			s->expiry[p] = e->ts;
		return;
	}
	if (!known && s->nactive < 65536)
		s->active[s->nactive++] = p;
	s->expiry[p] = e->ts + (double)(e->timeout >= 0 ? e->timeout : 120);
	s->nat[p] = e->nat;
}

bool load_sessions_alive(struct load_sessions *s, double t, uint32_t nat)
{
	bool alive = false;
	for (uint32_t i = 0; i < s->nactive;) {
		uint16_t p = s->active[i];
		if (s->expiry[p] <= t - 300) {       /* long gone: forget it */
			s->expiry[p] = 0;
			s->active[i] = s->active[--s->nactive];
			continue;
		}
		if (s->expiry[p] > t && (!nat || s->nat[p] == nat))
			alive = true;
		i++;
	}
	return alive;
}

static double mono(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* ---- threads that each run one lab_in_ns() child ---- */

struct nsjob {
	pthread_t th;
	char ns[32];
	int (*fn)(void *);
	void *arg;
	int rc;
	bool started;
};

static void *nsjob_run(void *p)
{
	struct nsjob *j = p;
	j->rc = lab_in_ns(j->ns, j->fn, j->arg);
	return NULL;
}

/* The children close the parent's end of the stop pipe first thing, so
 * its EOF (the parent closing it, or dying) reaches them. */
struct gen_wrap { struct load_gen_cfg cfg; int stop_wfd; };
static int gen_entry(void *p)
{
	struct gen_wrap *w = p;
	close(w->stop_wfd);
	return load_gen_main(&w->cfg);
}
struct srv_wrap { struct load_server_cfg cfg; int stop_wfd, ready_rfd; };
struct pool_wrap { struct load_pool_cfg cfg; int stop_wfd, ready_rfd; };
static int pool_entry(void *p)
{
	struct pool_wrap *w = p;
	close(w->stop_wfd);
	close(w->ready_rfd);
	return load_pool_main(&w->cfg);
}
static int srv_entry(void *p)
{
	struct srv_wrap *w = p;
	close(w->stop_wfd);
	close(w->ready_rfd);
	return load_server_main(&w->cfg);
}

/* Inside the server's namespace: one request to the server, from the
 * server's own address (no client tuple is touched). */
struct ready_req { uint32_t addr; uint16_t port; };
static int server_answers(void *p)
{
	struct ready_req *q = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(q->port),
				  .sin_addr.s_addr = htonl(q->addr) };
	char buf[512];
	const char req[] = "GET / HTTP/1.0\r\n\r\n";
	size_t got = 0;
	ssize_t n;
	struct timeval tv = { 1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    send(fd, req, sizeof req - 1, 0) != (ssize_t)(sizeof req - 1)) {
		close(fd);
		return 2;
	}
	while ((n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0 && got < sizeof buf - 1)
		got += (size_t)n;
	close(fd);
	buf[got] = 0;
	return strstr(buf, "HTTP/1.") ? 0 : 3;
}

static int start_bg(struct lab *L, const char *const argv[], const char *log,
		    char *err, size_t errlen)
{
	pid_t pid;
	if (L->ndump >= sizeof L->dump_pid / sizeof L->dump_pid[0]) {
		snprintf(err, errlen, "too many background processes");
		return -1;
	}
	pid = lab_spawn(L, argv, log, log);
	if (pid < 0) {
		snprintf(err, errlen, "cannot start %s: %s", argv[4], strerror(errno));
		return -1;
	}
	L->dump_pid[L->ndump++] = pid;
	return 0;
}

static bool file_has(const char *path, const char *needle)
{
	char line[512];
	bool yes = false;
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (!yes && fgets(line, sizeof line, f))
		yes = strstr(line, needle) != NULL;
	fclose(f);
	return yes;
}

/* One analyze pass over the server's capture, fed only the 4-tuples whose
 * client port is part (mod parts): collisions are per 4-tuple, so the
 * passes add up exactly. Adds to r; false if analyze listed fewer
 * collisions than it found (the caller splits finer). */
static int analyze_part(struct lab *L, struct load_result *r, unsigned part, unsigned parts,
			bool *complete, char *err, size_t errlen)
{
	const char *files[1] = { r->pcap };
	struct capture *c = capture_open(files, 1, err, errlen);
	struct an_opts o = { .have_server = true, .server_family = 4,
			     .server_port = L->sc.server_port };
	struct analyzer *a;
	const struct an_result *ar;
	struct tcp_seg s;
	uint32_t srv = htonl(L->sc.server_addr);
	int rc;

	if (!c)
		return -1;
	o.kernel = host_kernel();
	memcpy(o.server_addr, &srv, 4);
	if (!(a = an_new(&o))) {
		capture_close(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((rc = capture_next(c, &s, err, errlen)) == 1) {
		uint16_t cport = s.dport == L->sc.server_port ? s.sport : s.dport;
		if (cport % parts == part)
			an_segment(a, &s);
	}
	capture_close(c);
	ar = an_finish(a);
	r->cap_collisions += ar->collisions;
	r->cap_paws += ar->coll_paws;
	r->cap_seq += ar->coll_seq;
	r->cap_recovered += ar->recovered;
	r->cap_timed_out += ar->timed_out;
	r->cap_port_reuses += ar->port_reuses;
	r->cap_connections += ar->connections;
	/* every SYN of a PAWS collision was rejected by PAWS (and counted by
	 * the kernel in TcpExtPAWSTimewait), except the retransmission that
	 * finally drew a SYN-ACK after the client's RST killed TIME_WAIT */
	for (unsigned i = 0; i < ar->listed; i++) {
		const struct an_collision *k = &ar->list[i];
		if (k->d.cause == TW_CAUSE_PAWS)
			r->cap_paws_syns += k->syns - (k->outcome == AN_RECOVERED && k->syns > 0);
	}
	*complete = ar->listed == ar->collisions;
	an_free(a);
	return rc < 0 ? -1 : 0;
}

/* What analyze finds in the server's capture: one pass, or as many as it
 * takes for analyze to list every collision (AN_MAX_LISTED per pass). */
static int count_capture(struct lab *L, struct load_result *r, char *err, size_t errlen)
{
	unsigned parts = 1;
	for (int attempt = 0; attempt < 3; attempt++) {
		bool all = true;
		uint64_t found;
		r->cap_collisions = r->cap_paws = r->cap_seq = r->cap_recovered = 0;
		r->cap_timed_out = r->cap_port_reuses = r->cap_connections = r->cap_paws_syns = 0;
		for (unsigned p = 0; p < parts; p++) {
			bool complete;
			if (analyze_part(L, r, p, parts, &complete, err, errlen))
				return -1;
			all &= complete;
		}
		if (all)
			return 0;
		found = r->cap_collisions;
		parts = (unsigned)(found / (AN_MAX_LISTED / 2)) + 2 + parts;
	}
	r->cap_paws_syns = UINT64_MAX;            /* could not list them all */
	return 0;
}

/* Which client got which SNAT address: the firewall's NEW events. For a
 * one-to-one pool also whether an address ever carried live sessions of
 * two clients at once (it must not). */
static void count_conntrack(const char *path, struct load_result *r, bool check_shared)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	struct load_sessions *ss = check_shared ? calloc(r->clients, sizeof *ss) : NULL;

	if (!f) {
		free(ss);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		struct load_ct_ev e;
		unsigned i;
		if (!load_ct_parse(line, &e))
			continue;
		for (i = 0; i < r->clients && r->client[i].addr != e.src; i++)
			;
		if (i == r->clients)
			continue;
		if (e.type == 1 && ss) {
			for (unsigned o = 0; o < r->clients; o++)
				if (o != i && load_sessions_alive(&ss[o], e.ts, e.nat)) {
					r->addr_shared++;
					break;
				}
		}
		if (ss)
			load_sessions_event(&ss[i], &e);
		if (e.type == 1) {
			struct load_client *c = &r->client[i];
			unsigned k;
			r->ct_new++;
			r->ct_port_changed += e.sport != e.nat_port;
			for (k = 0; k < c->naddr && c->snat[k] != e.nat; k++)
				;
			if (k == c->naddr && c->naddr < LOAD_MAX_ADDRS)
				c->snat[c->naddr++] = e.nat;
			if (k < c->naddr)
				c->snat_conns[k]++;
		}
	}
	fclose(f);
	free(ss);
}

/* Packets the capture lost: tcpdump's own "dropped by kernel", plus those
 * the filter took but tcpdump never wrote ("received by filter" minus
 * "captured"), from its last statistics block. */
static unsigned long long tcpdump_lost(const char *log)
{
	char line[256];
	unsigned long long cap = 0, recv = 0, drop = 0, v;
	FILE *f = fopen(log, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%llu", &v) != 1)
			continue;
		if (strstr(line, "packets captured"))
			cap = v;
		else if (strstr(line, "received by filter"))
			recv = v;
		else if (strstr(line, "dropped by kernel"))
			drop = v;
	}
	fclose(f);
	return drop + (recv > cap ? recv - cap : 0);
}

uint32_t load_client_addr(const struct scenario *s, unsigned i)
{
	return i < s->nclient_addr ? s->client_addr[i] : 0xc6120002u | (i + 1) << 8;
}

int lab_load(struct lab *L, const struct load_opts *o, struct load_result *r,
	     char *err, size_t errlen)
{
	const struct fleet *f = &L->sc.fleet;
	char fw[32], srv[32], ns[32], log[600], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	char cidr[64], ctlog[700], dumplog[700], buf[128];
	struct load_nat nat;
	uint32_t caddr[SCEN_MAX_CLIENTS];
	struct nsjob gen[SCEN_MAX_CLIENTS], server = { 0 }, pool = { 0 };
	struct pool_wrap pw;
	struct load_pool_stats *pst = MAP_FAILED;
	int pready[2] = { -1, -1 };
	struct gen_wrap gw[SCEN_MAX_CLIENTS];
	struct srv_wrap sw;
	struct load_shared *sh[SCEN_MAX_CLIENTS] = { 0 };
	size_t shlen = 0;
	_Atomic uint64_t *served = MAP_FAILED;
	int stop[2] = { -1, -1 }, ready[2] = { -1, -1 };
	long long paws0 = -1, tw0 = -1;
	double t0 = 0, t_end, next_progress;
	unsigned nc = L->sc.clients;
	int rc = -1;

	memset(r, 0, sizeof *r);
	memset(gen, 0, sizeof gen);
	r->nstat_paws = r->nstat_tw = -1;
	r->clients = nc;
	snprintf(r->out, sizeof r->out, "%s", L->outdir);
	snprintf(r->pcap, sizeof r->pcap, "%s/server.pcap", L->outdir);
	snprintf(log, sizeof log, "%s/lab.log", L->outdir);
	snprintf(ctlog, sizeof ctlog, "%s/conntrack-events.txt", L->outdir);
	snprintf(dumplog, sizeof dumplog, "%s/server.tcpdump.log", L->outdir);
	unlink(dumplog);
	unlink(ctlog);
	if (o->keepalive_row)
		snprintf(r->mode, sizeof r->mode, "keepalive");
	else
		snat_spec_str(&o->snat, r->mode, sizeof r->mode);
	for (unsigned i = 0; i < nc; i++) {
		caddr[i] = load_client_addr(&L->sc, i);
		r->client[i].addr = caddr[i];
	}
	if (!load_nat_build(&L->sc, &o->snat, caddr, nc, &nat, err, errlen))
		return -1;

	lab_guard(L);
	if (lab_up(L, err, errlen))
		goto out;
	lab_ns(L, "fw", fw, sizeof fw);
	lab_ns(L, "srv", srv, sizeof srv);

	/* clients: own address (as the route's preferred source) and port range */
	for (unsigned i = 0; i < nc; i++) {
		uint32_t def = 0xc6120002u | (i + 1) << 8, gwa = 0xc6120001u | (i + 1) << 8;
		char range[80];
		lab_client_ns(L, i, ns, sizeof ns);
		if (caddr[i] != def) {
			snprintf(cidr, sizeof cidr, "%s/24", ip4_str(caddr[i], a));
			if (LAB_RUN("ip", "-n", ns, "addr", "add", cidr, "dev", "eth0"))
				goto out;
			if (LAB_RUN("ip", "-n", ns, "route", "replace", "198.18.0.0/15", "via", ip4_str(gwa, b),
				    "src", ip4_str(caddr[i], a)))
				goto out;
		}
		snprintf(range, sizeof range, "net.ipv4.ip_local_port_range=%u %u", f->port_lo, f->port_hi);
		if (LAB_RUN("ip", "netns", "exec", ns, "sysctl", "-qw", range))
			goto out;
	}
	/* firewall: the pool's addresses, the mode's rules */
	for (unsigned i = 0; i < nat.npool; i++) {
		if (nat.pool[i] == L->sc.snat_addr)
			continue;
		snprintf(cidr, sizeof cidr, "%s/32", ip4_str(nat.pool[i], a));
		if (LAB_RUN("ip", "-n", fw, "addr", "add", cidr, "dev", "gw"))
			goto out;
	}
	if (lab_nft(L, fw, "snat", nat.rules, log, err, errlen))
		goto out;

	/* server */
	if (pipe2(stop, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	served = mmap(NULL, sizeof *served, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (served == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		goto out;
	}
	atomic_store(served, 0);
	if (o->server == LOAD_SERVER_EPOLL && !L->dry_run) {
		struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
		lab_stop(L->server_pid);          /* python, started by lab_up */
		L->server_pid = 0;
		sw.cfg = (struct load_server_cfg){ .addr = L->sc.server_addr, .port = L->sc.server_port,
						   .stop_fd = stop[0], .ready_fd = ready[1], .served = served };
		sw.stop_wfd = stop[1];
		sw.ready_rfd = ready[0];
		snprintf(server.ns, sizeof server.ns, "%s", srv);
		server.fn = srv_entry;
		server.arg = &sw;
		if (pthread_create(&server.th, NULL, nsjob_run, &server)) {
			snprintf(err, errlen, "cannot start the server thread");
			goto out;
		}
		server.started = true;
		if (poll(&pfd, 1, 5000) != 1) {
			snprintf(err, errlen, "the epoll server did not start in %s", srv);
			goto out;
		}
	}
	if (L->dry_run) {
		rc = 0;
		goto out;
	}
	{
		struct ready_req q = { L->sc.server_addr, L->sc.server_port };
		int k;
		for (k = 0; k < 50 && !lab_interrupted && lab_in_ns(srv, server_answers, &q); k++)
			run_sleep(0.1);
		if (k == 50) {
			snprintf(err, errlen, "the server does not answer (see %s/server.log)", L->outdir);
			goto out;
		}
	}
	/* the server's capture and the firewall's NAT bindings */
	{
		const char *td[] = { "ip", "netns", "exec", srv, "tcpdump", "-i", "eth0", "-n", "-s", "128",
				     "-B", "16384", "--immediate-mode", "-U", "-w", r->pcap, "tcp", NULL };
		const char *ct[] = { "ip", "netns", "exec", fw, "stdbuf", "-oL", "conntrack", "-E", "-o", "timestamp", "-e", "NEW,UPDATE,DESTROY",
				     "-p", "tcp", "-b", "8388608", NULL };
		int k;
		if (start_bg(L, td, dumplog, err, errlen) || start_bg(L, ct, ctlog, err, errlen))
			goto out;
		for (k = 0; k < 50 && !file_has(dumplog, "listening on"); k++)
			run_sleep(0.1);
		if (k == 50) {
			snprintf(err, errlen, "tcpdump did not start (see %s)", dumplog);
			goto out;
		}
		run_sleep(0.3);                     /* conntrack -E has subscribed */
	}
	/* one-to-one: the pool's allocator, then the rule that queues to it */
	if (nat.queue) {
		struct pollfd pfd;
		pst = mmap(NULL, sizeof *pst, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (pst == MAP_FAILED || pipe2(pready, O_CLOEXEC) < 0) {
			snprintf(err, errlen, "one-to-one: %s", strerror(errno));
			goto out;
		}
		memset(pst, 0, sizeof *pst);
		pw.cfg = (struct load_pool_cfg){ .n = nat.npool, .qnum = LOAD_POOL_QUEUE, .nclients = nc,
						 .events = ctlog, .stop_fd = stop[0], .ready_fd = pready[1],
						 .st = pst };
		memcpy(pw.cfg.client_addr, caddr, sizeof caddr);
		pw.stop_wfd = stop[1];
		pw.ready_rfd = pready[0];
		snprintf(pool.ns, sizeof pool.ns, "%s", fw);
		pool.fn = pool_entry;
		pool.arg = &pw;
		if (pthread_create(&pool.th, NULL, nsjob_run, &pool)) {
			snprintf(err, errlen, "cannot start the pool allocator");
			goto out;
		}
		pool.started = true;
		pfd = (struct pollfd){ .fd = pready[0], .events = POLLIN };
		if (poll(&pfd, 1, 5000) != 1 || !(pfd.revents & POLLIN)) {
			snprintf(err, errlen, "one-to-one: the allocator did not start (nfnetlink_queue?)");
			goto out;
		}
		if (LAB_RUN("ip", "netns", "exec", fw, "iptables", "-t", "mangle", "-A", "FORWARD", "-o", "gw",
			    "-p", "tcp", "--syn", "-m", "conntrack", "--ctstate", "NEW", "-j", "NFQUEUE",
			    "--queue-num", "0"))
			goto out;
	}
	paws0 = lab_counter(srv, "TcpExtPAWSTimewait");
	tw0 = lab_counter(srv, "TcpExtTW");

	/* the generators */
	{
		double per = f->rate * f->duration_s * 1.3 + 2000;
		uint64_t cap = per > 4e6 ? 4000000 : (uint64_t)per;
		shlen = sizeof(struct load_shared) + cap * sizeof(struct load_rec);
		for (unsigned i = 0; i < nc; i++) {
			sh[i] = mmap(NULL, shlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (sh[i] == MAP_FAILED) {
				sh[i] = NULL;
				snprintf(err, errlen, "mmap: %s", strerror(errno));
				goto out;
			}
			sh[i]->cap = cap;
		}
	}
	t0 = mono();
	for (unsigned i = 0; i < nc; i++) {
		gw[i].cfg = (struct load_gen_cfg){
			.client = i, .service_addr = L->sc.service_addr, .service_port = L->sc.service_port,
			.rate = f->rate, .periodic = f->periodic, .keepalive = o->keepalive,
			.duration_s = f->duration_s, .connect_timeout_s = L->sc.connect_timeout,
			.t0 = t0, .seed = i + 1, .stop_fd = stop[0], .sh = sh[i] };
		gw[i].stop_wfd = stop[1];
		lab_client_ns(L, i, gen[i].ns, sizeof gen[i].ns);
		gen[i].fn = gen_entry;
		gen[i].arg = &gw[i];
		if (pthread_create(&gen[i].th, NULL, nsjob_run, &gen[i])) {
			snprintf(err, errlen, "cannot start a generator thread");
			goto out;
		}
		gen[i].started = true;
	}
	/* progress; the generators stop by themselves after the duration */
	next_progress = t0 + 1;
	t_end = t0 + f->duration_s + L->sc.connect_timeout + 15;
	for (;;) {
		unsigned done = 0;
		uint64_t n = 0, to = 0;
		for (unsigned i = 0; i < nc; i++) {
			done += atomic_load(&sh[i]->done) != 0;
			n += atomic_load(&sh[i]->n);
			to += atomic_load(&sh[i]->timed_out);
		}
		if (done == nc || lab_interrupted || mono() > t_end)
			break;
		if (o->progress && mono() >= next_progress) {
			fprintf(stderr, "twlab: lab load: %s: %5.1f/%.0f s  requests %llu  timed_out %llu\n",
				o->label ? o->label : r->mode, mono() - t0, f->duration_s,
				(unsigned long long)n, (unsigned long long)to);
			next_progress += 1;
		}
		run_sleep(0.1);
	}
	r->interrupted = lab_interrupted != 0;
	r->elapsed_s = mono() - t0;
	close(stop[1]);                           /* stop: generators and server */
	stop[1] = -1;
	for (unsigned i = 0; i < nc; i++)
		if (gen[i].started) {
			pthread_join(gen[i].th, NULL);
			gen[i].started = false;
		}
	if (r->elapsed_s > f->duration_s && !r->interrupted)
		r->elapsed_s = f->duration_s;         /* the generating window */
	/* counters, then the capture (a last moment for it to drain) */
	{
		long long p1 = lab_counter(srv, "TcpExtPAWSTimewait"), t1 = lab_counter(srv, "TcpExtTW");
		r->nstat_paws = paws0 >= 0 && p1 >= 0 ? p1 - paws0 : -1;
		r->nstat_tw = tw0 >= 0 && t1 >= 0 ? t1 - tw0 : -1;
	}
	run_sleep(1.0);      /* the capture has read what the kernel holds for it */
	for (unsigned i = 0; i < L->ndump; i++)
		lab_stop(L->dump_pid[i]);
	L->ndump = 0;

	/* what the clients saw */
	{
		size_t nlat = 0, cap_lat = 0;
		float *lat;
		for (unsigned i = 0; i < nc; i++)
			cap_lat += atomic_load(&sh[i]->n);
		lat = malloc((cap_lat ? cap_lat : 1) * sizeof *lat);
		for (unsigned i = 0; i < nc; i++) {
			struct load_client *c = &r->client[i];
			uint64_t n = atomic_load(&sh[i]->n);
			r->gen_cpu_s += sh[i]->cpu_s;
			for (uint64_t k = 0; k < n; k++) {
				const struct load_rec *x = &sh[i]->rec[k];
				if (x->outcome == LOAD_UNFINISHED) {
					r->unfinished++;
					continue;
				}
				c->requests++;
				c->ok += x->outcome == LOAD_OK;
				c->delayed += x->outcome == LOAD_DELAYED;
				c->timed_out += x->outcome == LOAD_TIMED_OUT;
				c->refused += x->outcome == LOAD_REFUSED;
				c->errors += x->outcome == LOAD_ERROR;
				if (x->outcome == LOAD_ERROR)
					r->errno_count[x->err]++;
				r->connections += !x->kept_alive;
				if (lat && !x->kept_alive && (x->outcome == LOAD_OK || x->outcome == LOAD_DELAYED))
					lat[nlat++] = x->connect_ms;
				else if (lat && x->outcome == LOAD_TIMED_OUT)
					lat[nlat++] = x->total_ms;
			}
			r->requests += c->requests;
			r->ok += c->ok;
			r->delayed += c->delayed;
			r->timed_out += c->timed_out;
			r->refused += c->refused;
			r->errors += c->errors;
		}
		r->p50_ms = lat ? load_quantile(lat, nlat, 0.50) : 0;
		r->p99_ms = lat ? load_quantile(lat, nlat, 0.99) : 0;
		r->max_ms = lat && nlat ? lat[nlat - 1] : 0;
		free(lat);
	}
	r->timeout_rate = r->requests ? (double)r->timed_out / (double)r->requests : 0;
	wilson95(r->timed_out, r->requests, &r->ci95[0], &r->ci95[1]);
	r->offered_per_s = f->rate * nc;
	r->achieved_per_s = r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0;
	r->server_served = (double)atomic_load(served);
	r->pcap_dropped = tcpdump_lost(dumplog);
	if (pst != MAP_FAILED) {
		r->pool_allocations = atomic_load(&pst->allocations);
		r->pool_releases = atomic_load(&pst->releases);
		r->pool_exhausted = atomic_load(&pst->exhausted);
	}
	count_conntrack(ctlog, r, nat.queue);
	if (count_capture(L, r, buf, sizeof buf)) {
		snprintf(err, errlen, "%s: %s", r->pcap, buf);
		goto out;
	}
	r->counts_agree = r->nstat_paws >= 0 && (uint64_t)r->nstat_paws == r->cap_paws_syns;
	rc = 0;
out:
	if (stop[1] >= 0)
		close(stop[1]);
	for (unsigned i = 0; i < nc; i++)
		if (gen[i].started)
			pthread_join(gen[i].th, NULL);
	if (server.started)
		pthread_join(server.th, NULL);
	if (pool.started)
		pthread_join(pool.th, NULL);
	for (int k = 0; k < 2; k++)
		if (pready[k] >= 0)
			close(pready[k]);
	if (pst != MAP_FAILED)
		munmap(pst, sizeof *pst);
	lab_down(L);
	for (int k = 0; k < 2; k++) {
		if (stop[k] >= 0 && k == 0)
			close(stop[k]);
		if (ready[k] >= 0)
			close(ready[k]);
	}
	for (unsigned i = 0; i < nc; i++)
		if (sh[i])
			munmap(sh[i], shlen);
	if (served != MAP_FAILED)
		munmap((void *)served, sizeof *served);
	return rc;
}
