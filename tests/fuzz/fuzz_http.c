/* fuzz_http.c - libFuzzer target: the load server's request parser reads
 * bytes from the network. It must never read past the input, and what it
 * accepts must be a head that ends inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/load_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	struct http_req r;
	const char *why;
	enum http_parse p;

	if (!s)
		return 0;
	memcpy(s, data, size);
	p = http_parse_request(s, size, &r, &why);
	if (p == HTTP_OK && (r.head_len > size || r.head_len < 4 ||
			     memcmp(s + r.head_len - 4, "\r\n\r\n", 4)))
		abort();
	if (p == HTTP_BAD && !why)
		abort();
	free(s);
	return 0;
}
