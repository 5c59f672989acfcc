// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process's fd table. Each fd is described from the kernel's views: its
 * /proc link, fdinfo (offset, flags), stat; whether it is close-on-exec is
 * asked of the process itself (fdinfo cannot tell O_CLOEXEC at open from a
 * later FD_CLOEXEC); fds that share one open file are found with kcmp.
 *
 * stdio from outside the application (a pipe, terminal or socket on fds
 * 0-2) is "external": the restore gives it its own, as CRIU's --shell-job.
 * A pipe the application holds both ends of is its own: saved with the
 * bytes in it (copied with tee, so they stay), made again at restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "dump.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#include "js.h"
#include "log.h"
#include "proc.h"
#include "remote.h"
#include "util.h"

/* An fd of a process: its pid as we and as it sees it. */
struct remote_pid_fd {
	pid_t pid, vpid;
	int fd;
};

static int fdinfo(pid_t pid, int fd, unsigned long long *pos, unsigned int *flags)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		found += sscanf(line, "pos: %llu", pos);
		found += sscanf(line, "flags: %o", flags);
	}
	fclose(f);
	return found == 2 ? 0 : -EBADMSG;
}

/* A terminal: the pty slaves, virtual consoles, the console, serial lines. */
static int is_tty(dev_t rdev)
{
	unsigned int m = major(rdev);

	return m == 136 || m == 4 || m == 5 || m == 3 || (m >= 204 && m <= 207);
}

static struct dump_pipe *find_pipe(struct dump *d, uint64_t ino)
{
	for (size_t i = 0; i < d->npipes; i++)
		if (d->pipes[i].ino == ino && !d->pipes[i].fifo)
			return &d->pipes[i];
	return NULL;
}

/* A named FIFO's entry among the pipes (FIFOs are kept apart by a flag). */
static int fifo_of(struct dump *d, uint64_t ino, struct dump_pipe **out)
{
	struct dump_pipe *p;

	for (size_t i = 0; i < d->npipes; i++)
		if (d->pipes[i].ino == ino && d->pipes[i].fifo) {
			*out = &d->pipes[i];
			return 0;
		}
	p = realloc(d->pipes, (d->npipes + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	d->pipes = p;
	*out = &d->pipes[d->npipes++];
	**out = (struct dump_pipe){ .ino = ino, .fifo = 1 };
	return 0;
}

/* The inode of an anonymous pipe from its /proc link, or 0. */
static uint64_t pipe_ino(const char *link)
{
	return strncmp(link, "pipe:[", 6) ? 0 : strtoull(link + 6, NULL, 10);
}

int dump_each_fd(struct dump *d, const pid_t *pids, size_t n,
		 int (*fn)(struct dump *d, pid_t pid, int fd, const char *link))
{
	char path[64], link[64];
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		int *fds = NULL;
		size_t nfds = 0;

		err = proc_fds(pids[i], &fds, &nfds);
		for (size_t k = 0; k < nfds && !err; k++) {
			ssize_t len;

			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pids[i], fds[k]);
			len = readlink(path, link, sizeof(link) - 1);
			if (len <= 0)
				continue; /* closed meanwhile, or a name too long to be a pipe or socket */
			link[len] = 0;
			err = fn(d, pids[i], fds[k], link);
		}
		free(fds);
	}
	return err;
}

/* A pipe end: its pipe noted, with which ends the application holds. */
static int scan_pipe(struct dump *d, pid_t pid, int fd, const char *link)
{
	unsigned long long pos;
	unsigned int flags;
	struct dump_pipe *p;

	if (!pipe_ino(link) || fdinfo(pid, fd, &pos, &flags))
		return 0;
	p = find_pipe(d, pipe_ino(link));
	if (!p) {
		p = realloc(d->pipes, (d->npipes + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->pipes = p;
		p = &d->pipes[d->npipes++];
		*p = (struct dump_pipe){ .ino = pipe_ino(link) };
	}
	p->reader |= (flags & O_ACCMODE) != O_WRONLY;
	p->writer |= (flags & O_ACCMODE) != O_RDONLY;
	return 0;
}

int dump_scan_pipes(struct dump *d, const pid_t *pids, size_t n)
{
	int err = dump_each_fd(d, pids, n, scan_pipe);

	if (err)
		pr_err("cannot list the pipes of the application: %s", strerror(-err));
	return err;
}

/*
 * The bytes in a pipe, copied without taking them: a new reader of it
 * (opened through /proc), tee'd into a pipe of ours as large as it.
 */
static int save_pipe(struct dump *d, pid_t pid, int fd, struct dump_pipe *p,
		     struct json_object *o)
{
	char path[64], name[64];
	int in = -1, tmp[2] = { -1, -1 }, size, err = 0;
	ssize_t n = 0;
	char *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	in = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 || (size = fcntl(in, F_GETPIPE_SZ)) < 0 || pipe2(tmp, O_CLOEXEC) ||
	    fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
		err = -errno;
		pr_err("pid %d fd %d: cannot look into its pipe: %s", pid, fd, strerror(errno));
		goto out;
	}
	js_i64(o, "pipe_size", size);
	if (p->saved)
		goto out;
	n = tee(in, tmp[1], INT_MAX, SPLICE_F_NONBLOCK);
	if (n < 0 && errno == EAGAIN)
		n = 0; /* empty */
	if (n < 0) {
		err = -errno;
		pr_err("pid %d fd %d: cannot copy the bytes in its pipe: %s", pid, fd,
		       strerror(errno));
		goto out;
	}
	if (n > 0) {
		buf = malloc(n);
		if (!buf || read(tmp[0], buf, n) != n) {
			err = buf ? -EIO : -ENOMEM;
			goto out;
		}
		snprintf(name, sizeof(name), "pipe-%llu", (unsigned long long)p->ino);
		err = image_write_blob(&d->w, name, buf, n);
		if (err)
			goto out;
		js_str(o, "pipe_data", name);
	}
	js_i64(o, "pipe_bytes", n);
	p->saved = 1;
out:
	free(buf);
	if (in >= 0)
		close(in);
	if (tmp[0] >= 0)
		close(tmp[0]);
	if (tmp[1] >= 0)
		close(tmp[1]);
	return err;
}

/* One "key: value" line of an fd's fdinfo, or NULL; lines are read into buf. */
static const char *fdinfo_line(const char *info, const char *key)
{
	const char *l = strstr(info, key);

	return l ? l + strlen(key) : NULL;
}

static int read_fdinfo(pid_t pid, int fd, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	return read_file(path, buf, len) > 0 ? 0 : -EIO;
}

/* The mount point of the filesystem with device dev (as sdev in fdinfo), opened. */
static int mount_of(unsigned int sdev)
{
	char line[4096], point[4096];
	unsigned int maj, min;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd = -1;

	if (!f)
		return -1;
	while (fd < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, point) == 3 &&
		    maj == sdev >> 20 && min == (sdev & 0xfffff))
			fd = open(point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fclose(f);
	return fd;
}

/* The path of the file an inotify watch is on, from its file handle; -1 if gone. */
static int watched_path(unsigned int sdev, int type, const char *hex, char *path, size_t len)
{
	union {
		struct file_handle h;
		unsigned char raw[sizeof(struct file_handle) + 128];
	} fh;
	unsigned char *bytes = fh.raw + offsetof(struct file_handle, f_handle);
	size_t n = strlen(hex) / 2;
	char link[64];
	int mfd, fd;
	ssize_t k;

	if (n > 128)
		return -1;
	fh.h.handle_bytes = n;
	fh.h.handle_type = type;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		bytes[i] = b;
	}
	mfd = mount_of(sdev);
	if (mfd < 0)
		return -1;
	fd = open_by_handle_at(mfd, &fh.h, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, path, len - 1);
	close(fd);
	if (k <= 0 || (k > 10 && !strncmp(path + k - 10, " (deleted)", 10)))
		return -1;
	path[k] = 0;
	return 0;
}

/* inotify: every watch, by its wd, with its mask and the path it is on. */
static const char *inotify_state(struct remote_pid_fd id, const char *info, struct json_object *o,
				 int *err)
{
	struct json_object *x = json_object_new_array();
	char handle[300], path[PATH_MAX];
	const char *l;

	json_object_object_add(o, "inotify", x);
	for (l = strstr(info, "inotify wd:"); l; l = strstr(l + 11, "inotify wd:")) {
		unsigned int wd, sdev, mask, type;
		struct json_object *e;

		if (sscanf(l, "inotify wd:%x ino:%*x sdev:%x mask:%x ignored_mask:%*x "
			      "fhandle-bytes:%*x fhandle-type:%x f_handle:%299s",
			   &wd, &sdev, &mask, &type, handle) != 5) {
			*err = -EBADMSG;
			return NULL;
		}
		if (watched_path(sdev, type, handle, path, sizeof(path))) {
			pr_err("pid %d fd %d: inotify watches a file appshot cannot find by its "
			       "handle (gone?): it cannot save it", id.vpid, id.fd);
			*err = -ENOTSUP;
			return NULL;
		}
		e = json_object_new_array();
		json_object_array_add(e, json_object_new_int(wd));
		json_object_array_add(e, json_object_new_uint64(mask));
		json_object_array_add(e, json_object_new_string(path));
		json_object_array_add(x, e);
	}
	*err = 0;
	return "inotify";
}

/*
 * eventfd, timerfd, signalfd and epoll, from their fdinfo: the state each
 * is made again with. Returns the kind, or NULL with *err set.
 */
static const char *anon_state(struct remote_pid_fd id, const char *link, struct json_object *o,
			      int *err)
{
	static char info[65536];
	unsigned long long a, b, c, d;
	struct json_object *x;
	const char *l;

	*err = read_fdinfo(id.pid, id.fd, info, sizeof(info));
	if (*err)
		return NULL;
	if (strstr(link, "[eventfd]")) {
		x = json_object_new_object();
		l = fdinfo_line(info, "eventfd-count:");
		js_u64(x, "count", l ? strtoull(l, NULL, 16) : 0);
		l = fdinfo_line(info, "eventfd-semaphore:");
		js_bool(x, "semaphore", l && atoi(l));
		json_object_object_add(o, "eventfd", x);
		return "eventfd";
	}
	if (strstr(link, "[timerfd]")) {
		x = json_object_new_object();
		l = fdinfo_line(info, "clockid:");
		js_i64(x, "clockid", l ? atoi(l) : 0);
		l = fdinfo_line(info, "ticks:");
		js_u64(x, "ticks", l ? strtoull(l, NULL, 10) : 0);
		l = fdinfo_line(info, "settime flags:");
		js_i64(x, "flags", l ? strtol(l, NULL, 8) : 0);
		l = fdinfo_line(info, "it_value:");
		if (!l || sscanf(l, " (%llu, %llu)", &a, &b) != 2)
			a = b = 0;
		l = fdinfo_line(info, "it_interval:");
		if (!l || sscanf(l, " (%llu, %llu)", &c, &d) != 2)
			c = d = 0;
		js_u64(x, "value_s", a);
		js_u64(x, "value_ns", b);
		js_u64(x, "interval_s", c);
		js_u64(x, "interval_ns", d);
		json_object_object_add(o, "timerfd", x);
		return "timerfd";
	}
	if (strstr(link, "[signalfd]")) {
		l = fdinfo_line(info, "sigmask:");
		js_u64(o, "sigmask", l ? strtoull(l, NULL, 16) : 0);
		return "signalfd";
	}
	if (!strcmp(link, "anon_inode:inotify"))
		return inotify_state(id, info, o, err);
	if (strstr(link, "[eventpoll]")) {
		x = json_object_new_array();
		json_object_object_add(o, "epoll", x);
		for (l = strstr(info, "tfd:"); l; l = strstr(l + 4, "tfd:")) {
			struct json_object *e = json_object_new_array();
			struct kcmp_epoll_slot slot = { .efd = id.fd };
			unsigned int events;
			int tfd;

			if (sscanf(l, "tfd: %d events: %x data: %llx", &tfd, &events, &a) != 3) {
				json_object_put(e);
				*err = -EBADMSG;
				return NULL;
			}
			/* the fd it was added by must still be that file */
			slot.tfd = tfd;
			if (syscall(SYS_kcmp, id.pid, id.pid, KCMP_EPOLL_TFD, tfd, &slot) != 0) {
				json_object_put(e);
				pr_err("pid %d fd %d: epoll watches a file no fd %d names any longer: "
				       "appshot cannot save it yet", id.vpid, id.fd, tfd);
				*err = -ENOTSUP;
				return NULL;
			}
			json_object_array_add(e, json_object_new_int(tfd));
			json_object_array_add(e, json_object_new_uint64(events));
			json_object_array_add(e, json_object_new_uint64(a));
			json_object_array_add(x, e);
		}
		return "epoll";
	}
	*err = -ENOTSUP;
	return NULL;
}

/* Why an fd cannot be saved yet, or NULL: the name of its kind. */
static const char *unsupported(const char *link, mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a pipe";
	if (S_ISSOCK(mode))
		return "a socket (not a unix one)";
	if (!strncmp(link, "anon_inode:", 11)) {
		if (strstr(link, "io_uring"))
			return "an io_uring instance";
		if (strstr(link, "[eventfd]") || strstr(link, "[eventpoll]") ||
		    strstr(link, "[timerfd]") || strstr(link, "[signalfd]"))
			return NULL; /* see anon_state() */
		if (!strcmp(link, "anon_inode:inotify"))
			return NULL; /* see inotify_state() */
		if (strstr(link, "pidfd"))
			return "a pidfd";
		return "an anonymous-inode file";
	}
	if (S_ISBLK(mode))
		return "a block device";
	return NULL;
}

/*
 * The open file of fd, held by a process dumped before: kept as [pid, fd]
 * of its first holder, so the restore makes it once for all of them.
 */
static int same_as_earlier(struct dump *d, pid_t pid, int fd, const struct stat *st,
			   struct json_object *o)
{
	for (size_t j = 0; j < d->nfiles; j++) {
		const struct dump_file *f = &d->files[j];
		struct json_object *a;

		if (f->sys_pid == pid || f->dev != st->st_dev || f->ino != st->st_ino ||
		    syscall(SYS_kcmp, f->sys_pid, pid, KCMP_FILE, f->fd, fd) != 0)
			continue;
		a = json_object_new_array();
		json_object_array_add(a, json_object_new_int(f->vpid));
		json_object_array_add(a, json_object_new_int(f->fd));
		json_object_object_add(o, "same_as", a);
		return 1;
	}
	return 0;
}

/* Remember an open file of this process for the processes dumped after it. */
static int remember(struct dump *d, pid_t pid, int fd, const struct stat *st)
{
	struct dump_file *n = realloc(d->files, (d->nfiles + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->files = n;
	n[d->nfiles++] = (struct dump_file){ .sys_pid = pid, .vpid = d->vpid, .fd = fd,
					     .dev = st->st_dev, .ino = st->st_ino };
	return 0;
}

int dump_files(struct dump *d, pid_t pid, struct remote *r, struct json_object *core)
{
	struct json_object *list = json_object_new_array();
	char path[64], link[PATH_MAX];
	struct stat *st = NULL;
	int *fds = NULL, err;
	size_t n = 0;

	json_object_object_add(core, "fds", list);
	err = proc_fds(pid, &fds, &n);
	if (err) {
		pr_err("cannot list pid %d's fds: %s", pid, strerror(-err));
		return err;
	}
	st = calloc(n ? n : 1, sizeof(*st));
	if (!st) {
		free(fds);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		unsigned long long pos = 0;
		unsigned int flags = 0;
		const char *why, *kind;
		struct dump_pipe *pipe;
		struct dump_sock *sock;
		struct statfs sfs;
		long fdflags;
		int dup;
		ssize_t len;
		int fd = fds[i];

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0 || stat(path, &st[i]) || fdinfo(pid, fd, &pos, &flags)) {
			err = -errno ?: -EBADMSG;
			pr_err("cannot read pid %d's fd %d: %s", pid, fd, strerror(-err));
			json_object_put(o);
			break;
		}
		link[len] = 0;
		fdflags = remote_syscall(r, SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0);
		if (fdflags < 0) {
			err = fdflags;
			pr_err("cannot ask pid %d about fd %d: %s", pid, fd, strerror(-err));
			json_object_put(o);
			break;
		}
		js_i64(o, "fd", fd);
		js_bool(o, "cloexec", fdflags & FD_CLOEXEC);
		js_u64(o, "flags", flags & ~O_CLOEXEC);
		js_u64(o, "pos", pos);
		js_u64(o, "mode", st[i].st_mode);
		/* fds of one open file: the later name the first */
		dup = 0;
		for (size_t j = 0; j < i && !dup; j++) {
			if (st[j].st_dev != st[i].st_dev || st[j].st_ino != st[i].st_ino)
				continue;
			if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, fds[j], fd) == 0) {
				js_i64(o, "dup_of", fds[j]);
				dup = 1;
			}
		}
		why = unsupported(link, st[i].st_mode);
		if (!why && statfs(path, &sfs) == 0 && sfs.f_type == MQUEUE_MAGIC)
			why = "a POSIX message queue";
		pipe = pipe_ino(link) ? find_pipe(d, pipe_ino(link)) : NULL;
		sock = dump_sock_of(d, link);
		if (sock && !(fd <= 2 && dump_sock_outside(d, sock))) {
			kind = "unix";
			err = dump_unix_fd(d, pid, fd, sock, o);
			if (err) {
				json_object_put(o);
				break;
			}
		} else if (S_ISSOCK(st[i].st_mode) && !sock && fd > 2) {
			kind = "inet";
			err = dump_inet_fd(d, pid, fd, o);
			if (err) {
				json_object_put(o);
				break;
			}
		} else if (pipe && pipe->reader && pipe->writer) {
			kind = "pipe";
			js_u64(o, "pipe", pipe->ino);
			err = save_pipe(d, pid, fd, pipe, o);
			if (err) {
				json_object_put(o);
				break;
			}
		} else if (fd > 2 && S_ISFIFO(st[i].st_mode) && !pipe_ino(link)) {
			/* a named FIFO: reopened by its path, with the bytes in it */
			kind = "fifo";
			js_u64(o, "pipe", st[i].st_ino);
			err = fifo_of(d, st[i].st_ino, &pipe) ?: save_pipe(d, pid, fd, pipe, o);
			if (err) {
				json_object_put(o);
				break;
			}
		} else if (fd <= 2 && (S_ISFIFO(st[i].st_mode) || S_ISSOCK(st[i].st_mode) ||
				(S_ISCHR(st[i].st_mode) && is_tty(st[i].st_rdev)))) {
			kind = "external"; /* stdio from outside: given again at restore */
		} else if (why) {
			pr_err("pid %d fd %d is %s (%s)%s: appshot cannot save it yet", d->vpid, fd,
			       why, link, pipe ? " whose other end is outside the application" : "");
			json_object_put(o);
			err = -ENOTSUP;
			break;
		} else if (!strncmp(link, "anon_inode:", 11)) {
			kind = anon_state((struct remote_pid_fd){ pid, d->vpid, fd }, link, o, &err);
			if (!kind) {
				if (err != -ENOTSUP)
					pr_err("cannot read pid %d's fd %d (%s): %s", d->vpid, fd,
					       link, strerror(-err));
				json_object_put(o);
				break;
			}
		} else if (!strncmp(link, "/memfd:", 7)) {
			kind = "memfd";
		} else if (S_ISREG(st[i].st_mode) && len > 10 && !strcmp(link + len - 10, " (deleted)")) {
			kind = "deleted";
			link[len - 10] = 0;
		} else if (S_ISDIR(st[i].st_mode)) {
			kind = "dir";
		} else if (S_ISCHR(st[i].st_mode)) {
			kind = "chr";
		} else {
			kind = "file";
		}
		js_str(o, "kind", kind);
		js_str(o, "path", link);
		if (!dup && strcmp(kind, "external") && !same_as_earlier(d, pid, fd, &st[i], o) &&
		    (err = remember(d, pid, fd, &st[i]))) {
			json_object_put(o);
			break;
		}
		if (!strcmp(kind, "epoll") && json_object_object_get_ex(o, "same_as", NULL)) {
			pr_err("pid %d fd %d is an epoll instance another process holds too: "
			       "appshot cannot save that yet", d->vpid, fd);
			json_object_put(o);
			err = -ENOTSUP;
			break;
		}
		if (!strcmp(kind, "memfd") || !strcmp(kind, "deleted")) {
			char name[PATH_MAX];

			snprintf(name, sizeof(name), "%s", link + (!strcmp(kind, "memfd") ? 1 : 0));
			if (!strcmp(kind, "memfd") && strlen(name) > 10 &&
			    !strcmp(name + strlen(name) - 10, " (deleted)"))
				name[strlen(name) - 10] = 0;
			err = dump_object_of_fd(d, pid, fd, kind, name, core);
			if (err < 0) {
				json_object_put(o);
				break;
			}
			js_i64(o, "object", err);
			err = 0;
		}
		json_object_array_add(list, o);
	}
	free(st);
	free(fds);
	return err;
}
