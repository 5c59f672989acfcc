// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: files in flight (SCM_RIGHTS sent, not yet received),
 * each held by the sender too. A stream pair holds "AAA", then "BBB" with
 * a pipe's read end and an eventfd, "CCC", then "DD" with a file opened at
 * offset 5; a datagram pair holds "m1" with the pipe's read end, then "m2".
 * Nothing is received till every cycle is over; then each read must come
 * as it was sent (a stream read ends with the write that carried files),
 * each file received must be the very open file the sender holds (kcmp):
 * the pipe with its bytes, the eventfd with its count, the file at its
 * offset.
 *
 * usage: rs_rights [cycles]
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "wl.h"

static void send_with(int sk, const char *bytes, const int *fds, int n)
{
	char ctl[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct iovec iov = { (void *)bytes, strlen(bytes) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	WL_CHECK(sendmsg(sk, &mh, 0) == (ssize_t)strlen(bytes));
}

/* One read: its bytes must be want, its files the same open files as held. */
static void receive(int sk, const char *want, const int *held, int n, const char *what)
{
	char buf[64] = "", ctl[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	ssize_t got = recvmsg(sk, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int nfds = c && c->cmsg_type == SCM_RIGHTS ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;

	wl_expect(got == (ssize_t)strlen(want) && !strcmp(buf, want), "%s: read '%s', not '%s'",
		  what, got > 0 ? buf : "", want);
	wl_expect(nfds == n, "%s: %d files came, not %d", what, nfds, n);
	for (int i = 0; i < nfds && i < n; i++) {
		int fd = ((int *)CMSG_DATA(c))[i];

		wl_expect(syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, fd, held[i]) == 0,
			  "%s: file %d that came is not the one the sender holds", what, i);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, st[2], dg[2], pp[2], efd, file;
	const char *dir = getenv("WL_DIR");
	char path[4096], buf[32] = "";
	uint64_t count = 0;

	wl_init();
	WL_CHECK(dir);
	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, st) == 0);
	WL_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0);
	WL_CHECK(pipe(pp) == 0 && write(pp[1], "pipe-bytes", 10) == 10);
	efd = eventfd(7, 0);
	snprintf(path, sizeof(path), "%s/in-flight.txt", dir);
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	WL_CHECK(efd >= 0 && file >= 0 && write(file, "file-content", 12) == 12);
	WL_CHECK(lseek(file, 5, SEEK_SET) == 5);
	send_with(st[0], "AAA", NULL, 0);
	send_with(st[0], "BBB", (int[]){ pp[0], efd }, 2);
	send_with(st[0], "CCC", NULL, 0);
	send_with(st[0], "DD", (int[]){ file }, 1);
	send_with(dg[0], "m1", (int[]){ pp[0] }, 1);
	send_with(dg[0], "m2", NULL, 0);

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());

	receive(st[1], "AAABBB", (int[]){ pp[0], efd }, 2, "the stream's first read");
	receive(st[1], "CCCDD", (int[]){ file }, 1, "the stream's second read");
	receive(dg[1], "m1", (int[]){ pp[0] }, 1, "the first datagram");
	receive(dg[1], "m2", NULL, 0, "the second datagram");
	wl_expect(read(pp[0], buf, 10) == 10 && !memcmp(buf, "pipe-bytes", 10),
		  "the pipe sent lost its bytes");
	wl_expect(read(efd, &count, sizeof(count)) == 8 && count == 7,
		  "the eventfd sent counts %llu, not 7", (unsigned long long)count);
	wl_expect(lseek(file, 0, SEEK_CUR) == 5, "the file sent is not at offset 5");
	return wl_result(cycles + 1);
}
