// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: sockets with the options and shutdowns programs give
 * them. A TCP listener (deferred accept, fast open, MSS, window clamp, a
 * fixed receive buffer, TOS), a connection to it (keepalive timing, user
 * timeout, linger, a fixed send buffer, congestion control, TTL, priority,
 * mark, time-outs, low-water marks), its accepted end shut for reading by
 * the program; a connected UDP socket shut for writing, another shut for
 * reading, with receive flags, multicast settings, timestamps, GSO/GRO; an
 * IPv6 UDP socket (traffic class, hops, packet info); a unix stream pair
 * with a fixed buffer, time-outs and a peek offset, with bytes queued.
 *
 * Before the first checkpoint it notes every option below of every socket
 * (those it set, and defaults next to them); after each restore each must
 * read the same, and each socket must still do what its options and
 * shutdowns say: the UDP socket shut for writing says EPIPE, the one shut
 * for reading reads its end, the connection carries bytes both ways, the
 * listener takes a new connection (whose MSS is within the listener's),
 * the unix pair peeks from its offset.
 *
 * usage: rs_sockopts [cycles]
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>

#include "wl.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

struct opt {
	int *fd;
	const char *what;
	int level, name;
	socklen_t len;
	unsigned char was[32];
};

static int lst, cli, acc, udp_w, udp_r, udp6 = -1, ux[2];

#define OPT(fd, level, name, len) { &fd, #fd " " #name, level, name, len, { 0 } }

static struct opt opts[] = {
	OPT(lst, IPPROTO_TCP, TCP_DEFER_ACCEPT, 4),
	OPT(lst, IPPROTO_TCP, TCP_FASTOPEN, 4),
	OPT(lst, IPPROTO_TCP, TCP_MAXSEG, 4),
	OPT(lst, IPPROTO_TCP, TCP_WINDOW_CLAMP, 4),
	OPT(lst, SOL_SOCKET, SO_RCVBUF, 4),
	OPT(lst, IPPROTO_IP, IP_TOS, 4),
	OPT(lst, IPPROTO_IP, IP_TTL, 4),
	OPT(cli, IPPROTO_TCP, TCP_KEEPIDLE, 4),
	OPT(cli, IPPROTO_TCP, TCP_KEEPINTVL, 4),
	OPT(cli, IPPROTO_TCP, TCP_KEEPCNT, 4),
	OPT(cli, IPPROTO_TCP, TCP_USER_TIMEOUT, 4),
	OPT(cli, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4),
	OPT(cli, IPPROTO_TCP, TCP_CONGESTION, 16),
	OPT(cli, SOL_SOCKET, SO_LINGER, sizeof(struct linger)),
	OPT(cli, SOL_SOCKET, SO_SNDBUF, 4),
	OPT(cli, SOL_SOCKET, SO_PRIORITY, 4),
	OPT(cli, SOL_SOCKET, SO_MARK, 4),
	OPT(cli, SOL_SOCKET, SO_RCVLOWAT, 4),
	OPT(cli, SOL_SOCKET, SO_RCVTIMEO, sizeof(struct timeval)),
	OPT(cli, SOL_SOCKET, SO_SNDTIMEO, sizeof(struct timeval)),
	OPT(cli, IPPROTO_IP, IP_TTL, 4),
	OPT(cli, IPPROTO_IP, IP_TOS, 4),
	OPT(acc, IPPROTO_TCP, TCP_KEEPIDLE, 4),
	OPT(acc, IPPROTO_TCP, TCP_CONGESTION, 16),
	OPT(acc, SOL_SOCKET, SO_LINGER, sizeof(struct linger)),
	OPT(acc, IPPROTO_IP, IP_TOS, 4),
	OPT(udp_w, IPPROTO_IP, IP_RECVTOS, 4),
	OPT(udp_w, IPPROTO_IP, IP_PKTINFO, 4),
	OPT(udp_w, IPPROTO_IP, IP_MULTICAST_TTL, 4),
	OPT(udp_w, IPPROTO_IP, IP_MULTICAST_LOOP, 4),
	OPT(udp_w, IPPROTO_IP, IP_MTU_DISCOVER, 4),
	OPT(udp_w, SOL_SOCKET, SO_BROADCAST, 4),
	OPT(udp_w, SOL_SOCKET, SO_TIMESTAMPNS, 4),
	OPT(udp_w, IPPROTO_UDP, UDP_SEGMENT, 4),
	OPT(udp_r, IPPROTO_UDP, UDP_GRO, 4),
	OPT(udp_r, IPPROTO_IP, IP_RECVERR, 4),
	OPT(udp_r, SOL_SOCKET, SO_RCVBUF, 4),
	OPT(udp6, IPPROTO_IPV6, IPV6_TCLASS, 4),
	OPT(udp6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 4),
	OPT(udp6, IPPROTO_IPV6, IPV6_RECVPKTINFO, 4),
	OPT(udp6, IPPROTO_IPV6, IPV6_V6ONLY, 4),
	OPT(ux[0], SOL_SOCKET, SO_SNDBUF, 4),
	OPT(ux[0], SOL_SOCKET, SO_SNDTIMEO, sizeof(struct timeval)),
	OPT(ux[1], SOL_SOCKET, SO_PEEK_OFF, 4),
	OPT(ux[1], SOL_SOCKET, SO_TIMESTAMP, 4),
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void set(int fd, int level, int name, const void *v, socklen_t len)
{
	if (setsockopt(fd, level, name, v, len))
		wl_die("setsockopt(%d, %d, %d)", fd, level, name);
}

static void seti(int fd, int level, int name, int v)
{
	set(fd, level, name, &v, sizeof(v));
}

static void note(struct opt *o, unsigned char *out)
{
	socklen_t len = o->len;

	memset(out, 0, sizeof(o->was));
	if (*o->fd >= 0 && getsockopt(*o->fd, o->level, o->name, out, &len))
		wl_die("getsockopt %s", o->what);
}

static struct sockaddr_in lo_addr(int port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	WL_CHECK(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
	return ntohs(a.sin_port);
}

static void make_tcp(void)
{
	struct sockaddr_in a = lo_addr(0);
	struct linger lg = { 1, 7 };
	struct timeval rt = { 3, 250000 }, st = { 4, 0 };

	lst = socket(AF_INET, SOCK_STREAM, 0);
	WL_CHECK(lst >= 0);
	seti(lst, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
	seti(lst, IPPROTO_TCP, TCP_FASTOPEN, 16);
	seti(lst, IPPROTO_TCP, TCP_MAXSEG, 1200);
	seti(lst, IPPROTO_TCP, TCP_WINDOW_CLAMP, 40000);
	seti(lst, SOL_SOCKET, SO_RCVBUF, 100000);
	seti(lst, IPPROTO_IP, IP_TOS, 0x10);
	WL_CHECK(bind(lst, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lst, 8) == 0);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	WL_CHECK(cli >= 0);
	seti(cli, IPPROTO_TCP, TCP_KEEPIDLE, 123);
	seti(cli, IPPROTO_TCP, TCP_KEEPINTVL, 17);
	seti(cli, IPPROTO_TCP, TCP_KEEPCNT, 4);
	seti(cli, IPPROTO_TCP, TCP_USER_TIMEOUT, 9000);
	seti(cli, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
	set(cli, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
	set(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	seti(cli, SOL_SOCKET, SO_SNDBUF, 65536);
	seti(cli, IPPROTO_IP, IP_TOS, 0x08);
	seti(cli, SOL_SOCKET, SO_PRIORITY, 5); /* after IP_TOS, which changes it */
	seti(cli, SOL_SOCKET, SO_MARK, 42);
	seti(cli, SOL_SOCKET, SO_RCVLOWAT, 10);
	set(cli, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt));
	set(cli, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof(st));
	seti(cli, IPPROTO_IP, IP_TTL, 33);
	a = lo_addr(port_of(lst));
	WL_CHECK(connect(cli, (struct sockaddr *)&a, sizeof(a)) == 0);
	/* deferred accept: the connection is taken once it has bytes */
	WL_CHECK(write(cli, "hello", 5) == 5);
	acc = accept(lst, NULL, NULL);
	WL_CHECK(acc >= 0);
	char buf[8];
	WL_CHECK(read(acc, buf, 5) == 5);
	seti(acc, IPPROTO_TCP, TCP_KEEPIDLE, 300);
	set(acc, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger));
	WL_CHECK(shutdown(acc, SHUT_RD) == 0);
}

static void make_udp(void)
{
	struct sockaddr_in a = lo_addr(0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	udp_r = socket(AF_INET, SOCK_DGRAM, 0);
	udp_w = socket(AF_INET, SOCK_DGRAM, 0);
	WL_CHECK(udp_r >= 0 && udp_w >= 0);
	WL_CHECK(bind(udp_r, (struct sockaddr *)&a, sizeof(a)) == 0);
	seti(udp_r, IPPROTO_UDP, UDP_GRO, 1);
	seti(udp_r, IPPROTO_IP, IP_RECVERR, 1);
	seti(udp_r, SOL_SOCKET, SO_RCVBUF, 8192);
	WL_CHECK(shutdown(udp_r, SHUT_RD) == 0 || errno == ENOTCONN);
	seti(udp_w, IPPROTO_IP, IP_RECVTOS, 1);
	seti(udp_w, IPPROTO_IP, IP_PKTINFO, 1);
	seti(udp_w, IPPROTO_IP, IP_MULTICAST_TTL, 5);
	seti(udp_w, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
	seti(udp_w, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
	seti(udp_w, SOL_SOCKET, SO_BROADCAST, 1);
	seti(udp_w, SOL_SOCKET, SO_TIMESTAMPNS, 1);
	seti(udp_w, IPPROTO_UDP, UDP_SEGMENT, 1400);
	a = lo_addr(port_of(udp_r));
	WL_CHECK(connect(udp_w, (struct sockaddr *)&a, sizeof(a)) == 0);
	WL_CHECK(shutdown(udp_w, SHUT_WR) == 0);
	udp6 = socket(AF_INET6, SOCK_DGRAM, 0);
	if (udp6 >= 0 && bind(udp6, (struct sockaddr *)&a6, sizeof(a6))) {
		close(udp6); /* no IPv6 here */
		udp6 = -1;
	}
	if (udp6 >= 0) {
		seti(udp6, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
		seti(udp6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7);
		seti(udp6, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	}
}

static void make_unix(void)
{
	struct timeval st = { 2, 500000 };

	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, ux) == 0);
	seti(ux[0], SOL_SOCKET, SO_SNDBUF, 20000);
	set(ux[0], SOL_SOCKET, SO_SNDTIMEO, &st, sizeof(st));
	seti(ux[1], SOL_SOCKET, SO_TIMESTAMP, 1);
	WL_CHECK(write(ux[0], "0123456789", 10) == 10);
	seti(ux[1], SOL_SOCKET, SO_PEEK_OFF, 3);
}

/* What the options and shutdowns say, still so. */
static void behaves(void)
{
	char buf[64];
	struct pollfd p = { .fd = udp_r, .events = POLLIN | POLLRDHUP };
	struct sockaddr_in a = lo_addr(port_of(lst));
	int c, s, mss;
	socklen_t l = sizeof(mss);

	errno = 0;
	wl_expect(send(udp_w, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno == EPIPE,
		  "a UDP socket shut for writing sends (errno %d)", errno);
	wl_expect(poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP),
		  "a UDP socket shut for reading is not (revents %#x)", p.revents);
	/* the connection: bytes both ways; its accepted end reads its end */
	wl_expect(write(acc, "pong", 4) == 4, "the accepted end cannot write");
	wl_expect(read(cli, buf, 4) == 4 && !memcmp(buf, "pong", 4), "the client reads no pong");
	wl_expect(recv(acc, buf, sizeof(buf), MSG_DONTWAIT) == 0,
		  "the end shut for reading reads something else than its end");
	/* the listener's options go to what it accepts */
	c = socket(AF_INET, SOCK_STREAM, 0);
	WL_CHECK(c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
	WL_CHECK(write(c, "x", 1) == 1);
	s = accept(lst, NULL, NULL);
	WL_CHECK(s >= 0);
	WL_CHECK(getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mss, &l) == 0);
	wl_expect(mss <= 1200, "a new connection's MSS is %d, its listener's 1200", mss);
	close(s);
	close(c);
	/* the unix pair peeks from its offset, then reads everything */
	wl_expect(recv(ux[1], buf, 4, MSG_PEEK) == 4 && !memcmp(buf, "3456", 4),
		  "the unix socket does not peek from offset 3");
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1;
	unsigned char now[32];

	wl_init();
	make_tcp();
	make_udp();
	make_unix();
	for (size_t i = 0; i < NOPTS; i++)
		note(&opts[i], opts[i].was);
	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		for (size_t i = 0; i < NOPTS; i++) {
			note(&opts[i], now);
			wl_expect(!memcmp(now, opts[i].was, sizeof(now)),
				  "%s is %d, was %d", opts[i].what, *(int *)now,
				  *(int *)opts[i].was);
		}
	}
	behaves();
	return wl_result(cycles + 1);
}
