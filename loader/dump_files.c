// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process's fd table: the inventory. Each fd is seen from the kernel's
 * views (its /proc link, fdinfo, stat, statfs), close-on-exec is asked of
 * the process itself (fdinfo cannot tell O_CLOEXEC at open from a later
 * FD_CLOEXEC), fds that share one open file are found with kcmp, and the
 * table of kinds (kinds/) says what each is and saves it, or refuses it by
 * name: what appshot does not know is never skipped.
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
#include "kind.h"

#include "js.h"
#include "log.h"
#include "proc.h"
#include "remote.h"
#include "util.h"

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

/* Look at fd from outside: into s (its fdinfo allocated); -errno. */
static int see_fd(struct fd_seen *s, char *link, size_t len)
{
	char path[64], *info = NULL;
	struct statfs sfs;
	const char *v;
	ssize_t n;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", s->pid, s->fd);
	n = readlink(path, link, len - 1);
	if (n < 0 || stat(path, &s->st) || statfs(path, &sfs))
		return -errno;
	link[n] = 0;
	s->link = link;
	s->fs_type = sfs.f_type;
	err = fdinfo_read(s->pid, s->fd, &info);
	if (err)
		return err;
	v = fdinfo_value(info, "pos:");
	s->pos = v ? strtoull(v, NULL, 10) : 0;
	v = fdinfo_value(info, "flags:");
	s->flags = v ? strtoul(v, NULL, 8) : 0;
	if (!fdinfo_value(info, "pos:") || !v) {
		free(info);
		return -EBADMSG;
	}
	s->fdinfo = info;
	return 0;
}

int dump_files(struct dump *d, pid_t pid, struct remote *r, struct json_object *core)
{
	struct json_object *list = json_object_new_array();
	struct stat *st = NULL;
	int *fds = NULL, err;
	char link[PATH_MAX];
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
	for (size_t i = 0; i < n && !err; i++) {
		struct fd_seen s = { .d = d, .r = r, .core = core, .pid = pid, .vpid = d->vpid,
				     .fd = fds[i] };
		struct json_object *o;
		const struct fd_kind *k;
		long fdflags;
		int dup = 0;

		err = see_fd(&s, link, sizeof(link));
		if (err) {
			pr_err("cannot read pid %d's fd %d: %s", d->vpid, s.fd, strerror(-err));
			break;
		}
		st[i] = s.st;
		fdflags = remote_syscall(r, SYS_fcntl, s.fd, F_GETFD, 0, 0, 0, 0);
		if (fdflags < 0) {
			err = fdflags;
			pr_err("cannot ask pid %d about fd %d: %s", d->vpid, s.fd, strerror(-err));
			free((char *)s.fdinfo);
			break;
		}
		k = kind_of(&s);
		if (k->refusal) {
			pr_err("pid %d fd %d is %s (%s): appshot cannot save it yet", d->vpid, s.fd,
			       k->refusal, link);
			free((char *)s.fdinfo);
			err = -ENOTSUP;
			break;
		}
		o = json_object_new_object();
		js_i64(o, "fd", s.fd);
		js_bool(o, "cloexec", fdflags & FD_CLOEXEC);
		js_u64(o, "flags", s.flags & ~O_CLOEXEC);
		js_u64(o, "pos", s.pos);
		js_u64(o, "mode", s.st.st_mode);
		js_str(o, "kind", k->name);
		js_str(o, "path", link);
		/* fds of one open file: the later name the first */
		for (size_t j = 0; j < i && !dup; j++) {
			if (st[j].st_dev != st[i].st_dev || st[j].st_ino != st[i].st_ino)
				continue;
			if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, fds[j], s.fd) == 0) {
				js_i64(o, "dup_of", fds[j]);
				dup = 1;
			}
		}
		err = k->save ? k->save(&s, o) : 0;
		if (!err && !k->external)
			err = fdattr_save(&s, o);
		if (err == -EBADMSG)
			pr_err("pid %d fd %d (%s): its fdinfo is not what appshot knows", d->vpid,
			       s.fd, link);
		if (!err && !dup && !k->external && !same_as_earlier(d, pid, s.fd, &s.st, o))
			err = remember(d, pid, s.fd, &s.st);
		if (!err && k->unshareable && json_object_object_get_ex(o, "same_as", NULL)) {
			pr_err("pid %d fd %d: another process holds this %s too: appshot cannot "
			       "save a shared %s yet", d->vpid, s.fd, k->name, k->name);
			err = -ENOTSUP;
		}
		free((char *)s.fdinfo);
		if (err)
			json_object_put(o);
		else
			json_object_array_add(list, o);
	}
	free(st);
	free(fds);
	return err;
}
