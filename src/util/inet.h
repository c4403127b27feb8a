/*
 * inet.h - the small IPv4 helpers every area needs once: an address (host
 * byte order, as the scenario and the lab keep them) as dotted text, and the
 * Internet checksum (RFC 1071) that craft, sim's pcap writer and
 * bench/gen_fleet.c put into the headers they build. The checksum is inline
 * so a bench program can use it with -Isrc and no library.
 */
#ifndef TWLAB_INET_H
#define TWLAB_INET_H
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

/* "198.18.0.10"; buf holds at least INET_ADDRSTRLEN bytes. Returns buf. */
const char *ip4_str(uint32_t host_order, char *buf);

/* Add n bytes (big-endian 16-bit words, an odd last byte padded) to a
 * running one's complement sum; fold it into the checksum field's value. */
static inline uint32_t inet_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}
static inline uint16_t inet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
#endif
