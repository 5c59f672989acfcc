// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: TCP listeners and UDP sockets.
 *
 * A TCP listener on 127.0.0.1 (SO_REUSEADDR, TCP_NODELAY, non-blocking,
 * backlog 5) shared with a pre-forked worker that answers "N" with "N+1";
 * an IPv6 one on ::1 with IPV6_V6ONLY (where the machine has IPv6); a UDP
 * socket bound on 127.0.0.1 and another connected to it (SO_BROADCAST).
 * After each restore the ports and options are the same, a new connection
 * to the listener is answered, and a datagram goes from one UDP socket to
 * the other. With "established" main also holds both ends of a TCP
 * connection with bytes in flight each way: after the restores each end
 * reads what the other had sent, once, and new bytes go through. With
 * "closing" the client end of that connection has shut down its writing
 * (half-closed: its FIN sent and acknowledged, the server's end holding
 * it unread): after the restores the server end reads the bytes, then the
 * end; it still writes, and the client end reads that. Beside it a
 * connection that has ended both ways: both ends read the end.
 * With "netlink" or "raw" main also holds such a socket, with "backlog" a
 * listener with a connection (from itself) it has not accepted, which the
 * snapshot must refuse, leaving everything as it was; with "slow" one that a
 * worker accepts only after a second, which the snapshot waits for.
 *
 * usage: rs_inet [cycles [established|closing|netlink|raw|backlog|slow]]
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "wl.h"

static int opt(int fd, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, level, name, &v, &l) ? -1 : v;
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void __attribute__((noreturn)) worker(int l)
{
	char buf[64];

	for (;;) {
		struct pollfd p = { .fd = l, .events = POLLIN };
		int c;
		ssize_t n;

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			_exit(2);
		c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		n = read(c, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			if (!strcmp(buf, "quit"))
				_exit(0);
			n = snprintf(buf, sizeof(buf), "%ld", atol(buf) + 1);
			if (write(c, buf, n) != n)
				_exit(3);
		}
		close(c);
	}
}

static int dial(int port, long n, long *answer)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[64];
	int c = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
	ssize_t k;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0) {
		k = snprintf(buf, sizeof(buf), "%ld", n);
		if (write(c, buf, k) == k && (k = read(c, buf, sizeof(buf) - 1)) > 0) {
			buf[k] = 0;
			*answer = atol(buf);
			ok = 1;
		}
	}
	if (c >= 0)
		close(c);
	return ok;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, l, l6 = -1, us, uc, port, port6 = 0, uport;
	const char *mode = argc > 2 ? argv[2] : "";
	int established = !strcmp(mode, "established") || !strcmp(mode, "closing");
	int conn = -1, acc = -1, conn2 = -1, acc2 = -1, l3 = -1, c3 = -1, status;
	pid_t slow = -1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char buf[64];
	long answer = 0;
	pid_t w;

	wl_init();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	WL_CHECK((l = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	WL_CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) == 0);
	WL_CHECK(setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)) == 0);
	WL_CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 5) == 0);
	WL_CHECK(fcntl(l, F_SETFL, O_NONBLOCK) == 0);
	port = port_of(l);
	l6 = socket(AF_INET6, SOCK_STREAM, 0);
	if (l6 >= 0 && (setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int)) ||
			bind(l6, (struct sockaddr *)&a6, sizeof(a6)) || listen(l6, 3))) {
		close(l6); /* no IPv6 here */
		l6 = -1;
	}
	if (l6 >= 0)
		port6 = port_of(l6);
	WL_CHECK((us = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	WL_CHECK(bind(us, (struct sockaddr *)&a, sizeof(a)) == 0);
	uport = port_of(us);
	WL_CHECK((uc = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	WL_CHECK(setsockopt(uc, SOL_SOCKET, SO_BROADCAST, &(int){ 1 }, sizeof(int)) == 0);
	a.sin_port = htons(uport);
	WL_CHECK(connect(uc, (struct sockaddr *)&a, sizeof(a)) == 0);
	if (!strcmp(mode, "backlog") || !strcmp(mode, "slow")) {
		/* a connection the kernel accepted on a listener of ours, not yet accepted here */
		struct sockaddr_in b = { .sin_family = AF_INET };

		b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		WL_CHECK((l3 = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		WL_CHECK(bind(l3, (struct sockaddr *)&b, sizeof(b)) == 0 && listen(l3, 4) == 0);
		b.sin_port = htons(port_of(l3));
		WL_CHECK((c3 = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		WL_CHECK(connect(c3, (struct sockaddr *)&b, sizeof(b)) == 0);
		WL_CHECK(write(c3, "waiting", 7) == 7);
	}
	if (!strcmp(mode, "slow")) {
		/* a worker that accepts it only after a second: the snapshot waits for it */
		slow = fork();
		WL_CHECK(slow >= 0);
		if (slow == 0) {
			int a3;

			usleep(1000000);
			a3 = accept(l3, NULL, NULL);
			if (a3 < 0 || read(a3, buf, 7) != 7 || write(a3, "accepted", 8) != 8)
				_exit(1);
			_exit(0);
		}
		close(l3);
		l3 = -1;
	}
	if (!strcmp(mode, "netlink"))
		WL_CHECK(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) >= 0);
	if (!strcmp(mode, "raw"))
		WL_CHECK(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0);
	w = fork();
	WL_CHECK(w >= 0);
	if (w == 0)
		worker(l);
	WL_CHECK(dial(port, 1, &answer) && answer == 2);
	if (established) {
		/* a connection with both ends here, through a listener closed after */
		struct sockaddr_in b = { .sin_family = AF_INET };
		int l2 = socket(AF_INET, SOCK_STREAM, 0);

		b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		WL_CHECK(l2 >= 0 && bind(l2, (struct sockaddr *)&b, sizeof(b)) == 0 &&
			 listen(l2, 1) == 0);
		b.sin_port = htons(port_of(l2));
		WL_CHECK((conn = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		WL_CHECK(connect(conn, (struct sockaddr *)&b, sizeof(b)) == 0);
		WL_CHECK((acc = accept(l2, NULL, NULL)) >= 0);
		WL_CHECK(write(conn, "to the server", 13) == 13);
		WL_CHECK(write(acc, "to the client", 13) == 13);
		if (!strcmp(mode, "closing")) {
			WL_CHECK(shutdown(conn, SHUT_WR) == 0);
			/* and one that has ended both ways, read to its end at both ends */
			WL_CHECK((conn2 = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
			WL_CHECK(connect(conn2, (struct sockaddr *)&b, sizeof(b)) == 0);
			WL_CHECK((acc2 = accept(l2, NULL, NULL)) >= 0);
			WL_CHECK(shutdown(conn2, SHUT_WR) == 0 && read(acc2, buf, 1) == 0);
			WL_CHECK(shutdown(acc2, SHUT_WR) == 0 && read(conn2, buf, 1) == 0);
		}
		close(l2);
		usleep(20000); /* on the wire and acknowledged */
	}

	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		wl_expect(port_of(l) == port, "the listener is on port %d, was %d", port_of(l), port);
		wl_expect(dial(port, 10 * c, &answer) && answer == 10 * c + 1,
			  "no answer on port %d after cycle %d", port, c);
		wl_expect(send(uc, "datagram", 8, 0) == 8 && recv(us, buf, sizeof(buf), 0) == 8,
			  "no datagram from the connected UDP socket after cycle %d", c);
	}

	wl_expect(opt(l, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR is off");
	wl_expect(opt(l, IPPROTO_TCP, TCP_NODELAY) == 1, "TCP_NODELAY is off");
	wl_expect(fcntl(l, F_GETFL) & O_NONBLOCK, "the listener blocks now");
	wl_expect(opt(l, SOL_SOCKET, SO_ACCEPTCONN) == 1, "the listener does not listen");
	wl_expect(opt(uc, SOL_SOCKET, SO_BROADCAST) == 1, "SO_BROADCAST is off");
	wl_expect(opt(us, SOL_SOCKET, SO_REUSEADDR) == 0, "SO_REUSEADDR is on where it was off");
	wl_expect(port_of(us) == uport, "the UDP socket is on port %d, was %d", port_of(us), uport);
	if (l6 >= 0) {
		wl_expect(port_of(l6) == port6, "the IPv6 listener is on port %d, was %d",
			  port_of(l6), port6);
		wl_expect(opt(l6, IPPROTO_IPV6, IPV6_V6ONLY) == 1, "IPV6_V6ONLY is off");
	}
	if (conn >= 0) {
		memset(buf, 0, sizeof(buf));
		wl_expect(read(acc, buf, 13) == 13 && !strcmp(buf, "to the server"),
			  "the server end of the TCP connection read '%s'", buf);
		memset(buf, 0, sizeof(buf));
		wl_expect(read(conn, buf, 13) == 13 && !strcmp(buf, "to the client"),
			  "the client end of the TCP connection read '%s'", buf);
		if (!strcmp(mode, "closing")) {
			wl_expect(read(acc, buf, sizeof(buf)) == 0,
				  "the server end does not read the end of the connection");
			memset(buf, 0, sizeof(buf));
			wl_expect(write(acc, "back", 4) == 4 && read(conn, buf, 4) == 4 &&
					  !strcmp(buf, "back"),
				  "the half-closed connection does not carry bytes back: '%s'", buf);
		} else {
			memset(buf, 0, sizeof(buf));
			wl_expect(write(conn, "after", 5) == 5 && read(acc, buf, 5) == 5 &&
					  !strcmp(buf, "after"),
				  "the TCP connection does not carry new bytes: '%s'", buf);
			memset(buf, 0, sizeof(buf));
			wl_expect(write(acc, "back", 4) == 4 && read(conn, buf, 4) == 4 &&
					  !strcmp(buf, "back"),
				  "the TCP connection does not carry bytes back: '%s'", buf);
		}
		close(conn);
		close(acc);
	}
	if (slow > 0) {
		memset(buf, 0, sizeof(buf));
		wl_expect(read(c3, buf, 8) == 8 && !strcmp(buf, "accepted"),
			  "the connection accepted late read '%s'", buf);
		wl_expect(waitpid(slow, &status, 0) == slow && WIFEXITED(status) &&
				  !WEXITSTATUS(status), "the late accepter ended %#x", status);
		close(c3);
	}
	if (l3 >= 0) {
		int a3 = accept(l3, NULL, NULL);

		memset(buf, 0, sizeof(buf));
		wl_expect(a3 >= 0 && read(a3, buf, 7) == 7 && !strcmp(buf, "waiting"),
			  "the connection waiting in the backlog lost its bytes: '%s'", buf);
		close(a3);
		close(c3);
		close(l3);
	}
	if (conn2 >= 0) {
		wl_expect(read(conn2, buf, 1) == 0 && read(acc2, buf, 1) == 0,
			  "a connection that had ended does not read its end");
		wl_expect(send(acc2, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
			  "a connection that had ended can be written to");
		close(conn2);
		close(acc2);
	}
	/* the end: the worker is told to quit */
	{
		struct sockaddr_in q = { .sin_family = AF_INET, .sin_port = htons(port) };
		int c = socket(AF_INET, SOCK_STREAM, 0);

		q.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		WL_CHECK(c >= 0 && connect(c, (struct sockaddr *)&q, sizeof(q)) == 0);
		WL_CHECK(write(c, "quit", 4) == 4);
		WL_CHECK(waitpid(w, &status, 0) == w);
		wl_expect(WIFEXITED(status) && !WEXITSTATUS(status), "the worker ended %#x", status);
	}
	return wl_result(cycles + 1);
}
