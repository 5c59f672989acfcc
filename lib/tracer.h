/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tracer in the kernel: its BPF programs loaded once and pinned under
 * /sys/fs/bpf/appshot, shared by every application, and removed with the
 * last one, unless it was made resident (appshot-trace load), when it stays
 * until appshot-trace unload. Commands that only read the tables open the
 * pinned maps.
 */
#ifndef APPSHOT_TRACER_H
#define APPSHOT_TRACER_H

#include <stdio.h>

#include <linux/types.h>
#include "trace.h"

#define APPSHOT_PIN_ROOT "/sys/fs/bpf/appshot"

enum tracer_map {
	TMAP_META,
	TMAP_APPS,
	TMAP_TASKS,
	TMAP_VTASKS,
	TMAP_FDS,
	TMAP_FILES,
	TMAP_SOCKS,
	TMAP_SK_SOCKS,
	TMAP_IPCS,
	TMAP_REGIONS,
	TMAP_REGION_IDX,
	TMAP_RINGS,
	TMAP_COUNT,
};

extern const char *const tracer_map_names[TMAP_COUNT];

struct tracer {
	int fd[TMAP_COUNT];
};

/* Root, BTF, bpffs and tracefs (mounted here when missing, as bpftool does). */
int tracer_check_env(void);
/* Are the tracer's programs attached (pinned links present)? */
int tracer_is_loaded(void);
/* Load, attach and pin the programs; removes stale pins first. */
int tracer_load(void);
/* Remove every pin: programs detach, maps go away. */
int tracer_unload(void);
/* Open the pinned maps: -ENOENT when the tracer is not loaded. */
int tracer_open(struct tracer *t);
void tracer_close(struct tracer *t);
/* The tracer's meta record (layout, flags, when it was loaded). */
int tracer_meta(const struct tracer *t, struct trace_meta *m);
/* Is it resident: kept loaded without applications? */
int tracer_is_resident(const struct tracer *t);
/* Make it resident, or let it go with its last application again. */
int tracer_set_resident(const struct tracer *t, int on);
/* Run the seed iterators for tasks marked TASKF_SEED. */
int tracer_seed(void);
/* Run the pinned iterator name: an fd to read its text from, or -errno (said). */
int tracer_iter_open(const char *name);
/* The same, to read by lines: NULL with *err (-errno) when it cannot. */
FILE *tracer_iter_fopen(const char *name, int *err);
/* How many programs are attached, and how many this kernel lacks a hook for. */
void tracer_prog_counts(int *attached, int *skipped);

#endif /* APPSHOT_TRACER_H */
