/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Does what appshot-trace status says about an application match what the
 * kernel says (cgroup, /proc) and what bpftool reads from the pinned maps?
 * Each check returns 0, or -1 with the first difference in why.
 */
#ifndef APPSHOT_APPCHECK_H
#define APPSHOT_APPCHECK_H

#include <stddef.h>
#include <json-c/json.h>

/* Processes and threads: exactly the cgroup's; virtual pids as NSpid says. */
int check_tasks(struct json_object *app, char *why, size_t len);
/* Every live process's fds: the same numbers, kinds, paths, inodes and flags as /proc. */
int check_fds(struct json_object *app, char *why, size_t len);
/* Every live process's tracked mappings cover the same pages with the same
 * protections as /proc/PID/maps (the stack may have grown below). */
int check_maps(struct json_object *app, char *why, size_t len);
/* SysV objects: exactly those in the application's IPC namespace. */
int check_ipc_ns(struct json_object *app, char *why, size_t len);
/* The pinned maps as bpftool prints them hold the same tasks, fds, IPC
 * objects and mappings as status. */
int check_bpftool(struct json_object *app, char *why, size_t len);

/* The process in app with virtual pid vpid, or NULL. */
struct json_object *app_process(struct json_object *app, long vpid);
/* Its fd entry, or NULL. */
struct json_object *process_fd(struct json_object *proc, int fd);

#endif /* APPSHOT_APPCHECK_H */
