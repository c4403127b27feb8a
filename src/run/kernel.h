/*
 * kernel.h - the running kernel's model profile (uname -r resolved to its
 * exact version's facts); a process-wide value, resolved once.
 */
#ifndef TWLAB_RUN_KERNEL_H
#define TWLAB_RUN_KERNEL_H
#include "model/model.h"

const struct kprofile *host_kernel(void);
#endif
