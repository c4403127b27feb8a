/* fuzz_scenario.c - libFuzzer target: scenario files (inih + our checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct scenario s;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (scenario_parse(text, &s, err, sizeof err)) {
		/* whatever parsed is a lab we would be willing to build */
		if (!scenario_addr_ok(s.service_addr) || !scenario_addr_ok(s.snat_addr) ||
		    !scenario_addr_ok(s.server_addr) || s.clients < 1 || s.clients > SCEN_MAX_CLIENTS ||
		    !s.prefix[0] || strlen(s.prefix) > 11)
			abort();
		/* and a load both lab load and sim accept */
		if (!fleet_check(&s.fleet, err, sizeof err))
			abort();
	}
	free(text);
	return 0;
}
