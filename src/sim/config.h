/*
 * config.h - `twlab sim`'s command line and scenario into one run's
 * parameters: the scenario file ([fleet] and the lab's topology), then the
 * shared fleet options (scenario/fleet.h), then the simulator's own. No
 * output: errors come back as text for the caller to print (and for the
 * fuzz target to exercise).
 */
#ifndef TWLAB_SIM_CONFIG_H
#define TWLAB_SIM_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "sim/sim.h"

#define SIM_MAX_CAPTURES 64
#define SIM_SWEEP_MAX_POINTS 200

struct sim_config {
	struct scenario sc;
	struct sim_params p;
	bool json, compare, help;
	bool sweep;
	char sweep_param[24];
	double sweep_from, sweep_to, sweep_step;
	const char *plot, *pcap;
	const char *captures[SIM_MAX_CAPTURES];
	unsigned ncaptures;
	bool fw_time_wait_given;
	struct kprofile client_prof, server_prof; /* what p.client_k/server_k point to */
};

/* 0: ready; 1: --help asked; 2: usage error (reason in err, e.g.
 * "--snat: unknown mode ...: 'foo'"). argv[0] is "sim". */
int sim_config_parse(int argc, char **argv, struct sim_config *c, char *err, size_t errlen);

/* The parameters --sweep can vary, for messages and --help. */
extern const char *const sim_sweep_params[];
/* Set one swept parameter to v: false with the reason. */
bool sim_sweep_set(struct sim_params *p, const char *param, double v, char *err, size_t errlen);

/* A kernel name ("host", "6.18.44", "3.10", "rhel7.7", "4.19.124") to the
 * facts of that exact version, kept in *store (*k points there) with its
 * KVER in *kver; false with the valid names in err. */
bool sim_kernel(const char *name, struct kprofile *store, const struct kprofile **k,
		uint32_t *kver, char *err, size_t errlen);
#endif
