/*
 * craft.h - TCP segments from a raw socket: one crafted segment and what
 * comes back, or a whole scripted session (handshake, HTTP/1.0 GET, the
 * server's close) with a chosen ISN and timestamp, so the TIME_WAIT state it
 * leaves on the server is known exactly. Runs in the caller's namespace.
 */
#ifndef TWLAB_CRAFT_H
#define TWLAB_CRAFT_H
#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"
#include "model/model.h"

struct craft_ep { uint32_t addr; uint16_t port; };   /* host order */

/* SO_MARK of craft's raw sockets: the RST-dropping rules craft and lab
 * probe install in a client namespace exempt it. */
#define CRAFT_MARK 0x7e1ac

/* A raw IPPROTO_TCP socket bound to src; -1 with errno. */
int craft_open(uint32_t src);
/* Send seg (flags, seq, ack, len=0, has_ts/tsval/tsecr) from src to dst.
 * SYNs carry MSS 1460. 0 or -1. */
int craft_send(int fd, struct craft_ep src, struct craft_ep dst, const struct segment *seg);
/* The next segment from dst to src within timeout_ms: 1, 0 timeout, -1 error. */
int craft_recv(int fd, struct craft_ep src, struct craft_ep dst, int timeout_ms, struct tcp_seg *out);

struct craft_session {
	uint32_t isn, server_isn;
	bool     ts;
	uint32_t tsval;
	/* what the server holds in TIME_WAIT afterwards */
	uint32_t tw_rcv_nxt, tw_snd_nxt, tw_ts_recent;
	unsigned bytes;             /* response bytes received */
	char     error[96];         /* why it failed, if it did */
};
/* A request path craft sends: starts with '/', printable ASCII without
 * spaces, at most CRAFT_PATH_MAX characters. */
#define CRAFT_PATH_MAX 200
bool craft_path_ok(const char *path);
/* Handshake, "GET <path> HTTP/1.0" (path NULL: "/"), read to the server's FIN, ACK it, FIN, wait
 * for the last ACK. The server must close first. 0 on success. */
int craft_run_session(int fd, struct craft_ep src, struct craft_ep dst, uint32_t isn,
		      bool ts, uint32_t tsval, const char *path, struct craft_session *out);
#endif
