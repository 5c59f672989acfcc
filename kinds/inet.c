// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP and UDP sockets: listeners, bound and connected sockets, TCP
 * connections under TCP_REPAIR with both queues, datagrams waiting.
 *
 * Snapshot: addresses, options and state; a TCP connection is put under
 * repair (so it ends silently with the application, or leaves repair when
 * it runs on) and its sequence numbers, windows, options and both queues
 * (peeked) are saved; a UDP socket's datagrams are peeked in order with
 * their senders. Refused, named: netlink, packet and raw sockets,
 * connections a listener has not accepted, a connection being made.
 *
 * Restore: made again by appshot, listeners and bound sockets first; a
 * connection is made under repair, bound, connected without a handshake,
 * filled, and let out of repair once both ends exist; datagrams are sent
 * again as raw packets from their senders (rst_raw.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "dump.h"
#include "image.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "rst.h"

extern const struct fd_kind kind_inet;

/* ---- snapshot ---------------------------------------------------------- */

/* A connection, maybe half-closed: one FIN sent, or received, or both (not yet closed). */
static int tcp_connected(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}


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

	if (fstat(sk, &st) || !(s = dump_sock_find(d, st.st_ino))) {
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
	if (!err && ja_len(q)) {
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

#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2

/*
 * How the application shut the socket down (the kernel's mask, from the
 * sock_state iterator): a connection's FINs are in its TCP state, but not
 * a shutdown(SHUT_RD) of its own; a UDP socket's is nowhere else.
 */
static int inet_shutdown(struct dump *d, int fd, const struct dump_sock *s, struct json_object *o)
{
	const char *state = jstr_or(o, "state");
	int mask;

	if (!s || !s->known) {
		pr_err("pid %d fd %d: the tracer does not show its socket", d->vpid, fd);
		return -EIO;
	}
	mask = s->sk_shutdown & (RCV_SHUTDOWN | SEND_SHUTDOWN);
	if (!mask)
		return 0;
	if (!strcmp(state, "listen")) {
		pr_err("pid %d fd %d is a listening TCP socket that was shut down (%d): appshot "
		       "cannot save it yet", d->vpid, fd, mask);
		return -ENOTSUP;
	}
	js_i64(o, "shutdown", mask);
	return 0;
}

static int dump_inet_fd(struct dump *d, pid_t pid, int fd, struct json_object *fdo)
{
	struct json_object *o;
	int pidfd = syscall(SYS_pidfd_open, pid, 0), sk, err;
	struct dump_sock *s = NULL;
	struct stat st;

	sk = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (sk >= 0 && fstat(sk, &st) == 0)
		s = dump_sock_find(d, st.st_ino);
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
		if (!err)
			err = inet_shutdown(d, fd, s, o);
		if (!err)
			err = sockopt_save(d, fd, sk, s, !strcmp(jstr_or(o, "state"), "listen"), o);
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

	for (size_t i = 0; fds && i < ja_len(fds) && !err; i++) {
		struct json_object *in = jg_obj(ja_at(fds, i), "inet"), *v;

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

/* ---- restore ----------------------------------------------------------- */


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
	size_t n = q ? ja_len(q) : 0;
	uint64_t total = 0;

	if (!n)
		return 0;
	if (jg_str(x, "queue_data", in->recv_data, sizeof(in->recv_data)) ||
	    !(in->dgrams = calloc(n, sizeof(*in->dgrams))))
		return -1;
	in->ndgrams = n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = ja_at(q, i);
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

static int rst_parse_inet(struct json_object *o, struct rst_fd *f)
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
	in->opts = json_object_get(jg_obj_or(x, "opts"));
	if (json_object_object_get_ex(x, "shutdown", NULL) &&
	    (jg_int(x, "shutdown", &in->shutdown) || in->shutdown < 0 || in->shutdown > 3))
		return -1;
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

static int rst_inet_release(const struct rst_fd *f, int fd)
{
	const struct rst_inet *in = &f->in;
	int off = TCP_REPAIR_OFF, q = TCP_NO_QUEUE, err;
	char why[256];

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
	/* shut for reading by the application itself, its peer's FIN still to come */
	if (!err && (in->shutdown & RCV_SHUTDOWN) && !in->peer_fin && shutdown(fd, SHUT_RD)) {
		pr_perror("restore: a TCP connection: cannot shut it for reading");
		err = -errno;
	}
	if (!err)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ in->reuseaddr }, sizeof(int));
	if (!err && (err = sockopt_apply(fd, in->opts, 1, why, sizeof(why))))
		pr_err("restore: a TCP connection to %s port %d: %s", in->peer, in->peer_port, why);
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

static int rst_inet_make(const struct rst_fd *f)
{
	const struct rst_inet *in = &f->in;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(in->family, in->type | SOCK_CLOEXEC, 0), err = 0;
	char why[256];
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
	err = sockopt_apply(fd, in->opts, 0, why, sizeof(why));
	if (err) {
		pr_err("restore: a socket on %s port %d: %s", in->addr, in->port, why);
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
		if (shutdown(fd, in->shutdown ? in->shutdown - 1 : SHUT_RDWR) && errno != ENOTCONN) {
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
	/* shutdown(2) of a socket not connected says ENOTCONN, and shuts it down */
	if (in->shutdown && shutdown(fd, in->shutdown - 1) && errno != ENOTCONN) {
		err = -errno;
		pr_perror("restore: cannot shut a socket on %s port %d down again", in->addr,
			  in->port);
		close(fd);
		return err;
	}
	err = sockopt_apply(fd, in->opts, 1, why, sizeof(why));
	if (err) {
		pr_err("restore: a socket on %s port %d: %s", in->addr, in->port, why);
		close(fd);
		return err;
	}
	return fd;
}

/* ---- the kind ---------------------------------------------------------- */

static int claims(const struct fd_seen *s)
{
	/* a socket on stdio that is not the application's own unix socket is stdio (stdio.c) */
	return S_ISSOCK(s->st.st_mode) && !dump_sock_of(s->d, s->link) && s->fd > 2;
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	return dump_inet_fd(s->d, s->pid, s->fd, o);
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	if (rst_parse_inet(o, f)) {
		snprintf(why, len, "its TCP or UDP socket is damaged");
		return -1;
	}
	return sockopt_check(f->in.opts, why, len);
}

static int plan(struct rst_app *a, struct rst_proc *p, struct rst_fd *f)
{
	return f->dup_of < 0 && f->same_pid < 0 ? rst_add_slot(a, f) : 0;
}

/* The bytes of a TCP connection's two queues, or of a UDP socket's datagrams, from their blobs. */
static int load(struct image *im, struct rst_app *a)
{
	for (size_t k = 0; k < a->nshared; k++) {
		struct rst_inet *in = &a->shared[k]->in;
		size_t len = 0;

		if (a->shared[k]->kind != &kind_inet)
			continue;
		if (in->inq && !in->recv &&
		    (!(in->recv = image_read_blob(im, in->recv_data, &len)) || len != in->inq))
			goto bad;
		if (in->outq && !in->send &&
		    (!(in->send = image_read_blob(im, in->send_data, &len)) || len != in->outq))
			goto bad;
		continue;
bad:
		pr_err("image %s: the queues of a socket of %s port %d are missing or damaged",
		       im->dir, in->addr, in->port);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Listeners and bound sockets first: a connection's port may be its
 * listener's, which must have it before the connection is bound to it
 * under repair. Kept in sock until the slots take them.
 */
static int prepare(struct rst_app *a)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < a->nshared; k++) {
			struct rst_fd *f = a->shared[k];

			if (f->kind != &kind_inet || f->in.established != pass)
				continue;
			f->sock = rst_inet_make(f);
			if (f->sock < 0)
				return f->sock;
		}
	return 0;
}


/* TCP connections out of repair once both ends of each are there. */
static int finish(struct rst_app *a)
{
	int err;

	for (size_t k = 0; k < a->nshared; k++)
		if (a->shared[k]->kind == &kind_inet &&
		    (err = rst_inet_release(a->shared[k], a->shared_fd[k])))
			return err;
	return 0;
}

static const char *str_or(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t int_or(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* "tcp 127.0.0.1:80 -> 10.0.0.2:4000 established, ..." */
static void describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *in = jg_obj(o, "inet"), *q;
	const char *state;
	size_t n;

	if (!in)
		return;
	q = jg_arr(in, "queue");
	state = str_or(in, "state");
	n = snprintf(buf, len, "%s %s:%" PRId64, int_or(in, "type") == SOCK_STREAM ? "tcp" : "udp",
		     str_or(in, "addr"), int_or(in, "port"));
	if (*str_or(in, "peer") && n < len)
		n += snprintf(buf + n, len - n, " -> %s:%" PRId64, str_or(in, "peer"),
			      int_or(in, "peer_port"));
	if (n < len)
		n += snprintf(buf + n, len - n, " %s", state);
	if (!strcmp(state, "established") && n < len)
		n += snprintf(buf + n, len - n, ", %" PRId64 " bytes to read, %" PRId64 " to send%s",
			      int_or(in, "inq"), int_or(in, "outq"),
			      int_or(in, "outside") ? ", peer outside" : "");
	if (*str_or(in, "our_fin") && n < len)
		n += snprintf(buf + n, len - n, ", our FIN %s", str_or(in, "our_fin"));
	if (int_or(in, "peer_fin") && n < len)
		n += snprintf(buf + n, len - n, ", the peer's FIN received%s",
			      int_or(in, "peer_fin_first") ? " first" : "");
	if (q && n < len) {
		int64_t bytes = 0;

		for (size_t i = 0; i < ja_len(q); i++)
			bytes += int_or(ja_at(q, i), "len");
		snprintf(buf + n, len - n, ", %zu datagram%s waiting (%" PRId64 " bytes)",
			 ja_len(q), ja_len(q) == 1 ? "" : "s",
			 bytes);
	}
}

const struct fd_kind kind_inet = {
	.name = "inet",
	.claims = claims,
	.save = save,
	.parse = parse,
	.load = load,
	.plan = plan,
	.prepare = prepare,
	.make = rst_take_sock,
	.finish = finish,
	.describe = describe,
};
