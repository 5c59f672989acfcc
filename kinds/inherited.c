// SPDX-License-Identifier: GPL-2.0-only
/*
 * An open file the application was given knowingly: passed by appshot run
 * --preserve-fds N (fds 3 to 3+N-1), named by appshot-trace attach
 * --external-fd FD, or given to a restore by --inherit-fd. It is not the
 * application's: the image records only its key (the fd it was given as),
 * wherever the application holds it, and a restore must be given its
 * replacement (appshot restore --inherit-fd KEY[=FD], as CRIU's), which
 * every fd that held it gets. The application's record knows such a file
 * by its identity (the tracer's open_files iterator), so a file the
 * application opened itself is never taken for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "registry.h"
#include "rst.h"
#include "tracer.h"

int dump_scan_given(struct dump *d, const struct app_record *rec, const pid_t *pids, size_t n)
{
	char line[128];
	int err;
	FILE *f;

	if (!rec->nexternal)
		return 0;
	f = tracer_iter_fopen("open_files", &err);
	if (!f) {
		pr_err("cannot list the open files of the application: %s", strerror(-err));
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned long long file;
		unsigned int tgid, fd;
		struct dump_given *g;
		int in = 0;

		if (sscanf(line, "%u %u %llx", &tgid, &fd, &file) != 3)
			continue;
		for (size_t i = 0; i < n && !in; i++)
			in = pids[i] == (pid_t)tgid;
		for (size_t k = 0; in && k < rec->nexternal; k++) {
			if (rec->external[k].file != file)
				continue;
			g = realloc(d->given, (d->ngiven + 1) * sizeof(*g));
			if (!g) {
				err = -ENOMEM;
				break;
			}
			d->given = g;
			d->given[d->ngiven++] = (struct dump_given){ .pid = tgid, .fd = fd,
								     .key = rec->external[k].key };
			break;
		}
	}
	fclose(f);
	return err;
}

static const struct dump_given *given(const struct fd_seen *s)
{
	for (size_t i = 0; i < s->d->ngiven; i++)
		if (s->d->given[i].pid == s->pid && s->d->given[i].fd == s->fd)
			return &s->d->given[i];
	return NULL;
}

static int claims(const struct fd_seen *s)
{
	return given(s) != NULL;
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	js_i64(o, "key", given(s)->key);
	return 0;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	int *key = malloc(sizeof(*key));

	f->state = key;
	if (!key || jg_int(o, "key", key) || *key < 0) {
		snprintf(why, len, "its inherited file is damaged");
		return -1;
	}
	return 0;
}

static const struct rst_inherit *replacement(const struct rst_app *a, int key)
{
	for (size_t i = 0; i < a->ninherit; i++)
		if (a->inherit[i].key == key)
			return &a->inherit[i];
	return NULL;
}

/* Each fd that held it is given the replacement, made by appshot (a slot). */
static int plan(struct rst_app *a, struct rst_proc *p, struct rst_fd *f)
{
	int key = *(int *)f->state;

	if (!replacement(a, key) && !a->image_only) {
		pr_err("restore: pid %d fd %d is a file the application was given (as fd %d): give "
		       "its replacement with --inherit-fd %d[=FD]",
		       p->pid, f->fd, key, key);
		return -ENOENT;
	}
	return f->dup_of < 0 ? rst_add_slot(a, f) : 0;
}

static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	const struct rst_inherit *r = replacement(a, *(int *)f->state);
	int fd = r ? fcntl(r->fd, F_DUPFD_CLOEXEC, 0) : -1;

	if (fd < 0)
		snprintf(why, len, "cannot take the file given for it: %s",
			 r ? strerror(errno) : "none");
	return fd;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	int key;

	if (!jg_int(o, "key", &key))
		snprintf(buf, len, "given as fd %d: the restore takes --inherit-fd %d", key, key);
}

const struct fd_kind kind_inherited = {
	.name = "inherited",
	.claims = claims,
	.external = 1,
	.save = save,
	.parse = parse,
	.plan = plan,
	.make = make,
	.describe = describe,
};
