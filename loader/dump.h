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
 *   runs), vmas (each with the page runs of its own memory), fds. An fd
 *   whose open file an earlier process of the image holds too names it:
 *   "same_as": [pid, fd]. An object an earlier process has too is listed
 *   again with the same id, "of" that process, without pages. A pipe whose both ends the application holds is
 *   "pipe" (its inode, size and unread bytes; the bytes in a blob record
 *   pipe-INODE); one with an end outside it may only be stdio ("external").
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

/* An open file of a process dumped before: later processes may share it. */
struct dump_file {
	pid_t sys_pid, vpid;
	int fd;
	uint64_t dev, ino;
};

/* A memory object (shared anonymous memory, memfd, deleted file) seen so far. */
struct dump_object {
	uint64_t dev, ino;
	pid_t vpid; /* the first process that has it: its contents are in its core */
	int id;
};

/*
 * A pipe or FIFO the application holds (kinds/pipe.c): its own if every
 * open file of it is the application's, counted against the pipe's own
 * counts of readers and writers.
 */
struct dump_pipe {
	uint64_t dev, ino; /* pipefs's for a pipe, its filesystem's for a FIFO */
	uint64_t *files; /* the application's open files of it (kernel addresses) */
	size_t nfiles;
	unsigned int readers, writers; /* of those */
	unsigned int all_readers, all_writers; /* the pipe's own counts */
	int saved; /* its contents are in the image */
};

/* A socket the application holds; for a unix one, what sock_diag says of it. */
struct dump_sock {
	uint64_t ino, peer;
	int unix_;
	int type, state;
	char name[108];
	int namelen;
	uint32_t vfs_ino, vfs_dev; /* bound to a path: the socket file it made (kernel dev_t) */
	uint32_t rqlen, wqlen, icons;
	int shutdown;
	int saved; /* its state and queue are in the image */
	int tcp_state; /* TCP (from /proc/net/tcp*): its state, its two ends as the kernel prints them */
	char tcp_local[40], tcp_remote[40];
	struct json_object *inet; /* TCP or UDP: what its first fd recorded */
	/* from the tracer's sock_state iterator (what no getsockopt shows) */
	int known; /* it was seen there */
	int sk_shutdown, groups, mc_index, reuseport_prog, tcp_keys, user_mss;
};

/* An fd holding an open file the application was given knowingly (kinds/inherited.c). */
struct dump_given {
	pid_t pid; /* system pid */
	int fd, key;
};

/*
 * A file in flight in a unix socket (SCM_RIGHTS not yet received) and the
 * fd of a process of the application that holds its open file: the restore
 * sends that one again. Checked once every process is saved.
 */
struct dump_flight {
	pid_t vpid; /* the holder */
	int fd;
	pid_t sock_vpid; /* the socket's holder, its fd */
	int sock_fd;
};

struct dump {
	struct image_writer w;
	struct image_pages pages;
	uint64_t mem_bytes; /* memory written */
	int objects; /* objects so far */
	struct progress progress; /* on a terminal */
	pid_t vpid; /* the process being dumped, as the application sees it */
	int own_ipc; /* the application has its own IPC namespace: SysV objects are saved */
	int leave_running; /* the application runs on: TCP sockets leave repair mode again */
	int last_try; /* else what may go away (connections not yet accepted) fails quietly */
	struct dump_file *files; /* open files of the processes dumped so far */
	size_t nfiles;
	struct dump_object *seen; /* objects of the processes dumped so far */
	size_t nseen;
	struct dump_pipe *pipes; /* every pipe of the application's processes */
	size_t npipes;
	struct dump_sock *socks; /* every socket of the application's processes */
	size_t nsocks;
	int *repaired; /* our copies of its TCP connections put under repair */
	size_t nrepaired;
	struct dump_given *given; /* the fds of files it was given knowingly */
	size_t ngiven;
	const pid_t *pids; /* the application's processes (system pids) */
	size_t npids;
	struct dump_flight *flights; /* files in flight in its unix sockets, by their holders */
	size_t nflights;
};

/*
 * Let the copies of the TCP connections go: with undo (a failed snapshot)
 * out of repair first, so the application goes on as it was; else they
 * stay under repair and end silently with the application.
 */
void dump_tcp_release(struct dump *d, int undo);

/* dump_sock.c: before any process is dumped, its sockets and what the kernel says of them. */
int dump_scan_socks(struct dump *d, const pid_t *pids, size_t n);
/* The socket of that inode the scan found, or NULL. */
struct dump_sock *dump_sock_find(struct dump *d, uint64_t ino);
/* The unix socket an fd's /proc link names, or NULL (not a socket, or not unix). */
struct dump_sock *dump_sock_of(struct dump *d, const char *link);
/* Is its peer outside the application? */
int dump_sock_outside(struct dump *d, const struct dump_sock *s);
#include "lib_hold.h"

/*
 * The local endpoints of the TCP and UDP sockets in a core record, added to
 * keys; *outside set if a TCP connection's peer is outside the application.
 */
int dump_hold_keys(struct json_object *core, struct hold_key **keys, size_t *n, int *outside);
/* Is the peer of this TCP connection a socket of the application too? */
int dump_tcp_peer_inside(struct dump *d, const struct dump_sock *s);

/* fn on every fd of the processes, with its /proc link; stops at the first error. */
int dump_each_fd(struct dump *d, const pid_t *pids, size_t n,
		 int (*fn)(struct dump *d, pid_t pid, int fd, const char *link));
/* kinds/unix.c: after every process is dumped, can each file in flight be sent again? */
int dump_check_flights(struct dump *d, struct json_object *const *cores, size_t n);
/* kinds/inherited.c: before any process is dumped, which fds hold a file rec says it was given. */
struct app_record;
int dump_scan_given(struct dump *d, const struct app_record *rec, const pid_t *pids, size_t n);
/* kinds/pipe.c: before any process is dumped, which pipes the processes hold, and which ends. */
int dump_scan_pipes(struct dump *d, const pid_t *pids, size_t n);

void dump_free(struct dump *d);

/* One process, threads stopped: fills *core. */
int dump_process(struct dump *d, pid_t pid, const pid_t *tids, size_t ntids,
		 struct json_object **core);

/* dump_mem.c: areas, their pages, and the memory objects they map. */
int dump_memory(struct dump *d, pid_t pid, struct json_object *core);
/* The object (memfd, deleted file) an open file is, added if new: its id or -errno. */
int dump_object_of_fd(struct dump *d, pid_t pid, int fd, const char *kind, const char *path,
		      struct json_object *core);

/* The data extents of an open file (shmem, memfd, deleted file) into the pages, as runs. */
int dump_file_contents(struct dump *d, int fd, uint64_t size, struct json_object *runs);

/*
 * dump_ipc.c: the SysV objects of the IPC namespace of process pid, which
 * must be the application's own: record "ipc", message bytes in blob
 * "ipc-messages".
 */
int dump_ipc(struct dump *d, pid_t pid, struct json_object **ipc);

/*
 * An application in the machine's IPC namespace: SysV objects of it that
 * the application uses are refused (said).
 */
int dump_ipc_check_shared(const pid_t *pids, size_t n, const char *app);
/*
 * Do the processes (an adopted tree) live in an IPC namespace of their own
 * (1), or in ours (0)? In several: -ENOTSUP, said. Their own one's objects
 * are saved as appshot run's are.
 */
int dump_ipc_private(const pid_t *pids, size_t n, const char *app);

struct remote;
/* dump_files.c: the fd table (r: the process, to ask it about close-on-exec). */
int dump_files(struct dump *d, pid_t pid, struct remote *r, struct json_object *core);

/* Append [start, len) of process pid's memory to the pages; *off where it went. */
int dump_copy(struct dump *d, pid_t pid, int mem_fd, unsigned long start, size_t len,
	      uint64_t *off);

#endif /* APPSHOT_DUMP_H */
