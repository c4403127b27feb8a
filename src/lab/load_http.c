/*
 * load_http.c - request head parsing for the load run's server, and the
 * fixed messages both sides send. Only what the lab needs: GET or HEAD,
 * HTTP/1.0 or 1.1, and the Connection header; anything else is a 400.
 */
#include "lab/load_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char BODY[] = "twlab lab server\n";

/* The end of the head ("\r\n\r\n") within buf[0..len), or NULL. */
static const char *head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return buf + i;
	return NULL;
}

/* Does the header value [v, e) hold the token tok (comma separated,
 * case-insensitive)? */
static bool has_token(const char *v, const char *e, const char *tok)
{
	size_t n = strlen(tok);
	while (v < e) {
		while (v < e && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		const char *s = v;
		while (v < e && *v != ',')
			v++;
		const char *t = v;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - s) == n && !strncasecmp(s, tok, n))
			return true;
	}
	return false;
}

enum http_parse http_parse_request(const char *buf, size_t len, struct http_req *r,
				   const char **why)
{
	const char *end = head_end(buf, len < HTTP_MAX_REQUEST ? len : HTTP_MAX_REQUEST);
	const char *p, *eol, *sp1, *sp2;
	bool v11, close_tok = false, keep_tok = false;

	memset(r, 0, sizeof *r);
	*why = NULL;
	if (!end) {
		if (len >= HTTP_MAX_REQUEST) {
			*why = "request head longer than 2048 bytes";
			return HTTP_BAD;
		}
		/* a request line must start like one, even before it is whole */
		for (size_t i = 0; i < len; i++)
			if (buf[i] == 0) {
				*why = "NUL byte in the request";
				return HTTP_BAD;
			}
		return HTTP_NEED_MORE;
	}
	r->head_len = (size_t)(end - buf) + 4;
	for (p = buf; p < end; p++)
		if (*p == 0) {
			*why = "NUL byte in the request";
			return HTTP_BAD;
		}
	/* request line: METHOD SP TARGET SP HTTP/1.x */
	eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp2 == sp1 + 1) {
		*why = "malformed request line";
		return HTTP_BAD;
	}
	if ((size_t)(sp1 - buf) == 3 && !memcmp(buf, "GET", 3)) {
		r->head = false;
	} else if ((size_t)(sp1 - buf) == 4 && !memcmp(buf, "HEAD", 4)) {
		r->head = true;
	} else {
		*why = "method is not GET or HEAD";
		return HTTP_BAD;
	}
	if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1')) {
		*why = "version is not HTTP/1.0 or HTTP/1.1";
		return HTTP_BAD;
	}
	v11 = sp2[8] == '1';
	/* header lines */
	for (p = eol + 2; p < end; p = eol + 2) {
		const char *colon;
		eol = memchr(p, '\r', (size_t)(end - p) + 1);
		if (eol[1] != '\n') {
			*why = "bare CR in a header";
			return HTTP_BAD;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p) {
			*why = "header line without a name";
			return HTTP_BAD;
		}
		if (colon - p == 10 && !strncasecmp(p, "connection", 10)) {
			close_tok |= has_token(colon + 1, eol, "close");
			keep_tok |= has_token(colon + 1, eol, "keep-alive");
		}
	}
	r->keepalive = v11 ? !close_tok : keep_tok && !close_tok;
	return HTTP_OK;
}

size_t http_client_request(bool keepalive, const char *host, char *buf, size_t len)
{
	int n = keepalive
		? snprintf(buf, len, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: twlab-load\r\n\r\n", host)
		: snprintf(buf, len, "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: twlab-load\r\n\r\n", host);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

size_t http_server_response(bool keepalive, bool head, char *buf, size_t len)
{
	int n = keepalive
		? snprintf(buf, len, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			   "Content-Length: %zu\r\n\r\n%s", sizeof BODY - 1, head ? "" : BODY)
		: snprintf(buf, len, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
			   "Connection: close\r\n\r\n%s", head ? "" : BODY);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

size_t http_bad_request(char *buf, size_t len)
{
	int n = snprintf(buf, len, "HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n");
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}
