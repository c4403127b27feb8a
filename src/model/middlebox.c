/*
 * middlebox.c - what the boxes between client and server let through when
 * the server answers a SYN.
 *
 * linux: netfilter conntrack (net/netfilter/nf_conntrack_proto_tcp.c,
 *   tcp_packet()): a reply ACK to a session in SYN_SENT maps to the "ignore"
 *   transition, it is not INVALID, so nothing drops it (the brief's 6.18 lab
 *   observed the same).
 * strict: the report's hardware firewall: a new session that has seen only
 *   the client's SYN accepts a SYN-ACK or a RST from the server; anything
 *   else ("a reply that is a bare ACK to a session in SYN_SENT") is dropped.
 */
#include "model/model.h"

#include <string.h>

bool fw_reply_passes(enum fw_kind fw, uint8_t f)
{
	if (fw == FW_LINUX)
		return true;
	if (f & TCPF_RST)
		return true;
	return (f & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK);
}

bool fw_kind_parse(const char *s, enum fw_kind *out)
{
	if (s && !strcmp(s, "linux")) { *out = FW_LINUX; return true; }
	if (s && !strcmp(s, "strict")) { *out = FW_STRICT; return true; }
	return false;
}

const char *fw_kind_str(enum fw_kind fw)
{
	return fw == FW_STRICT ? "strict" : "linux";
}
