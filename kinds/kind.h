/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kinds of open files, one file each (kinds/<kind>.c) and one row in the
 * table of kinds.c: how a snapshot tells an fd of the kind and saves it,
 * how a restore reads its record, makes it again and finishes it, and how
 * inspect says what it holds. loader/ and restore/ walk the table and name
 * no kind; an fd no kind claims is refused, named.
 */
#ifndef APPSHOT_KIND_H
#define APPSHOT_KIND_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <json-c/json.h>

struct dump;
struct image;
struct remote;
struct rst_app;
struct rst_fd;
struct rst_proc;

/* An fd as the snapshot's inventory sees it, from outside and from inside. */
struct fd_seen {
	struct dump *d; /* the snapshot */
	struct remote *r; /* the stopped process, to ask what only it can say */
	struct json_object *core; /* the process's record (memory objects go there) */
	pid_t pid, vpid; /* the process, as we and as the application see it */
	int fd;
	const char *link; /* its /proc/PID/fd link */
	struct stat st; /* of the file */
	long fs_type; /* statfs f_type of its filesystem */
	unsigned int flags; /* file status flags, from fdinfo */
	unsigned long long pos;
	const char *fdinfo; /* /proc/PID/fdinfo/FD, whole */
};

struct fd_kind {
	const char *name; /* as the image names it */
	/* Snapshot: is this fd of the kind? Kinds are asked in the table's order. */
	int (*claims)(const struct fd_seen *s);
	/*
	 * A kind appshot cannot save yet says why ("an io_uring instance"):
	 * the snapshot is refused, naming the process and the fd.
	 */
	const char *refusal;
	unsigned int external : 1; /* not the application's: given by the restore, never shared */
	unsigned int unshareable : 1; /* refused when several processes hold its open file */
	/* Snapshot: its state into the fd's record o; 0, or -errno with the reason said. */
	int (*save)(const struct fd_seen *s, struct json_object *o);

	/* Image: its state from o into f, checked; -1 with what is wrong in why. */
	int (*parse)(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		     size_t len);
	/* What parse took (f->state is freed after). */
	void (*release)(struct rst_fd *f);
	/* Image, the whole application parsed: the bytes its records name (blobs); -errno said. */
	int (*load)(struct image *im, struct rst_app *a);

	/*
	 * Restore, planning: fd f of p. A kind whose open files appshot makes
	 * for the processes (pipes, sockets) gives f a shared slot. -errno said.
	 */
	int (*plan)(struct rst_app *a, struct rst_proc *p, struct rst_fd *f);
	/* Restore, in appshot before the slots are opened: what the kind makes for all. */
	int (*prepare)(struct rst_app *a);
	/*
	 * Restore: its open file made anew, in the process or, for a shared
	 * slot, in appshot; a kind without make is opened by its path. An fd
	 * (close-on-exec), or -1 with why.
	 */
	int (*make)(const struct rst_app *a, struct rst_fd *f, char *why, size_t len);
	/* Restore, in appshot once every slot is open. -errno said. */
	int (*finish)(struct rst_app *a);
	/* Restore, in the process once every fd of it is in place (what it refers to). */
	int (*settle)(const struct rst_fd *f, char *why, size_t len);

	/* Inspect: what it holds, in a few words (buf left empty if nothing). */
	void (*describe)(struct json_object *o, char *buf, size_t len);
};

/* The kind of an fd the snapshot sees: never NULL (unknown fds get a refusing kind). */
const struct fd_kind *kind_of(const struct fd_seen *s);
/* The kind an image names, or NULL. */
const struct fd_kind *kind_named(const char *name);
/* Every kind, for the restore's hooks; NULL-terminated. */
extern const struct fd_kind *const kinds[];
extern const struct fd_kind kind_inherited;

/* A "key: value" line of fdinfo: where its value starts, or NULL. */
const char *fdinfo_value(const char *fdinfo, const char *key);
/* /proc/PID/fdinfo/FD, whole, into *out (free it); 0 or -errno. */
int fdinfo_read(pid_t pid, int fd, char **out);

/*
 * fdattr.c, for every fd of the application's own: its locks and who gets
 * its signals. save: into its record (refusals said); parse: into f->attr;
 * file_locks: the open file's own (flock, OFD), where the file is made;
 * process: in the process, once its fds are in place, the owner, signal,
 * O_ASYNC and its POSIX locks. -1 with why.
 */
int fdattr_save(const struct fd_seen *s, struct json_object *o);
int fdattr_parse(struct json_object *o, struct rst_fd *f, char *why, size_t len);
int fdattr_file_locks(int fd, const struct rst_fd *f, char *why, size_t len);
int fdattr_process(const struct rst_fd *f, char *why, size_t len);
/* Inspect: its locks and owner in words (buf empty if none). */
void fdattr_describe(struct json_object *o, char *buf, size_t len);

/*
 * sockopt.c: socket options. save: sk's options (a copy of pid's fd) that
 * differ from a new socket's of its kind into o's "opts" (those only a
 * listener has of its own, when it is one), or -errno with the reason said
 * (what no option restores); s, what the kernel showed of it, or NULL.
 * check: an "opts" (or NULL) as save writes it; apply: set them on sk,
 * those set once it has its queue (late) or the others.
 */
struct dump_sock;
int sockopt_save(struct dump *d, int fd, int sk, const struct dump_sock *s, int listener,
		 struct json_object *o);
int sockopt_check(struct json_object *opts, char *why, size_t len);
int sockopt_apply(int sk, struct json_object *opts, int late, char *why, size_t len);

/*
 * task.c: what a process (thread 0) or a thread (1) keeps besides memory,
 * fds and signals (scheduling, priorities, prctl settings...). save: read
 * from the stopped thread r into o's "attrs" (refusals said); check: o's
 * "attrs" as save writes them; restore: attrs (that object, or NULL) set
 * again by the restored thread r. -errno with why.
 */
int task_attrs_save(struct remote *r, pid_t pid, int thread, struct json_object *o);
int task_attrs_check(struct json_object *o, int thread, char *why, size_t len);
int task_attrs_restore(struct remote *r, struct json_object *attrs, int thread, char *why,
		       size_t len);

/*
 * posix_timer.c: the POSIX timers of a process. save: into core's
 * "posix_timers" (threads: its thread records, for the tid a timer
 * signals); check: as save writes them; restore: made again by the
 * restored process r with their ids, and armed. -errno (said) / why.
 */
int posix_timers_save(struct remote *r, pid_t pid, pid_t vpid, struct json_object *threads,
		      struct json_object *core);
int posix_timers_check(struct json_object *core, char *why, size_t len);
int posix_timers_restore(struct remote *r, struct json_object *list, char *why, size_t len);

/* file.c: a character device whose open file is only its path (null, ttys...). */
int kind_plain_device(dev_t rdev);
/*
 * file.c: a directory removed while it was held, made again at its path
 * for the while (its missing parents too), opened with flags and removed
 * again: an fd (close-on-exec), or -1 (errno; EEXIST: another is there).
 */
int kind_ghost_dir(const char *path, int flags);

#endif /* APPSHOT_KIND_H */
