/*
 * load_server.c - the load run's HTTP server: one epoll loop in the server
 * namespace. Like python's http.server in `lab repro` it answers HTTP/1.0
 * without Content-Length and closes first (the server holds TIME_WAIT); it
 * also keeps HTTP/1.1 connections open for --keepalive (python's handler
 * speaks HTTP/1.0 only) and keeps up with rates python cannot (bench/load
 * measures both).
 */
#include "lab/load.h"
#include "lab/load_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536

struct sconn {
	size_t len;
	char buf[HTTP_MAX_REQUEST];
};

static void drop(int ep, struct sconn **tab, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(tab[fd]);
	tab[fd] = NULL;
}

/* Read what the client sent and answer every complete request in it. */
static void serve(int ep, struct sconn **tab, int fd, _Atomic uint64_t *served)
{
	struct sconn *c = tab[fd];
	char out[512];

	for (;;) {
		ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(ep, tab, fd);        /* the client closed (kept-alive end) */
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			c->len += (size_t)n;
		for (;;) {
			struct http_req r;
			const char *why;
			enum http_parse p = http_parse_request(c->buf, c->len, &r, &why);
			size_t m;
			if (p == HTTP_NEED_MORE)
				break;
			if (p == HTTP_BAD) {
				m = http_bad_request(out, sizeof out);
				if (send(fd, out, m, MSG_NOSIGNAL) < 0) { /* nothing more to do */ }
				drop(ep, tab, fd);
				return;
			}
			m = http_server_response(r.keepalive, r.head, out, sizeof out);
			if (send(fd, out, m, MSG_NOSIGNAL) != (ssize_t)m) {
				drop(ep, tab, fd);
				return;
			}
			atomic_fetch_add_explicit(served, 1, memory_order_relaxed);
			if (!r.keepalive) {
				drop(ep, tab, fd);        /* the server closes first */
				return;
			}
			memmove(c->buf, c->buf + r.head_len, c->len - r.head_len);
			c->len -= r.head_len;
		}
		if (n < 0)
			return;                           /* EAGAIN: all read */
	}
}

int load_server_main(void *arg)
{
	struct load_server_cfg *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port),
				  .sin_addr.s_addr = htonl(c->addr) };
	struct rlimit rl = { MAXFD, MAXFD };
	struct epoll_event ev[128], e;
	struct sconn **tab = calloc(MAXFD, sizeof *tab);
	int one = 1, ls, ep;
	bool stop = false;

	setrlimit(RLIMIT_NOFILE, &rl);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!tab || ls < 0 || ep < 0)
		return 10;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4096) < 0)
		return 11;
	e.events = EPOLLIN;
	e.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
	e.data.fd = c->stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->stop_fd, &e);
	if (write(c->ready_fd, "r", 1) != 1)
		return 12;
	close(c->ready_fd);

	while (!stop && !lab_interrupted) {
		int n = epoll_wait(ep, ev, 128, 200);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == c->stop_fd) {
				char b;
				if (read(fd, &b, 1) <= 0)
					stop = true;
			} else if (fd == ls) {
				int a;
				while ((a = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (a >= MAXFD || !(tab[a] = calloc(1, sizeof **tab))) {
						close(a);
						continue;
					}
					e.events = EPOLLIN;
					e.data.fd = a;
					epoll_ctl(ep, EPOLL_CTL_ADD, a, &e);
				}
			} else if (tab[fd]) {
				serve(ep, tab, fd, c->served);
			}
		}
	}
	for (int fd = 0; fd < MAXFD; fd++)
		if (tab[fd])
			drop(ep, tab, fd);
	free(tab);
	close(ls);
	close(ep);
	return 0;
}
