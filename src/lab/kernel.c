/*
 * kernel.c - which kernel are we running on, as a model profile. The model
 * is pure (no uname); this is the one place the host's release is read.
 */
#include "lab/kernel.h"

#include <sys/utsname.h>

const struct kprofile *lab_host_kernel(void)
{
	static struct kprofile k;
	static bool done;
	struct utsname u;

	if (!done) {
		if (uname(&u) != 0 || !kprofile_resolve(u.release, &k))
			k = *kprofile_for_release("");
		done = true;
	}
	return &k;
}
