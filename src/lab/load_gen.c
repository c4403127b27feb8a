/*
 * load_gen.c - the load generator one client namespace runs (entered with
 * lab_in_ns, so its sockets live in that namespace). No bind(): the kernel
 * chooses every source port from the namespace's ip_local_port_range, as
 * an application's would. Requests arrive at `rate` per second (Poisson or
 * periodic); each is a new connection and an HTTP/1.0 GET read to EOF (the
 * server closes first), or, for the `keepalive` fraction, an HTTP/1.1 GET on
 * the client's kept-alive connection (opened when needed, closed by the
 * client at the end). One record per request, into shared memory.
 */
#include "lab/load.h"
#include "lab/load_http.h"
#include "util/inet.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 8192                 /* connections in flight per client */
#define ANSWER_TIMEOUT_S 10.0     /* connected, but the answer does not end */
#define KA_QUEUE 256

enum phase { FREE, CONNECTING, WAITING };

struct gconn {
	int fd;
	enum phase phase;
	bool ka;                  /* the kept-alive connection */
	double start, deadline;
	double cstart;            /* when connect() was called (start is the
				   * scheduled arrival: later if the generator lags) */
	struct load_rec rec;
	char buf[512];
	size_t blen;
};

struct gen {
	struct load_gen_cfg *c;
	int ep;
	struct gconn *conn;
	int free_top, *free_list;
	int ka;                   /* index of the kept-alive connection, or -1 */
	int active, hw;           /* connections open; highest index used + 1 */
	double ka_queue[KA_QUEUE];   /* start times of requests waiting for it */
	unsigned ka_q;
	uint64_t rng;
	char req10[256], req11[256];
	size_t req10_len, req11_len;
	struct sockaddr_in dst;
};

static double now_s(const struct gen *g)
{
	return clock_s(CLOCK_MONOTONIC) - g->c->t0;
}

/* xorshift64*: uniform in (0, 1) */
static double uniform(struct gen *g)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return ((double)((g->rng * 0x2545F4914F6CDD1DULL) >> 11) + 0.5) / 9007199254740992.0;
}

static void emit(struct gen *g, const struct load_rec *r)
{
	struct load_shared *sh = g->c->sh;
	uint64_t n = atomic_load_explicit(&sh->n, memory_order_relaxed);

	if (n >= sh->cap)
		return;
	sh->rec[n] = *r;
	if (r->outcome == LOAD_TIMED_OUT)
		atomic_fetch_add_explicit(&sh->timed_out, 1, memory_order_relaxed);
	atomic_store_explicit(&sh->n, n + 1, memory_order_release);
}

static void release(struct gen *g, int i)
{
	struct gconn *k = &g->conn[i];
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->phase = FREE;
	g->active--;
	if (g->ka == i)
		g->ka = -1;
	g->free_list[g->free_top++] = i;
}

static void finish(struct gen *g, int i, enum load_outcome o, int err)
{
	struct gconn *k = &g->conn[i];
	k->rec.outcome = (uint8_t)o;
	k->rec.err = (uint8_t)(err > 255 ? 255 : err);
	k->rec.total_ms = (float)((now_s(g) - k->start) * 1e3);
	emit(g, &k->rec);
}

static bool send_request(struct gen *g, int i)
{
	struct gconn *k = &g->conn[i];
	const char *q = k->ka ? g->req11 : g->req10;
	size_t n = k->ka ? g->req11_len : g->req10_len;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

	if (send(k->fd, q, n, MSG_NOSIGNAL) != (ssize_t)n)
		return false;
	k->phase = WAITING;
	k->blen = 0;
	k->deadline = now_s(g) + ANSWER_TIMEOUT_S;
	return epoll_ctl(g->ep, EPOLL_CTL_MOD, k->fd, &ev) == 0;
}

/* A new connection for a request that started at t. */
static void open_conn(struct gen *g, double t, bool ka)
{
	struct load_rec r = { .t = t };
	struct epoll_event ev = { .events = EPOLLOUT };
	int i, fd;

	if (!g->free_top) {
		r.outcome = LOAD_ERROR;
		r.err = EMFILE;
		emit(g, &r);
		return;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&g->dst, sizeof g->dst) < 0 &&
		       errno != EINPROGRESS)) {
		r.outcome = errno == ECONNREFUSED ? LOAD_REFUSED : LOAD_ERROR;
		r.err = (uint8_t)(errno > 255 ? 255 : errno);
		if (fd >= 0)
			close(fd);
		emit(g, &r);
		return;
	}
	i = g->free_list[--g->free_top];
	g->active++;
	if (i + 1 > g->hw)
		g->hw = i + 1;
	struct gconn *k = &g->conn[i];
	memset(k, 0, sizeof *k);
	k->fd = fd;
	k->phase = CONNECTING;
	k->ka = ka;
	k->start = t;
	k->cstart = now_s(g);
	k->deadline = k->cstart + g->c->connect_timeout_s;
	k->rec = r;
	{
		struct sockaddr_in me;
		socklen_t len = sizeof me;
		if (getsockname(fd, (struct sockaddr *)&me, &len) == 0)
			k->rec.sport = ntohs(me.sin_port);
	}
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		finish(g, i, LOAD_ERROR, errno);
		release(g, i);
		return;
	}
	if (ka)
		g->ka = i;
}

/* A request on the kept-alive connection, which is open and idle. */
static void ka_request(struct gen *g, double t)
{
	struct gconn *k = &g->conn[g->ka];
	memset(&k->rec, 0, sizeof k->rec);
	k->rec.t = t;
	k->rec.kept_alive = 1;
	k->start = t;
	{
		struct sockaddr_in me;
		socklen_t len = sizeof me;
		if (getsockname(k->fd, (struct sockaddr *)&me, &len) == 0)
			k->rec.sport = ntohs(me.sin_port);
	}
	if (!send_request(g, g->ka)) {
		int i = g->ka;
		finish(g, i, LOAD_ERROR, errno);
		release(g, i);
	}
}

static void arrival(struct gen *g, double t)
{
	bool ka = g->c->keepalive > 0 && uniform(g) < g->c->keepalive;

	if (!ka) {
		open_conn(g, t, false);
	} else if (g->ka < 0) {
		open_conn(g, t, true);
	} else if (g->conn[g->ka].phase == WAITING && g->conn[g->ka].blen == (size_t)-1) {
		ka_request(g, t);          /* idle (blen -1 marks "answered") */
	} else if (g->ka_q < KA_QUEUE) {
		g->ka_queue[g->ka_q++] = t;
	} else {
		open_conn(g, t, false);    /* the queue is full: a connection of its own */
	}
}

/* The answer is complete? HTTP/1.0: at EOF. Kept alive: head + length. */
static bool ka_answer_done(const struct gconn *k)
{
	const char *end = memmem(k->buf, k->blen, "\r\n\r\n", 4), *cl;
	unsigned long len = 0;

	if (!end)
		return false;
	cl = memmem(k->buf, (size_t)(end - k->buf), "Content-Length:", 15);
	if (cl)
		len = strtoul(cl + 15, NULL, 10);
	return (size_t)(end + 4 - k->buf) + len <= k->blen;
}

static void on_event(struct gen *g, int i, uint32_t events)
{
	struct gconn *k = &g->conn[i];
	double t = now_s(g);

	if (k->phase == CONNECTING) {
		int soerr = 0;
		socklen_t len = sizeof soerr;
		struct tcp_info ti;
		socklen_t tl = sizeof ti;
		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		if (soerr || (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT))) {
			finish(g, i, soerr == ECONNREFUSED ? LOAD_REFUSED : LOAD_ERROR, soerr);
			release(g, i);
			return;
		}
		k->rec.connect_ms = (float)((t - k->cstart) * 1e3);
		if (getsockopt(k->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
			k->rec.syn_retrans = (uint8_t)(ti.tcpi_total_retrans > 255 ? 255 : ti.tcpi_total_retrans);
		if (!send_request(g, i)) {
			finish(g, i, LOAD_ERROR, errno);
			release(g, i);
		}
		return;
	}
	if (k->phase != WAITING)
		return;
	for (;;) {
		char tmp[4096];
		ssize_t n = recv(k->fd, tmp, sizeof tmp, 0);
		if (n > 0) {
			size_t room = sizeof k->buf - k->blen;
			size_t c = (size_t)n < room ? (size_t)n : room;
			if (k->blen != (size_t)-1) {
				memcpy(k->buf + k->blen, tmp, c);
				k->blen += c;
			}
			if (k->ka && k->blen != (size_t)-1 && ka_answer_done(k)) {
				enum load_outcome o = k->rec.syn_retrans ? LOAD_DELAYED : LOAD_OK;
				finish(g, i, o, 0);
				k->blen = (size_t)-1;     /* idle */
				if (g->ka_q) {
					double q = g->ka_queue[0];
					memmove(g->ka_queue, g->ka_queue + 1, --g->ka_q * sizeof q);
					ka_request(g, q);
				}
				return;
			}
			continue;
		}
		if (n == 0) {                     /* the server closed: the answer's end */
			bool idle = k->blen == (size_t)-1;
			if (!idle) {
				bool got = k->blen >= 12 && !memcmp(k->buf, "HTTP/1.", 7) && !memcmp(k->buf + 9, "200", 3);
				finish(g, i, !got ? LOAD_ERROR : k->rec.syn_retrans ? LOAD_DELAYED : LOAD_OK,
				       got ? 0 : EPROTO);
			}
			release(g, i);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR)
			continue;
		if (k->blen != (size_t)-1)
			finish(g, i, LOAD_ERROR, errno);
		release(g, i);
		return;
	}
}

static void expire(struct gen *g, double t)
{
	for (int i = 0; i < g->hw; i++) {
		struct gconn *k = &g->conn[i];
		if (k->phase == FREE || t < k->deadline || k->blen == (size_t)-1)
			continue;
		finish(g, i, k->phase == CONNECTING ? LOAD_TIMED_OUT : LOAD_ERROR,
		       k->phase == CONNECTING ? 0 : ETIMEDOUT);
		release(g, i);
	}
}

/* Requests in flight (the idle kept-alive connection is not one). */
static int busy(const struct gen *g)
{
	bool idle = g->ka >= 0 && g->conn[g->ka].blen == (size_t)-1;
	return g->active - idle + (int)g->ka_q;
}

int load_gen_main(void *arg)
{
	struct gen g = { .c = arg, .ka = -1 };
	struct load_gen_cfg *c = g.c;
	struct epoll_event ev[64], sev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	struct rlimit rl = { MAXC + 64, MAXC + 64 };
	char host[INET_ADDRSTRLEN];
	double next, end = c->duration_s, next_expire = 0;
	bool stop = false;
	struct rusage ru;

	setrlimit(RLIMIT_NOFILE, &rl);
	g.rng = c->seed * 0x9E3779B97F4A7C15ULL + 1;
	g.conn = calloc(MAXC, sizeof *g.conn);
	g.free_list = calloc(MAXC, sizeof *g.free_list);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.conn || !g.free_list || g.ep < 0)
		return 10;
	for (int i = MAXC - 1; i >= 0; i--) {
		g.conn[i].fd = -1;
		g.free_list[g.free_top++] = i;
	}
	ip4_str(c->service_addr, host);
	g.req10_len = http_client_request(false, host, g.req10, sizeof g.req10);
	g.req11_len = http_client_request(true, host, g.req11, sizeof g.req11);
	g.dst.sin_family = AF_INET;
	g.dst.sin_port = htons(c->service_port);
	g.dst.sin_addr.s_addr = htonl(c->service_addr);
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->stop_fd, &sev) < 0)
		return 11;
	/* the first arrival: a random phase, so periodic clients do not march
	 * in step */
	next = now_s(&g) + uniform(&g) / c->rate;

	while (!stop) {
		double t = now_s(&g);
		int timeout_ms, n;

		for (unsigned k = 0; k < 256 && t < end && next <= t; k++) {
			arrival(&g, next);
			next += c->periodic ? 1.0 / c->rate : -log(uniform(&g)) / c->rate;
		}
		if (g.ka < 0 && g.ka_q) {         /* it closed under queued requests */
			double q = g.ka_queue[0];
			memmove(g.ka_queue, g.ka_queue + 1, --g.ka_q * sizeof q);
			open_conn(&g, q, true);
		}
		if (t >= next_expire) {
			expire(&g, t);
			next_expire = t + 0.01;
		}
		if (t >= end && !busy(&g))
			break;
		timeout_ms = t < end ? (int)ceil((fmin(next, end) - t) * 1e3) : 50;
		if (timeout_ms > 50)
			timeout_ms = 50;         /* deadlines are checked at least every 50 ms */
		if (timeout_ms < 0)
			timeout_ms = 0;
		n = epoll_wait(g.ep, ev, 64, timeout_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (lab_interrupted)
			stop = true;
		for (int k = 0; k < n; k++) {
			if (ev[k].data.u32 == UINT32_MAX) {
				char b;
				if (read(c->stop_fd, &b, 1) <= 0)
					stop = true;
				continue;
			}
			on_event(&g, (int)ev[k].data.u32, ev[k].events);
		}
	}
	/* stopped early: what is still in flight is unfinished; the kept-alive
	 * connection is closed by the client (its TIME_WAIT is the client's) */
	for (int i = 0; i < MAXC; i++) {
		if (g.conn[i].phase == FREE)
			continue;
		if (g.conn[i].blen != (size_t)-1)
			finish(&g, i, LOAD_UNFINISHED, 0);
		release(&g, i);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		c->sh->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	atomic_store(&c->sh->done, 1);
	close(g.ep);
	free(g.conn);
	free(g.free_list);
	return 0;
}
