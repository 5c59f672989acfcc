// SPDX-License-Identifier: GPL-2.0-only
/* The one definition of every map the tracer's programs share. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define APPSHOT_DEFINE_MAPS
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";
