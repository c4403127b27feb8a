/*
 * kernel.c - which kernel are we running on, as a model profile. The model
 * is pure (no uname); this is the one place the host's release is read.
 */
#include "run/kernel.h"

#include <string.h>
#include <sys/utsname.h>

const struct kprofile *host_kernel(void)
{
	static struct kprofile k;
	static bool done;
	struct utsname u;

	if (!done) {
		/* Debian names the ABI, not the release: uname -r "6.1.0-56-amd64",
		 * uname -v "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (...)". */
		const char *deb = NULL;
		if (uname(&u) == 0 && (deb = strstr(u.version, "Debian ")) &&
		    kprofile_resolve(deb + 7, &k))
			;
		else if (uname(&u) != 0 || !kprofile_resolve(u.release, &k))
			k = *kprofile_for_release("");
		done = true;
	}
	return &k;
}
