/*
 * fuzz_kver.c - kprofile_resolve() on arbitrary --kernel strings: never
 * crashes, and whatever it accepts is a version from 3.10 on with a name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128];
	struct kprofile k;
	uint32_t v;

	if (size >= sizeof s)
		size = sizeof s - 1;
	memcpy(s, data, size);
	s[size] = 0;
	if (kprofile_resolve(s, &k) && (k.kver < KVER(3, 10, 0) || !k.name[0]))
		abort();
	if (kver_parse(s, &v) && v < KVER(1, 0, 0))
		abort();
	return 0;
}
