/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tracer's tables of one application, read from the pinned maps into
 * sorted arrays (for status, and later for snapshot), and their removal.
 */
#ifndef APPSHOT_TABLES_H
#define APPSHOT_TABLES_H

#include <stddef.h>
#include <linux/types.h>

#include "trace.h"
#include "tracer.h"

struct task_entry {
	__u32 tid;
	struct task_info ti;
};

struct fd_entry {
	struct fd_key k;
	struct fd_info fi;
};

struct file_entry {
	__u64 file;
	struct file_info fi;
};

struct sock_entry {
	__u64 ino;
	struct sock_info si;
};

struct ipc_entry {
	struct ipc_key k;
	struct ipc_info ii;
};

struct region_entry {
	struct region_key k;
	struct region_info ri;
};

struct region_lost {
	__u32 tgid;
	__u32 lost; /* mappings the full index could not hold */
	__u32 unsettled; /* changes maybe applied out of order, not rebuilt yet */
};

struct app_tables {
	__u32 aid;
	struct app_info info;
	struct task_entry *tasks; /* by tgid, the leader first, then tid */
	size_t ntasks;
	struct fd_entry *fds; /* by tgid, fd */
	size_t nfds;
	struct file_entry *files; /* by file id */
	size_t nfiles;
	struct sock_entry *socks; /* by inode */
	size_t nsocks;
	struct ipc_entry *ipcs; /* by kind, id */
	size_t nipcs;
	struct region_entry *regions; /* by tgid, start */
	size_t nregions;
	struct region_lost *lost; /* processes with untracked mapping changes */
	size_t nlost;
};

/* -ENOENT if the tracer has no application aid. */
int tables_read(struct tracer *t, __u32 aid, struct app_tables *out);
void tables_free(struct app_tables *at);
/*
 * Rebuild, from the kernel's VMAs, the mappings of the application's
 * processes whose tables are unsettled (threads changed mappings at once).
 * Returns how many processes were rebuilt, or -errno.
 */
int tables_settle(struct tracer *t, __u32 aid);
/*
 * A SysV object of application aid made outside the tracer's sight (by a
 * restore): into its table. An entry the seed made (an attached segment)
 * keeps its count of mappings.
 */
int tables_add_ipc(struct tracer *t, __u32 aid, enum appshot_ipc_kind kind, __s32 id,
		   const struct ipc_info *ii);
/* Remove every entry of application aid from every map. */
int tables_drop(struct tracer *t, __u32 aid);
/* Which application a system tid belongs to: 0 and its task_info, or -ENOENT. */
int tables_task(struct tracer *t, __u32 tid, struct task_info *ti);
/* How many applications the tracer knows. */
int tables_count_apps(struct tracer *t);

/* Lookups in a read table; NULL if absent. */
const struct sock_entry *tables_sock(const struct app_tables *at, __u64 ino);
const struct file_entry *tables_file(const struct app_tables *at, __u64 file);

#endif /* APPSHOT_TABLES_H */
