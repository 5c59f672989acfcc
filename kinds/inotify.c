// SPDX-License-Identifier: GPL-2.0-only
/*
 * inotify: every watch with its wd and mask, on the file its handle names
 * now (found again with open_by_handle_at, so a file renamed since is
 * still found). Events not yet read are not saved.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "js.h"
#include "kind.h"
#include "log.h"
#include "rst.h"

struct watch {
	int wd;
	uint32_t mask;
	char *path;
};

struct watches {
	struct watch *w;
	size_t n;
};

static int claims(const struct fd_seen *s)
{
	return !strcmp(s->link, "anon_inode:inotify");
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

/* The path of the file a watch is on, from its file handle; -1 if gone. */
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

static int save(const struct fd_seen *s, struct json_object *o)
{
	struct json_object *x = json_object_new_array();
	char handle[300], path[PATH_MAX];
	const char *l;

	json_object_object_add(o, "inotify", x);
	for (l = strstr(s->fdinfo, "inotify wd:"); l; l = strstr(l + 11, "inotify wd:")) {
		unsigned int wd, sdev, mask, type;
		struct json_object *e;

		if (sscanf(l, "inotify wd:%x ino:%*x sdev:%x mask:%x ignored_mask:%*x "
			      "fhandle-bytes:%*x fhandle-type:%x f_handle:%299s",
			   &wd, &sdev, &mask, &type, handle) != 5)
			return -EBADMSG;
		if (watched_path(sdev, type, handle, path, sizeof(path))) {
			pr_err("pid %d fd %d: inotify watches a file appshot cannot find by its "
			       "handle (gone?): it cannot save it", s->vpid, s->fd);
			return -ENOTSUP;
		}
		e = json_object_new_array();
		json_object_array_add(e, json_object_new_int(wd));
		json_object_array_add(e, json_object_new_uint64(mask));
		json_object_array_add(e, json_object_new_string(path));
		json_object_array_add(x, e);
	}
	return 0;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	struct json_object *a = jg_arr(o, "inotify");
	struct watches *ws = calloc(1, sizeof(*ws));

	f->state = ws;
	if (!ws || !a)
		goto bad;
	ws->n = ja_len(a);
	ws->w = calloc(ws->n + 1, sizeof(*ws->w));
	if (!ws->w)
		goto bad;
	for (size_t i = 0; i < ws->n; i++) {
		struct json_object *e = ja_at(a, i);
		const char *path;

		if (!json_object_is_type(e, json_type_array) || ja_len(e) != 3)
			goto bad;
		ws->w[i].wd = json_object_get_int(ja_at(e, 0));
		ws->w[i].mask = json_object_get_uint64(ja_at(e, 1));
		path = json_object_get_string(ja_at(e, 2));
		if (ws->w[i].wd <= 0 || !path || path[0] != '/' || !(ws->w[i].path = strdup(path)))
			goto bad;
	}
	/* by wd: they are made again in that order */
	for (size_t i = 1; i < ws->n; i++)
		for (size_t j = i; j > 0 && ws->w[j].wd < ws->w[j - 1].wd; j--) {
			struct watch t = ws->w[j];

			ws->w[j] = ws->w[j - 1];
			ws->w[j - 1] = t;
		}
	return 0;
bad:
	snprintf(why, len, "its inotify watches are damaged");
	return -1;
}

static void release(struct rst_fd *f)
{
	struct watches *ws = f->state;

	if (!ws)
		return;
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i].path);
	free(ws->w);
}

/*
 * The watches with their wds: the kernel gives the next wd each time, so a
 * wd below the one wanted is added and removed again until it is the one;
 * the IN_IGNORED events that leaves are read away.
 */
static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	const struct watches *ws = f->state;
	char buf[4096];
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0) {
		snprintf(why, len, "cannot make the inotify instance: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < ws->n; i++) {
		const struct watch *w = &ws->w[i];
		int wd = -1;

		for (int tries = 0; tries < 65536; tries++) {
			wd = inotify_add_watch(fd, w->path, w->mask);
			if (wd < 0 || wd >= w->wd)
				break;
			inotify_rm_watch(fd, wd);
		}
		if (wd != w->wd) {
			snprintf(why, len, "cannot watch %s as wd %d again (%s)", w->path, w->wd,
				 wd < 0 ? strerror(errno) : "the kernel gave another");
			close(fd);
			return -1;
		}
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (!(f->flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, 0);
	return fd;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *a = jg_arr(o, "inotify");

	if (a)
		snprintf(buf, len, "%zu watch%s", ja_len(a),
			 ja_len(a) == 1 ? "" : "es");
}

const struct fd_kind kind_inotify = {
	.name = "inotify",
	.claims = claims,
	.save = save,
	.parse = parse,
	.release = release,
	.make = make,
	.describe = describe,
};
