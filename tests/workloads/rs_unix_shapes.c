// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: unix sockets in the shapes servers leave them in.
 *   - a stream socket never connected, and one bound but not listening;
 *   - a listener whose path was unlinked, with a connection made before:
 *     the connection works, the path stays gone;
 *   - a pair whose other end was closed, with bytes unread: they are read,
 *     then the end; a write fails with EPIPE;
 *   - a pair with bytes queued in both directions;
 *   - a datagram pair whose other end was closed, a datagram unread;
 *   - an accepted connection whose client closed, bytes unread; a client
 *     bound to a path whose accepted end closed, bytes unread.
 * After the restores each is found as it was.
 *
 * usage: rs_unix_shapes [cycles]
 */
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "wl.h"

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	WL_CHECK(strlen(path) < sizeof(a->sun_path));
	memcpy(a->sun_path, path, strlen(path));
	return offsetof(struct sockaddr_un, sun_path) + strlen(path);
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, lone, bound, lst, cli, srv, half[2], both[2];
	int dgram[2], acc, cli2, named, cli3, acc3;
	char npath[4200];
	char gone[4200], bpath[4200], buf[64];
	struct sockaddr_un a, got;
	socklen_t len, glen;
	struct stat st;
	ssize_t n;

	wl_init();
	WL_CHECK(getenv("WL_DIR"));
	signal(SIGPIPE, SIG_IGN);
	WL_CHECK((lone = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	snprintf(bpath, sizeof(bpath), "%s/bound", getenv("WL_DIR"));
	WL_CHECK((bound = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	len = path_addr(&a, bpath);
	WL_CHECK(bind(bound, (struct sockaddr *)&a, len) == 0);
	snprintf(gone, sizeof(gone), "%s/gone", getenv("WL_DIR"));
	WL_CHECK((lst = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	len = path_addr(&a, gone);
	WL_CHECK(bind(lst, (struct sockaddr *)&a, len) == 0 && listen(lst, 4) == 0);
	WL_CHECK((cli = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	WL_CHECK(connect(cli, (struct sockaddr *)&a, len) == 0);
	WL_CHECK((srv = accept(lst, NULL, NULL)) >= 0);
	WL_CHECK(unlink(gone) == 0);
	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, half) == 0);
	WL_CHECK(write(half[1], "unread", 6) == 6 && close(half[1]) == 0);
	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, both) == 0);
	WL_CHECK(write(both[0], "to one", 6) == 6 && write(both[1], "to zero", 7) == 7);
	WL_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram) == 0);
	WL_CHECK(write(dgram[1], "dgram", 5) == 5 && close(dgram[1]) == 0);
	/* through a listener that stays: the accepted end's client goes */
	{
		char lpath[4200];
		int l2;
		socklen_t l2len;

		snprintf(lpath, sizeof(lpath), "%s/stays", getenv("WL_DIR"));
		WL_CHECK((l2 = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
		l2len = path_addr(&a, lpath);
		WL_CHECK(bind(l2, (struct sockaddr *)&a, l2len) == 0 && listen(l2, 4) == 0);
		WL_CHECK((cli2 = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
		WL_CHECK(connect(cli2, (struct sockaddr *)&a, l2len) == 0);
		WL_CHECK((acc = accept(l2, NULL, NULL)) >= 0);
		WL_CHECK(write(cli2, "from a gone client", 18) == 18 && close(cli2) == 0);
		/* a client bound to a name of its own, its server's end gone */
		snprintf(npath, sizeof(npath), "%s/client", getenv("WL_DIR"));
		WL_CHECK((named = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
		len = path_addr(&a, npath);
		WL_CHECK(bind(named, (struct sockaddr *)&a, len) == 0);
		l2len = path_addr(&a, lpath);
		WL_CHECK(connect(named, (struct sockaddr *)&a, l2len) == 0);
		WL_CHECK((acc3 = accept(l2, NULL, NULL)) >= 0);
		WL_CHECK(write(acc3, "from a gone server", 18) == 18 && close(acc3) == 0);
		cli3 = named;
	}

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());

	glen = sizeof(got);
	wl_expect(getsockname(lone, (struct sockaddr *)&got, &glen) == 0 &&
			  glen == offsetof(struct sockaddr_un, sun_path),
		  "the lone socket has a name now (%u bytes)", glen);
	wl_expect(write(lone, "x", 1) == -1 && (errno == ENOTCONN || errno == EPIPE),
		  "the lone socket can write (%s)", strerror(errno));
	glen = sizeof(got);
	wl_expect(getsockname(bound, (struct sockaddr *)&got, &glen) == 0 &&
			  !strcmp(got.sun_path, bpath),
		  "the bound socket is named '%s'", got.sun_path);
	wl_expect(stat(gone, &st) == -1 && errno == ENOENT, "the listener's unlinked path is back");
	glen = sizeof(got);
	wl_expect(getsockname(lst, (struct sockaddr *)&got, &glen) == 0 && !strcmp(got.sun_path, gone),
		  "the listener is named '%s', not '%s'", got.sun_path, gone);
	WL_CHECK(write(cli, "ping", 4) == 4);
	memset(buf, 0, sizeof(buf));
	wl_expect(read(srv, buf, sizeof(buf)) == 4 && !strcmp(buf, "ping"),
		  "the connection through the unlinked listener carried '%s'", buf);
	memset(buf, 0, sizeof(buf));
	n = read(half[0], buf, sizeof(buf));
	wl_expect(n == 6 && !strcmp(buf, "unread") && read(half[0], buf, sizeof(buf)) == 0,
		  "the pair whose other end closed gave %zd bytes '%s', then not its end", n, buf);
	wl_expect(write(half[0], "x", 1) == -1 && errno == EPIPE,
		  "a write to the pair whose other end closed did not fail with EPIPE");
	memset(buf, 0, sizeof(buf));
	wl_expect(read(both[1], buf, sizeof(buf)) == 6 && !strcmp(buf, "to one"),
		  "one end of the pair holds '%s'", buf);
	memset(buf, 0, sizeof(buf));
	wl_expect(read(both[0], buf, sizeof(buf)) == 7 && !strcmp(buf, "to zero"),
		  "the other end of the pair holds '%s'", buf);
	memset(buf, 0, sizeof(buf));
	wl_expect(recv(dgram[0], buf, sizeof(buf), MSG_DONTWAIT) == 5 && !strcmp(buf, "dgram"),
		  "the datagram pair whose other end closed holds '%s'", buf);
	memset(buf, 0, sizeof(buf));
	wl_expect(read(acc, buf, sizeof(buf)) == 18 && !strcmp(buf, "from a gone client") &&
			  read(acc, buf, sizeof(buf)) == 0,
		  "the accepted end whose client went holds '%s', then not its end", buf);
	glen = sizeof(got);
	wl_expect(getsockname(acc, (struct sockaddr *)&got, &glen) == 0 && strstr(got.sun_path, "/stays"),
		  "the accepted end is named '%s'", got.sun_path);
	memset(buf, 0, sizeof(buf));
	wl_expect(read(cli3, buf, sizeof(buf)) == 18 && !strcmp(buf, "from a gone server") &&
			  read(cli3, buf, sizeof(buf)) == 0,
		  "the named client whose server end went holds '%s', then not its end", buf);
	glen = sizeof(got);
	wl_expect(getsockname(cli3, (struct sockaddr *)&got, &glen) == 0 && !strcmp(got.sun_path, npath),
		  "the named client is named '%s'", got.sun_path);
	return wl_result(cycles + 1);
}
