/* fuzz_num.c - libFuzzer target: the command-line number parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint32_t v; double d; const char *why;
	if (!s) return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (parse_u32(s, &v, &why)) {
		/* a parsed value prints back to something that parses the same */
		char buf[32];
		uint32_t w;
		snprintf(buf, sizeof buf, "%u", v);
		if (!parse_u32(buf, &w, &why) || w != v) abort();
	}
	(void)parse_seconds(s, 1e9, &d, &why);
	free(s);
	return 0;
}
