/*
 * probe.h - `lab probe`: tw_process() against the running kernel.
 */
#ifndef TWLAB_PROBE_H
#define TWLAB_PROBE_H
#include "lab/lab.h"
#include "model/model.h"

#define PROBE_MAX_LISTED 50

struct probe_opts {
	unsigned count;
	uint32_t seed;
	bool progress;
};

struct probe_result {
	const struct kprofile *kernel;
	unsigned probes, agree, disagree, failed;
	unsigned nlisted;
	char listed[PROBE_MAX_LISTED][512];   /* every disagreement in full (first 50) */
	char log[700];                        /* all probes, one line each */
};

/* Builds its own two namespaces (prefix + "pc"/"ps"), removes them after. */
int lab_probe(struct lab *L, const struct probe_opts *o, struct probe_result *r, char *err, size_t errlen);
#endif
