// SPDX-License-Identifier: GPL-2.0-only
/*
 * The application's sockets as the kernel sees them, before any process is
 * dumped: every unix socket from sock_diag (one dump: type, state, name,
 * peer, queues), TCP connections' ends from /proc/net/tcp*, so that the
 * kinds (kinds/unix.c, kinds/inet.c) can tell a peer inside the
 * application from one outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "dump.h"
#include "js.h"
#include "log.h"
#include "proc.h"
#include "tracer.h"

struct dump_sock *dump_sock_find(struct dump *d, uint64_t ino)
{
	for (size_t i = 0; i < d->nsocks; i++)
		if (d->socks[i].ino == ino)
			return &d->socks[i];
	return NULL;
}

/* The inode of a socket from its /proc link, or 0. */
static uint64_t sock_ino(const char *link)
{
	return strncmp(link, "socket:[", 8) ? 0 : strtoull(link + 8, NULL, 10);
}

static void diag_attrs(struct dump_sock *s, struct nlmsghdr *h)
{
	struct unix_diag_msg *m = NLMSG_DATA(h);
	struct rtattr *a = (struct rtattr *)(m + 1);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		void *v = RTA_DATA(a);
		size_t n = RTA_PAYLOAD(a);

		switch (a->rta_type) {
		case UNIX_DIAG_NAME:
			s->namelen = n < sizeof(s->name) ? n : sizeof(s->name);
			memcpy(s->name, v, s->namelen);
			break;
		case UNIX_DIAG_PEER:
			s->peer = *(uint32_t *)v;
			break;
		case UNIX_DIAG_ICONS:
			s->icons = n / sizeof(uint32_t);
			break;
		case UNIX_DIAG_RQLEN:
			s->rqlen = ((struct unix_diag_rqlen *)v)->udiag_rqueue;
			s->wqlen = ((struct unix_diag_rqlen *)v)->udiag_wqueue;
			break;
		case UNIX_DIAG_SHUTDOWN:
			s->shutdown = *(uint8_t *)v;
			break;
		case UNIX_DIAG_VFS:
			s->vfs_ino = ((struct unix_diag_vfs *)v)->udiag_vfs_ino;
			s->vfs_dev = ((struct unix_diag_vfs *)v)->udiag_vfs_dev;
			break;
		}
	}
}

/* What sock_diag says of the application's unix sockets (the others are skipped). */
static int diag_unix(struct dump *d)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = AF_UNIX,
		       .udiag_states = ~0u,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
				     UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS },
	};
	static char buf[65536];
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), err = 0;

	if (fd < 0 || send(fd, &req, sizeof(req), 0) != sizeof(req)) {
		err = -errno;
		goto out;
	}
	for (int done = 0; !done;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct unix_diag_msg *m = NLMSG_DATA(h);
			struct dump_sock *s;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error ?: -EIO;
				done = 1;
				break;
			}
			s = dump_sock_find(d, m->udiag_ino);
			if (!s)
				continue;
			s->unix_ = 1;
			s->type = m->udiag_type;
			s->state = m->udiag_state;
			diag_attrs(s, h);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* A socket: noted once, for sock_diag to describe. */
static int scan_sock(struct dump *d, pid_t pid, int fd, const char *link)
{
	struct dump_sock *s;

	(void)pid;
	(void)fd;
	if (!sock_ino(link) || dump_sock_find(d, sock_ino(link)))
		return 0;
	s = realloc(d->socks, (d->nsocks + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	d->socks = s;
	d->socks[d->nsocks++] = (struct dump_sock){ .ino = sock_ino(link) };
	return 0;
}

/* The TCP sockets among the application's: their ends and state from /proc/net/tcp{,6}. */
static void scan_tcp(struct dump *d)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512], local[40], remote[40];

	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "re");
		unsigned long long ino;
		unsigned int st;

		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			struct dump_sock *s;

			if (sscanf(line, " %*d: %39s %39s %x %*s %*s %*s %*s %*s %llu", local, remote,
				   &st, &ino) != 4 || !(s = dump_sock_find(d, ino)))
				continue;
			s->tcp_state = st;
			snprintf(s->tcp_local, sizeof(s->tcp_local), "%s", local);
			snprintf(s->tcp_remote, sizeof(s->tcp_remote), "%s", remote);
		}
		fclose(fp);
	}
}

int dump_tcp_peer_inside(struct dump *d, const struct dump_sock *s)
{
	for (size_t i = 0; i < d->nsocks; i++)
		if (d->socks[i].tcp_state && !strcmp(d->socks[i].tcp_local, s->tcp_remote) &&
		    !strcmp(d->socks[i].tcp_remote, s->tcp_local))
			return 1;
	return 0;
}

/* What the kernel keeps of each socket that no getsockopt shows (the sock_state iterator). */
static int scan_kernel(struct dump *d)
{
	char line[256];
	int err;
	FILE *f = tracer_iter_fopen("sock_state", &err);

	if (!f)
		return err;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ino;
		int shut, groups, mc_index, prog, keys, user_mss;
		struct dump_sock *s;

		if (sscanf(line, "%*u %llu %d %d %d %d %d %d", &ino, &shut, &groups, &mc_index,
			   &prog, &keys, &user_mss) != 7 ||
		    !(s = dump_sock_find(d, ino)))
			continue;
		s->known = 1;
		s->sk_shutdown = shut;
		s->groups = groups;
		s->mc_index = mc_index;
		s->reuseport_prog = prog;
		s->tcp_keys = keys;
		s->user_mss = user_mss;
	}
	fclose(f);
	return 0;
}

int dump_scan_socks(struct dump *d, const pid_t *pids, size_t n)
{
	int err = dump_each_fd(d, pids, n, scan_sock);

	if (!err && d->nsocks) {
		err = diag_unix(d);
		if (err == -ENOENT) {
			pr_err("cannot list the sockets of the application: this kernel has no "
			       "sock_diag for unix sockets (the unix_diag module)");
			return err;
		}
		scan_tcp(d);
		if (!err && (err = scan_kernel(d))) {
			pr_err("cannot read the sockets' state from the tracer (sock_state): %s",
			       strerror(-err));
			return err;
		}
	}
	if (err)
		pr_err("cannot list the sockets of the application: %s", strerror(-err));
	return err;
}

struct dump_sock *dump_sock_of(struct dump *d, const char *link)
{
	struct dump_sock *s = sock_ino(link) ? dump_sock_find(d, sock_ino(link)) : NULL;

	return s && s->unix_ ? s : NULL;
}

int dump_sock_outside(struct dump *d, const struct dump_sock *s)
{
	return s->peer && !dump_sock_find(d, s->peer);
}

