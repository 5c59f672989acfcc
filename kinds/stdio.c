// SPDX-License-Identifier: GPL-2.0-only
/*
 * stdio from outside the application: a pipe, socket or terminal on fds
 * 0-2 that the application did not make. The image says "external"; the
 * restore gives the application its own stdio there, as CRIU's --shell-job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kind.h"
#include "rst.h"

static int claims(const struct fd_seen *s)
{
	unsigned int m = major(s->st.st_rdev);
	int tty = S_ISCHR(s->st.st_mode) &&
		  (m == 136 || m == 4 || m == 5 || m == 3 || (m >= 204 && m <= 207));

	return s->fd <= 2 && (S_ISFIFO(s->st.st_mode) || S_ISSOCK(s->st.st_mode) || tty);
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	if (f->fd > 2) {
		snprintf(why, len, "only stdio can come from outside");
		return -1;
	}
	return 0;
}

static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	int fd = fcntl(a->gbase + RST_G_STDIO + f->fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		snprintf(why, len, "the restore's own stdio is not open");
	return fd;
}

const struct fd_kind kind_external = {
	.name = "external",
	.claims = claims,
	.external = 1,
	.parse = parse,
	.make = make,
};
