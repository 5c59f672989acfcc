// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unix sockets of the application: type, state, name, peer, shutdown,
 * SO_PASSCRED and the bytes queued to be read, so that pairs, listeners
 * and their accepted connections can be made again between its processes.
 *
 * What the kernel says of every unix socket comes from sock_diag (one
 * dump); the queue is read through a copy of the socket (pidfd_getfd) with
 * MSG_PEEK from offset 0 (SO_PEEK_OFF, put back after), so nothing is
 * taken from it. Refused, named: a socket whose peer is outside the
 * application (but on stdio, given again at restore), a listener with
 * connections not yet accepted, file descriptors in flight.
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

/* A connection, maybe half-closed: one FIN sent, or received, or both (not yet closed). */
static int tcp_connected(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

static struct dump_sock *find_sock(struct dump *d, uint64_t ino)
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
				     UDIAG_SHOW_RQLEN },
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
			s = find_sock(d, m->udiag_ino);
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
	if (!sock_ino(link) || find_sock(d, sock_ino(link)))
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
				   &st, &ino) != 4 || !(s = find_sock(d, ino)))
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

int dump_scan_socks(struct dump *d, const pid_t *pids, size_t n)
{
	int err = dump_each_fd(d, pids, n, scan_sock);

	if (!err && d->nsocks) {
		err = diag_unix(d);
		scan_tcp(d);
	}
	if (err == -ENOENT)
		pr_err("cannot list the sockets of the application: this kernel has no sock_diag "
		       "for unix sockets (the unix_diag module)");
	else if (err)
		pr_err("cannot list the sockets of the application: %s", strerror(-err));
	return err;
}

struct dump_sock *dump_sock_of(struct dump *d, const char *link)
{
	struct dump_sock *s = sock_ino(link) ? find_sock(d, sock_ino(link)) : NULL;

	return s && s->unix_ ? s : NULL;
}

int dump_sock_outside(struct dump *d, const struct dump_sock *s)
{
	return s->peer && !find_sock(d, s->peer);
}

static void hex(char *out, const unsigned char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * n] = 0;
}

/*
 * The bytes waiting in the socket, message by message, peeked at from
 * offset 0 through our copy of it; fds in flight refuse it.
 */
static int peek_queue(struct dump *d, int sk, struct dump_sock *s, struct json_object *o)
{
	static char data[1 << 20];
	char ctl[CMSG_SPACE(sizeof(int) * 64)], name[64];
	struct json_object *lens = json_object_new_array();
	int zero = 0, old = -1, err = 0;
	socklen_t ol = sizeof(old);
	size_t used = 0;

	json_object_object_add(o, "queue", lens);
	getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, &ol);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return -errno;
	for (;;) {
		struct iovec iov = { data + used, sizeof(data) - used };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno != EAGAIN)
				err = -errno;
			break;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_type == SCM_RIGHTS) {
				int *fds = (int *)CMSG_DATA(c);

				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
					close(fds[i]);
				err = -ENOTSUP;
			}
		if (err || n == 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
			if (!err && n)
				err = -E2BIG;
			break;
		}
		json_object_array_add(lens, json_object_new_uint64(n));
		used += n;
	}
	setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old));
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

int dump_unix_fd(struct dump *d, pid_t pid, int fd, struct dump_sock *s, struct json_object *fdo)
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
			   s->peer			? "connected" :
							  "unconnected");
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
	err = s->state == TCP_LISTEN ? 0 : peek_queue(d, sk, s, o);
	if (err == -ENOTSUP)
		pr_err("pid %d fd %d is a unix socket with file descriptors in flight: appshot "
		       "cannot save them yet", d->vpid, fd);
	if (!err && s->type == SOCK_DGRAM && !s->peer &&
	    json_object_array_length(jg_arr(o, "queue"))) {
		pr_err("pid %d fd %d is a unix datagram socket holding datagrams from any sender: "
		       "appshot cannot save whom they came from yet", d->vpid, fd);
		err = -ENOTSUP;
	}
	close(sk);
	close(pidfd);
	s->saved = 1;
	return err;
}

/* ---- TCP and UDP ---- */

static void addr_json(struct json_object *o, const char *ip_key, const char *port_key,
		      const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN] = "";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	js_str(o, ip_key, ip);
	js_i64(o, port_key, port);
}

static int opt(int sk, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(sk, level, name, &v, &l) ? 0 : v;
}

/* One TCP queue under repair: its sequence number and its bytes (peeked) into a blob. */
static int tcp_queue(struct dump *d, int sk, int q, uint64_t ino, uint32_t len,
		     struct json_object *o, const char *seq_key, const char *data_key)
{
	static char buf[8 << 20];
	char name[64];
	uint32_t seq = 0;
	socklen_t l = sizeof(seq);
	ssize_t n = 0;

	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    getsockopt(sk, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, &l))
		return -errno;
	js_u64(o, seq_key, seq);
	if (!len)
		return 0;
	if (len > sizeof(buf))
		return -E2BIG;
	n = recv(sk, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len)
		return n < 0 ? -errno : -EIO;
	snprintf(name, sizeof(name), "tcp-%llu-%s", (unsigned long long)ino, data_key);
	js_str(o, data_key, name);
	return image_write_blob(&d->w, name, buf, len);
}

/*
 * An established TCP connection, both of whose ends are the application's:
 * put under repair (so that when the application ends, it ends silently)
 * and read: sequence numbers, both queues, window, options, timestamp.
 */
static int tcp_connection(struct dump *d, int fd, int sk, const struct tcp_info *ti,
			  struct json_object *o)
{
	struct sockaddr_storage ss;
	struct tcp_repair_window win;
	socklen_t l = sizeof(ss), wl = sizeof(win), tl = sizeof(uint32_t);
	int on = 1, inq = 0, outq = 0, unsent = 0, err, sink, our_fin, peer_fin;
	int st8 = ti->tcpi_state;
	const char *fin;
	struct stat st;
	uint32_t ts = 0;
	struct dump_sock *s;

	if (fstat(sk, &st) || !(s = find_sock(d, st.st_ino))) {
		pr_err("pid %d fd %d: its TCP connection is not among the application's sockets",
		       d->vpid, fd);
		return -EIO;
	}
	/* a peer outside sees nothing while the application is away: its traffic is held */
	js_bool(o, "outside", !dump_tcp_peer_inside(d, s));
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on))) {
		pr_perror("pid %d fd %d: cannot put its TCP connection under repair", d->vpid, fd);
		return -errno;
	}
	ioctl(sk, SIOCINQ, &inq);
	ioctl(sk, SIOCOUTQ, &outq);
	ioctl(sk, SIOCOUTQNSD, &unsent);
	/*
	 * Half-closed: our FIN takes a sequence number after the bytes to
	 * send (counted in outq while not acknowledged, in unsent while not
	 * sent); the peer's, one after the bytes received (never in inq).
	 */
	our_fin = st8 == TCP_FIN_WAIT1 || st8 == TCP_FIN_WAIT2 || st8 == TCP_CLOSING ||
		  st8 == TCP_LAST_ACK;
	peer_fin = st8 == TCP_CLOSE_WAIT || st8 == TCP_CLOSING || st8 == TCP_LAST_ACK;
	fin = !our_fin ? NULL : st8 == TCP_FIN_WAIT2 ? "acked" : unsent ? "unsent" : "sent";
	if (our_fin && st8 != TCP_FIN_WAIT2 && outq > 0)
		outq--;
	if (our_fin && unsent > 0)
		unsent--;
	err = tcp_queue(d, sk, TCP_RECV_QUEUE, s->ino, inq, o, "rcv_nxt", "recv") ?:
	      tcp_queue(d, sk, TCP_SEND_QUEUE, s->ino, outq, o, "write_seq", "send");
	if (!err && (getsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &win, &wl) ||
		     getsockopt(sk, IPPROTO_TCP, TCP_TIMESTAMP, &ts, &tl)))
		err = -errno;
	if (!err && (getsockname(sk, (struct sockaddr *)&ss, &l) || (addr_json(o, "addr", "port", &ss), 0) ||
		     (l = sizeof(ss), getpeername(sk, (struct sockaddr *)&ss, &l))))
		err = -errno;
	if (err) {
		pr_err("pid %d fd %d: cannot read its TCP connection: %s", d->vpid, fd,
		       strerror(-err));
		sink = TCP_REPAIR_OFF;
		setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &sink, sizeof(sink));
		return err;
	}
	addr_json(o, "peer", "peer_port", &ss);
	js_i64(o, "family", opt(sk, SOL_SOCKET, SO_DOMAIN));
	js_i64(o, "type", SOCK_STREAM);
	js_str(o, "state", "established");
	if (fin)
		js_str(o, "our_fin", fin);
	js_bool(o, "peer_fin", peer_fin);
	js_bool(o, "peer_fin_first", st8 == TCP_LAST_ACK);
	js_u64(o, "inq", inq);
	js_u64(o, "outq", outq);
	js_u64(o, "unsent", unsent);
	js_u64(o, "mss", ti->tcpi_snd_mss);
	js_u64(o, "options", ti->tcpi_options);
	js_u64(o, "snd_wscale", ti->tcpi_snd_wscale);
	js_u64(o, "rcv_wscale", ti->tcpi_rcv_wscale);
	js_u64(o, "timestamp", ts);
	js_u64(o, "snd_wl1", win.snd_wl1);
	js_u64(o, "snd_wnd", win.snd_wnd);
	js_u64(o, "max_window", win.max_window);
	js_u64(o, "rcv_wnd", win.rcv_wnd);
	js_u64(o, "rcv_wup", win.rcv_wup);
	js_bool(o, "nodelay", opt(sk, IPPROTO_TCP, TCP_NODELAY));
	js_bool(o, "reuseaddr", opt(sk, SOL_SOCKET, SO_REUSEADDR));
	js_bool(o, "reuseport", opt(sk, SOL_SOCKET, SO_REUSEPORT));
	js_bool(o, "keepalive", opt(sk, SOL_SOCKET, SO_KEEPALIVE));
	if (opt(sk, SOL_SOCKET, SO_DOMAIN) == AF_INET6)
		js_bool(o, "v6only", opt(sk, IPPROTO_IPV6, IPV6_V6ONLY));
	/* left running, it goes on as it was; ended, it ends silently under repair */
	if (d->leave_running) {
		sink = TCP_REPAIR_OFF_NO_WP;
		setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &sink, sizeof(sink));
	}
	return 0;
}

/*
 * The datagrams waiting on a UDP socket, peeked in order from offset 0
 * (SO_PEEK_OFF, as for unix sockets: nothing is taken), each with its
 * sender and the address it was sent to (IP_PKTINFO, on for the while):
 * their bytes in one blob, the restore sends them again from there.
 */
#define UDP_QUEUED_MAX 65536 /* datagrams: more than any receive buffer holds */

static int udp_queue(struct dump *d, int fd, int sk, struct json_object *o)
{
	static char dg[65536];
	int family = opt(sk, SOL_SOCKET, SO_DOMAIN), off = -1, info = 0, err = 0;
	int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int name = family == AF_INET ? IP_PKTINFO : IPV6_RECVPKTINFO;
	socklen_t l = sizeof(off);
	struct json_object *q = json_object_new_array();
	char *bytes = NULL, blob[64];
	size_t total = 0;
	struct stat st;

	getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, &l);
	info = opt(sk, level, name);
	if (fstat(sk, &st) || setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &(int){ 0 }, sizeof(int)) ||
	    setsockopt(sk, level, name, &(int){ 1 }, sizeof(int))) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < UDP_QUEUED_MAX; i++) {
		struct sockaddr_storage from = { 0 }, to = { .ss_family = family };
		char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct iovec iov = { dg, sizeof(dg) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct json_object *e;
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT);
		char *m;

		if (n < 0) {
			if (errno != EAGAIN)
				err = -errno;
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				memcpy(&((struct sockaddr_in *)&to)->sin_addr,
				       &((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr,
				       sizeof(struct in_addr));
			else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
				memcpy(&((struct sockaddr_in6 *)&to)->sin6_addr,
				       &((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_addr,
				       sizeof(struct in6_addr));
		}
		if (!(m = realloc(bytes, total + n + 1))) {
			err = -ENOMEM;
			break;
		}
		bytes = m;
		memcpy(bytes + total, dg, n);
		total += n;
		e = json_object_new_object();
		addr_json(e, "from", "from_port", &from);
		addr_json(e, "to", "to_port", &to);
		json_object_object_del(e, "to_port");
		js_u64(e, "len", n);
		json_object_array_add(q, e);
	}
out:
	setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	setsockopt(sk, level, name, &info, sizeof(info));
	if (!err && json_object_array_length(q)) {
		snprintf(blob, sizeof(blob), "udp-%llu", (unsigned long long)st.st_ino);
		js_str(o, "queue_data", blob);
		json_object_object_add(o, "queue", q);
		q = NULL;
		err = image_write_blob(&d->w, blob, bytes, total);
	}
	if (err)
		pr_err("pid %d fd %d: cannot read the datagrams waiting on its UDP socket: %s",
		       d->vpid, fd, strerror(-err));
	json_object_put(q);
	free(bytes);
	return err;
}

/*
 * A TCP or UDP socket: its addresses and options, for a listening or bound
 * TCP socket or a UDP socket (bound, maybe connected). What it cannot keep
 * yet is refused, named: connections not yet accepted, closing ones.
 */
static int inet_state(struct dump *d, int fd, int sk, struct json_object *o)
{
	int family = opt(sk, SOL_SOCKET, SO_DOMAIN), type = opt(sk, SOL_SOCKET, SO_TYPE);
	int proto = opt(sk, SOL_SOCKET, SO_PROTOCOL);
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	struct tcp_info ti;
	const char *state;

	if ((family != AF_INET && family != AF_INET6) ||
	    !((type == SOCK_STREAM && proto == IPPROTO_TCP) ||
	      (type == SOCK_DGRAM && proto == IPPROTO_UDP))) {
		const char *what = family == AF_NETLINK ? "a netlink socket" :
				   family == AF_PACKET	? "a packet socket" :
				   type == SOCK_RAW	? "a raw socket" :
							  "a socket";

		pr_err("pid %d fd %d is %s (family %d, type %d, protocol %d): appshot saves unix, "
		       "TCP and UDP sockets", d->vpid, fd, what, family, type, proto);
		return -ENOTSUP;
	}
	if (type == SOCK_STREAM) {
		socklen_t tl = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		if (ti.tcpi_state == TCP_LISTEN && ti.tcpi_unacked) {
			if (!d->last_try)
				return -EAGAIN;
			pr_err("pid %d fd %d is a TCP listener with %u connections not yet "
			       "accepted: appshot cannot save them yet (one made again would have "
			       "a sequence number of the kernel's choosing, not the one its peer "
			       "knows), and did not accept them while the snapshot waited",
			       d->vpid, fd, ti.tcpi_unacked);
			return -ENOTSUP;
		}
		if (tcp_connected(ti.tcpi_state))
			return tcp_connection(d, fd, sk, &ti, o);
		if (ti.tcpi_state != TCP_LISTEN && ti.tcpi_state != TCP_CLOSE) {
			pr_err("pid %d fd %d is a TCP connection %s (state %u): appshot cannot "
			       "save it yet", d->vpid, fd,
			       ti.tcpi_state == TCP_SYN_SENT ? "being made" : "closing", ti.tcpi_state);
			return -ENOTSUP;
		}
		state = ti.tcpi_state == TCP_LISTEN ? "listen" : "bound";
		if (ti.tcpi_state == TCP_CLOSE) {
			/* a connection that has ended (both FINs, or a reset): nothing more comes */
			struct pollfd p = { .fd = sk, .events = POLLRDHUP };
			int inq = 0;

			if (poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP)) {
				ioctl(sk, SIOCINQ, &inq);
				if (inq) {
					pr_err("pid %d fd %d is a TCP connection that has ended with "
					       "%d bytes not yet read: appshot cannot save them yet",
					       d->vpid, fd, inq);
					return -ENOTSUP;
				}
				state = "ended";
			}
		}
		js_i64(o, "backlog", ti.tcpi_state == TCP_LISTEN ? (int)ti.tcpi_sacked : 0);
		js_bool(o, "nodelay", opt(sk, IPPROTO_TCP, TCP_NODELAY));
	} else {
		int err = udp_queue(d, fd, sk, o);

		if (err)
			return err;
		state = getpeername(sk, (struct sockaddr *)&ss, &l) == 0 ? "connected" : "bound";
		if (!strcmp(state, "connected"))
			addr_json(o, "peer", "peer_port", &ss);
		js_bool(o, "broadcast", opt(sk, SOL_SOCKET, SO_BROADCAST));
	}
	l = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sk, (struct sockaddr *)&ss, &l))
		return -errno;
	js_i64(o, "family", family);
	js_i64(o, "type", type);
	js_str(o, "state", state);
	addr_json(o, "addr", "port", &ss);
	js_bool(o, "reuseaddr", opt(sk, SOL_SOCKET, SO_REUSEADDR));
	js_bool(o, "reuseport", opt(sk, SOL_SOCKET, SO_REUSEPORT));
	js_bool(o, "keepalive", opt(sk, SOL_SOCKET, SO_KEEPALIVE));
	if (family == AF_INET6)
		js_bool(o, "v6only", opt(sk, IPPROTO_IPV6, IPV6_V6ONLY));
	return 0;
}

static struct json_object *jg_obj_or(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *jstr_or(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* Our copy of a connection under repair, kept until the snapshot is over. */
static int keep_repaired(struct dump *d, int sk)
{
	int *n = realloc(d->repaired, (d->nrepaired + 1) * sizeof(*n));

	if (!n) {
		int off = TCP_REPAIR_OFF_NO_WP;

		setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
		close(sk);
		return -ENOMEM;
	}
	d->repaired = n;
	n[d->nrepaired++] = sk;
	return 0;
}

void dump_tcp_release(struct dump *d, int undo)
{
	int off = TCP_REPAIR_OFF_NO_WP;

	for (size_t i = 0; i < d->nrepaired; i++) {
		if (undo)
			setsockopt(d->repaired[i], IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
		close(d->repaired[i]);
	}
	free(d->repaired);
	d->repaired = NULL;
	d->nrepaired = 0;
}

int dump_inet_fd(struct dump *d, pid_t pid, int fd, struct json_object *fdo)
{
	struct json_object *o;
	int pidfd = syscall(SYS_pidfd_open, pid, 0), sk, err;
	struct dump_sock *s = NULL;
	struct stat st;

	sk = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (sk >= 0 && fstat(sk, &st) == 0)
		s = find_sock(d, st.st_ino);
	if (s && s->inet) { /* another fd of it came first: the same record */
		json_object_object_add(fdo, "inet", json_object_get(s->inet));
		close(sk);
		close(pidfd);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(fdo, "inet", o);
	if (s)
		s->inet = json_object_get(o);
	if (sk < 0) {
		err = -errno;
		pr_err("cannot look at pid %d's socket fd %d: %s", d->vpid, fd, strerror(errno));
	} else {
		err = inet_state(d, fd, sk, o);
		if (!err && !strcmp(jstr_or(o, "state"), "established") && !d->leave_running)
			err = keep_repaired(d, sk);
		else
			close(sk);
	}
	if (pidfd >= 0)
		close(pidfd);
	return err;
}

/* ---- the traffic to hold while the application is away ---- */

static int add_one(struct hold_key **keys, size_t *n, struct hold_key k)
{
	struct hold_key *m;

	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&(*keys)[i], &k, sizeof(k)))
			return 0;
	m = realloc(*keys, (*n + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	*keys = m;
	m[(*n)++] = k;
	return 0;
}

static int add_key(struct hold_key **keys, size_t *n, struct json_object *in)
{
	struct hold_key k = { .family = json_object_get_int(jg_obj_or(in, "family")) };
	struct hold_key any4 = { .family = HOLD_INET };
	const char *addr = json_object_get_string(jg_obj_or(in, "addr"));
	struct json_object *v6only;

	k.proto = json_object_get_int(jg_obj_or(in, "type")) == SOCK_STREAM ? HOLD_TCP : HOLD_UDP;
	k.port = json_object_get_int(jg_obj_or(in, "port"));
	if (!k.port || !addr || inet_pton(k.family, addr, k.addr) != 1)
		return 0; /* not bound: nothing comes to it */
	/* an IPv6 socket on any address that is not IPv6-only takes IPv4 too */
	any4.proto = k.proto;
	any4.port = k.port;
	if (k.family == HOLD_INET6 && !strcmp(addr, "::") &&
	    json_object_object_get_ex(in, "v6only", &v6only) && !json_object_get_boolean(v6only) &&
	    add_one(keys, n, any4))
		return -ENOMEM;
	return add_one(keys, n, k);
}

int dump_hold_keys(struct json_object *core, struct hold_key **keys, size_t *n, int *outside)
{
	struct json_object *fds = jg_arr(core, "fds");
	int err = 0;

	for (size_t i = 0; fds && i < json_object_array_length(fds) && !err; i++) {
		struct json_object *in = jg_obj(json_object_array_get_idx(fds, i), "inet"), *v;

		if (!in)
			continue;
		if (json_object_object_get_ex(in, "outside", &v) && json_object_get_boolean(v))
			*outside = 1;
		/* a bound UDP socket's peers may be anywhere: no port-unreachable for them */
		if (json_object_get_int(jg_obj_or(in, "type")) == SOCK_DGRAM &&
		    json_object_get_int(jg_obj_or(in, "port")))
			*outside = 1;
		err = add_key(keys, n, in);
	}
	return err;
}
