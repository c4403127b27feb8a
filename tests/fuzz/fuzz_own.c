/* fuzz_own.c - libFuzzer target: ownership record lines (run/own.c). A
 * record names namespaces, processes and nft tables that `lab down` acts
 * on, so whatever parses must be a name ip(8) and nft(8) take as one plain
 * word, and a real pid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/own.h"

static void plain(const char *s)
{
	if (!*s || s[0] == '.' || strlen(s) >= OWN_NAME_MAX || strpbrk(s, "/ \t\n;{}\"'$"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct own_record rec;
	char *text = malloc(size + 1), *line, *save;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	memset(&rec, 0, sizeof rec);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		own_parse_line(line, &rec);
	if (rec.n > OWN_MAX_ITEMS)
		abort();
	for (unsigned i = 0; i < rec.n; i++) {
		const struct own_item *it = &rec.item[i];
		if (it->kind == OWN_PROC && (it->pid <= 1 || !it->start))
			abort();
		if (it->kind != OWN_PROC)
			plain(it->name);
		if (it->kind == OWN_NFT)
			plain(it->table);
	}
	free(text);
	return 0;
}
