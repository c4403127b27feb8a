/* fuzz_sim.c - libFuzzer target: `twlab sim`'s command line (NUL-separated
 * arguments) through sim_config_parse(), which also parses the scenario
 * options and checks the fleet; whatever it accepts must pass sim_check()
 * and, when small, must run to completion with consistent counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[40], err[512];
	int argc = 0;
	struct sim_config *c;

	if (size > 2048)
		return 0;
	buf = malloc(size + 1);
	c = malloc(sizeof *c);
	if (!buf || !c)
		goto out;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[argc++] = "sim";
	for (size_t i = 0; i < size && argc < 39;) {
		if (!strncmp(buf + i, "--scenario", 10) || !strncmp(buf + i, "--pcap", 6) ||
		    !strncmp(buf + i, "--plot", 6)) {
			/* no files from the fuzzer: they name paths */
			goto out;
		}
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	if (sim_config_parse(argc, argv, c, err, sizeof err) != 0)
		goto out;
	if (!sim_check(&c->p, err, sizeof err))
		abort();
	/* small enough to run: then the counts must add up */
	if (c->p.fleet.clients * c->p.fleet.rate * c->p.fleet.duration_s <= 2000 &&
	    c->p.fleet.clients <= 64) {
		struct sim_result *r = malloc(sizeof *r);
		if (r && sim_run(&c->p, r, err, sizeof err) == 0) {
			if (r->established + r->timed_out != r->connections ||
			    r->delayed + (r->timed_out - r->nat_exhausted - r->client_ports_exhausted) <
				    r->collisions)
				abort();
		}
		free(r);
	}
out:
	free(buf);
	free(c);
	return 0;
}
