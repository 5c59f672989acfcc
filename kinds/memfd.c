// SPDX-License-Identifier: GPL-2.0-only
/*
 * Open files whose contents only the image can give back: memfds and
 * regular files deleted while open. The contents are a memory object of
 * the process (loader/dump_mem.c), made again before its fds; an fd opens
 * the object anew, as the original had a description of its own.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dump.h"
#include "js.h"
#include "kind.h"
#include "rst.h"

static int deleted_name(const char *link)
{
	size_t n = strlen(link);

	return n > 10 && !strcmp(link + n - 10, " (deleted)");
}

static int claims_memfd(const struct fd_seen *s)
{
	return !strncmp(s->link, "/memfd:", 7);
}

static int claims_deleted(const struct fd_seen *s)
{
	return S_ISREG(s->st.st_mode) && deleted_name(s->link);
}

/* The object of the fd, its name as the kernel gives it without " (deleted)". */
static int save_object(const struct fd_seen *s, struct json_object *o, const char *kind,
		       const char *name)
{
	char path[PATH_MAX];
	int id;

	snprintf(path, sizeof(path), "%s", name);
	if (deleted_name(path))
		path[strlen(path) - 10] = 0;
	id = dump_object_of_fd(s->d, s->pid, s->fd, kind, path, s->core);
	if (id < 0)
		return id;
	js_i64(o, "object", id);
	return 0;
}

static int save_memfd(const struct fd_seen *s, struct json_object *o)
{
	return save_object(s, o, "memfd", s->link + 1); /* "memfd:NAME" */
}

static int save_deleted(const struct fd_seen *s, struct json_object *o)
{
	char path[PATH_MAX];
	int err = save_object(s, o, "deleted", s->link);

	/* the path it had */
	snprintf(path, sizeof(path), "%s", s->link);
	path[strlen(path) - 10] = 0;
	js_str(o, "path", path);
	return err;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	if (jg_int(o, "object", &f->object) || !rst_object(p, f->object)) {
		snprintf(why, len, "its object is missing");
		return -1;
	}
	return 0;
}

const struct fd_kind kind_memfd = {
	.name = "memfd",
	.claims = claims_memfd,
	.save = save_memfd,
	.parse = parse,
};

const struct fd_kind kind_deleted = {
	.name = "deleted",
	.claims = claims_deleted,
	.save = save_deleted,
	.parse = parse,
};
