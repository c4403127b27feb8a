/*
 * fuzz_capture.c - libFuzzer target: the packet decoder on every supported
 * link type, and whole capture files through libpcap + the merge loop.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int dlts[] = { 1, 113, 276, 12, 228, 229, 0, 108, 101 };
	struct tcp_seg s;
	char path[] = "/tmp/twlab-fuzz-XXXXXX";
	const char *files[1] = { path };
	char err[256];
	int fd;

	for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++)
		if (seg_dlt_supported(dlts[i]) && seg_decode(dlts[i], data, size, &s) == SKIP_NONE &&
		    (s.family != 4 && s.family != 6))
			abort();

	/* as a file: libpcap reads through a path, so write one */
	fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		struct capture *c = capture_open(files, 1, err, sizeof err);
		if (c) {
			int r, guard = 0;
			while ((r = capture_next(c, &s, err, sizeof err)) == 1 && guard++ < 100000)
				;
			capture_close(c);
		}
	}
	close(fd);
	unlink(path);
	return 0;
}
