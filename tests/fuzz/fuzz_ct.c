/* fuzz_ct.c - libFuzzer target: the lines of `conntrack -E -o timestamp`
 * that lab load reads (which client got which SNAT address; the one-to-one
 * pool's session table). Any line: no crash, a known event type, and a
 * session table that stays consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/load.h"

static struct load_sessions sess;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct load_ct_ev e;
	int t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	t = load_ct_parse(s, &e);
	if (t != 0 && t != 1 && t != 2 && t != -1)
		abort();
	if (t) {
		load_sessions_event(&sess, &e);
		(void)load_sessions_alive(&sess, e.ts, e.nat);
		if (sess.nactive > 65536)
			abort();
	}
	free(s);
	return 0;
}
