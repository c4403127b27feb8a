/*
 * pcapout.c - the simulator's server-side packets as a capture file, written
 * with libpcap (pcap_open_dead + pcap_dump), so `twlab analyze` (and
 * tcpdump, Wireshark) read them like a capture taken on the server. Raw IPv4
 * link type; headers only are captured (the payload length is in the IP
 * header, as with a short snaplen).
 */
#include "sim/pcapout.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/inet.h"

struct sim_pcap {
	pcap_t *p;
	pcap_dumper_t *d;
	uint64_t packets;
	uint16_t ipid;
};

struct sim_pcap *sim_pcap_open(const char *path, char *err, size_t errlen)
{
	struct sim_pcap *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->p = pcap_open_dead(DLT_RAW, 65535);
	if (!w->p) {
		snprintf(err, errlen, "pcap_open_dead failed");
		free(w);
		return NULL;
	}
	w->d = pcap_dump_open(w->p, path);
	if (!w->d) {
		snprintf(err, errlen, "%s", pcap_geterr(w->p));
		pcap_close(w->p);
		free(w);
		return NULL;
	}
	return w;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

void sim_pcap_packet(void *arg, int64_t t_us, const struct segment *seg, uint32_t saddr,
		     uint16_t sport, uint32_t daddr, uint16_t dport)
{
	struct sim_pcap *w = arg;
	uint8_t b[20 + 32];
	unsigned thl = seg->has_ts ? 32 : 20;
	unsigned hl = 20 + thl;
	struct pcap_pkthdr h;

	memset(b, 0, sizeof b);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(hl + seg->len));
	put16(b + 4, w->ipid++);
	b[6] = 0x40;                                 /* DF */
	b[8] = 64;
	b[9] = 6;
	put32(b + 12, saddr);
	put32(b + 16, daddr);
	put16(b + 10, inet_csum_fold(inet_csum_add(0, b, 20)));
	uint8_t *t = b + 20;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seg->seq);
	put32(t + 8, seg->flags & TCPF_ACK ? seg->ack : 0);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = seg->flags;
	put16(t + 14, seg->flags & TCPF_RST ? 0 : 64240);
	if (seg->has_ts) {
		t[20] = 1;                           /* NOP NOP TS */
		t[21] = 1;
		t[22] = 8;
		t[23] = 10;
		put32(t + 24, seg->tsval);
		put32(t + 28, seg->tsecr);
	}
	h.ts.tv_sec = (time_t)(t_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(t_us % 1000000);
	h.caplen = hl;
	h.len = hl + seg->len;
	pcap_dump((u_char *)w->d, &h, b);
	w->packets++;
}

int sim_pcap_close(struct sim_pcap *w, uint64_t *packets)
{
	int rc = 0;
	if (!w)
		return 0;
	if (pcap_dump_flush(w->d) != 0)
		rc = -1;
	pcap_dump_close(w->d);
	pcap_close(w->p);
	if (packets)
		*packets = w->packets;
	free(w);
	return rc;
}
