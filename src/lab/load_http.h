/*
 * load_http.h - the little HTTP the load run speaks: the request a client
 * sends and the server's parse of it. Pure functions (the server's parse
 * reads bytes from the network: fuzzed in tests/fuzz/fuzz_http.c).
 */
#ifndef TWLAB_LOAD_HTTP_H
#define TWLAB_LOAD_HTTP_H
#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_REQUEST 2048      /* a longer head is refused (400) */

enum http_parse {
	HTTP_NEED_MORE,            /* no complete head yet */
	HTTP_OK,                   /* one complete GET/HEAD head */
	HTTP_BAD,                  /* not a request we answer: 400 and close */
};

struct http_req {
	size_t head_len;           /* bytes of the head, "\r\n\r\n" included */
	bool keepalive;            /* HTTP/1.1 without "Connection: close", or
				    * HTTP/1.0 with "Connection: keep-alive" */
	bool head;                 /* HEAD: no body in the answer */
};

/* Parse the head at the start of buf[0..len). With HTTP_BAD, why says what
 * was wrong. Never reads past len. */
enum http_parse http_parse_request(const char *buf, size_t len, struct http_req *r,
				   const char **why);

/* The request a load client sends: HTTP/1.0 (the server closes first) or
 * HTTP/1.1 kept alive (the client closes first). Returns its length. */
size_t http_client_request(bool keepalive, const char *host, char *buf, size_t len);

/* The server's answer. HTTP/1.0 style: no Content-Length, the end of the
 * body is the server's FIN (as python's http.server in `lab repro`). Kept
 * alive: Content-Length, the connection stays open. */
size_t http_server_response(bool keepalive, bool head, char *buf, size_t len);
size_t http_bad_request(char *buf, size_t len);
#endif
