/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What an image needs of the kernel it is restored on: the same vdso (the
 * application's code may have cached its entry points) and room for the
 * same extended register state.
 */
#ifndef APPSHOT_KINFO_H
#define APPSHOT_KINFO_H

#include <stddef.h>
#include <stdint.h>

/* A checksum of this kernel's vdso, and its size. */
int vdso_fingerprint(uint64_t *sum, size_t *len);
/* The running kernel's release (uname -r). */
void kernel_release(char *buf, size_t len);

#endif /* APPSHOT_KINFO_H */
