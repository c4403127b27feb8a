/*
 * craft.c - raw-socket TCP: build, checksum, send, and match replies.
 * The client kernel has no socket for these ports and would answer the
 * server with RSTs; callers drop those with an nft rule in their namespace.
 */
#include "craft/craft.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "util/inet.h"

int craft_open(uint32_t src)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(src) };
	uint32_t mark = CRAFT_MARK;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0)
		return -1;
	/* marked: the namespace's "drop the kernel's RSTs" rule lets ours pass */
	setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
	if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v; }

int craft_send_data(int fd, struct craft_ep src, struct craft_ep dst, const struct segment *seg,
		    const void *data, size_t len);

int craft_send_data(int fd, struct craft_ep src, struct craft_ep dst, const struct segment *seg,
		    const void *data, size_t len)
{
	uint8_t b[60 + 512], ph[12];
	size_t hl = 20;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(dst.addr) };
	uint32_t sum;
	uint16_t c;

	if (len > 512)
		return -1;
	memset(b, 0, 60);
	b[0] = (uint8_t)(src.port >> 8); b[1] = (uint8_t)src.port;
	b[2] = (uint8_t)(dst.port >> 8); b[3] = (uint8_t)dst.port;
	put32(b + 4, seg->seq);
	put32(b + 8, seg->ack);
	b[13] = seg->flags;
	b[14] = 0xff; b[15] = 0xff;                  /* window 65535 */
	if (seg->flags & TCPF_SYN) {                 /* MSS 1460 */
		b[hl] = 2; b[hl + 1] = 4; b[hl + 2] = 0x05; b[hl + 3] = 0xb4;
		hl += 4;
	}
	if (seg->has_ts) {
		b[hl] = 1; b[hl + 1] = 1; b[hl + 2] = 8; b[hl + 3] = 10;
		put32(b + hl + 4, seg->tsval);
		put32(b + hl + 8, seg->tsecr);
		hl += 12;
	}
	b[12] = (uint8_t)((hl / 4) << 4);
	if (len)
		memcpy(b + hl, data, len);
	put32(ph, src.addr);
	put32(ph + 4, dst.addr);
	ph[8] = 0; ph[9] = IPPROTO_TCP;
	ph[10] = (uint8_t)((hl + len) >> 8); ph[11] = (uint8_t)(hl + len);
	sum = inet_csum_add(inet_csum_add(0, ph, 12), b, hl + len);
	c = inet_csum_fold(sum);
	b[16] = (uint8_t)(c >> 8); b[17] = (uint8_t)c;
	return sendto(fd, b, hl + len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)(hl + len) ? 0 : -1;
}

int craft_send(int fd, struct craft_ep src, struct craft_ep dst, const struct segment *seg)
{
	return craft_send_data(fd, src, dst, seg, NULL, 0);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int craft_recv(int fd, struct craft_ep src, struct craft_ep dst, int timeout_ms, struct tcp_seg *out)
{
	long end = now_ms() + timeout_ms;
	uint8_t b[2048];

	for (;;) {
		long left = end - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (left <= 0)
			return 0;
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		n = recv(fd, b, sizeof b, 0);
		if (n < 0)
			return -1;
		if (seg_decode(DLT_RAW, b, (size_t)n, out) != SKIP_NONE || out->family != 4)
			continue;
		uint32_t sa, da;          /* the address bytes need not be aligned */
		memcpy(&sa, out->saddr, 4);
		memcpy(&da, out->daddr, 4);
		if (ntohl(sa) == dst.addr && out->sport == dst.port &&
		    ntohl(da) == src.addr && out->dport == src.port)
			return 1;
	}
}

bool craft_path_ok(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	if (!n || n > CRAFT_PATH_MAX || path[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (path[i] <= ' ' || path[i] > '~')
			return false;
	return true;
}

int craft_run_session(int fd, struct craft_ep src, struct craft_ep dst, uint32_t isn,
		      bool ts, uint32_t tsval, const char *path, struct craft_session *r)
{
	char req[300];
	int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: twlab\r\n\r\n",
			      craft_path_ok(path) ? path : "/");
	struct segment s = { .flags = TCPF_SYN, .seq = isn, .has_ts = ts, .tsval = tsval };
	struct tcp_seg in;
	uint32_t nxt, rcv, srv_ts = 0;
	bool fin = false;

	memset(r, 0, sizeof *r);
	r->isn = isn;
	r->ts = ts;
	r->tsval = tsval;
#define FAIL(msg) do { snprintf(r->error, sizeof r->error, "%s", msg); return -1; } while (0)
	if (craft_send(fd, src, dst, &s) < 0)
		FAIL("send SYN failed");
	if (craft_recv(fd, src, dst, 1000, &in) != 1 ||
	    (in.flags & (TCPF_SYN | TCPF_ACK)) != (TCPF_SYN | TCPF_ACK) || in.ack != isn + 1)
		FAIL("no SYN-ACK");
	r->server_isn = in.seq;
	srv_ts = in.tsval;
	nxt = isn + 1;
	rcv = in.seq + 1;
	s = (struct segment){ .flags = TCPF_ACK | TCPF_PSH, .seq = nxt, .ack = rcv, .has_ts = ts,
			      .tsval = tsval, .tsecr = srv_ts };
	if (reqlen < 0 || (size_t)reqlen >= sizeof req)
		FAIL("request too long");
	if (craft_send_data(fd, src, dst, &s, req, (size_t)reqlen) < 0)
		FAIL("send request failed");
	nxt += (uint32_t)reqlen;
	/* read the response until the server's FIN, acknowledging as we go */
	for (int guard = 0; !fin && guard < 64; guard++) {
		if (craft_recv(fd, src, dst, 1000, &in) != 1)
			FAIL("the server did not close");
		if (in.flags & TCPF_RST)
			FAIL("the server reset the session");
		if (in.has_ts)
			srv_ts = in.tsval;
		if (in.seq == rcv) {
			rcv += in.len;
			r->bytes += in.len;
			if (in.flags & TCPF_FIN) {
				rcv += 1;
				fin = true;
			}
		}
		if (in.len || (in.flags & TCPF_FIN)) {
			s = (struct segment){ .flags = TCPF_ACK, .seq = nxt, .ack = rcv, .has_ts = ts,
					      .tsval = tsval, .tsecr = srv_ts };
			craft_send(fd, src, dst, &s);
		}
	}
	if (!fin)
		FAIL("no FIN from the server");
	/* our FIN: the server (FIN_WAIT2) enters TIME_WAIT and ACKs it */
	s = (struct segment){ .flags = TCPF_ACK | TCPF_FIN, .seq = nxt, .ack = rcv, .has_ts = ts,
			      .tsval = tsval, .tsecr = srv_ts };
	nxt += 1;
	/* send our FIN, and again (as TCP would) if its ACK does not come back */
	for (int tries = 0;; tries++) {
		bool acked = false;
		if (tries == 4)
			FAIL("no ACK of our FIN");
		if (craft_send(fd, src, dst, &s) < 0)
			FAIL("send FIN failed");
		for (int guard = 0; guard < 8 && !acked; guard++) {
			if (craft_recv(fd, src, dst, 250, &in) != 1)
				break;
			acked = (in.flags & TCPF_ACK) && in.ack == nxt;
		}
		if (acked)
			break;
	}
	r->tw_rcv_nxt = nxt;
	r->tw_snd_nxt = rcv;
	r->tw_ts_recent = tsval;
	return 0;
#undef FAIL
}
