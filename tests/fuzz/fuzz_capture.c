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

#include "analyze/analyze.h"
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
			/* and everything that decodes goes through the analyzer */
			struct an_opts o = { .kernel = kprofile_find("6.18") };
			struct analyzer *a = an_new(&o);
			int r, guard = 0;
			while ((r = capture_next(c, &s, err, sizeof err)) == 1 && guard++ < 100000)
				if (a)
					an_segment(a, &s);
			if (a) {
				const struct an_result *res = an_finish(a);
				if (res->collisions != res->coll_paws + res->coll_seq + res->coll_not_timewait + res->coll_unknown ||
				    res->collisions != res->recovered + res->timed_out + res->outcome_unknown)
					abort();
				an_free(a);
			}
			capture_close(c);
		}
	}
	close(fd);
	unlink(path);
	return 0;
}
