/*
 * kernel.h - the running kernel's model profile (uname -r resolved to its
 * exact version's facts); a process-wide value, resolved once.
 */
#ifndef TWLAB_LAB_KERNEL_H
#define TWLAB_LAB_KERNEL_H
#include "model/model.h"

const struct kprofile *lab_host_kernel(void);
#endif
