// SPDX-License-Identifier: GPL-2.0-only
/*
 * The application's unix sockets, made again by appshot before any of its
 * processes (each then takes its own among the global fds):
 *
 *   listeners: bound to their name (a socket file left at the path by the
 *     application's end, which no one answers at, is removed first), listening;
 *   unconnected: bound if they were;
 *   a connection through a listener of the application: the client
 *     connects to it and the accepted socket is the server's end, named as
 *     the listener;
 *   pairs without names: socketpair;
 *   datagram sockets connected to a named one: connected to it.
 *
 * Then every queue is filled again, sent by the socket's peer, message by
 * message; shutdowns and SO_PASSCRED last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <json-c/json.h>


#include "js.h"
#include "log.h"
#include "kind.h"
#include "rst.h"

extern const struct fd_kind kind_unix;

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

int rst_parse_unix(struct json_object *o, struct rst_fd *f)
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
	q = jg_arr(u, "queue"); /* a listener has none */
	f->un.nqueue = q ? json_object_array_length(q) : 0;
	f->un.queue = calloc(f->un.nqueue + 1, sizeof(*f->un.queue));
	if (!f->un.queue)
		return -1;
	for (size_t i = 0; i < f->un.nqueue; i++) {
		f->un.queue[i] = json_object_get_uint64(json_object_array_get_idx(q, i));
		total += f->un.queue[i];
	}
	f->un.len = total;
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

static int make_all(struct rst_fd **socks, size_t n)
{
	int err = 0;

	/* named ones first (not the accepted ends): listeners listen */
	for (size_t i = 0; i < n && !err; i++) {
		struct rst_fd *f = socks[i], *p = sock_by_ino(socks, n, f->un.peer);
		int pair[2];

		if (f->sock >= 0 || accepted(socks, n, f))
			continue;
		if (p && !f->un.namelen && !p->un.namelen && p->un.peer == f->un.ino &&
		    p->sock < 0) {
			if (socketpair(AF_UNIX, f->un.type | SOCK_CLOEXEC, 0, pair)) {
				pr_perror("restore: cannot make a unix socket pair");
				return -errno;
			}
			f->sock = pair[0];
			p->sock = pair[1];
			continue;
		}
		f->sock = socket(AF_UNIX, f->un.type | SOCK_CLOEXEC, 0);
		if (f->sock < 0) {
			pr_perror("restore: cannot make a unix socket");
			return -errno;
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

		if (!p || f->un.listen || accepted(socks, n, f) || (p->un.peer == f->un.ino &&
								    !p->un.namelen && !f->un.namelen))
			continue;
		if (!p->un.namelen) {
			pr_err("restore: a unix socket is connected to one without a name that is "
			       "not connected back: appshot cannot make that again");
			return -ENOTSUP;
		}
		len = addr_of(p, &a);
		if (connect(f->sock, (struct sockaddr *)&a, len)) {
			pr_perror("restore: cannot connect a unix socket to %s", a.sun_path);
			return -errno;
		}
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

/* The bytes a socket held, sent to it again by its peer. */
static int fill_queue(struct rst_fd **socks, size_t n, struct rst_fd *f)
{
	struct rst_fd *p = sock_by_ino(socks, n, f->un.peer);
	size_t off = 0;

	if (!f->un.len)
		return 0;
	if (!p) {
		pr_err("restore: a unix socket holds bytes but has no peer to send them");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < f->un.nqueue; i++) {
		size_t len = f->un.type == SOCK_STREAM ? f->un.len : f->un.queue[i];

		if (send(p->sock, (char *)f->un.bytes + off, len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    (ssize_t)len) {
			pr_perror("restore: cannot put %zu bytes back into a unix socket", len);
			return -EIO;
		}
		off += len;
		if (f->un.type == SOCK_STREAM)
			break; /* a stream has no messages: all at once */
	}
	return 0;
}

int rst_take_sock(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	int fd = f->sock;

	(void)a;
	f->sock = -1;
	/* O_NONBLOCK and such belong to the socket's one open file */
	if (fd < 0 || fcntl(fd, F_SETFL, f->flags)) {
		snprintf(why, len, "its socket was not made");
		return -1;
	}
	return fd;
}

int rst_socks_make(struct rst_app *a)
{
	struct rst_fd **socks = NULL;
	size_t n = 0;
	int err = 0, one = 1;

	for (size_t k = 0; k < a->nshared; k++)
		if (a->shared[k]->kind == &kind_unix) {
			struct rst_fd **m = realloc(socks, (n + 1) * sizeof(*m));

			if (!m) {
				free(socks);
				return -ENOMEM;
			}
			socks = m;
			socks[n++] = a->shared[k];
			a->shared[k]->sock = -1;
		}
	err = make_all(socks, n);
	for (size_t i = 0; i < n && !err; i++)
		err = fill_queue(socks, n, socks[i]);
	for (size_t i = 0; i < n && !err; i++) {
		struct rst_fd *f = socks[i], *p = sock_by_ino(socks, n, f->un.peer);

		if ((f->un.shutdown & SEND_SHUTDOWN) && shutdown(f->sock, SHUT_WR))
			err = -errno;
		if (!err && (f->un.shutdown & RCV_SHUTDOWN) &&
		    !(p && (p->un.shutdown & SEND_SHUTDOWN)) && shutdown(f->sock, SHUT_RD))
			err = -errno;
		if (!err && f->un.passcred &&
		    setsockopt(f->sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
			err = -errno;
		if (err)
			pr_perror("restore: cannot give a unix socket its shutdown or options");
	}
	free(socks);
	return err;
}

/* ---- TCP and UDP ---- */

/* A half-closed connection: which FINs went, and in which order. */
static int parse_fins(struct json_object *x, struct rst_inet *in)
{
	static const char *const fins[] = { "", "unsent", "sent", "acked" };
	struct json_object *v;

	if (json_object_object_get_ex(x, "our_fin", &v)) {
		for (int i = RST_FIN_UNSENT; i <= RST_FIN_ACKED; i++)
			if (!strcmp(json_object_get_string(v), fins[i]))
				in->our_fin = i;
		if (!in->our_fin || (in->our_fin == RST_FIN_ACKED && in->outq))
			return -1;
	}
	if (json_object_object_get_ex(x, "peer_fin", &v))
		in->peer_fin = json_object_get_boolean(v);
	if (json_object_object_get_ex(x, "peer_fin_first", &v))
		in->peer_fin_first = json_object_get_boolean(v);
	if (in->peer_fin_first && (!in->peer_fin || !in->our_fin))
		return -1;
	return 0;
}

/* The datagrams a UDP socket had waiting: sender, address sent to, length. */
static int parse_dgrams(struct json_object *x, struct rst_inet *in)
{
	struct json_object *q = jg_arr(x, "queue");
	size_t n = q ? json_object_array_length(q) : 0;
	uint64_t total = 0;

	if (!n)
		return 0;
	if (jg_str(x, "queue_data", in->recv_data, sizeof(in->recv_data)) ||
	    !(in->dgrams = calloc(n, sizeof(*in->dgrams))))
		return -1;
	in->ndgrams = n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(q, i);
		struct rst_dgram *g = &in->dgrams[i];
		uint64_t len;

		if (jg_str(e, "from", g->from, sizeof(g->from)) ||
		    jg_int(e, "from_port", &g->from_port) || jg_str(e, "to", g->to, sizeof(g->to)) ||
		    jg_u64(e, "len", &len) || len > 65535 || g->from_port <= 0 ||
		    g->from_port > 65535)
			return -1;
		g->len = len;
		total += len;
	}
	if (total > UINT32_MAX)
		return -1;
	in->inq = total;
	return 0;
}

int rst_parse_inet(struct json_object *o, struct rst_fd *f)
{
	struct json_object *x = jg_obj(o, "inet");
	struct rst_inet *in = &f->in;
	char state[16];

	if (!x || jg_int(x, "family", &in->family) || jg_int(x, "type", &in->type) ||
	    jg_str(x, "state", state, sizeof(state)) || jg_str(x, "addr", in->addr, sizeof(in->addr)) ||
	    jg_int(x, "port", &in->port) || jg_bool(x, "reuseaddr", &in->reuseaddr) ||
	    jg_bool(x, "reuseport", &in->reuseport) || jg_bool(x, "keepalive", &in->keepalive))
		return -1;
	if ((in->family != AF_INET && in->family != AF_INET6) ||
	    (in->type != SOCK_STREAM && in->type != SOCK_DGRAM) || in->port < 0 || in->port > 65535)
		return -1;
	in->listen = !strcmp(state, "listen");
	in->connected = !strcmp(state, "connected");
	in->established = !strcmp(state, "established");
	in->ended = !strcmp(state, "ended");
	if (in->established) {
		const struct {
			const char *key;
			uint32_t *v;
		} u[] = { { "rcv_nxt", &in->rcv_nxt },	   { "write_seq", &in->write_seq },
			  { "inq", &in->inq },		   { "outq", &in->outq },
			  { "unsent", &in->unsent },	   { "mss", &in->mss },
			  { "options", &in->options },	   { "snd_wscale", &in->snd_wscale },
			  { "rcv_wscale", &in->rcv_wscale }, { "timestamp", &in->timestamp },
			  { "snd_wl1", &in->snd_wl1 },	   { "snd_wnd", &in->snd_wnd },
			  { "max_window", &in->max_window }, { "rcv_wnd", &in->rcv_wnd },
			  { "rcv_wup", &in->rcv_wup } };

		for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
			uint64_t v;

			if (jg_u64(x, u[i].key, &v) || v > UINT32_MAX)
				return -1;
			*u[i].v = v;
		}
		if (in->type != SOCK_STREAM || in->unsent > in->outq ||
		    jg_bool(x, "nodelay", &in->nodelay) ||
		    jg_str(x, "peer", in->peer, sizeof(in->peer)) ||
		    jg_int(x, "peer_port", &in->peer_port) ||
		    (in->inq && jg_str(x, "recv", in->recv_data, sizeof(in->recv_data))) ||
		    (in->outq && jg_str(x, "send", in->send_data, sizeof(in->send_data))))
			return -1;
		if (in->family == AF_INET6 && jg_bool(x, "v6only", &in->v6only))
			return -1;
		return parse_fins(x, in);
	}
	if (in->listen && jg_int(x, "backlog", &in->backlog))
		return -1;
	if (in->type == SOCK_STREAM && jg_bool(x, "nodelay", &in->nodelay))
		return -1;
	if (in->type == SOCK_DGRAM && jg_bool(x, "broadcast", &in->broadcast))
		return -1;
	if (in->family == AF_INET6 && jg_bool(x, "v6only", &in->v6only))
		return -1;
	if (in->connected && (jg_str(x, "peer", in->peer, sizeof(in->peer)) ||
			      jg_int(x, "peer_port", &in->peer_port)))
		return -1;
	return in->type == SOCK_DGRAM ? parse_dgrams(x, in) : 0;
}

static socklen_t inet_addr_of(int family, const char *ip, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? sizeof(*a) : 0;
	} else {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		return inet_pton(AF_INET6, ip, &a->sin6_addr) == 1 ? sizeof(*a) : 0;
	}
}

static int repair(int fd, int name, const void *v, socklen_t len, const char *what)
{
	if (setsockopt(fd, IPPROTO_TCP, name, v, len) == 0)
		return 0;
	pr_perror("restore: a TCP connection: cannot set its %s", what);
	return -errno;
}

static int queue_seq(int fd, int q, uint32_t seq)
{
	return repair(fd, TCP_REPAIR_QUEUE, &q, sizeof(q), "queue") ?:
	       repair(fd, TCP_QUEUE_SEQ, &seq, sizeof(seq), "sequence number");
}

/* bytes into the queue under repair (the receive queue, or the send queue as sent) */
static int queue_fill(int fd, int q, const void *bytes, size_t len)
{
	int err = repair(fd, TCP_REPAIR_QUEUE, &q, sizeof(q), "queue");

	for (size_t done = 0; !err && done < len;) {
		ssize_t n = send(fd, (const char *)bytes + done, len - done, MSG_DONTWAIT);

		if (n <= 0) {
			pr_perror("restore: cannot put %zu bytes back into a TCP queue", len);
			return -EIO;
		}
		done += n;
	}
	return err;
}

/*
 * Our FIN, when it had gone before anything else of the connection still
 * to do (unsent bytes, the peer's FIN first): queued under repair, so taken
 * as sent. Else it goes at release, after those, sent again if it had been.
 */
static int fin_in_repair(const struct rst_inet *in)
{
	return in->our_fin >= RST_FIN_SENT && !in->unsent && !in->peer_fin_first;
}

static int fin_as_sent(int fd)
{
	int q = TCP_SEND_QUEUE;

	if (repair(fd, TCP_REPAIR_QUEUE, &q, sizeof(q), "queue"))
		return -EIO;
	if (shutdown(fd, SHUT_WR)) {
		pr_perror("restore: a TCP connection: cannot queue its FIN");
		return -errno;
	}
	return 0;
}

/* A TCP connection, under repair: sequence numbers, addresses, options, window, queues. */
static int tcp_make(const struct rst_inet *in, int fd)
{
	struct sockaddr_storage ss;
	struct tcp_repair_opt o[4];
	struct tcp_repair_window w = { in->snd_wl1, in->snd_wnd, in->max_window, in->rcv_wnd,
				       in->rcv_wup };
	socklen_t len = inet_addr_of(in->family, in->peer, in->peer_port, &ss);
	int n = 0, err;

	/* a FIN has its sequence number: the peer's comes again as a packet, ours by shutdown */
	if (in->peer_fin && (int32_t)(w.rcv_wup - (in->rcv_nxt - 1)) > 0)
		w.rcv_wup = in->rcv_nxt - 1;
	err = queue_seq(fd, TCP_RECV_QUEUE, in->rcv_nxt - in->peer_fin - in->inq) ?:
	      queue_seq(fd, TCP_SEND_QUEUE, in->write_seq - !!in->our_fin - in->outq);
	if (err)
		return err;
	if (!len || connect(fd, (struct sockaddr *)&ss, len)) {
		err = len ? -errno : -EINVAL;
		pr_err("restore: cannot connect a TCP connection to %s port %d again: %s", in->peer,
		       in->peer_port, strerror(-err));
		return err;
	}
	o[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, in->mss };
	if (in->options & TCPI_OPT_WSCALE)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
						  in->snd_wscale | (in->rcv_wscale << 16) };
	if (in->options & TCPI_OPT_SACK)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (in->options & TCPI_OPT_TIMESTAMPS)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	/* the window last: the kernel checks it against the sequence numbers the queues moved */
	return repair(fd, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0]), "options") ?:
	       ((in->options & TCPI_OPT_TIMESTAMPS) ?
			repair(fd, TCP_TIMESTAMP, &in->timestamp, sizeof(in->timestamp),
			       "timestamp") : 0) ?:
	       queue_fill(fd, TCP_RECV_QUEUE, in->recv, in->inq) ?:
	       queue_fill(fd, TCP_SEND_QUEUE, in->send, in->outq - in->unsent) ?:
	       repair(fd, TCP_REPAIR_WINDOW, &w, sizeof(w), "window") ?:
	       (fin_in_repair(in) ? fin_as_sent(fd) : 0);
}

static int tcp_state(int fd)
{
	struct tcp_info ti = { 0 };
	socklen_t l = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) ? -1 : ti.tcpi_state;
}

/*
 * The FIN the connection had received, received again: a packet as from
 * its peer, at the sequence number after the bytes received, acknowledging
 * what the peer had acknowledged. Waited for (bounded) till it is taken.
 */
static int fin_taken(int fd, const struct rst_inet *in)
{
	int st = tcp_state(fd);

	(void)in;
	return st != TCP_ESTABLISHED && st != TCP_FIN_WAIT1 && st != TCP_FIN_WAIT2;
}

static int peer_fin_again(const struct rst_inet *in, int fd)
{
	uint32_t snd_una = in->write_seq - !!in->our_fin - in->outq;
	int raw = rst_raw_open(in->family), err = raw < 0 ? raw : 0;

	if (!err)
		err = rst_raw_tcp_fin(raw, in, in->rcv_nxt - 1, snd_una) ?:
		      rst_raw_wait(fin_taken, fd, in);
	if (err)
		pr_err("restore: a TCP connection to %s port %d: cannot give it its peer's FIN "
		       "again: %s", in->peer, in->peer_port, strerror(-err));
	if (raw >= 0)
		close(raw);
	return err;
}

int rst_inet_release(const struct rst_fd *f, int fd)
{
	const struct rst_inet *in = &f->in;
	int off = TCP_REPAIR_OFF, q = TCP_NO_QUEUE, err;

	if (!in->established)
		return 0;
	err = repair(fd, TCP_REPAIR_QUEUE, &q, sizeof(q), "queue") ?:
	      repair(fd, TCP_REPAIR, &off, sizeof(off), "repair mode off") ?:
	      (in->peer_fin ? peer_fin_again(in, fd) : 0);
	/* what it had not sent yet goes now, as the application's own send would */
	if (!err && in->unsent &&
	    send(fd, (const char *)in->send + in->outq - in->unsent, in->unsent, MSG_DONTWAIT) !=
		    (ssize_t)in->unsent) {
		pr_perror("restore: cannot send the %u bytes a TCP connection had not sent",
			  in->unsent);
		err = -EIO;
	}
	if (!err && in->our_fin && !fin_in_repair(in) && shutdown(fd, SHUT_WR)) {
		pr_perror("restore: a TCP connection: cannot send its FIN");
		err = -errno;
	}
	if (!err)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ in->reuseaddr }, sizeof(int));
	return err;
}

/*
 * The datagrams a UDP socket had waiting, sent to it again each from its
 * own sender (rst_raw.c: its socket may be elsewhere, or still bound
 * here), then counted on the socket (peeking) till all are there.
 */
/* All the datagrams there? (counted peeking) */
static int dgrams_queued(int fd, const struct rst_inet *in)
{
	static char buf[65536];
	size_t n = 0;

	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &(int){ 0 }, sizeof(int));
	while (n < in->ndgrams && recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) >= 0)
		n++;
	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &(int){ -1 }, sizeof(int));
	return n == in->ndgrams;
}

/* An IPv4 address an IPv6 socket sees as ::ffff:a.b.c.d: a.b.c.d, else NULL. */
static const char *v4_mapped(const char *a)
{
	return !strncmp(a, "::ffff:", 7) && strchr(a, '.') ? a + 7 : NULL;
}

static int udp_requeue(const struct rst_inet *in, int fd)
{
	const char *any = in->family == AF_INET ? "0.0.0.0" : "::";
	const char *local = in->family == AF_INET ? "127.0.0.1" : "::1";
	int raw[2] = { -1, -1 }, err = 0; /* IPv4, IPv6 */
	const char *bytes = in->recv;

	for (size_t i = 0; i < in->ndgrams && !err; i++) {
		const struct rst_dgram *g = &in->dgrams[i];
		/* sent to the wildcard address: to the one it was sent to, else loopback */
		const char *to = strcmp(g->to, any) && g->to[0] ? g->to :
				 strcmp(in->addr, any) ? in->addr : local;
		const char *from = g->from;
		int family = in->family;

		/* an IPv6 socket's IPv4 datagram comes again as IPv4 */
		if (family == AF_INET6 && v4_mapped(from)) {
			family = AF_INET;
			from = v4_mapped(from);
			to = v4_mapped(to) ?: "127.0.0.1";
		}
		if (raw[family == AF_INET6] < 0 &&
		    (raw[family == AF_INET6] = rst_raw_open(family)) < 0) {
			err = raw[family == AF_INET6];
			break;
		}
		err = rst_raw_udp(raw[family == AF_INET6], family, from, g->from_port, to, in->port,
				  bytes, g->len);
		bytes += g->len;
	}
	if (!err)
		err = rst_raw_wait(dgrams_queued, fd, in);
	if (err)
		pr_err("restore: cannot put the %zu datagrams waiting on a UDP socket of %s port %d "
		       "back: %s", in->ndgrams, in->addr, in->port, strerror(-err));
	for (int k = 0; k < 2; k++)
		if (raw[k] >= 0)
			close(raw[k]);
	return err;
}

int rst_inet_make(const struct rst_fd *f)
{
	const struct rst_inet *in = &f->in;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(in->family, in->type | SOCK_CLOEXEC, 0), err = 0;
	const struct {
		int on, level, name;
	} opts[] = {
		{ in->reuseaddr, SOL_SOCKET, SO_REUSEADDR },
		{ in->reuseport, SOL_SOCKET, SO_REUSEPORT },
		{ in->keepalive, SOL_SOCKET, SO_KEEPALIVE },
		{ in->nodelay, IPPROTO_TCP, TCP_NODELAY },
		{ in->broadcast, SOL_SOCKET, SO_BROADCAST },
		{ in->v6only, IPPROTO_IPV6, IPV6_V6ONLY },
	};

	if (fd < 0) {
		pr_perror("restore: cannot make a socket");
		return -errno;
	}
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]) && !err; i++)
		if (opts[i].on && setsockopt(fd, opts[i].level, opts[i].name, &(int){ 1 }, sizeof(int)))
			err = -errno;
	/* IPV6_V6ONLY may be on by default (sysctl): set it as it was */
	if (!err && in->family == AF_INET6 && !in->v6only &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int)))
		err = -errno;
	if (err) {
		pr_perror("restore: cannot give a socket its options");
		close(fd);
		return err;
	}
	/*
	 * Connections the application's old sockets left in TIME_WAIT must not
	 * keep the port: SO_REUSEADDR for the bind, then as it was (as CRIU).
	 * A connection goes under repair instead (after its options: repair
	 * lets it share its port with its listener, SO_REUSEADDR would undo it).
	 */
	if (in->established) {
		if (repair(fd, TCP_REPAIR, &(int){ TCP_REPAIR_ON }, sizeof(int), "repair mode")) {
			close(fd);
			return -EPERM;
		}
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	}
	if (in->ended) {
		/* as it was: reading gives the end, writing EPIPE (its port is free now) */
		if (shutdown(fd, SHUT_RDWR) && errno != ENOTCONN) {
			err = -errno;
			close(fd);
			return err;
		}
		return fd;
	}
	len = inet_addr_of(in->family, in->addr, in->port, &ss);
	if (!len || (in->port && bind(fd, (struct sockaddr *)&ss, len))) {
		err = len ? -errno : -EINVAL;
		pr_err("restore: cannot bind a socket to %s port %d again: %s", in->addr, in->port,
		       strerror(-err));
		close(fd);
		return err;
	}
	if (in->established) {
		err = tcp_make(in, fd);
		if (err) {
			close(fd);
			return err;
		}
		return fd; /* SO_REUSEADDR as it was once out of repair */
	}
	if (in->listen && listen(fd, in->backlog)) {
		err = -errno;
		pr_perror("restore: cannot listen on %s port %d", in->addr, in->port);
		close(fd);
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ in->reuseaddr }, sizeof(int));
	if (in->connected) {
		len = inet_addr_of(in->family, in->peer, in->peer_port, &ss);
		if (!len || connect(fd, (struct sockaddr *)&ss, len)) {
			err = len ? -errno : -EINVAL;
			pr_err("restore: cannot connect a UDP socket to %s port %d again: %s", in->peer,
			       in->peer_port, strerror(-err));
			close(fd);
			return err;
		}
	}
	if (in->ndgrams && (err = udp_requeue(in, fd))) {
		close(fd);
		return err;
	}
	return fd;
}
