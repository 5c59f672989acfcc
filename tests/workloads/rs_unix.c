// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: a pre-forked server on unix sockets.
 *
 * Two workers share a listening socket bound to a path and answer "N" with
 * "N+1" on what they accept; main holds a connection to one of them, a
 * stream pair with bytes in flight (and SO_PASSCRED), a datagram pair with
 * two datagrams queued, a pair shut down for writing on one side, and a
 * datagram socket connected to one bound to an abstract name. After each
 * restore main asks over its connection and over a new one; at the end it
 * finds every queue, boundary, option and shutdown as it was, then tells
 * the workers to quit.
 *
 * usage: rs_unix [cycles]
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "wl.h"

#define WORKERS 2

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	WL_CHECK(strlen(path) < sizeof(a->sun_path));
	memcpy(a->sun_path, path, strlen(path));
	return sizeof(*a);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, name, strlen(name));
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void __attribute__((noreturn)) worker(int l)
{
	char buf[64];

	for (;;) {
		int c = accept(l, NULL, NULL);
		ssize_t n;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		while ((n = read(c, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = 0;
			if (!strncmp(buf, "quit", 4))
				_exit(0);
			n = snprintf(buf, sizeof(buf), "%ld", atol(buf) + 1);
			if (write(c, buf, n) != n)
				break;
		}
		close(c);
	}
}

/* Ask n over c; the worker's answer must be n + 1. */
static int ask(int c, long n)
{
	char buf[64];
	ssize_t k;

	k = snprintf(buf, sizeof(buf), "%ld", n);
	if (write(c, buf, k) != k)
		return 0;
	k = read(c, buf, sizeof(buf) - 1);
	if (k <= 0)
		return 0;
	buf[k] = 0;
	return atol(buf) == n + 1;
}

static int dial(const char *path)
{
	struct sockaddr_un a;
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	WL_CHECK(c >= 0);
	WL_CHECK(connect(c, (struct sockaddr *)&a, path_addr(&a, path)) == 0);
	return c;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, l, conn, sp[2], ds[2], sh[2], dsrv, dcli;
	int one = 1, opt = 0, status;
	socklen_t ol = sizeof(opt);
	char path[4200], name[64], buf[64] = "";
	struct sockaddr_un a;
	pid_t workers[WORKERS];

	wl_init();
	WL_CHECK(getenv("WL_DIR"));
	snprintf(path, sizeof(path), "%s/server.sock", getenv("WL_DIR"));
	WL_CHECK((l = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	WL_CHECK(bind(l, (struct sockaddr *)&a, path_addr(&a, path)) == 0);
	WL_CHECK(listen(l, 8) == 0);
	for (int w = 0; w < WORKERS; w++) {
		workers[w] = fork();
		WL_CHECK(workers[w] >= 0);
		if (workers[w] == 0)
			worker(l);
	}
	conn = dial(path);
	WL_CHECK(ask(conn, 41));

	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	WL_CHECK(setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0);
	WL_CHECK(write(sp[0], "in flight", 9) == 9);
	WL_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, ds) == 0);
	WL_CHECK(send(ds[0], "first", 5, 0) == 5);
	WL_CHECK(send(ds[0], "second!", 7, 0) == 7);
	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sh) == 0);
	WL_CHECK(write(sh[0], "last", 4) == 4);
	WL_CHECK(shutdown(sh[0], SHUT_WR) == 0);
	snprintf(name, sizeof(name), "appshot-rs-unix-%d", (int)getpid());
	WL_CHECK((dsrv = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0);
	WL_CHECK(bind(dsrv, (struct sockaddr *)&a, abstract_addr(&a, name)) == 0);
	WL_CHECK((dcli = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0);
	WL_CHECK(connect(dcli, (struct sockaddr *)&a, abstract_addr(&a, name)) == 0);

	for (int c = 1; c <= cycles; c++) {
		int fresh;

		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		wl_expect(ask(conn, 100 * c), "no answer over the old connection after cycle %d", c);
		fresh = dial(path);
		wl_expect(ask(fresh, 100 * c + 50), "no answer over a new connection after cycle %d",
			  c);
		close(fresh);
	}

	wl_expect(read(sp[1], buf, sizeof(buf)) == 9 && !memcmp(buf, "in flight", 9),
		  "the stream pair held '%.9s'", buf);
	wl_expect(getsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &opt, &ol) == 0 && opt,
		  "SO_PASSCRED is off");
	memset(buf, 0, sizeof(buf));
	wl_expect(recv(ds[1], buf, sizeof(buf), MSG_DONTWAIT) == 5 && !strcmp(buf, "first"),
		  "the first datagram is '%s'", buf);
	memset(buf, 0, sizeof(buf));
	wl_expect(recv(ds[1], buf, sizeof(buf), MSG_DONTWAIT) == 7 && !strcmp(buf, "second!"),
		  "the second datagram is '%s'", buf);
	wl_expect(recv(ds[1], buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN,
		  "the datagram pair holds more");
	memset(buf, 0, sizeof(buf));
	wl_expect(read(sh[1], buf, sizeof(buf)) == 4 && !strcmp(buf, "last") &&
			  read(sh[1], buf, sizeof(buf)) == 0,
		  "the shut down pair does not give 'last' then the end");
	wl_expect(send(dcli, "ping", 4, 0) == 4, "the connected datagram socket cannot send");
	memset(buf, 0, sizeof(buf));
	wl_expect(recv(dsrv, buf, sizeof(buf), MSG_DONTWAIT) == 4 && !strcmp(buf, "ping"),
		  "the abstract datagram server got '%s'", buf);

	/* the end: each worker is told to quit over a connection it accepts */
	WL_CHECK(write(conn, "quit", 4) == 4);
	for (int w = 0; w < WORKERS; w++) {
		pid_t done = wait(&status);

		wl_expect(WIFEXITED(status) && !WEXITSTATUS(status), "worker %d ended %#x",
			  (int)done, status);
		if (w == 0) {
			int last = dial(path);

			WL_CHECK(write(last, "quit", 4) == 4);
		}
	}
	return wl_result(cycles + 1);
}
