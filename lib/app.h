/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An application's life in appshot: registered (number, cgroup, tracer
 * entry), its tasks adopted into the tables, and finally unregistered with
 * nothing left behind. Shared by run, attach and detach.
 */
#ifndef APPSHOT_APP_H
#define APPSHOT_APP_H

#include <stddef.h>
#include <sys/types.h>

#include "registry.h"
#include "tracer.h"

/* Load the tracer if it is not yet (registry lock held) and open its maps. */
int app_tracer_ready(struct tracer *tr);
/* After a command failed: a tracer left without applications is removed. */
void app_tracer_release(struct tracer *tr);

/*
 * Register rec (name, mode, root, own_ns, origin_cgroup filled by the
 * caller): number from the registry, cgroup created, tracer entry. Either
 * all of it is done or none.
 */
int app_register(struct registry *reg, struct tracer *tr, struct app_record *rec,
		 __u32 pidns_level, __u32 pidns_ino, __u32 ipcns_ino);

/*
 * Note fd of process tgid (a member already) as an open file the
 * application was given knowingly, known by key from now on (its snapshot
 * records it as such). -EBADF if it has no such fd, -ENOSPC past
 * APP_MAX_EXTERNAL.
 */
int app_note_external(struct app_record *rec, pid_t tgid, int fd, int key);

/*
 * Make tasks (system tids) members of application aid and describe what
 * they hold (fds, mappings) with the seed iterators. extra: TASKF_INIT.
 */
int app_adopt(struct tracer *tr, __u32 aid, const pid_t *tids, size_t n, __u32 extra);

/*
 * Stop tracing the application and remove what appshot made for it: table
 * entries, event ring, cgroup (processes still in it go back to where they
 * came from), registry record; the tracer too when it was the last.
 */
int app_unregister(struct registry *reg, struct tracer *tr, const struct app_record *rec);

/* The number of the application the tracer knows by name (whatever the registry says). */
int app_find_traced(struct tracer *tr, const char *name, __u32 *aid);

/* The application named name: 0, or -ENOENT with a message. */
int app_lookup(struct registry *reg, const char *name, struct app_record *rec);

/*
 * In the foreground: wait for the application whose first process is
 * first (a child of ours) to end, passing signals on, then unregister it.
 * With share_ns we are the subreaper of its orphans and wait for them too.
 * The first process's exit status as a shell gives it.
 */
int app_foreground(const char *name, pid_t first, int share_ns);

#endif /* APPSHOT_APP_H */
