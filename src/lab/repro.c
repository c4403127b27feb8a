/*
 * repro.c - `lab repro`: reproduce the report's incident in the lab and
 * measure it.
 *
 * Determinism: on kernels >= 4.12 every (saddr, daddr) pair has its own
 * random timestamp offset, so whether a reused port is PAWS-rejected depends
 * on which client's clock is older. We measure each client's clock toward
 * the service first (getsockopt TCP_TIMESTAMP on a real connection), then
 * let the client with the newer clock use a port and the client with the
 * older clock reuse it: every such reuse collides, every run. One reuse in
 * the other direction is the control: answered normally.
 *
 * Outcomes come from the real client (curl) and the client namespace's own
 * counters; what the server answered, and the TIME_WAIT state it held, come
 * from the server-side capture; the cause (paws/seq) comes from tw_process()
 * on those numbers, and the lab checks the model against what the server did.
 */
#include "lab/repro.h"
#include "run/kernel.h"
#include "capture/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

const char *outcome_str(enum outcome o)
{
	return o == OUT_OK ? "ok" : o == OUT_DELAYED ? "delayed" : "timed_out";
}

static double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct clock_req {
	uint32_t addr;
	uint16_t port, lport;
	int pipefd;
};

/* In the client's namespace: start a connection from local port lport to the
 * service and read the timestamp clock this socket uses (TCP_TIMESTAMP
 * includes the offset, which on 6.18 is derived from the whole 4-tuple:
 * secure_tcp_seq_and_ts_off(saddr, daddr, sport, dport)). The socket is
 * marked so the namespace drops its SYN: nothing leaves, nothing is left. */
static int probe_clock(void *arg)
{
	struct clock_req *r = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(r->port),
				  .sin_addr.s_addr = htonl(r->addr) };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(r->lport) };
	uint32_t ts = 0, mark = LAB_PROBE_MARK;
	socklen_t len = sizeof ts;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0 ||
	    bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts, &len) < 0) {
		close(fd);
		return 2;
	}
	close(fd);
	return write(r->pipefd, &ts, sizeof ts) == sizeof ts ? 0 : 3;
}

static int client_clock(struct lab *L, unsigned i, uint16_t lport, uint32_t *ts)
{
	char ns[32];
	int p[2], rc = -1;
	struct clock_req r = { L->sc.service_addr, L->sc.service_port, lport, 0 };

	lab_client_ns(L, i, ns, sizeof ns);
	if (pipe(p) < 0)
		return -1;
	r.pipefd = p[1];
	if (lab_in_ns(ns, probe_clock, &r) == 0 && read(p[0], ts, sizeof *ts) == sizeof *ts)
		rc = 0;
	close(p[0]);
	close(p[1]);
	return rc;
}

static int start_dump(struct lab *L, const char *ns, const char *ifname, int role, unsigned client,
		      struct repro_result *r, char *err, size_t errlen)
{
	struct repro_capture *cp = &r->cap[r->ncaptures];
	char log[720], name[16];
	FILE *f;

	cp->role = role;
	cp->client = client;
	if (role == CAP_CLIENT)
		snprintf(name, sizeof name, "client-%u", client);
	else
		snprintf(name, sizeof name, "%s", role == CAP_SERVER ? "server" : "firewall");
	memcpy(cp->name, name, sizeof name);
	snprintf(cp->path, sizeof cp->path, "%s/%s.pcap", L->outdir, name);
	snprintf(log, sizeof log, "%s/%s.tcpdump.log", L->outdir, name);
	const char *argv[] = { "ip", "netns", "exec", ns, "tcpdump", "-i", ifname, "-U", "-n",
			       "-s", "256", "-w", cp->path, "tcp", NULL };
	pid_t pid = lab_spawn(L, argv, log, log);
	if (pid < 0) {
		snprintf(err, errlen, "cannot start tcpdump in %s: %s", ns, strerror(errno));
		return -1;
	}
	L->dump_pid[L->ndump++] = pid;
	r->ncaptures++;
	for (int i = 0; i < 50 && !L->dry_run; i++) {     /* wait for "listening on" */
		char line[256];
		bool ready = false;
		if ((f = fopen(log, "r"))) {
			while (fgets(line, sizeof line, f))
				ready |= strstr(line, "listening on") != NULL;
			fclose(f);
		}
		if (ready)
			return 0;
		run_sleep(0.1);
	}
	if (L->dry_run)
		return 0;
	snprintf(err, errlen, "tcpdump in %s did not start (see %s)", ns, log);
	return -1;
}

/* One fetch by a real client from a fixed local port. A curl that timed
 * out (exit 28) is a timeout; a curl that could not run, or failed in any
 * other way, is an error: -1 with the reason in err. */
static int fetch(struct lab *L, unsigned client, uint16_t port, struct repro_result *r, double t0,
		 char *err, size_t errlen)
{
	struct attempt *a = &r->a[r->n];
	char ns[32], portbuf[16], tmo[16], url[64], out[700], svc[INET_ADDRSTRLEN], line[256];
	struct in_addr in = { htonl(L->sc.service_addr) };
	long long rst0, rst1, rtx0, rtx1;
	bool reported = false;
	FILE *f;
	int rc;

	if (lab_interrupted || r->n >= REPRO_MAX_ATTEMPTS) {
		snprintf(err, errlen, lab_interrupted ? "interrupted" : "too many attempts");
		return -1;
	}
	memset(a, 0, sizeof *a);
	lab_client_ns(L, client, ns, sizeof ns);
	inet_ntop(AF_INET, &in, svc, sizeof svc);
	snprintf(portbuf, sizeof portbuf, "%u", port);
	snprintf(tmo, sizeof tmo, "%u", L->sc.connect_timeout);
	snprintf(url, sizeof url, "http://%s:%u/", svc, L->sc.service_port);
	snprintf(out, sizeof out, "%s/attempt-%u.txt", L->outdir, r->n + 1);
	unlink(out);
	const char *argv[] = { "ip", "netns", "exec", ns, "curl", "-sS", "-o", "/dev/null",
			       "--local-port", portbuf, "--connect-timeout", tmo,
			       "-w", "twlab-result %{http_code} %{time_connect}\\n", url, NULL };
	a->client = client + 1;
	a->port = port;
	a->t = now_wall() - t0;
	rst0 = lab_counter(ns, "TcpOutRsts");
	rtx0 = lab_counter(ns, "TcpExtTCPSynRetrans");
	rc = lab_run(L, argv, out);
	rst1 = lab_counter(ns, "TcpOutRsts");
	rtx1 = lab_counter(ns, "TcpExtTCPSynRetrans");
	if (lab_interrupted) {
		snprintf(err, errlen, "interrupted");
		return -1;
	}
	if (rst0 < 0 || rst1 < 0 || rtx0 < 0 || rtx1 < 0) {
		snprintf(err, errlen, "client-%u: cannot read its counters in %s (is the namespace gone?)",
			 client + 1, ns);
		return -1;
	}
	a->rst_delta = rst1 - rst0;
	if ((f = fopen(out, "r"))) {
		double tc = 0;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "twlab-result %u %lf", &a->http, &tc) == 2) {
				a->connect_ms = tc * 1000.0;
				reported = true;
			}
		fclose(f);
	}
	if (rc == 28) {                       /* CURLE_OPERATION_TIMEDOUT */
		a->outcome = OUT_TIMED_OUT;
		a->connect_ms = L->sc.connect_timeout * 1000.0;
		a->http = 0;
	} else if (rc != 0 || !reported || a->http == 0) {
		snprintf(err, errlen, "client-%u: curl from port %u did not run or failed (exit %d, see %s)",
			 client + 1, port, rc, out);
		return -1;
	} else if (rtx1 > rtx0 || a->rst_delta > 0) {
		a->outcome = OUT_DELAYED;
	} else {
		a->outcome = OUT_OK;
	}
	r->n++;
	return 0;
}

/* What the server saw: per port, the last incarnation's numbers. */
struct port_state {
	uint16_t port;
	bool seen, ts;
	bool cli_fin, srv_fin, srv_tw;   /* who closed first: TIME_WAIT is the active closer's */
	uint32_t cli_end, cli_tsval, srv_end;
	double cli_last;
};

static struct port_state *port_state(struct port_state *ps, size_t *n, size_t max, uint16_t port)
{
	for (size_t i = 0; i < *n; i++)
		if (ps[i].port == port)
			return &ps[i];
	if (*n == max)
		return NULL;
	memset(&ps[*n], 0, sizeof ps[0]);
	ps[*n].port = port;
	return &ps[(*n)++];
}

static int server_view(struct lab *L, struct repro_result *r, const char *pcap, double t0,
		       char *err, size_t errlen)
{
	const char *files[1] = { pcap };
	struct capture *c = capture_open(files, 1, err, errlen);
	struct port_state ps[REPRO_MAX_ATTEMPTS + 8];
	size_t nps = 0;
	struct tcp_seg s;
	struct attempt *pending = NULL;
	struct attempt *last_syn = NULL;    /* the attempt of the last SYN, until answered */
	uint32_t server = htonl(L->sc.server_addr);
	static const struct tcp_env env = { .invalid_ratelimit_ms = -1 };
	int rc;

	if (!c)
		return -1;
	while ((rc = capture_next(c, &s, err, errlen)) == 1) {
		bool to_srv = s.family == 4 && !memcmp(s.daddr, &server, 4) && s.dport == L->sc.server_port;
		bool from_srv = s.family == 4 && !memcmp(s.saddr, &server, 4) && s.sport == L->sc.server_port;
		uint16_t cport = to_srv ? s.sport : s.dport;
		struct port_state *p;
		uint32_t end = tcp_end_seq(s.seq, s.flags, s.len);

		if ((!to_srv && !from_srv) || !(p = port_state(ps, &nps, sizeof ps / sizeof ps[0], cport)))
			continue;
		if (from_srv) {
			if (last_syn && last_syn->port == cport) {
				last_syn->syns_bare_acked += s.flags == TCPF_ACK;
				last_syn = NULL;
			}
			if (pending && pending->port == cport && !pending->answer[0]) {
				char fb[8];
				snprintf(pending->answer, sizeof pending->answer, "%s",
					 (s.flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK) ? "SYN-ACK"
					 : s.flags == TCPF_ACK ? "bare ACK" : tcp_flags_str(s.flags, fb));
				pending->answer_ack = s.ack;
				pending->answer_flags = s.flags;
				pending->collision = s.flags == TCPF_ACK;
				if (pending->modelled)
					pending->agree = (pending->model.verdict == TCP_TW_SYN) ==
							 !strcmp(pending->answer, "SYN-ACK") &&
							 (pending->model.verdict != TCP_TW_ACK ||
							  pending->model.reply.ack == s.ack);
			}
			if ((s.flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK))
				p->cli_fin = p->srv_fin = p->srv_tw = false;   /* a new incarnation */
			if ((s.flags & TCPF_FIN) && !p->srv_fin) {
				p->srv_fin = true;
				p->srv_tw = !p->cli_fin;
			}
			if (!(s.flags & TCPF_RST))
				p->srv_end = end;
			continue;
		}
		if ((s.flags & TCPF_SYN) && !(s.flags & TCPF_ACK)) {
			/* which attempt: the last one on this port started before it */
			struct attempt *a = NULL;
			for (unsigned i = 0; i < r->n; i++)
				if (r->a[i].port == cport && t0 + r->a[i].t <= s.ts + 0.05)
					a = &r->a[i];
			if (!a)
				continue;
			last_syn = a;
			if (a->syn_sent++ == 0) {
				a->reuse = p->seen;
				a->syn = s.m;
				if (p->seen && p->srv_tw) {
					struct tw_sock *tw = &a->tw;
					*tw = tw_sock_init(p->cli_end, p->srv_end, p->ts, p->cli_tsval,
							   (uint32_t)(s.ts - p->cli_last));
					tw_process(r->kernel, &env, tw, &a->syn, &a->model);
					a->modelled = true;
				}
				pending = a;
			}
			continue;
		}
		if (s.flags & TCPF_RST)
			continue;
		/* an ACK/data/FIN of an incarnation: what TIME_WAIT will hold */
		if ((s.flags & TCPF_FIN) && !p->cli_fin) {
			p->cli_fin = true;
			if (!p->srv_fin)
				p->srv_tw = false;
		}
		if (!p->seen || seq_after(end, p->cli_end) || s.flags & TCPF_SYN)
			p->cli_end = end;
		p->seen = true;
		p->ts = s.has_ts;
		p->cli_tsval = s.tsval;
		p->cli_last = s.ts;
	}
	capture_close(c);
	return rc < 0 ? -1 : 0;
}

/* The delay a client paid for a collision it heard about: in its own
 * capture, from the RST it sent to the bare ACK until its next SYN on that
 * port (the kernel's fast retry; about TCP_TIMEOUT_MIN on 6.18). */
static void client_view(struct lab *L, struct repro_result *r, unsigned client, const char *pcap)
{
	const char *files[1] = { pcap };
	char err[256];
	struct capture *c = capture_open(files, 1, err, sizeof err);
	struct { uint16_t port; double t; } rst[REPRO_MAX_ATTEMPTS];
	size_t nrst = 0;
	struct tcp_seg s;

	if (!c)
		return;
	while (capture_next(c, &s, err, sizeof err) == 1) {
		if (s.family != 4 || s.dport != L->sc.service_port)
			continue;
		if (s.flags & TCPF_RST) {
			if (nrst < REPRO_MAX_ATTEMPTS) {
				rst[nrst].port = s.sport;
				rst[nrst++].t = s.ts;
			}
			continue;
		}
		if ((s.flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN)
			continue;
		for (size_t i = 0; i < nrst; i++) {
			if (rst[i].port != s.sport || rst[i].t < 0)
				continue;
			for (unsigned k = 0; k < r->n; k++) {
				struct attempt *a = &r->a[k];
				if (a->client == client && a->port == s.sport && a->outcome == OUT_DELAYED &&
				    a->rst_to_syn_ms == 0) {
					a->rst_to_syn_ms = (s.ts - rst[i].t) * 1e3;
					if (a->rst_to_syn_ms > r->rst_to_syn_max_ms)
						r->rst_to_syn_max_ms = a->rst_to_syn_ms;
					break;
				}
			}
			rst[i].t = -1;
		}
	}
	capture_close(c);
}

int lab_repro(struct lab *L, const struct repro_opts *o, struct repro_result *r,
	      char *err, size_t errlen)
{
	char ns[32];
	unsigned hi = 0, lo = 1, nports;
	uint16_t base = 41000;
	double t0;
	long long paws0 = -1, paws1;
	int rc = -1;

	memset(r, 0, sizeof *r);
	r->kernel = host_kernel();
	if (L->sc.clients < 2) {
		snprintf(err, errlen, "repro needs at least 2 clients behind the SNAT address");
		return -1;
	}
	nports = o->reuses + 1;
	if (2 * nports > REPRO_MAX_ATTEMPTS) {
		snprintf(err, errlen, "--reuses: at most %u", REPRO_MAX_ATTEMPTS / 2 - 1);
		return -1;
	}
	lab_guard(L);
	if (lab_up(L, err, errlen))
		goto out;
	if (L->dry_run) {
		rc = 0;
		goto out;
	}
	for (unsigned i = 0; i < L->sc.clients; i++) {
		lab_client_ns(L, i, ns, sizeof ns);
		if (start_dump(L, ns, "any", CAP_CLIENT, i + 1, r, err, errlen))
			goto out;
	}
	lab_ns(L, "fw", ns, sizeof ns);
	/* the firewall's outside interface: after SNAT, before its filter on
	 * the way in (an -i any capture would see every packet twice) */
	if (start_dump(L, ns, "gw", CAP_FIREWALL, 0, r, err, errlen))
		goto out;
	lab_ns(L, "srv", ns, sizeof ns);
	if (start_dump(L, ns, "any", CAP_SERVER, 0, r, err, errlen))
		goto out;

	/* Per port: both clients' clocks for that exact 4-tuple. The newer
	 * clock goes first on a colliding port (the older one's reuse is then
	 * PAWS-rejected), the older first on the control port (the newer one's
	 * reuse is accepted). Ports whose two clocks are too close to force an
	 * outcome are skipped. */
	{
		uint16_t port[REPRO_MAX_ATTEMPTS / 2];
		unsigned first[REPRO_MAX_ATTEMPTS / 2], second[REPRO_MAX_ATTEMPTS / 2], np = 0;
		uint16_t cand = base;
		while (np < nports && cand < base + 1000 && !lab_interrupted) {
			uint32_t c1, c2;
			int32_t gap;
			if (client_clock(L, hi, cand, &c1) || client_clock(L, lo, cand, &c2)) {
				snprintf(err, errlen, "cannot read the clients' timestamp clocks");
				goto out;
			}
			gap = u32_diff(c1, c2);          /* > 0: client hi newer */
			if (gap > 20000 || gap < -20000) {
				bool collide = np < o->reuses;
				bool hi_newer = gap > 0;
				port[np] = cand;
				first[np] = (collide == hi_newer) ? hi : lo;
				second[np] = first[np] == hi ? lo : hi;
				if (np == 0)
					r->clock_gap_ms = gap > 0 ? gap : -gap;
				np++;
			}
			cand++;
		}
		if (np < nports) {
			snprintf(err, errlen, "could not find ports whose client clocks differ enough");
			goto out;
		}
		lab_ns(L, "srv", ns, sizeof ns);
		paws0 = lab_counter(ns, r->kernel->paws_tw_counter);
		t0 = now_wall();
		for (unsigned p = 0; p < np; p++)
			if (fetch(L, first[p], port[p], r, t0, err, errlen))
				goto out;
		/* let the firewall's conntrack entries expire: a reuse opens a new one */
		run_sleep(L->sc.fw_time_wait + 1.5);
		for (unsigned p = 0; p < np; p++)
			if (fetch(L, second[p], port[p], r, t0, err, errlen))
				goto out;
	}
	if (lab_interrupted) {
		snprintf(err, errlen, "interrupted");
		goto out;
	}
	run_sleep(1.2);             /* the captures show the clients falling silent */
	lab_ns(L, "srv", ns, sizeof ns);
	paws1 = lab_counter(ns, r->kernel->paws_tw_counter);
	r->kernel_paws = paws0 >= 0 && paws1 >= paws0 ? paws1 - paws0 : -1;
	for (unsigned i = 0; i < L->ndump; i++)
		lab_stop(L->dump_pid[i]);
	L->ndump = 0;

	for (unsigned i = 0; i < r->ncaptures; i++)
		if (r->cap[i].role == CAP_SERVER && server_view(L, r, r->cap[i].path, t0, err, errlen))
			goto out;
	for (unsigned i = 0; i < r->ncaptures; i++)
		if (r->cap[i].role == CAP_CLIENT)
			client_view(L, r, r->cap[i].client, r->cap[i].path);
	for (unsigned i = 0; i < r->n; i++) {
		struct attempt *a = &r->a[i];
		r->ok += a->outcome == OUT_OK;
		r->delayed += a->outcome == OUT_DELAYED;
		r->timed_out += a->outcome == OUT_TIMED_OUT;
		if (a->collision) {
			r->collisions++;
			r->coll_paws += a->model.cause == TW_CAUSE_PAWS;
			r->coll_seq += a->model.cause == TW_CAUSE_SEQ;
		}
		r->agree += a->modelled && a->agree;
		if (a->modelled && a->model.paws_reject)
			r->model_paws_syns += a->syns_bare_acked;
		/* the firewall's decision is the model's (fw_reply_passes); the
		 * nft rules implement it for real: a client hears the server's
		 * first answer (and so does not time out) exactly when it passes */
		if (a->answer[0]) {
			a->fw_passes = fw_reply_passes(L->sc.fw, a->answer_flags);
			a->fw_agree = a->fw_passes == (a->outcome != OUT_TIMED_OUT);
			r->fw_judged++;
			r->fw_agree += a->fw_agree;
		}
	}
	rc = 0;
out:
	if (!o->keep || rc)
		lab_down(L);
	return rc;
}
