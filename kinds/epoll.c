// SPDX-License-Identifier: GPL-2.0-only
/*
 * epoll: what it watches, each entry by the fd number it was added with,
 * its events and data. An entry's file is found among the process's fds
 * with kcmp(KCMP_EPOLL_TFD): where that fd number no longer holds it
 * (closed, or reused for another file), another fd that holds the file is
 * noted, and the restore lends the entry's number to that file while it
 * adds the entry, so the entry is keyed as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "js.h"
#include "kind.h"
#include "log.h"
#include "proc.h"
#include "rst.h"

struct ep_entry {
	int tfd, holder; /* the number it was added with; the fd that holds its file now */
	uint32_t events;
	uint64_t data;
};

struct ep {
	struct ep_entry *e;
	size_t n;
};

static int claims(const struct fd_seen *s)
{
	return !strcmp(s->link, "anon_inode:[eventpoll]");
}

static int same_file(pid_t pid, int fd, struct kcmp_epoll_slot *slot)
{
	return syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, fd, slot) == 0;
}

/* The fd of the process that holds the file of entry slot, or -1. */
static int holder_of(const struct fd_seen *s, struct kcmp_epoll_slot *slot)
{
	int *fds = NULL, holder = -1;
	size_t n = 0;

	if (same_file(s->pid, slot->tfd, slot))
		return slot->tfd;
	if (proc_fds(s->pid, &fds, &n))
		return -1;
	for (size_t i = 0; i < n && holder < 0; i++)
		if (fds[i] != s->fd && same_file(s->pid, fds[i], slot))
			holder = fds[i];
	free(fds);
	return holder;
}

/* How many entries of each fd number came before, growing with the numbers seen. */
struct counts {
	unsigned int *n;
	size_t len;
};

static int count_next(struct counts *c, int tfd, unsigned int *before)
{
	if ((size_t)tfd >= c->len) {
		size_t len = (size_t)tfd * 2 + 64;
		unsigned int *n = realloc(c->n, len * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + c->len, 0, (len - c->len) * sizeof(*n));
		c->n = n;
		c->len = len;
	}
	*before = c->n[tfd]++;
	return 0;
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	struct json_object *x = json_object_new_array();
	struct counts counts = { 0 };
	const char *l;
	int err = 0;

	json_object_object_add(o, "epoll", x);
	for (l = strstr(s->fdinfo, "tfd:"); l && !err; l = strstr(l + 4, "tfd:")) {
		struct kcmp_epoll_slot slot = { .efd = s->fd };
		struct json_object *e;
		unsigned long long data;
		unsigned int events;
		int tfd, holder;

		if (sscanf(l, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 ||
		    tfd < 0) {
			err = -EBADMSG;
			break;
		}
		/* the n-th entry of one fd number is its n-th in the kernel's order too */
		slot.tfd = tfd;
		err = count_next(&counts, tfd, &slot.toff);
		if (err)
			break;
		holder = holder_of(s, &slot);
		if (holder < 0) {
			pr_err("pid %d fd %d: epoll watches a file (added as fd %d) that no fd of "
			       "the process holds any longer: appshot cannot save it yet",
			       s->vpid, s->fd, tfd);
			err = -ENOTSUP;
			break;
		}
		e = json_object_new_array();
		json_object_array_add(e, json_object_new_int(tfd));
		json_object_array_add(e, json_object_new_uint64(events));
		json_object_array_add(e, json_object_new_uint64(data));
		json_object_array_add(e, json_object_new_int(holder));
		json_object_array_add(x, e);
	}
	free(counts.n);
	return err;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	struct json_object *a = jg_arr(o, "epoll");
	struct ep *ep = calloc(1, sizeof(*ep));

	f->state = ep;
	if (!ep || !a)
		goto bad;
	ep->n = ja_len(a);
	ep->e = calloc(ep->n + 1, sizeof(*ep->e));
	if (!ep->e)
		goto bad;
	for (size_t i = 0; i < ep->n; i++) {
		struct json_object *e = ja_at(a, i);
		struct ep_entry *x = &ep->e[i];

		if (!json_object_is_type(e, json_type_array) || ja_len(e) != 4)
			goto bad;
		x->tfd = json_object_get_int(ja_at(e, 0));
		x->events = json_object_get_uint64(ja_at(e, 1));
		x->data = json_object_get_uint64(ja_at(e, 2));
		x->holder = json_object_get_int(ja_at(e, 3));
		if (x->tfd < 0 || x->tfd > (1 << 20) || x->holder < 0 || x->holder > (1 << 20) ||
		    x->tfd == f->fd || x->holder == f->fd)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, len, "its epoll entries are damaged");
	return -1;
}

static void release(struct rst_fd *f)
{
	struct ep *ep = f->state;

	if (ep)
		free(ep->e);
}

static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0)
		snprintf(why, len, "cannot make the epoll instance: %s", strerror(errno));
	return fd; /* its entries once every fd is there (settle) */
}

/* Add entry x, its file lent the number it was added with if that number holds another now. */
static int add_entry(int efd, const struct ep_entry *x)
{
	struct epoll_event ev = { .events = x->events, .data.u64 = x->data };
	int saved = -1, fdflags = 0, err = 0;

	if (x->holder == x->tfd)
		return epoll_ctl(efd, EPOLL_CTL_ADD, x->tfd, &ev) ? -errno : 0;
	fdflags = fcntl(x->tfd, F_GETFD);
	if (fdflags >= 0 && (saved = fcntl(x->tfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	if (dup2(x->holder, x->tfd) < 0)
		err = -errno;
	else if (epoll_ctl(efd, EPOLL_CTL_ADD, x->tfd, &ev))
		err = -errno;
	if (saved >= 0) {
		if (dup3(saved, x->tfd, fdflags & FD_CLOEXEC ? O_CLOEXEC : 0) < 0 && !err)
			err = -errno;
		close(saved);
	} else {
		close(x->tfd);
	}
	return err;
}

static int settle(const struct rst_fd *f, char *why, size_t len)
{
	const struct ep *ep = f->state;

	for (size_t i = 0; i < ep->n; i++) {
		int err = add_entry(f->fd, &ep->e[i]);

		if (err) {
			snprintf(why, len, "epoll cannot watch fd %d again: %s", ep->e[i].tfd,
				 strerror(-err));
			return -1;
		}
	}
	return 0;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *a = jg_arr(o, "epoll");
	size_t n = 0;

	if (!a)
		return;
	n += snprintf(buf, len, "watches");
	for (size_t i = 0; i < ja_len(a) && n < len; i++) {
		struct json_object *e = ja_at(a, i);

		n += snprintf(buf + n, len - n, " %d",
			      json_object_get_int(ja_at(e, 0)));
	}
	if (!ja_len(a))
		snprintf(buf, len, "watches nothing");
}

const struct fd_kind kind_epoll = {
	.name = "epoll",
	.claims = claims,
	.unshareable = 1,
	.save = save,
	.parse = parse,
	.release = release,
	.make = make,
	.settle = settle,
	.describe = describe,
};
