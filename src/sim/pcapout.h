/*
 * pcapout.h - write the simulator's server-side packets to a pcap file
 * (libpcap), for `twlab analyze` and other readers.
 */
#ifndef TWLAB_SIM_PCAPOUT_H
#define TWLAB_SIM_PCAPOUT_H
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct sim_pcap;
/* NULL with the reason in err. */
struct sim_pcap *sim_pcap_open(const char *path, char *err, size_t errlen);
/* Matches sim_params.packet. Times are simulated microseconds since 0
 * (1970-01-01 in the file: the sim has no wall clock). */
void sim_pcap_packet(void *arg, int64_t t_us, const struct segment *seg, uint32_t saddr,
		     uint16_t sport, uint32_t daddr, uint16_t dport);
/* Flush and close; -1 if writing failed. */
int sim_pcap_close(struct sim_pcap *w, uint64_t *packets);
#endif
