// SPDX-License-Identifier: GPL-2.0-only
/*
 * Files opened again by their path, at their offset with their flags:
 * regular files (and O_PATH fds, a symbolic link's too), directories, and
 * the character devices that hold no state of their own (/dev/null and
 * friends, terminals). Other devices are refused (refused.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "js.h"
#include "kind.h"
#include "rst.h"

static int deleted_name(const char *link)
{
	size_t n = strlen(link);

	return n > 10 && !strcmp(link + n - 10, " (deleted)");
}

int kind_ghost_dir(const char *path, int flags)
{
	char made[32][PATH_MAX], p[PATH_MAX];
	int n = 0, fd, err;

	/* its missing parents first, from the top, noted to go again after */
	snprintf(p, sizeof(p), "%s", path);
	for (char *c = p + 1; n < 32; c++) {
		if (*c && *c != '/')
			continue;
		char keep = *c;

		*c = 0;
		if (mkdir(p, 0700) == 0)
			snprintf(made[n++], PATH_MAX, "%s", p);
		else if (errno != EEXIST)
			break;
		*c = keep;
		if (!keep)
			break;
	}
	fd = open(path, (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	while (n-- > 0)
		rmdir(made[n]);
	if (fd >= 0 && access(path, F_OK) == 0) {
		/* the path names another directory now: this is not the one removed */
		close(fd);
		errno = EEXIST;
		return -1;
	}
	errno = err;
	return fd;
}
static int claims_file(const struct fd_seen *s)
{
	size_t n = strlen(s->link);

	/* deleted files are kept in the image (memfd.c) */
	return (S_ISREG(s->st.st_mode) || S_ISLNK(s->st.st_mode)) &&
	       !(n > 10 && !strcmp(s->link + n - 10, " (deleted)"));
}

static int claims_dir(const struct fd_seen *s)
{
	return S_ISDIR(s->st.st_mode);
}

/* A directory removed while held: its path without " (deleted)", and a mark. */
static int save_dir(const struct fd_seen *s, struct json_object *o)
{
	char path[PATH_MAX];

	if (!deleted_name(s->link))
		return 0;
	snprintf(path, sizeof(path), "%s", s->link);
	path[strlen(path) - 10] = 0;
	js_str(o, "path", path);
	js_bool(o, "deleted", 1);
	return 0;
}

static int parse_dir(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		     size_t len)
{
	int *deleted = calloc(1, sizeof(*deleted));

	f->state = deleted;
	if (!deleted || (json_object_object_get_ex(o, "deleted", NULL) &&
			 jg_bool(o, "deleted", deleted))) {
		snprintf(why, len, "its directory's record is damaged");
		return -1;
	}
	return 0;
}

/* Opened by its path at its offset; one removed is made for the while (a ghost). */
static int make_dir(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	int flags = f->flags & ~O_CLOEXEC, fd;

	if (*(int *)f->state) {
		fd = kind_ghost_dir(f->path, flags);
		if (fd >= 0)
			fchmod(fd, f->mode & 07777); /* as it was, whatever the umask */
	} else
		fd = open(f->path, flags | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot open the directory %s%s: %s", f->path,
			 *(int *)f->state ? " (removed, made again for the while)" : "",
			 strerror(errno));
		return -1;
	}
	if (!(flags & O_PATH) && lseek(fd, f->pos, SEEK_SET) < 0) {
		snprintf(why, len, "cannot seek the directory %s to %llu: %s", f->path,
			 (unsigned long long)f->pos, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A device whose open file is only its path: null, zero, full, random, urandom; ttys. */
int kind_plain_device(dev_t rdev)
{
	unsigned int ma = major(rdev), mi = minor(rdev);

	if (ma == 1)
		return mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9;
	if (ma == 5)
		return mi == 0 || mi == 1; /* /dev/tty, /dev/console; not /dev/ptmx */
	return ma == 4 || (ma >= 136 && ma <= 143); /* virtual consoles, pty slaves */
}

static int claims_chr(const struct fd_seen *s)
{
	return S_ISCHR(s->st.st_mode) && kind_plain_device(s->st.st_rdev);
}

const struct fd_kind kind_file = {
	.name = "file",
	.claims = claims_file,
};

const struct fd_kind kind_dir = {
	.name = "dir",
	.claims = claims_dir,
	.save = save_dir,
	.parse = parse_dir,
	.make = make_dir,
};

const struct fd_kind kind_chr = {
	.name = "chr",
	.claims = claims_chr,
};
