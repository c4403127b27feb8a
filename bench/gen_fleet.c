/*
 * gen_fleet.c - write a server-side capture of a fleet of clients behind one
 * SNAT address, with TIME_WAIT collisions planted by construction, and print
 * the truth as JSON. Used by tests/integration/analyze_synth.sh (exact
 * counts) and bench/analyze (>= 1M packets). Written with libpcap's dumper.
 *
 *   gen_fleet OUT.pcap CONNECTIONS PAWS_RECOVERED SEQ_TIMED_OUT [SEED [SPAN_S]]
 *   gen_fleet --syn-flood OUT.pcap SYNS SECONDS [SEED]
 *
 * SPAN_S spreads the connections over that many seconds (default: back to
 * back, ~2.6 ms apart). GEN_ADDRS=N spreads the ordinary connections over
 * N SNAT addresses 198.18.1.1.. (default 1; a port is reused only 70 s after
 * its close, so 40000 ports on one address carry at most ~570 connections/s).
 * GEN_PAYLOAD=1 in the environment captures the
 * payload bytes too (default: headers only, as tcpdump -s 96 would).
 *
 * --syn-flood: SYNS SYN-only packets spread evenly over SECONDS, each from a
 * random address of 198.18.0.0/15 and port (a scan or a flood: every one a
 * new half-open tuple, none answered). The truth printed is the packet count.
 *
 * Every connection: SYN, SYN-ACK, ACK, request, response, server FIN, client
 * FIN+ACK, server ACK (the server closes first: HTTP/1.0). Planted:
 *   - PAWS, recovered: another host (older clock) reuses a port the server
 *     closed 5-30 s ago: bare ACK (ack = rcv_nxt, tsecr = ts_recent), the
 *     client's RST (seq = that ack), the SYN again 10 ms later, SYN-ACK.
 *   - seq, timed out: a host without timestamps reuses a port with a seq
 *     below rcv_nxt: bare ACK, SYN again at +1 s and +3 s (bare ACK each),
 *     never a SYN-ACK.
 *   - normal reuses: the same host reuses its own port after 70 s (the
 *     TIME_WAIT is gone): answered normally, not a collision.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/inet.h"

static pcap_dumper_t *dump;
static int with_payload;
static int cur_addr;
static uint64_t npackets;
static const uint32_t SNAT = 0xc6120101u, SERVER = 0xc612000au;   /* 198.18.1.1, 198.18.0.10 */

static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }

/* One Ethernet/IPv4/TCP packet; from_client decides the direction. */
static void pkt_from(uint32_t client, double t, int from_client, uint16_t cport, uint8_t flags,
		     uint32_t seq, uint32_t ack, uint32_t len, int ts, uint32_t tsval, uint32_t tsecr)
{
	uint8_t b[14 + 20 + 32 + 1500];
	size_t thl = ts ? 32 : 20, iplen = 20 + thl + len;
	uint32_t s = from_client ? client : SERVER, d = from_client ? SERVER : client;
	uint16_t sp = from_client ? cport : 80, dp = from_client ? 80 : cport;
	struct pcap_pkthdr h;
	uint8_t *ip = b + 14, *tcp = ip + 20;

	memset(b, 0, sizeof b);
	b[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8); ip[3] = (uint8_t)iplen;
	ip[8] = 64; ip[9] = 6;
	put32(ip + 12, s);
	put32(ip + 16, d);
	uint16_t ic = inet_csum_fold(inet_csum_add(0, ip, 20));
	ip[10] = (uint8_t)(ic >> 8); ip[11] = (uint8_t)ic;
	tcp[0] = (uint8_t)(sp >> 8); tcp[1] = (uint8_t)sp;
	tcp[2] = (uint8_t)(dp >> 8); tcp[3] = (uint8_t)dp;
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((thl / 4) << 4);
	tcp[13] = flags;
	tcp[14] = 0xff; tcp[15] = 0xff;
	if (ts) {
		tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;
		put32(tcp + 24, tsval);
		put32(tcp + 28, tsecr);
	}
	h.ts.tv_sec = (time_t)t;
	h.ts.tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6);
	h.caplen = (bpf_u_int32)(14 + 20 + thl + (with_payload ? len : 0));   /* default: headers only */
	h.len = (bpf_u_int32)(14 + iplen);
	pcap_dump((u_char *)dump, &h, b);
	npackets++;
}

static void pkt(double t, int from_client, uint16_t cport, uint8_t flags, uint32_t seq,
		uint32_t ack, uint32_t len, int ts, uint32_t tsval, uint32_t tsecr)
{
	pkt_from(SNAT + (uint32_t)cur_addr, t, from_client, cport, flags, seq, ack, len, ts, tsval, tsecr);
}

enum { F = 1, S = 2, R = 4, P = 8, A = 16 };

struct host { uint32_t off; int ts; };
struct port { double closed; uint32_t rcv_nxt, snd_nxt, ts_recent; int host, ts, used; };

static struct host hosts[8];
#define MAX_ADDRS 16
static int naddrs = 1;                 /* which SNAT address (198.18.1.1 + n) speaks */
static struct port port_tab[MAX_ADDRS][65536];
#define ports (port_tab[cur_addr])
static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)rng; }

/* intra-connection offsets, squeezed when connections come faster than
 * the 2.1 ms one takes (a SPAN_S short for CONNECTIONS) */
static double tscale = 1.0;
#define D(x) ((x) * tscale)

static uint32_t clk(int h, double t) { return hosts[h].off + (uint32_t)(t * 1000.0); }
static unsigned long long reuses;

/* A full connection from host h on port p at time t; returns its end time. */
static double conn(int h, uint16_t p, double t, uint32_t isn)
{
	int ts = hosts[h].ts;
	uint32_t sisn = rnd(), c = isn, s = sisn;
	uint32_t tv = clk(h, t), sv = 1000000 + (uint32_t)(t * 1000);
	if (ports[p].used && t - ports[p].closed <= 120.0)   /* analyze's definition */
		reuses++;
	pkt(t, 1, p, S, c, 0, 0, ts, tv, 0);
	pkt(t + D(0.0001), 0, p, S | A, s, c + 1, 0, ts, sv, tv);
	pkt(t + D(0.0002), 1, p, A, c + 1, s + 1, 0, ts, tv, sv);
	pkt(t + D(0.0003), 1, p, P | A, c + 1, s + 1, 100, ts, tv, sv);
	pkt(t + D(0.0010), 0, p, P | A, s + 1, c + 101, 500, ts, sv + 1, tv);
	pkt(t + D(0.0011), 0, p, F | A, s + 501, c + 101, 0, ts, sv + 1, tv);   /* server closes first */
	tv = clk(h, t + D(0.002));
	pkt(t + D(0.0020), 1, p, F | A, c + 101, s + 502, 0, ts, tv, sv + 1);
	pkt(t + D(0.0021), 0, p, A, s + 502, c + 102, 0, ts, sv + 2, tv);
	ports[p] = (struct port){ .closed = t + D(0.0021), .rcv_nxt = c + 102, .snd_nxt = s + 502,
				  .ts_recent = tv, .host = h, .ts = ts, .used = 1 };
	return t + D(0.0021);
}

static int syn_flood(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: gen_fleet --syn-flood OUT.pcap SYNS SECONDS [SEED]\n");
		return 2;
	}
	long n = atol(argv[3]);
	double secs = atof(argv[4]), t0 = 1700000000.0;
	if (argc > 5)
		rng ^= strtoull(argv[5], NULL, 10) * 2654435761ull;
	if (n < 1 || secs <= 0) {
		fprintf(stderr, "gen_fleet: need SYNS >= 1 and SECONDS > 0\n");
		return 2;
	}
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (!(dump = pcap_dump_open(dead, argv[2]))) {
		fprintf(stderr, "gen_fleet: %s: %s\n", argv[2], pcap_geterr(dead));
		return 1;
	}
	for (long i = 0; i < n; i++) {
		uint32_t src = 0xc6120000u | (rnd() & 0x1ffff);     /* 198.18.0.0/15 */
		uint16_t port = (uint16_t)(1024 + rnd() % 64512);
		pkt_from(src, t0 + secs * (double)i / (double)n, 1, port, S, rnd(), 0, 0, 1, rnd(), 0);
	}
	pcap_dump_close(dump);
	pcap_close(dead);
	printf("{\"packets\":%llu}\n", (unsigned long long)npackets);
	return 0;
}

int main(int argc, char **argv)
{
	pcap_t *dead;
	long n, paws, seqc;
	double gap = 0.0005;
	double t = 1700000000.0;
	unsigned long long conns = 0;
	uint16_t next = 20000;

	if (argc > 1 && !strcmp(argv[1], "--syn-flood"))
		return syn_flood(argc, argv);
	if (argc < 5) {
		fprintf(stderr, "usage: gen_fleet OUT.pcap CONNECTIONS PAWS_RECOVERED SEQ_TIMED_OUT [SEED]\n");
		return 2;
	}
	n = atol(argv[2]);
	paws = atol(argv[3]);
	seqc = atol(argv[4]);
	with_payload = getenv("GEN_PAYLOAD") && atoi(getenv("GEN_PAYLOAD"));
	if (getenv("GEN_ADDRS"))
		naddrs = atoi(getenv("GEN_ADDRS"));
	if (naddrs < 1 || naddrs > MAX_ADDRS) {
		fprintf(stderr, "gen_fleet: GEN_ADDRS 1..%d\n", MAX_ADDRS);
		return 2;
	}
	if (argc > 6 && n > 0) {
		double per = atof(argv[6]) / (double)n;     /* start to start */
		if (per < 0.0030)
			tscale = per * 0.5 / 0.0021;
		gap = per - D(0.0021);
	}
	if (argc > 5)
		rng ^= strtoull(argv[5], NULL, 10) * 2654435761ull;
	if (n < 1 || paws < 0 || seqc < 0 || paws + seqc > n / 4) {
		fprintf(stderr, "gen_fleet: need CONNECTIONS >= 4 * (PAWS + SEQ)\n");
		return 2;
	}
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (!(dump = pcap_dump_open(dead, argv[1]))) {
		fprintf(stderr, "gen_fleet: %s: %s\n", argv[1], pcap_geterr(dead));
		return 1;
	}
	/* hosts 0-3: timestamps with unrelated clocks, 2^29 apart (host 0 newest);
	 * hosts 4-5: no timestamps */
	for (int h = 0; h < 6; h++) {
		hosts[h].ts = h < 4;
		hosts[h].off = 0xe0000000u - (uint32_t)h * 0x20000000u;
	}
	long planted_paws = 0, planted_seq = 0;
	long every = (paws + seqc) ? n / (paws + seqc + 1) : 0;
	for (long i = 0; i < n; i++) {
		if (every && i && i % every == 0 && (planted_paws < paws || planted_seq < seqc)) {
			cur_addr = 0;
			int want_paws = planted_paws < paws && (planted_paws <= planted_seq || planted_seq >= seqc);
			/* a port used just before by the right kind of host */
			while (ports[next].used && t - ports[next].closed < 70.0)
				next = (uint16_t)(next + 1 < 60000 ? next + 1 : 20000);
			uint16_t p = next;
			int first = want_paws ? 0 : 4;
			t = conn(first, p, t, rnd()) + 5.0 + (rnd() % 25);
			conns++;
			struct port *pp = &ports[p];
			if (want_paws) {
				int h = 1 + (int)(rnd() % 3);          /* an older clock */
				uint32_t seq = rnd(), tv = clk(h, t);
				pkt(t, 1, p, S, seq, 0, 0, 1, tv, 0);
				pkt(t + 0.0001, 0, p, A, pp->snd_nxt, pp->rcv_nxt, 0, 1, 1000000 + (uint32_t)(t * 1000), pp->ts_recent);
				pkt(t + 0.0002, 1, p, R, pp->rcv_nxt, 0, 0, 0, 0, 0);
				double t2 = t + 0.0102;
				/* the retried SYN is accepted (TIME_WAIT was killed by the RST) */
				uint32_t sisn = rnd();
				pkt(t2, 1, p, S, seq, 0, 0, 1, clk(h, t2), 0);
				pkt(t2 + 0.0001, 0, p, S | A, sisn, seq + 1, 0, 1, 1, clk(h, t2));
				pkt(t2 + 0.0002, 1, p, A, seq + 1, sisn + 1, 0, 1, clk(h, t2), 1);
				pkt(t2 + 0.0003, 1, p, R | A, seq + 1, sisn + 1, 0, 1, clk(h, t2), 1);
				planted_paws++;
				conns++;
				reuses++;
				t = t2 + 0.001;
			} else {
				int h = 5;
				uint32_t seq = pp->rcv_nxt - 1000 - (rnd() % 100000);
				for (int k = 0; k < 3; k++) {
					double ts = t + (k == 0 ? 0 : k == 1 ? 1 : 3);
					pkt(ts, 1, p, S, seq, 0, 0, 0, 0, 0);
					pkt(ts + 0.0001, 0, p, A, pp->snd_nxt, pp->rcv_nxt, 0, 0, 0, 0);
				}
				(void)h;
				planted_seq++;
				reuses++;
				t += 4.5;
				/* the port stays closed since the first connection: reused,
				 * like any other, only 70 s after that */
			}
			next = (uint16_t)(next + 1 < 60000 ? next + 1 : 20000);
			continue;
		}
		/* an ordinary connection from host i%4 (or a no-TS host); a port
		 * is reused only by its own host and only after 70 s */
		int h = (int)(i % 6);
		cur_addr = (int)((i / 6) % naddrs);
		uint16_t p = next;
		struct port *pp = &ports[p];
		if (pp->used) {
			if (pp->host != h || t - pp->closed < 70.0) {
				next = (uint16_t)(next + 1 < 60000 ? next + 1 : 20000);
				i--;
				continue;
			}
		}
		t = conn(h, p, t, rnd()) + gap;
		conns++;
		next = (uint16_t)(next + 1 < 60000 ? next + 1 : 20000);
	}
	pcap_dump_close(dump);
	pcap_close(dead);
	printf("{\"packets\":%llu,\"connections\":%llu,\"port_reuses\":%llu,\"collisions\":%ld,"
	       "\"collisions_paws\":%ld,\"collisions_seq\":%ld,\"recovered\":%ld,\"timed_out\":%ld}\n",
	       (unsigned long long)npackets, conns, reuses, planted_paws + planted_seq,
	       planted_paws, planted_seq, planted_paws, planted_seq);
	return 0;
}
