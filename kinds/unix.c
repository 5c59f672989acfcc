// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unix sockets of the application: listeners, connections, pairs and
 * datagram sockets, with type, state, name, peer, shutdown, SO_PASSCRED
 * and the bytes queued to be read, so that pairs, listeners and their
 * accepted connections are made again between its processes.
 *
 * Snapshot: what the kernel says of every unix socket comes from sock_diag
 * (one dump, loader/dump_sock.c); the queue is read through a copy of the
 * socket (pidfd_getfd) with MSG_PEEK from offset 0 (SO_PEEK_OFF, put back
 * after), so nothing is taken from it. Refused, named: a socket whose peer
 * is outside the application (but on stdio, given again at restore), a
 * listener with connections not yet accepted, file descriptors in flight.
 *
 * Restore: made again by appshot before any of its processes (each then
 * takes its own among the global fds):
 *   listeners: bound to their name (a socket file left at the path by the
 *     application's end, which no one answers at, is removed first), listening;
 *   unconnected: bound if they were;
 *   a connection through a listener of the application: the client
 *     connects to it and the accepted socket is the server's end, named as
 *     the listener;
 *   pairs without names: socketpair;
 *   datagram sockets connected to a named one: connected to it.
 * Then every queue is filled again, sent by the socket's peer, message by
 * message; shutdowns and SO_PASSCRED last.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>

#include "dump.h"
#include "image.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "proc.h"
#include "rst.h"

extern const struct fd_kind kind_unix;

/* ---- snapshot ---------------------------------------------------------- */

static void hex(char *out, const unsigned char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * n] = 0;
}

#define MAX_RIGHTS 253 /* SCM_MAX_FD: the most fds one message carries */

/* Close the fds a peek with SCM_RIGHTS installed here; how many there were (into fds, if given). */
static size_t take_rights(struct msghdr *mh, int *fds)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd = ((int *)CMSG_DATA(c))[i];

				if (fds && n < MAX_RIGHTS)
					fds[n] = fd;
				else
					close(fd);
				n++;
			}
	return n;
}

/* Does a peek of len bytes from off reach a message with fds? 1, 0, or -errno. */
static int reaches_rights(int sk, size_t off, size_t len, char *buf)
{
	char ctl[CMSG_SPACE(sizeof(int) * MAX_RIGHTS)];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	int o = off;

	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &o, sizeof(o)) ||
	    recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return -errno;
	return take_rights(&mh, NULL) > 0;
}

/*
 * A stream reads up to, and with, the first write that carried fds: where
 * that write starts in the n bytes from off is where a peek of as many
 * bytes first reaches its fds.
 */
static ssize_t rights_start(int sk, size_t off, size_t n, char *buf)
{
	size_t lo = 1, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = reaches_rights(sk, off, mid, buf);

		if (r < 0)
			return r;
		if (r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo - 1;
}

/* The process of the application that holds our copy fd's open file, and its fd there. */
static int holder_of(struct dump *d, int fd, pid_t *vpid, int *hfd)
{
	for (size_t i = 0; i < d->npids; i++) {
		int *fds = NULL;
		size_t n = 0;
		uint32_t level;

		if (proc_fds(d->pids[i], &fds, &n))
			continue;
		for (size_t k = 0; k < n; k++)
			if (syscall(SYS_kcmp, getpid(), d->pids[i], KCMP_FILE, fd, fds[k]) == 0) {
				*hfd = fds[k];
				free(fds);
				return proc_nspid(d->pids[i], vpid, &level);
			}
		free(fds);
	}
	return -ENOENT;
}

/* The files in flight of one message (our copies), as their holders' fds; noted for the check. */
static int note_rights(struct dump *d, int sock_fd, const int *fds, size_t n,
		       struct json_object *files)
{
	for (size_t i = 0; i < n; i++) {
		struct dump_flight *m;
		struct json_object *f;
		pid_t vpid;
		int hfd;

		if (holder_of(d, fds[i], &vpid, &hfd)) {
			char link[64] = "", path[64];

			snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
			if (readlink(path, link, sizeof(link) - 1) < 0)
				snprintf(link, sizeof(link), "?");
			pr_err("pid %d fd %d is a unix socket with a file in flight (%s) that no process "
			       "of the application holds (its sender closed it): appshot cannot save "
			       "it yet", d->vpid, sock_fd, link);
			return -ENOTSUP;
		}
		m = realloc(d->flights, (d->nflights + 1) * sizeof(*m));
		if (!m)
			return -ENOMEM;
		d->flights = m;
		d->flights[d->nflights++] = (struct dump_flight){ .vpid = vpid, .fd = hfd,
								  .sock_vpid = d->vpid,
								  .sock_fd = sock_fd };
		f = json_object_new_array();
		json_object_array_add(f, json_object_new_int(vpid));
		json_object_array_add(f, json_object_new_int(hfd));
		json_object_array_add(files, f);
	}
	return 0;
}

/*
 * The bytes waiting in the socket, message by message, peeked at from
 * offset 0 through our copy of it. A message with fds in flight (the
 * first write that carried them, in a stream) is a message of its own,
 * its fds named by the processes that hold their open files ("rights").
 */
static int peek_queue(struct dump *d, int fd, int sk, struct dump_sock *s, struct json_object *o)
{
	static char data[1 << 20], probe[1 << 20];
	char ctl[CMSG_SPACE(sizeof(int) * MAX_RIGHTS)], name[64];
	struct json_object *lens = json_object_new_array(), *rights = json_object_new_array();
	int zero = 0, old = -1, err = 0, fds[MAX_RIGHTS];
	socklen_t ol = sizeof(old);
	size_t used = 0;

	json_object_object_add(o, "queue", lens);
	getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, &ol);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		json_object_put(rights);
		return -errno;
	}
	for (;;) {
		struct iovec iov = { data + used, sizeof(data) - used };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC), before = 0;
		size_t nfds;

		if (n < 0) {
			if (errno != EAGAIN)
				err = -errno;
			break;
		}
		nfds = take_rights(&mh, fds);
		if (n == 0 && !nfds)
			break;
		if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > MAX_RIGHTS) {
			err = -E2BIG;
		} else if (nfds && s->type == SOCK_STREAM && n > 1) {
			before = rights_start(sk, used, n, probe);
			if (before < 0)
				err = before;
			else if (before)
				json_object_array_add(lens, json_object_new_uint64(before));
			/* and on from where this message ends */
			int next = used + n;

			setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &next, sizeof(next));
		}
		if (!err && nfds) {
			struct json_object *r = json_object_new_object(), *files = json_object_new_array();

			js_u64(r, "message", json_object_array_length(lens));
			json_object_object_add(r, "files", files);
			json_object_array_add(rights, r);
			err = note_rights(d, fd, fds, nfds, files);
		}
		for (size_t i = 0; i < nfds && i < MAX_RIGHTS; i++)
			close(fds[i]);
		if (err)
			break;
		json_object_array_add(lens, json_object_new_uint64(n - before));
		used += n;
	}
	setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old));
	if (json_object_array_length(rights))
		json_object_object_add(o, "rights", rights);
	else
		json_object_put(rights);
	if (err == -ENOTSUP)
		return err;
	if (err) {
		pr_err("cannot read the queue of socket:[%llu]: %s", (unsigned long long)s->ino,
		       strerror(-err));
		return err;
	}
	if (used) {
		snprintf(name, sizeof(name), "sock-%llu", (unsigned long long)s->ino);
		err = image_write_blob(&d->w, name, data, used);
		js_str(o, "data", name);
	}
	return err;
}

/* The kinds of open file the restore can make once and send again (a slot of appshot's). */
static int sendable(const char *kind)
{
	static const char *const ok[] = { "file", "dir", "chr", "pipe", "fifo", "unix", "inet",
					  "eventfd" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(kind, ok[i]))
			return 1;
	return 0;
}

int dump_check_flights(struct dump *d, struct json_object *const *cores, size_t n)
{
	for (size_t k = 0; k < d->nflights; k++) {
		const struct dump_flight *m = &d->flights[k];
		const char *kind = NULL;

		for (size_t i = 0; i < n && !kind; i++) {
			struct json_object *core = cores[i], *fds = jg_arr(core, "fds");
			int64_t pid;

			if (jg_i64(core, "pid", &pid) || pid != m->vpid)
				continue;
			for (size_t j = 0; j < ja_len(fds) && !kind; j++) {
				struct json_object *v;
				int64_t fd;

				if (!jg_i64(ja_at(fds, j), "fd", &fd) && fd == m->fd &&
				    json_object_object_get_ex(ja_at(fds, j), "kind", &v))
					kind = json_object_get_string(v);
			}
		}
		if (!kind || !sendable(kind)) {
			pr_err("pid %d fd %d is a unix socket with a file in flight that is pid %d's fd "
			       "%d (%s): appshot cannot send one of that kind again yet",
			       m->sock_vpid, m->sock_fd, m->vpid, m->fd, kind ? kind : "not saved");
			return -ENOTSUP;
		}
	}
	return 0;
}

/*
 * Connected, its peer maybe gone since (peer 0, its bytes still there to
 * read). A named datagram socket others connected to is "established" too
 * (the kernel marks both), but it is not connected itself.
 */
static int connected(const struct dump_sock *s)
{
	return s->peer || (s->state == TCP_ESTABLISHED && (s->type != SOCK_DGRAM || !s->namelen));
}

/*
 * Bound to a path that no longer names its socket file (unlinked, or
 * another file there now): the restore binds it there, then unlinks it.
 */
static int path_gone(pid_t pid, const struct dump_sock *s)
{
	char path[sizeof(s->name) + 64];
	struct stat st;

	if (!s->namelen || !s->name[0])
		return 0; /* abstract names have no file */
	snprintf(path, sizeof(path), "/proc/%d/root%.*s", pid, s->namelen, s->name);
	return lstat(path, &st) || st.st_ino != s->vfs_ino ||
	       st.st_dev != makedev(s->vfs_dev >> 20, s->vfs_dev & 0xfffff);
}

static int dump_unix_fd(struct dump *d, pid_t pid, int fd, struct dump_sock *s, struct json_object *fdo)
{
	struct json_object *o;
	char name[2 * sizeof(s->name) + 1];
	int pidfd, sk, passcred = 0, err;
	socklen_t l = sizeof(passcred);

	if (dump_sock_outside(d, s)) {
		pr_err("pid %d fd %d is a unix socket connected to one outside the application: "
		       "appshot cannot save it yet", d->vpid, fd);
		return -ENOTSUP;
	}
	if (s->state == TCP_LISTEN && (s->icons || s->rqlen)) {
		pr_err("pid %d fd %d is a listening unix socket with %u connections not yet "
		       "accepted: appshot cannot save them yet", d->vpid, fd,
		       s->icons ? s->icons : s->rqlen);
		return -ENOTSUP;
	}
	o = json_object_new_object();
	json_object_object_add(fdo, "unix", o);
	js_u64(o, "ino", s->ino);
	js_i64(o, "type", s->type);
	js_str(o, "state", s->state == TCP_LISTEN ? "listen" :
			   connected(s)		   ? "connected" :
						     "unconnected");
	if (s->vfs_ino && path_gone(pid, s))
		js_bool(o, "unlinked", 1);
	hex(name, (unsigned char *)s->name, s->namelen);
	js_str(o, "name", name);
	js_u64(o, "peer", s->peer);
	js_i64(o, "shutdown", s->shutdown);
	js_i64(o, "backlog", s->state == TCP_LISTEN ? (int)s->wqlen : 0);
	if (s->saved)
		return 0; /* its state is with its first fd */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	sk = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (sk < 0) {
		err = -errno;
		pr_err("cannot look at pid %d's socket fd %d: %s", d->vpid, fd, strerror(errno));
		if (pidfd >= 0)
			close(pidfd);
		return err;
	}
	getsockopt(sk, SOL_SOCKET, SO_PASSCRED, &passcred, &l);
	js_bool(o, "passcred", passcred);
	err = sockopt_save(d, fd, sk, s, 0, o);
	/* a stream socket never connected has no queue (reading it is EINVAL) */
	if (!err)
		err = s->state == TCP_LISTEN || (s->type != SOCK_DGRAM && !connected(s)) ?
			      0 :
			      peek_queue(d, fd, sk, s, o);
	if (!err && s->type == SOCK_DGRAM && !connected(s) &&
	    ja_len(jg_arr(o, "queue"))) {
		pr_err("pid %d fd %d is a unix datagram socket holding datagrams from any sender: "
		       "appshot cannot save whom they came from yet", d->vpid, fd);
		err = -ENOTSUP;
	}
	close(sk);
	close(pidfd);
	s->saved = 1;
	return err;
}


/* ---- restore ----------------------------------------------------------- */

#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2

static int unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = b;
	}
	return n / 2;
}

/* Which messages carry files in flight, each as [pid, fd] of the application. */
static int parse_rights(struct json_object *list, struct rst_unix *u)
{
	u->nrights = ja_len(list);
	if (!u->nrights)
		return 0;
	u->rights = calloc(u->nrights, sizeof(*u->rights));
	if (!u->rights)
		return -1;
	for (size_t i = 0; i < u->nrights; i++) {
		struct json_object *r = ja_at(list, i), *files = jg_arr(r, "files");
		struct rst_right *x = &u->rights[i];
		uint64_t m;

		if (jg_u64(r, "message", &m) || m >= u->nqueue || !ja_len(files) ||
		    ja_len(files) > MAX_RIGHTS || (i && m <= u->rights[i - 1].message))
			return -1;
		x->message = m;
		x->nfiles = ja_len(files);
		x->files = calloc(x->nfiles, sizeof(*x->files));
		if (!x->files)
			return -1;
		for (size_t k = 0; k < x->nfiles; k++) {
			struct json_object *pf = ja_at(files, k);

			if (ja_len(pf) != 2 ||
			    !json_object_is_type(ja_at(pf, 0), json_type_int) ||
			    !json_object_is_type(ja_at(pf, 1), json_type_int) ||
			    json_object_get_int64(ja_at(pf, 0)) <= 0 ||
			    json_object_get_int64(ja_at(pf, 1)) < 0)
				return -1;
			x->files[k].pid = json_object_get_int64(ja_at(pf, 0));
			x->files[k].fd = json_object_get_int64(ja_at(pf, 1));
		}
	}
	return 0;
}

static int rst_parse_unix(struct json_object *o, struct rst_fd *f)
{
	struct json_object *u = jg_obj(o, "unix"), *q;
	char name[2 * sizeof(f->un.name) + 1], state[16];
	uint64_t total = 0;

	if (!u || jg_u64(u, "ino", &f->un.ino) || jg_int(u, "type", &f->un.type) ||
	    jg_str(u, "state", state, sizeof(state)) || jg_str(u, "name", name, sizeof(name)) ||
	    jg_u64(u, "peer", &f->un.peer) || jg_int(u, "shutdown", &f->un.shutdown) ||
	    jg_int(u, "backlog", &f->un.backlog))
		return -1;
	if (f->un.type != SOCK_STREAM && f->un.type != SOCK_DGRAM && f->un.type != SOCK_SEQPACKET)
		return -1;
	f->un.listen = !strcmp(state, "listen");
	f->un.connected = !strcmp(state, "connected");
	f->un.temp = -1;
	if (json_object_object_get_ex(u, "unlinked", NULL) && jg_bool(u, "unlinked", &f->un.unlinked))
		return -1;
	f->un.namelen = unhex(name, f->un.name, sizeof(f->un.name));
	if (f->un.namelen < 0)
		return -1;
	if (f->un.namelen && f->un.name[0] != 0 && f->un.name[0] != '/')
		return -1; /* a relative path: relative to what, now? */
	if (!json_object_object_get_ex(u, "passcred", NULL))
		return 0; /* its state is with the first fd of it */
	f->un.primary = 1;
	if (jg_bool(u, "passcred", &f->un.passcred))
		return -1;
	f->un.opts = json_object_get(jg_obj(u, "opts"));
	q = jg_arr(u, "queue"); /* a listener has none */
	f->un.nqueue = q ? ja_len(q) : 0;
	f->un.queue = calloc(f->un.nqueue + 1, sizeof(*f->un.queue));
	if (!f->un.queue)
		return -1;
	for (size_t i = 0; i < f->un.nqueue; i++) {
		f->un.queue[i] = json_object_get_uint64(ja_at(q, i));
		total += f->un.queue[i];
	}
	f->un.len = total;
	if (parse_rights(jg_arr(u, "rights"), &f->un))
		return -1;
	if (total && jg_str(u, "data", f->un.data, sizeof(f->un.data)))
		return -1;
	return 0;
}

/* The first fd of every unix socket of the application: its state. */
static struct rst_fd *sock_by_ino(struct rst_fd **socks, size_t n, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (socks[i]->un.ino == ino)
			return socks[i];
	return NULL;
}

static socklen_t addr_of(const struct rst_fd *f, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, f->un.name, f->un.namelen);
	return offsetof(struct sockaddr_un, sun_path) + f->un.namelen;
}

/* Does a live socket answer at this path (another instance's)? Then it stays. */
static int in_use(const struct sockaddr_un *a, socklen_t len, int type)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), used;

	if (fd < 0)
		return 1;
	used = connect(fd, (const struct sockaddr *)a, len) == 0 || errno != ECONNREFUSED;
	close(fd);
	return used;
}

/* Bind to its name; a socket file the application's old socket left there goes first. */
static int bind_name(struct rst_fd *f)
{
	struct sockaddr_un a;
	socklen_t len = addr_of(f, &a);
	struct stat st;
	int bound = 0;

	/*
	 * The application's old socket may still be letting go of its name
	 * (its processes were killed a moment ago): a short while is given.
	 */
	for (int tries = 0; tries < 100; tries++) {
		if (a.sun_path[0] && lstat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    !in_use(&a, len, f->un.type))
			unlink(a.sun_path);
		bound = bind(f->sock, (struct sockaddr *)&a, len) == 0;
		if (bound || errno != EADDRINUSE)
			break;
		usleep(20000);
	}
	if (!bound) {
		pr_perror("restore: cannot bind a unix socket to %s%.*s", a.sun_path[0] ? "" : "@",
			  f->un.namelen - !a.sun_path[0], a.sun_path + !a.sun_path[0]);
		return -errno;
	}
	f->un.bound = a.sun_path[0] != 0;
	return 0;
}

void rst_socks_unbind(struct rst_app *a)
{
	for (size_t k = 0; k < a->nshared; k++) {
		struct rst_fd *f = a->shared[k];
		char path[sizeof(f->un.name) + 1] = "";

		if (f->kind != &kind_unix || !f->un.bound)
			continue;
		memcpy(path, f->un.name, f->un.namelen);
		unlink(path);
		f->un.bound = 0;
	}
}

static struct rst_fd *listener_named(struct rst_fd **socks, size_t n, const struct rst_fd *f)
{
	for (size_t i = 0; i < n; i++)
		if (socks[i]->un.listen && socks[i]->un.namelen == f->un.namelen &&
		    !memcmp(socks[i]->un.name, f->un.name, f->un.namelen))
			return socks[i];
	return NULL;
}

/* Which end of a connection was accepted from a listener of the application (named as it). */
static int accepted(struct rst_fd **socks, size_t n, const struct rst_fd *f)
{
	return !f->un.listen && f->un.peer && f->un.namelen && listener_named(socks, n, f);
}

/* A connection whose peer is gone since: its bytes come from an end made for the while. */
static int orphan(const struct rst_fd *f)
{
	return f->un.connected && !f->un.peer;
}

/*
 * connect(), bounded: a unix listener whose backlog is full makes a
 * blocking connect wait for good. Tried for 2 s, then refused, said.
 */
static int connect_to(int fd, const struct sockaddr_un *a, socklen_t len)
{
	int fl = fcntl(fd, F_GETFL), ok = 0;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (int tries = 0; tries < 100; tries++) {
		ok = connect(fd, (const struct sockaddr *)a, len) == 0;
		if (ok || errno != EAGAIN)
			break;
		usleep(20000);
	}
	if (!ok)
		pr_perror("restore: cannot connect a unix socket to %s%.*s", a->sun_path[0] ? "" : "@",
			  (int)(len - offsetof(struct sockaddr_un, sun_path)) - !a->sun_path[0],
			  a->sun_path + !a->sun_path[0]);
	fcntl(fd, F_SETFL, fl);
	return ok ? 0 : -errno;
}

/*
 * A named socket whose peer is gone, and no listener of the application
 * has its name: bound to it, connected to a listener made for the while
 * (an abstract name of the kernel's choosing), whose end is its temp.
 */
static int make_named_orphan(struct rst_fd *f)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = offsetof(struct sockaddr_un, sun_path);
	int l = socket(AF_UNIX, f->un.type | SOCK_CLOEXEC, 0), err;

	if (l < 0 || bind(l, (struct sockaddr *)&a, len) || listen(l, 1)) {
		err = -errno;
		pr_perror("restore: cannot make a listener for a while");
		if (l >= 0)
			close(l);
		return err;
	}
	len = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &len);
	err = bind_name(f) ?: connect_to(f->sock, &a, len);
	if (!err && (f->un.temp = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		err = -errno;
	close(l);
	return err;
}

static int make_all(struct rst_fd **socks, size_t n)
{
	int err = 0;

	/* named ones first (not the accepted ends): listeners listen */
	for (size_t i = 0; i < n && !err; i++) {
		struct rst_fd *f = socks[i], *p = sock_by_ino(socks, n, f->un.peer);
		int pair[2];

		if (f->sock >= 0 || accepted(socks, n, f) ||
		    (orphan(f) && f->un.namelen && listener_named(socks, n, f)))
			continue;
		if ((p && !f->un.namelen && !p->un.namelen && p->un.peer == f->un.ino &&
		     p->sock < 0) ||
		    (orphan(f) && !f->un.namelen)) {
			if (socketpair(AF_UNIX, f->un.type | SOCK_CLOEXEC, 0, pair)) {
				pr_perror("restore: cannot make a unix socket pair");
				return -errno;
			}
			f->sock = pair[0];
			if (p)
				p->sock = pair[1];
			else
				f->un.temp = pair[1]; /* its peer is gone: this end fills it, then goes */
			continue;
		}
		f->sock = socket(AF_UNIX, f->un.type | SOCK_CLOEXEC, 0);
		if (f->sock < 0) {
			pr_perror("restore: cannot make a unix socket");
			return -errno;
		}
		if (orphan(f)) {
			err = make_named_orphan(f);
			continue;
		}
		if (f->un.namelen)
			err = bind_name(f);
		if (!err && f->un.listen && listen(f->sock, f->un.backlog)) {
			pr_perror("restore: cannot listen on a unix socket");
			err = -errno;
		}
	}
	/* then connections: through a listener (and accepted), or to a named socket */
	for (size_t i = 0; i < n && !err; i++) {
		struct rst_fd *f = socks[i], *p = sock_by_ino(socks, n, f->un.peer), *l;
		struct sockaddr_un a;
		socklen_t len;
		int c;

		if (orphan(f) && f->un.namelen && (l = listener_named(socks, n, f)) && f->sock < 0) {
			/* accepted once from a listener of the application, its client gone */
			c = socket(AF_UNIX, f->un.type | SOCK_CLOEXEC, 0);
			len = addr_of(l, &a);
			if (c < 0 || connect_to(c, &a, len) ||
			    (f->sock = accept4(l->sock, NULL, NULL, SOCK_CLOEXEC)) < 0) {
				err = -errno;
				pr_perror("restore: cannot make an accepted unix socket again");
				if (c >= 0)
					close(c);
				return err;
			}
			f->un.temp = c;
			continue;
		}
		if (!p || f->un.listen || accepted(socks, n, f) || (p->un.peer == f->un.ino &&
								    !p->un.namelen && !f->un.namelen))
			continue;
		if (!p->un.namelen) {
			pr_err("restore: a unix socket is connected to one without a name that is "
			       "not connected back: appshot cannot make that again");
			return -ENOTSUP;
		}
		len = addr_of(p, &a);
		err = connect_to(f->sock, &a, len);
		if (err)
			return err;
		if (!accepted(socks, n, p))
			continue;
		l = listener_named(socks, n, p);
		p->sock = accept4(l->sock, NULL, NULL, SOCK_CLOEXEC);
		if (p->sock < 0) {
			pr_perror("restore: cannot accept a connection again");
			return -errno;
		}
	}
	for (size_t i = 0; i < n && !err; i++)
		if (socks[i]->sock < 0) {
			pr_err("restore: a unix socket accepted from a listener that is gone: appshot "
			       "cannot make it again");
			return -ENOTSUP;
		}
	return err;
}

/* The application's unix sockets among appshot's slots; free() it. */
static struct rst_fd **unix_socks(struct rst_app *a, size_t *n)
{
	struct rst_fd **socks = calloc(a->nshared + 1, sizeof(*socks));

	*n = 0;
	for (size_t k = 0; socks && k < a->nshared; k++)
		if (a->shared[k]->kind == &kind_unix)
			socks[(*n)++] = a->shared[k];
	return socks;
}

/* A socket's fd in appshot: its own till its slot took it. */
static int sock_fd(const struct rst_app *a, const struct rst_fd *f)
{
	return f->sock >= 0 ? f->sock : f->shared >= 0 ? a->shared_fd[f->shared] : -1;
}

/* Message i of f's queue, sent by from, with its files in flight (appshot's slots of them). */
static int send_message(const struct rst_app *a, const struct rst_fd *f, int from, size_t i,
			const void *bytes, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int) * MAX_RIGHTS)] = { 0 };
	struct iovec iov = { (void *)bytes, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const struct rst_right *r = NULL;

	for (size_t k = 0; k < f->un.nrights && !r; k++)
		if (f->un.rights[k].message == i)
			r = &f->un.rights[k];
	if (r) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * r->nfiles);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * r->nfiles);
		for (size_t k = 0; k < r->nfiles; k++)
			((int *)CMSG_DATA(c))[k] = a->shared_fd[r->files[k].holder->shared];
	}
	return sendmsg(from, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * The bytes a socket held, sent to it again by its peer: a datagram or
 * packet per message; a stream's at once, but for the writes that carried
 * files in flight, each a write of its own with them.
 */
static int fill_queue(const struct rst_app *a, struct rst_fd **socks, size_t n, struct rst_fd *f)
{
	struct rst_fd *p = sock_by_ino(socks, n, f->un.peer);
	int from = p ? sock_fd(a, p) : f->un.temp;
	size_t off = 0;

	if (!f->un.len && !f->un.nrights)
		return 0;
	if (from < 0) {
		pr_err("restore: a unix socket holds bytes but has no peer to send them");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < f->un.nqueue; i++) {
		size_t len = f->un.queue[i];

		/* a stream's messages with no files go together */
		while (f->un.type == SOCK_STREAM && i + 1 < f->un.nqueue && !f->un.nrights)
			len += f->un.queue[++i];
		if (send_message(a, f, from, i, (char *)f->un.bytes + off, len)) {
			pr_perror("restore: cannot put %zu bytes back into a unix socket", len);
			return -EIO;
		}
		off += len;
	}
	return 0;
}

/* Every unix socket made, connected and accepted; queues wait for the other slots (finish). */
static int rst_socks_make(struct rst_app *a)
{
	size_t n;
	struct rst_fd **socks = unix_socks(a, &n);
	int err;

	if (!socks)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		socks[i]->sock = -1;
	err = make_all(socks, n);
	free(socks);
	return err;
}

/*
 * Once every slot is made (the files in flight among them): the queues
 * filled, the ends made for the while gone, as the peers had gone;
 * unlinked paths unlinked again; shutdowns and options last.
 */
static int rst_socks_finish(struct rst_app *a)
{
	size_t n;
	struct rst_fd **socks = unix_socks(a, &n);
	int err = 0, one = 1;
	char why[256];

	if (!socks)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		err = fill_queue(a, socks, n, socks[i]);
	for (size_t i = 0; i < n; i++) {
		struct rst_fd *f = socks[i];

		if (f->un.temp >= 0) {
			close(f->un.temp);
			f->un.temp = -1;
		}
		if (!err && f->un.unlinked && f->un.bound) {
			char path[sizeof(f->un.name) + 1] = "";

			memcpy(path, f->un.name, f->un.namelen);
			unlink(path);
			f->un.bound = 0;
		}
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct rst_fd *f = socks[i], *p = sock_by_ino(socks, n, f->un.peer);
		int fd = sock_fd(a, f);

		if ((f->un.shutdown & SEND_SHUTDOWN) && shutdown(fd, SHUT_WR))
			err = -errno;
		if (!err && (f->un.shutdown & RCV_SHUTDOWN) &&
		    !(p && (p->un.shutdown & SEND_SHUTDOWN)) && shutdown(fd, SHUT_RD))
			err = -errno;
		if (!err && f->un.passcred &&
		    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
			err = -errno;
		if (err) {
			pr_perror("restore: cannot give a unix socket its shutdown or options");
			break;
		}
		/* all of them once its queue is there: they limit what comes, not what came */
		err = sockopt_apply(fd, f->un.opts, 0, why, sizeof(why)) ?:
		      sockopt_apply(fd, f->un.opts, 1, why, sizeof(why));
		if (err)
			pr_err("restore: a unix socket: %s", why);
	}
	free(socks);
	return err;
}


/* ---- the kind ---------------------------------------------------------- */

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
	return sockopt_check(f->un.opts, why, len);
}

/* Its first fd carries the socket's state: that one gets a slot, the others share it. */
/* Its slot; and one for each file in flight in it, made by appshot to be sent again. */
static int plan(struct rst_app *a, struct rst_proc *p, struct rst_fd *f)
{
	int err;

	if (f->dup_of >= 0 || f->same_pid >= 0)
		return 0;
	if (!f->un.primary) {
		pr_err("restore: pid %d fd %d: a unix socket whose state no fd carries", p->pid,
		       f->fd);
		return -EBADMSG;
	}
	err = rst_add_slot(a, f);
	for (size_t i = 0; !err && i < f->un.nrights; i++)
		for (size_t k = 0; !err && k < f->un.rights[i].nfiles; k++) {
			struct rst_right *r = &f->un.rights[i];
			struct rst_fd *h = rst_holder(a, r->files[k].pid, r->files[k].fd);

			if (!h || !h->kind || h->kind->external || h->kind->unshareable) {
				pr_err("restore: pid %d fd %d: a file in flight in it is pid %d's fd %d, "
				       "which the image does not hold as one to send",
				       p->pid, f->fd, r->files[k].pid, r->files[k].fd);
				return -EBADMSG;
			}
			r->files[k].holder = h;
			err = rst_add_slot(a, h);
		}
	return err;
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
	.finish = rst_socks_finish,
	.make = rst_take_sock,
};
