// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: a UDP request/response service, and datagrams waiting.
 *
 * A forked worker answers "N" with "N+1" on a socket bound to 127.0.0.1;
 * its clients are the test's own, outside the application. main holds a
 * socket bound to the wildcard address that it does not read until the
 * end of each cycle: before each checkpoint it sends itself two datagrams
 * from a socket of its own, and the test sends one more, saying its own
 * port. After each restore the three are there, once, in order, each from
 * its sender's port ("inside": the test sends none); and where the machine
 * has IPv6 one more on [::1], and an IPv4 one on a socket of [::] for both. Its reports give the
 * ports.
 *
 * usage: rs_udp [cycles [inside]]
 */
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "wl.h"

static int udp_on(uint32_t addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(addr) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	WL_CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	return s;
}

/* A UDP socket on [::1] (or [::], both IPv6 and IPv4), or -1 where the machine has no IPv6. */
static int udp6_on(int any)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int s = socket(AF_INET6, SOCK_DGRAM, 0);

	if (any)
		a.sin6_addr = in6addr_any;
	if (s >= 0 && ((any && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int))) ||
		       bind(s, (struct sockaddr *)&a, sizeof(a)))) {
		close(s);
		s = -1;
	}
	return s;
}

/* (the port is at the same place in IPv4 and IPv6 addresses) */
static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &l) ? -1 :
							    ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void __attribute__((noreturn)) worker(int s)
{
	char buf[64];

	for (;;) {
		struct sockaddr_in from;
		socklen_t l = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &l);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		buf[n] = 0;
		if (!strcmp(buf, "quit"))
			_exit(0);
		len = snprintf(buf, sizeof(buf), "%ld", atol(buf) + 1);
		sendto(s, buf, len, 0, (struct sockaddr *)&from, l);
	}
}

/* The next datagram waiting on s: its bytes and its sender's port, or why not. */
static int next(int s, const char *want, int want_port)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	struct sockaddr_storage ss;
	struct sockaddr_in *from = (struct sockaddr_in *)&ss;
	socklen_t l = sizeof(ss);
	char buf[128];
	ssize_t n;

	if (poll(&p, 1, 0) != 1) {
		wl_expect(0, "no datagram '%s' waiting", want);
		return -1;
	}
	n = recvfrom(s, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&ss, &l);
	buf[n < 0 ? 0 : n] = 0;
	wl_expect(n == (ssize_t)strlen(want) && !strcmp(buf, want), "read '%s', not '%s'", buf,
		  want);
	wl_expect(ntohs(from->sin_port) == want_port, "'%s' came from port %d, not %d", want,
		  ntohs(from->sin_port), want_port);
	return 0;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, srv, q, me, q6, me6, dual, status;
	int outside = !(argc > 2 && !strcmp(argv[2], "inside"));
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char msg[64];
	pid_t w;

	wl_init();
	srv = udp_on(INADDR_LOOPBACK);
	q = udp_on(INADDR_ANY);
	me = udp_on(INADDR_LOOPBACK);
	q6 = udp6_on(0);
	me6 = udp6_on(0);
	dual = udp6_on(1);
	w = fork();
	WL_CHECK(w >= 0);
	if (w == 0) {
		close(q);
		worker(srv);
	}
	to.sin_port = htons(port_of(q));
	to6.sin6_port = htons(port_of(q6));
	for (int c = 1; c <= cycles; c++) {
		if (q6 >= 0 && me6 >= 0) {
			snprintf(msg, sizeof(msg), "six %d", c);
			WL_CHECK(sendto(me6, msg, strlen(msg), 0, (struct sockaddr *)&to6,
					sizeof(to6)) == (ssize_t)strlen(msg));
		}
		if (dual >= 0) {
			/* an IPv4 datagram to an IPv6 socket of both */
			struct sockaddr_in d = to;

			d.sin_port = htons(port_of(dual));
			snprintf(msg, sizeof(msg), "four in six %d", c);
			WL_CHECK(sendto(me, msg, strlen(msg), 0, (struct sockaddr *)&d, sizeof(d)) ==
				 (ssize_t)strlen(msg));
		}
		for (int i = 1; i <= 2; i++) {
			snprintf(msg, sizeof(msg), "inside %d-%d", c, i);
			WL_CHECK(sendto(me, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)) ==
				 (ssize_t)strlen(msg));
		}
		/* the test sends "outside C from PORT" to q, then asks the worker, then says go */
		wl_checkpoint("{\"cp\":%d,\"pid\":%d,\"service\":%d,\"queue\":%d}", c, (int)getpid(),
			      port_of(srv), port_of(q));
		for (int i = 1; i <= 2; i++) {
			snprintf(msg, sizeof(msg), "inside %d-%d", c, i);
			next(q, msg, port_of(me));
		}
		if (q6 >= 0 && me6 >= 0) {
			snprintf(msg, sizeof(msg), "six %d", c);
			next(q6, msg, port_of(me6));
		}
		if (dual >= 0) {
			snprintf(msg, sizeof(msg), "four in six %d", c);
			next(dual, msg, port_of(me));
		}
		if (outside) {
			struct sockaddr_in from;
			socklen_t l = sizeof(from);
			char buf[64] = "";
			ssize_t n = recvfrom(q, buf, sizeof(buf) - 1, MSG_DONTWAIT,
					     (struct sockaddr *)&from, &l);
			int port = 0, cc = 0;

			wl_expect(n > 0 && sscanf(buf, "outside %d from %d", &cc, &port) == 2 &&
					  cc == c && port == ntohs(from.sin_port),
				  "the test's datagram of cycle %d: '%s' from port %d", c, buf,
				  n > 0 ? ntohs(from.sin_port) : -1);
		}
		wl_expect(recv(q, msg, sizeof(msg), MSG_DONTWAIT) < 0 && errno == EAGAIN,
			  "a datagram more than were sent after cycle %d", c);
	}
	to.sin_port = htons(port_of(srv));
	WL_CHECK(sendto(me, "quit", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
	WL_CHECK(waitpid(w, &status, 0) == w);
	wl_expect(WIFEXITED(status) && !WEXITSTATUS(status), "the worker ended %#x", status);
	return wl_result(cycles + 1);
}
