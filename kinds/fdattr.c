// SPDX-License-Identifier: GPL-2.0-only
/*
 * What any open file carries besides its kind: the locks held through it
 * (POSIX record locks of the process, OFD locks and flock locks of the open
 * file, all in its fdinfo), and who gets its signals (F_SETOWN_EX,
 * F_SETSIG; asked of the process). Leases and mandatory locks are refused.
 *
 * At restore an open file's own locks (flock, OFD) are taken where the
 * file is made; the process's POSIX locks and the owner are set by the
 * process itself once its fds are in place (an owner is a pid as the
 * application sees it, and a POSIX lock belongs to the process that takes
 * it). A lock someone else took meanwhile fails the restore, named.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dump.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "remote.h"
#include "rst.h"

#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif

static const char *const lock_kinds[] = { [RST_LOCK_POSIX] = "posix", [RST_LOCK_OFD] = "ofd",
					  [RST_LOCK_FLOCK] = "flock" };

/* The locks fdinfo lists for the fd: "lock:\t1: POSIX  ADVISORY  WRITE 1875 fe:00:123 10 29". */
static int save_locks(const struct fd_seen *s, struct json_object *o)
{
	struct json_object *a = NULL;

	for (const char *l = strstr(s->fdinfo, "\nlock:"); l; l = strstr(l + 1, "\nlock:")) {
		char type[16], mode[16], rw[16], end[32];
		long long start;
		struct json_object *e;
		int kind;

		if (sscanf(l, "\nlock: %*d: %15s %15s %15s %*d %*s %lld %31s", type, mode, rw, &start,
			   end) != 5)
			return -EBADMSG;
		if (!strcmp(type, "POSIX"))
			kind = RST_LOCK_POSIX;
		else if (!strcmp(type, "OFDLCK"))
			kind = RST_LOCK_OFD;
		else if (!strcmp(type, "FLOCK"))
			kind = RST_LOCK_FLOCK;
		else
			kind = -1;
		if (kind < 0 || strcmp(mode, "ADVISORY") || (strcmp(rw, "READ") && strcmp(rw, "WRITE"))) {
			pr_err("pid %d fd %d (%s) holds a %s %s %s lock: appshot cannot save it yet",
			       s->vpid, s->fd, s->link, type, mode, rw);
			return -ENOTSUP;
		}
		if (!a) {
			a = json_object_new_array();
			json_object_object_add(o, "locks", a);
		}
		e = json_object_new_object();
		js_str(e, "kind", lock_kinds[kind]);
		js_bool(e, "write", !strcmp(rw, "WRITE"));
		js_i64(e, "start", start);
		js_i64(e, "end", strcmp(end, "EOF") ? strtoll(end, NULL, 10) : -1);
		json_object_array_add(a, e);
	}
	return 0;
}

/* Who gets the file's signals (SIGIO, SIGURG), and which signal: asked of the process. */
static int save_owner(const struct fd_seen *s, struct json_object *o)
{
	struct f_owner_ex own = { 0 };
	long sig, ret;

	if (s->flags & O_PATH)
		return 0; /* an O_PATH fd has no owner, nor signals */
	ret = remote_syscall(s->r, SYS_fcntl, s->fd, F_GETOWN_EX, s->r->scratch, 0, 0, 0);
	if (ret == 0)
		ret = remote_read(s->r, s->r->scratch, &own, sizeof(own));
	sig = ret ? ret : remote_syscall(s->r, SYS_fcntl, s->fd, F_GETSIG, 0, 0, 0, 0);
	if (ret || sig < 0) {
		pr_err("pid %d fd %d: cannot ask who gets its signals: %s", s->vpid, s->fd,
		       strerror(ret ? -ret : -sig));
		return ret ? ret : sig;
	}
	if (own.pid) {
		js_i64(o, "owner_type", own.type);
		js_i64(o, "owner", own.pid);
	}
	if (sig)
		js_i64(o, "signal", sig);
	return 0;
}

int fdattr_save(const struct fd_seen *s, struct json_object *o)
{
	int err = save_locks(s, o);

	if (err == -EBADMSG)
		pr_err("pid %d fd %d (%s): its locks are not as appshot knows them", s->vpid, s->fd,
		       s->link);
	return err ?: save_owner(s, o);
}

int fdattr_parse(struct json_object *o, struct rst_fd *f, char *why, size_t len)
{
	struct json_object *a = NULL;
	struct rst_fdattr *x = &f->attr;

	x->owner_type = x->owner = x->signal = 0;
	if ((json_object_object_get_ex(o, "owner", NULL) &&
	     (jg_int(o, "owner_type", &x->owner_type) || jg_int(o, "owner", &x->owner) ||
	      x->owner <= 0 || x->owner_type < F_OWNER_TID || x->owner_type > F_OWNER_PGRP)) ||
	    (json_object_object_get_ex(o, "signal", NULL) &&
	     (jg_int(o, "signal", &x->signal) || x->signal < 0 || x->signal > 64))) {
		snprintf(why, len, "its owner or signal is damaged");
		return -1;
	}
	if (!json_object_object_get_ex(o, "locks", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		goto bad;
	x->nlocks = ja_len(a);
	x->locks = calloc(x->nlocks + 1, sizeof(*x->locks));
	if (!x->locks)
		goto bad;
	for (size_t i = 0; i < x->nlocks; i++) {
		struct json_object *e = ja_at(a, i);
		struct rst_lock *l = &x->locks[i];
		char kind[16];
		int known = 0;

		if (jg_str(e, "kind", kind, sizeof(kind)) || jg_bool(e, "write", &l->write) ||
		    jg_i64(e, "start", &l->start) || jg_i64(e, "end", &l->end) || l->start < 0 ||
		    (l->end != -1 && l->end < l->start))
			goto bad;
		for (int k = 0; k < (int)(sizeof(lock_kinds) / sizeof(lock_kinds[0])); k++)
			if (!strcmp(kind, lock_kinds[k])) {
				l->kind = k;
				known = 1;
			}
		if (!known)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, len, "its locks are damaged");
	return -1;
}

static int take(int fd, const struct rst_lock *l)
{
	struct flock fl = { .l_type = l->write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = l->start, .l_len = l->end < 0 ? 0 : l->end - l->start + 1 };

	if (l->kind == RST_LOCK_FLOCK)
		return flock(fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
	return fcntl(fd, l->kind == RST_LOCK_OFD ? F_OFD_SETLK : F_SETLK, &fl);
}

/* The locks of one family (the open file's, or the process's) on fd. */
static int take_locks(int fd, const struct rst_fd *f, int posix, char *why, size_t len)
{
	for (size_t i = 0; i < f->attr.nlocks; i++) {
		const struct rst_lock *l = &f->attr.locks[i];

		if ((l->kind == RST_LOCK_POSIX) != posix || !take(fd, l))
			continue;
		snprintf(why, len, "cannot take its %s %s lock of %s, bytes %lld to %s%.0lld: %s",
			 lock_kinds[l->kind], l->write ? "write" : "read", f->path, (long long)l->start,
			 l->end < 0 ? "the end" : "", l->end < 0 ? 0LL : (long long)l->end,
			 errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK ?
				 "another process holds it now" :
				 strerror(errno));
		return -1;
	}
	return 0;
}

int fdattr_file_locks(int fd, const struct rst_fd *f, char *why, size_t len)
{
	return take_locks(fd, f, 0, why, len);
}

int fdattr_process(const struct rst_fd *f, char *why, size_t len)
{
	const struct rst_fdattr *x = &f->attr;

	if (x->owner) {
		struct f_owner_ex own = { .type = x->owner_type, .pid = x->owner };

		if (fcntl(f->fd, F_SETOWN_EX, &own)) {
			snprintf(why, len, "cannot give its signals to %s %d again: %s",
				 x->owner_type == F_OWNER_PGRP ? "process group" :
				 x->owner_type == F_OWNER_TID  ? "thread" :
								 "process",
				 x->owner, strerror(errno));
			return -1;
		}
	}
	if (x->signal && fcntl(f->fd, F_SETSIG, x->signal)) {
		snprintf(why, len, "cannot set its signal %d: %s", x->signal, strerror(errno));
		return -1;
	}
	/* open() does not start O_ASYNC: F_SETFL does, once the owner is known */
	if ((f->flags & O_ASYNC) && fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) | O_ASYNC)) {
		snprintf(why, len, "cannot turn O_ASYNC on: %s", strerror(errno));
		return -1;
	}
	return take_locks(f->fd, f, 1, why, len);
}

void fdattr_describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *a = NULL;
	int64_t owner = 0, sig = 0;
	size_t n = 0;

	buf[0] = 0;
	if (json_object_object_get_ex(o, "locks", &a) && json_object_is_type(a, json_type_array))
		for (size_t i = 0; i < ja_len(a) && n < len; i++) {
			struct json_object *e = ja_at(a, i);
			char kind[16] = "";
			int64_t start = 0, end = 0;
			int write = 0;

			jg_str(e, "kind", kind, sizeof(kind));
			jg_bool(e, "write", &write);
			jg_i64(e, "start", &start);
			jg_i64(e, "end", &end);
			n += snprintf(buf + n, len - n, "%s%s %s lock %" PRId64 "-", n ? ", " : "", kind,
				      write ? "write" : "read", start);
			if (n < len)
				n += end < 0 ? snprintf(buf + n, len - n, "end") :
					       snprintf(buf + n, len - n, "%" PRId64, end);
		}
	if (!jg_i64(o, "owner", &owner) && n < len)
		n += snprintf(buf + n, len - n, "%ssignals to %" PRId64, n ? ", " : "", owner);
	if (!jg_i64(o, "signal", &sig) && n < len)
		snprintf(buf + n, len - n, "%ssignal %" PRId64, n ? ", " : "", sig);
}
