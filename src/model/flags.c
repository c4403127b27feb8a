/*
 * flags.c - TCP flag letters <-> bits, the spelling every front end prints
 * ("S", "SA", "A", "R", "RA", "FA"): the order is fixed so that text and
 * JSON output, and tests, compare equal.
 */
#include "model/model.h"

#include <string.h>

static const struct { char c; uint8_t bit; } letters[] = {
	{ 'F', TCPF_FIN }, { 'S', TCPF_SYN }, { 'R', TCPF_RST },
	{ 'P', TCPF_PSH }, { 'A', TCPF_ACK }, { 'U', TCPF_URG },
};
#define NLETTERS (sizeof(letters) / sizeof(letters[0]))

bool tcp_flags_parse(const char *s, uint8_t *out)
{
	uint8_t f = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		size_t i;
		for (i = 0; i < NLETTERS; i++)
			if (*s == letters[i].c)
				break;
		if (i == NLETTERS || (f & letters[i].bit))
			return false;
		f |= letters[i].bit;
	}
	*out = f;
	return true;
}

/* Order: S F R P U A -> "SA", "FA", "RA", "PA", "A". */
const char *tcp_flags_str(uint8_t flags, char buf[8])
{
	static const char order[] = "SFRPUA";
	size_t n = 0;

	for (size_t k = 0; order[k]; k++)
		for (size_t i = 0; i < NLETTERS; i++)
			if (letters[i].c == order[k] && (flags & letters[i].bit))
				buf[n++] = order[k];
	if (!n)
		buf[n++] = '.';
	buf[n] = 0;
	return buf;
}
