/* SPDX-License-Identifier: GPL-2.0-only */
/* What /proc says about processes: stat, threads, descendants, namespaces. */
#ifndef APPSHOT_PROC_H
#define APPSHOT_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
	pid_t pid, ppid, pgrp, sid;
	char state; /* R S D Z T ... */
	char comm[16];
	unsigned long long starttime; /* clock ticks after boot */
};

int proc_stat_read(pid_t pid, struct proc_stat *st);
/* The tids of a process; free(*tids) after. */
int proc_threads(pid_t pid, pid_t **tids, size_t *n);
/* The process's open fd numbers, in order; free(*fds) after. */
int proc_fds(pid_t pid, int **fds, size_t *n);
/* root and every process below it by parent links; free(*pids) after. */
int proc_descendants(pid_t root, pid_t **pids, size_t *n);
/* The pid as its innermost pid namespace sees it, and that namespace's level. */
int proc_nspid(pid_t pid, pid_t *vpid, uint32_t *level);
/* The value of a field of /proc/PID/status ("NSsid"...), as text; -ENOTSUP if none. */
int proc_status_field(pid_t pid, const char *key, char *out, size_t len);
/* The process (thread group) a thread belongs to. */
int proc_tgid(pid_t tid, pid_t *tgid);
/* The inode number of /proc/PID/ns/NAME. */
int proc_ns_ino(pid_t pid, const char *ns, uint32_t *ino);

#endif /* APPSHOT_PROC_H */
