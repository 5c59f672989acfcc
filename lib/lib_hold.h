/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Traffic held while an application is away (lib/hold.c): no peer of its
 * TCP connections, listeners or UDP sockets is answered with a reset while
 * it is in its image; the restore lets the traffic through again.
 */
#ifndef APPSHOT_LIB_HOLD_H
#define APPSHOT_LIB_HOLD_H

#include <stddef.h>
#include <linux/types.h>

#include "hold.h"

/* Hold these endpoints for application aid (loads and attaches the hold when it is not). */
int hold_add(__u32 aid, const struct hold_key *keys, size_t n);
/*
 * Hold application aid's endpoints (if any are) in this network namespace
 * too: the restore into another one, till it lets them through.
 */
int hold_follow(__u32 aid);
/* Let application aid's endpoints through; the last one out removes the hold. */
int hold_release(__u32 aid);

#endif /* APPSHOT_LIB_HOLD_H */
