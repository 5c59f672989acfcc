/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Each application has a cgroup v2 of its own, <cgroup2 mount>/appshot/NAME,
 * so that it can be frozen whole and its processes listed and moved.
 */
#ifndef APPSHOT_CGROUP_H
#define APPSHOT_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

/* Where cgroup v2 is mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified). */
int cgroup2_mount(char *buf, size_t len);
/* The cgroup an application NAME gets. */
int cgroup_app_path(const char *name, char *buf, size_t len);
/* The absolute path of the cgroup v2 that pid is in. */
int cgroup_of_pid(pid_t pid, char *buf, size_t len);
/* mkdir; -EEXIST if it is there already. */
int cgroup_create(const char *path);
int cgroup_move(const char *path, pid_t pid);
/* The pids in cgroup.procs or the tids in cgroup.threads; free(*ids) after. */
int cgroup_read_ids(const char *path, const char *file, pid_t **ids, size_t *n);
/* Freeze or thaw, waiting up to timeout_ms for cgroup.events to agree. */
int cgroup_freeze(const char *path, int frozen, int timeout_ms);
/* Kill every process in it (cgroup.kill). */
int cgroup_kill(const char *path);
/* Wait (at most timeout_ms) until no process is left in it: -ETIMEDOUT if some are. */
int cgroup_wait_empty(const char *path, int timeout_ms);
/* Move what is left to dest (if given) and remove the cgroup. */
int cgroup_remove(const char *path, const char *dest);

#endif /* APPSHOT_CGROUP_H */
