/*
 * load_pool.c - `--snat one-to-one:N` in the lab: a dynamic 1:1 pool, as
 * the report's firewall has and Linux does not. A client with no session
 * gets a free address of the pool; it keeps it while it has a session; the
 * address goes back to the pool when its last session ends (the firewall's
 * conntrack entry is destroyed: its TIME_WAIT is over).
 *
 * How it is built from real parts, with nothing decided after the fact:
 *   - the first SYN of every new connection toward the server is queued to
 *     this allocator (iptables NFQUEUE in the firewall's mangle FORWARD
 *     chain; nft's own queue statement is not in this kernel) *before* NAT;
 *   - the allocator answers with a packet mark naming the address
 *     (0x100 + index); nft's SNAT rule maps the mark to the address
 *     (`snat to meta mark map`), so netfilter binds the connection to it;
 *   - conntrack events (`conntrack -E -o timestamp`, the file the lab
 *     already records) say which sessions each client has and when each
 *     expires (the entry's own timeout: TIME_WAIT is the firewall's
 *     [firewall] time_wait); with none alive the address is free again.
 * Which free address: the one released longest ago (least recently used),
 * so an address rests as long as the pool allows before its next client.
 * A SYN finding the pool empty is dropped (counted): the client retries.
 * The race between the verdict and the NEW event is closed by holding an
 * address for 200 ms after its client's last queued SYN.
 */
#include "lab/load.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOLD_S 0.2

struct pool {
	struct load_pool_cfg *c;
	int owner[256];              /* client index holding address i, or -1 */
	double released[256];        /* when it was last given back */
	struct {
		uint32_t addr;
		int bound;               /* address index, or -1 */
		double last_syn;
	} cl[SCEN_MAX_CLIENTS];
	struct load_sessions *sess;  /* per client: its firewall sessions */
	unsigned ncl;
};

/* wall clock: conntrack -E -o timestamp prints event times in it */
static double now(void)
{
	return clock_s(CLOCK_REALTIME);
}

static int client_of(struct pool *p, uint32_t addr)
{
	for (unsigned i = 0; i < p->ncl; i++)
		if (p->cl[i].addr == addr)
			return (int)i;
	return -1;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *m, struct nfq_data *d, void *arg)
{
	struct pool *p = arg;
	struct nfqnl_msg_packet_hdr *h = nfq_get_msg_packet_hdr(d);
	unsigned char *pl;
	int len = nfq_get_payload(d, &pl), k = -1;
	uint32_t id = h ? ntohl(h->packet_id) : 0, saddr;

	(void)m;
	if (!h)
		return 0;
	if (len >= 20) {
		memcpy(&saddr, pl + 12, 4);
		k = client_of(p, ntohl(saddr));
	}
	if (k < 0)                         /* not one of the lab's clients */
		return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
	if (p->cl[k].bound < 0) {
		int best = -1;
		for (unsigned i = 0; i < p->c->n; i++)
			if (p->owner[i] < 0 && (best < 0 || p->released[i] < p->released[best]))
				best = (int)i;
		if (best < 0) {
			atomic_fetch_add(&p->c->st->exhausted, 1);
			return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
		}
		p->owner[best] = k;
		p->cl[k].bound = best;
		atomic_fetch_add(&p->c->st->allocations, 1);
	}
	p->cl[k].last_syn = now();
	return nfq_set_verdict2(qh, id, NF_ACCEPT, LOAD_POOL_MARK + (uint32_t)p->cl[k].bound, 0, NULL);
}

/* New lines of the conntrack event file: sessions per client. */
static void read_events(struct pool *p, FILE *f, char *line, size_t *have, size_t cap)
{
	for (;;) {
		int ch = fgetc(f);
		if (ch == EOF) {
			clearerr(f);
			return;
		}
		if (*have < cap - 1)
			line[(*have)++] = (char)ch;
		if (ch != '\n')
			continue;
		line[*have] = 0;
		*have = 0;
		{
			struct load_ct_ev e;
			int k;
			if (!load_ct_parse(line, &e) || (k = client_of(p, e.src)) < 0)
				continue;
			if (!e.ts)
				e.ts = now();
			load_sessions_event(&p->sess[k], &e);
		}
	}
}

static void release_idle(struct pool *p)
{
	double t = now();
	for (unsigned k = 0; k < p->ncl; k++) {
		int a = p->cl[k].bound;
		if (a < 0 || t - p->cl[k].last_syn < HOLD_S || load_sessions_alive(&p->sess[k], t, 0))
			continue;
		p->owner[a] = -1;
		p->released[a] = t;
		p->cl[k].bound = -1;
		atomic_fetch_add(&p->c->st->releases, 1);
	}
}

int load_pool_main(void *arg)
{
	struct pool p = { .c = arg };
	struct load_pool_cfg *c = p.c;
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	char buf[4096] __attribute__((aligned)), line[1024];
	size_t have = 0;
	FILE *ev = NULL;
	int fd, rc = 0;

	for (unsigned i = 0; i < 256; i++) {
		p.owner[i] = -1;
		p.released[i] = -1e9 + i;        /* never used: in pool order */
	}
	p.ncl = c->nclients;
	if (!(p.sess = calloc(p.ncl ? p.ncl : 1, sizeof *p.sess)))
		return 19;
	for (unsigned i = 0; i < p.ncl; i++) {
		p.cl[i].addr = c->client_addr[i];
		p.cl[i].bound = -1;
	}
	if (!(h = nfq_open()))
		return 20;
	if (!(qh = nfq_create_queue(h, c->qnum, on_packet, &p)) ||
	    nfq_set_mode(qh, NFQNL_COPY_PACKET, 40) < 0) {
		nfq_close(h);
		return 21;
	}
	fd = nfq_fd(h);
	if (write(c->ready_fd, "r", 1) != 1)
		rc = 22;
	close(c->ready_fd);
	while (!rc && !lab_interrupted) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = c->stop_fd, .events = POLLIN } };
		int n = poll(pf, 2, 10);
		if (n < 0 && errno != EINTR)
			break;
		if (!ev)
			ev = fopen(c->events, "r");
		if (ev)
			read_events(&p, ev, line, &have, sizeof line);
		if (n > 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			char b;
			if (read(c->stop_fd, &b, 1) <= 0)
				break;
		}
		if (n > 0 && (pf[0].revents & POLLIN)) {
			ssize_t r;
			while ((r = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
				nfq_handle_packet(h, buf, (int)r);
		}
		release_idle(&p);
	}
	if (ev)
		fclose(ev);
	nfq_destroy_queue(qh);
	nfq_close(h);
	free(p.sess);
	return rc;
}
