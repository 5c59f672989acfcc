// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unix sockets of the application: listeners, connections, pairs,
 * datagram sockets, with their queues (loader/dump_sock.c saves them,
 * restore/rst_sock.c makes them again, all at once, in appshot).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"
#include "image.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "rst.h"

extern const struct fd_kind kind_unix;

static int claims(const struct fd_seen *s)
{
	struct dump_sock *sock = dump_sock_of(s->d, s->link);

	/* stdio connected outside is the restore's own (stdio.c) */
	return sock && !(s->fd <= 2 && dump_sock_outside(s->d, sock));
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	return dump_unix_fd(s->d, s->pid, s->fd, dump_sock_of(s->d, s->link), o);
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	if (rst_parse_unix(o, f)) {
		snprintf(why, len, "its unix socket is damaged");
		return -1;
	}
	return 0;
}

/* Its first fd carries the socket's state: that one gets a slot, the others share it. */
static int plan(struct rst_app *a, struct rst_proc *p, struct rst_fd *f)
{
	if (f->dup_of >= 0 || f->same_pid >= 0)
		return 0;
	if (!f->un.primary) {
		pr_err("restore: pid %d fd %d: a unix socket whose state no fd carries", p->pid,
		       f->fd);
		return -EBADMSG;
	}
	return rst_add_slot(a, f);
}

static int load(struct image *im, struct rst_app *a)
{
	for (size_t k = 0; k < a->nshared; k++) {
		struct rst_unix *u = &a->shared[k]->un;
		size_t len = 0;

		if (a->shared[k]->kind != &kind_unix || !u->len || u->bytes)
			continue;
		u->bytes = image_read_blob(im, u->data, &len);
		if (!u->bytes || len != u->len) {
			pr_err("image %s: the bytes queued in socket:[%llu] are missing or damaged",
			       im->dir, (unsigned long long)u->ino);
			return -EBADMSG;
		}
	}
	return 0;
}


const struct fd_kind kind_unix = {
	.name = "unix",
	.claims = claims,
	.save = save,
	.parse = parse,
	.load = load,
	.plan = plan,
	.prepare = rst_socks_make,
	.make = rst_take_sock,
};
