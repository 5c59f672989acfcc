// SPDX-License-Identifier: GPL-2.0-only
/* eventfd: its count, and whether it counts as a semaphore. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "js.h"
#include "kind.h"
#include "rst.h"

struct efd {
	uint64_t count;
	int semaphore;
};

static int claims(const struct fd_seen *s)
{
	return !strcmp(s->link, "anon_inode:[eventfd]");
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	struct json_object *x = json_object_new_object();
	const char *v;

	v = fdinfo_value(s->fdinfo, "eventfd-count:");
	js_u64(x, "count", v ? strtoull(v, NULL, 16) : 0);
	/* shown from Linux 6.4; before, a semaphore eventfd is saved as a counter */
	v = fdinfo_value(s->fdinfo, "eventfd-semaphore:");
	js_bool(x, "semaphore", v && atoi(v));
	json_object_object_add(o, "eventfd", x);
	return 0;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	struct json_object *x = jg_obj(o, "eventfd");
	struct efd *e = calloc(1, sizeof(*e));

	f->state = e;
	if (!e || !x || jg_u64(x, "count", &e->count) || jg_bool(x, "semaphore", &e->semaphore) ||
	    e->count == UINT64_MAX) {
		snprintf(why, len, "its eventfd is damaged");
		return -1;
	}
	return 0;
}

static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	const struct efd *e = f->state;
	int fd = eventfd(0, EFD_CLOEXEC | (f->flags & O_NONBLOCK ? EFD_NONBLOCK : 0) |
				    (e->semaphore ? EFD_SEMAPHORE : 0));

	if (fd < 0) {
		snprintf(why, len, "cannot make the eventfd: %s", strerror(errno));
		return -1;
	}
	if (e->count && write(fd, &e->count, sizeof(e->count)) != sizeof(e->count)) {
		snprintf(why, len, "cannot give the eventfd its count: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *x = jg_obj(o, "eventfd");
	uint64_t count = 0;
	int sem = 0;

	if (x && !jg_u64(x, "count", &count) && !jg_bool(x, "semaphore", &sem))
		snprintf(buf, len, "count %llu%s", (unsigned long long)count, sem ? ", semaphore" : "");
}

const struct fd_kind kind_eventfd = {
	.name = "eventfd",
	.claims = claims,
	.save = save,
	.parse = parse,
	.make = make,
	.describe = describe,
};
