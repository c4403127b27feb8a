/*
 * fuzz_trace_classify.c - libFuzzer target: arbitrary kernel events (the
 * bytes of a struct twlab_event: headers copied from the network, socket
 * fields, sysctls) through trace_classify() on every profile, checking
 * what must hold whatever the kernel handed over.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct twlab_event e;
	struct trace_decision d;
	struct trace_stats st;

	memset(&e, 0, sizeof e);
	memcpy(&e, data, size < sizeof e ? size : sizeof e);
	e.type = e.type % 4;                 /* 0 (unknown) and the three types */
	for (const struct kprofile *const *k = kprofile_all(); *k; k++) {
		memset(&st, 0, sizeof st);
		trace_classify(*k, &e, &d);
		trace_count(&st, &d);
		if (d.kind >= TK__N || !strcmp(trace_kind_str(d.kind), "?"))
			abort();
		if (st.events != 1)
			abort();
		/* a SYN refused by TIME_WAIT always has a cause, paws or seq (in
		 * FIN_WAIT2 it is only out of window: counted as "other") */
		if (d.kind == TK_TW_SYN_REJECTED && d.tw_sock.substate == TW_TIME_WAIT &&
		    d.tw_d.cause != TW_CAUSE_PAWS && d.tw_d.cause != TW_CAUSE_SEQ)
			abort();
		if (d.kind == TK_TW_SYN_REJECTED && st.rej_paws + st.rej_seq + st.rej_other != 1)
			abort();
		/* a freed SYN the socket would accept is answered like a refused one */
		if (d.kind == TK_TW_SYN_NO_LISTENER && d.tw_d.verdict == TCP_TW_SYN)
			abort();
		if (d.kind == TK_UNDECODED ? d.skip == SKIP_NONE : d.skip != SKIP_NONE)
			abort();
		/* the kernel names TW_PAWS only where the model says it does
		 * (6.15+); where fexit gave a status, that must match too, so
		 * then agreement needs the reason to agree but is not implied */
		bool paws_ok = d.kernel_paws == (d.tw_d.paws_reject && d.tw_d.drop_reason &&
						 !strcmp(d.tw_d.drop_reason, "TCP_RFC7323_TW_PAWS"));
		if (d.tw && e.type == TEV_TW_DROP &&
		    (e.verdict < 0 ? d.model_agrees != paws_ok : d.model_agrees && !paws_ok))
			abort();
		if (d.kernel_status && !tw_status_str(e.verdict))
			abort();
	}
	return 0;
}
