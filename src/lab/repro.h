/*
 * repro.h - `lab repro`: the report's incident end to end, on demand.
 */
#ifndef TWLAB_REPRO_H
#define TWLAB_REPRO_H
#include "lab/lab.h"
#include "model/model.h"

#define REPRO_MAX_ATTEMPTS 64

enum outcome { OUT_OK, OUT_DELAYED, OUT_TIMED_OUT };
const char *outcome_str(enum outcome o);

struct attempt {
	unsigned client;             /* 1-based */
	uint16_t port;               /* the client's local port (kept by SNAT) */
	double   t;                  /* seconds since the run started */
	enum outcome outcome;
	double   connect_ms;         /* what curl measured (timeout: the limit) */
	unsigned http;               /* status, 0 if none */
	unsigned syn_sent;           /* SYNs for this attempt seen at the server */
	unsigned syns_bare_acked;    /* ...that the server answered with a bare ACK */
	char     answer[24];         /* the server's answer to the first SYN */
	uint32_t answer_ack;
	bool     reuse;              /* the 4-tuple was used before in this run */
	bool     collision;          /* first SYN drew no SYN-ACK from the server */
	bool     modelled;           /* the TIME_WAIT state was rebuilt from the capture */
	struct tw_sock tw;           /* ...and here it is */
	struct segment syn;
	struct tw_decision model;    /* what src/model/ says about that SYN */
	bool     agree;              /* model verdict matches the server's answer */
	long long rst_delta;         /* client RSTs sent during the attempt */
	uint8_t  answer_flags;       /* flags of the server's answer to the first SYN */
	bool     fw_passes;          /* model: fw_reply_passes() for that answer */
	bool     fw_agree;           /* ...and the client's outcome says the same */
	double   rst_to_syn_ms;      /* client capture: its RST -> its next SYN, 0 if none */
};

struct repro_opts {
	unsigned reuses;             /* colliding reuses to make (>= 1) */
	bool keep;                   /* leave the lab up */
};

struct repro_result {
	const struct kprofile *kernel;
	unsigned n;
	struct attempt a[REPRO_MAX_ATTEMPTS];
	unsigned ok, delayed, timed_out, collisions, coll_paws, coll_seq, agree;
	unsigned fw_judged, fw_agree;   /* firewall model vs the real nft rules */
	double   rst_to_syn_max_ms;     /* the longest of the attempts' rst_to_syn_ms */
	int32_t clock_gap_ms;        /* (s32)(first client's clock - second's) */
	/* The kernel as the oracle: the server namespace's TIME_WAIT PAWS
	 * counter (the profile's paws_tw_counter) over the run, and the SYNs
	 * the model says it PAWS-rejected: those the server answered with a
	 * bare ACK in an attempt whose first SYN the model PAWS-rejects (a
	 * rejection leaves ts_recent as it was; a client RST ends the
	 * TIME_WAIT, and its next SYN gets a SYN-ACK). */
	long long kernel_paws;       /* counter delta; -1: could not be read */
	unsigned model_paws_syns;
	struct repro_capture {
		enum { CAP_CLIENT, CAP_FIREWALL, CAP_SERVER } role;
		unsigned client;         /* CAP_CLIENT: 1-based */
		char name[16];           /* "client-1", "firewall", "server" */
		char path[700];
	} cap[SCEN_MAX_CLIENTS + 2];
	unsigned ncaptures;
};

/* 0 on success; -1 with a message in err (also when a client could not
 * run: that is never counted as a timeout). The lab is always torn down
 * unless opts->keep. */
int lab_repro(struct lab *L, const struct repro_opts *o, struct repro_result *r,
	      char *err, size_t errlen);
#endif
