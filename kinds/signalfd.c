// SPDX-License-Identifier: GPL-2.0-only
/* signalfd: the signals it takes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "js.h"
#include "kind.h"
#include "rst.h"

static int claims(const struct fd_seen *s)
{
	return !strcmp(s->link, "anon_inode:[signalfd]");
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	const char *v = fdinfo_value(s->fdinfo, "sigmask:");

	if (!v)
		return -EBADMSG;
	js_u64(o, "sigmask", strtoull(v, NULL, 16));
	return 0;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	uint64_t *mask = calloc(1, sizeof(*mask));

	f->state = mask;
	if (!mask || jg_u64(o, "sigmask", mask)) {
		snprintf(why, len, "its signalfd is damaged");
		return -1;
	}
	return 0;
}

static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	const uint64_t *bits = f->state;
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (int sig = 1; sig <= 64; sig++)
		if (*bits & (1ULL << (sig - 1)))
			sigaddset(&mask, sig);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | (f->flags & O_NONBLOCK ? SFD_NONBLOCK : 0));
	if (fd < 0)
		snprintf(why, len, "cannot make the signalfd: %s", strerror(errno));
	return fd;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	uint64_t mask;
	size_t n = 0;

	if (jg_u64(o, "sigmask", &mask))
		return;
	n += snprintf(buf, len, "signals");
	for (int sig = 1; sig <= 64 && n < len; sig++)
		if (mask & (1ULL << (sig - 1)))
			n += snprintf(buf + n, len - n, " %d", sig);
}

const struct fd_kind kind_signalfd = {
	.name = "signalfd",
	.claims = claims,
	.save = save,
	.parse = parse,
	.make = make,
	.describe = describe,
};
