/*
 * fuzz_capture.c - libFuzzer target: the packet decoder on every supported
 * link type; whole capture files through both readers (the mapped
 * classic-pcap and pcapng ones, and libpcap, the reference), which must
 * yield the same records, bytes, end and error; and what decodes through
 * the analyzer. Seeds: tests/fuzz/corpus/fuzz_capture (ng-*.pcapng are
 * `editcap -F pcapng` of the pcaps there, and linktypes/mixed-link.pcapng).
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "capture/capture.h"

static void same_records(const char *path)
{
	const char *files[1] = { path };
	char err[256];
	struct capture *ref = capture_open_flags(files, 1, CAPTURE_LENIENT | CAPTURE_LIBPCAP_ONLY, err, sizeof err);
	struct capture *fast = capture_open_flags(files, 1, CAPTURE_LENIENT, err, sizeof err);
	if (!ref || !fast)
		abort();
	if (capture_file(ref, 0)->failed != capture_file(fast, 0)->failed)
		abort();
	for (;;) {
		struct pcap_pkthdr h1, h2;
		const uint8_t *d1 = NULL, *d2 = NULL;
		int r1 = capture_record(ref, 0, &h1, &d1), r2 = capture_record(fast, 0, &h2, &d2);
		if (r1 != r2)
			abort();
		if (r1 <= 0) {
			if (strcmp(capture_file(ref, 0)->error, capture_file(fast, 0)->error))
				abort();
			break;
		}
		if (h1.ts.tv_sec != h2.ts.tv_sec || h1.ts.tv_usec != h2.ts.tv_usec || h1.caplen != h2.caplen ||
		    h1.len != h2.len || memcmp(d1, d2, h1.caplen))
			abort();
	}
	capture_close(ref);
	capture_close(fast);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int dlts[] = { 1, 113, 276, 12, 228, 229, 0, 108, 101, 239, 9, 50, 51, 104, 107, 178, 105, 127 };
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
		same_records(path);
		struct capture *c = capture_open(files, 1, err, sizeof err);
		if (c) {
			/* and everything that decodes goes through the analyzer */
			struct an_opts o = { .kernel = kprofile_find("6.18"), .max_memory = 4u << 20 };
			struct analyzer *a = an_new(&o);
			/* ... and as if three vantage points had captured it */
			static const struct an_vantage v3[3] = {
				{ "s", AN_ROLE_SERVER, true, NULL },
				{ "f", AN_ROLE_FW_OUTSIDE, true, NULL },
				{ "c", AN_ROLE_CLIENT, true, NULL },
			};
			struct an_opts o3 = o;
			o3.vantage = v3;
			o3.nvantage = 3;
			struct analyzer *a3 = an_new(&o3);
			int r, guard = 0;
			uint64_t segs = 0;
			while ((r = capture_next(c, &s, err, sizeof err)) == 1 && guard++ < 100000) {
				if (a && an_segment(a, &s) == 0)
					segs++;
				s.file = (uint8_t)(s.seq % 3);
				if (a3)
					an_segment(a3, &s);
			}
			if (a3) {
				const struct an_result *res = an_finish(a3);
				char text[512];
				for (unsigned i = 0; i < res->listed; i++) {
					const struct an_path *p = &res->list[i].path;
					if (p->last_seen > 2 || p->lost_before > 2 || p->client_file > 2)
						abort();
					an_path_text(p, v3, 3, text, sizeof text);
				}
				an_free(a3);
			}
			/* role detection reads the file too */
			struct an_vantage vd[2] = { { path, AN_ROLE_UNKNOWN, false, NULL },
						    { path, AN_ROLE_UNKNOWN, false, NULL } };
			an_vantage_detect(vd, 2, err, sizeof err);
			if (a) {
				const struct an_result *res = an_finish(a);
				if (res->segments != segs || res->peak_memory > o.max_memory)
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
