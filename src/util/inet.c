/*
 * inet.c - IPv4 address text (see inet.h).
 */
#include "util/inet.h"

const char *ip4_str(uint32_t host_order, char *buf)
{
	struct in_addr in = { htonl(host_order) };
	inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
	return buf;
}
