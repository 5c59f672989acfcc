/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dumping a stopped process into an image: its threads, memory, files and
 * everything the kernel keeps for it. The process's threads are all
 * ptrace-stopped by the caller (loader/snapshot.c).
 *
 * A process's core record (JSON):
 *   pid, ppid, pgid, sid (as the application sees them), comm, exe, cwd,
 *   root, umask, personality, creds, rlimits, mm (the mm's fields and auxv),
 *   sigactions, itimers, shared_pending, threads (registers, xstate,
 *   signal mask, pending signals, rseq, how a syscall in flight goes on),
 *   objects (shared memory, memfds, deleted files: their contents as page
 *   runs), vmas (each with the page runs of its own memory), fds.
 * Page runs are [start, pages, offset in the pages record].
 */
#ifndef APPSHOT_DUMP_H
#define APPSHOT_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "image.h"
#include "progress.h"

struct dump {
	struct image_writer w;
	struct image_pages pages;
	uint64_t mem_bytes; /* memory written */
	int objects; /* objects so far */
	struct progress progress; /* on a terminal */
};

/* One process, threads stopped: fills *core. */
int dump_process(struct dump *d, pid_t pid, const pid_t *tids, size_t ntids,
		 struct json_object **core);

/* dump_mem.c: areas, their pages, and the memory objects they map. */
int dump_memory(struct dump *d, pid_t pid, struct json_object *core);
/* The object (memfd, deleted file) an open file is, added if new: its id or -errno. */
int dump_object_of_fd(struct dump *d, pid_t pid, int fd, const char *kind, const char *path,
		      struct json_object *core);

struct remote;
/* dump_files.c: the fd table (r: the process, to ask it about close-on-exec). */
int dump_files(struct dump *d, pid_t pid, struct remote *r, struct json_object *core);

/* Append [start, len) of process pid's memory to the pages; *off where it went. */
int dump_copy(struct dump *d, pid_t pid, int mem_fd, unsigned long start, size_t len,
	      uint64_t *off);

#endif /* APPSHOT_DUMP_H */
