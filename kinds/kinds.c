// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table of kinds: the snapshot asks each in this order whether an fd
 * is of it, so the more particular come first and the last claims
 * everything (and refuses it). Adding a kind is a file and a row here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kind.h"
#include "rst.h"

extern const struct fd_kind kind_inherited, kind_unix, kind_inet, kind_pipe, kind_fifo, kind_external,
	kind_io_uring, kind_pidfd, kind_fanotify, kind_userfaultfd, kind_perf_event, kind_bpf,
	kind_secretmem, kind_mqueue, kind_proc_pid, kind_block, kind_outside_pipe, kind_socket,
	kind_eventfd, kind_timerfd, kind_signalfd, kind_epoll, kind_inotify, kind_anon,
	kind_memfd, kind_deleted, kind_dir, kind_chr, kind_device, kind_file, kind_unknown;

const struct fd_kind *const kinds[] = {
	/* what it was given knowingly, whatever it is */
	&kind_inherited,
	/* the application's own pipes and sockets, and stdio from outside */
	&kind_unix,
	&kind_inet,
	&kind_pipe,
	&kind_fifo,
	&kind_external,
	/* refused before a kind below could take them for something else */
	&kind_io_uring,
	&kind_pidfd,
	&kind_fanotify,
	&kind_userfaultfd,
	&kind_perf_event,
	&kind_bpf,
	&kind_secretmem,
	&kind_mqueue,
	&kind_proc_pid,
	&kind_block,
	&kind_outside_pipe,
	&kind_socket,
	/* anonymous-inode files */
	&kind_eventfd,
	&kind_timerfd,
	&kind_signalfd,
	&kind_epoll,
	&kind_inotify,
	&kind_anon,
	/* files */
	&kind_memfd,
	&kind_deleted,
	&kind_dir,
	&kind_chr,
	&kind_device,
	&kind_file,
	&kind_unknown,
	NULL,
};

const struct fd_kind *kind_of(const struct fd_seen *s)
{
	for (size_t i = 0; kinds[i]; i++)
		if (kinds[i]->claims && kinds[i]->claims(s))
			return kinds[i];
	return &kind_unknown;
}

const struct fd_kind *kind_named(const char *name)
{
	for (size_t i = 0; kinds[i]; i++)
		if (!kinds[i]->refusal && !strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

const char *fdinfo_value(const char *fdinfo, const char *key)
{
	size_t n = strlen(key);

	for (const char *l = fdinfo; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, n))
			return l + n;
	return NULL;
}

int fdinfo_read(pid_t pid, int fd, char **out)
{
	size_t cap = 4096, len = 0;
	char path[64], *buf = malloc(cap), *n;
	ssize_t k;
	int in;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || !buf) {
		free(buf);
		if (in >= 0)
			close(in);
		return in < 0 ? -errno : -ENOMEM;
	}
	/* an epoll or inotify instance has a line per entry: all of them */
	while ((k = read(in, buf + len, cap - len - 1)) > 0) {
		len += k;
		if (cap - len > 1)
			continue;
		n = realloc(buf, cap * 2);
		if (!n) {
			k = -1;
			errno = ENOMEM;
			break;
		}
		buf = n;
		cap *= 2;
	}
	close(in);
	if (k < 0) {
		free(buf);
		return -errno;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

/* A slot's socket, made by its kind's prepare step. */
int rst_take_sock(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	int fd = f->sock;

	(void)a;
	f->sock = -1;
	/* O_NONBLOCK and such belong to the socket's one open file */
	/* O_ASYNC waits for the process: a signal says the fd it was set through */
	if (fd < 0 || fcntl(fd, F_SETFL, f->flags & ~O_ASYNC)) {
		snprintf(why, len, "its socket was not made");
		return -1;
	}
	return fd;
}

