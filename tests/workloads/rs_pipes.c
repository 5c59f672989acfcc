// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: pipes between processes, with bytes in flight.
 *
 * A producer child writes a stream of numbered 8-byte words into a pipe
 * of 128 KiB, as fast as it can, so it is always blocked in write (maybe
 * half-way) with the pipe full; main reads a part of the stream between
 * cycles and all the rest at the end, checking that no word is lost,
 * doubled or out of order, and that the producer ends well. A second pipe,
 * both ends in main, holds a message and a non-blocking read end: after
 * the restores the message is there once and then the pipe is empty. A
 * named FIFO, both ends open in main (and inherited by the producer),
 * holds bytes too and carries new ones after. A third pipe's writers are
 * all gone, bytes left in it: they are read after the restores, then its
 * end. A fourth's readers are all gone: a write to it fails with EPIPE.
 *
 * usage: rs_pipes [cycles]
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "wl.h"

#define WORDS (4u << 20) /* 32 MiB through the pipe */
#define PIPE_SIZE (128 * 1024)
#define MSG "left in the pipe"

static uint64_t next; /* the word main expects */

static void __attribute__((noreturn)) produce(int fd)
{
	uint64_t buf[512];

	for (uint64_t w = 0; w < WORDS;) {
		size_t n = 0, done = 0;

		while (n < 512 && w + n < WORDS) {
			buf[n] = w + n;
			n++;
		}
		while (done < n * 8) {
			ssize_t k = write(fd, (char *)buf + done, n * 8 - done);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				_exit(2);
			done += k;
		}
		w += n;
	}
	_exit(0);
}

/* Read up to max words (0: to the end), checking each; false on a break in the stream. */
static int consume(int fd, uint64_t max)
{
	static unsigned char part[8];
	static size_t have; /* bytes of a word read so far */
	unsigned char buf[65536];
	uint64_t got = 0;

	while (!max || got < max) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (max && (max - got) * 8 < want)
			want = (max - got) * 8 - have;
		n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && !max;
		for (ssize_t i = 0; i < n; i++) {
			part[have++] = buf[i];
			if (have == 8) {
				uint64_t w;

				memcpy(&w, part, 8);
				if (w != next) {
					wl_expect(0, "word %llu where %llu was due",
						  (unsigned long long)w, (unsigned long long)next);
					return 0;
				}
				next++;
				got++;
				have = 0;
			}
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, p[2], q[2], r[2], e[2], status, frd, fwr;
	char buf[64] = "", fifo[4200];
	pid_t producer;

	wl_init();
	WL_CHECK(getenv("WL_DIR"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", getenv("WL_DIR"));
	WL_CHECK(mkfifo(fifo, 0600) == 0);
	WL_CHECK((frd = open(fifo, O_RDONLY | O_NONBLOCK)) >= 0);
	WL_CHECK((fwr = open(fifo, O_WRONLY)) >= 0);
	WL_CHECK(write(fwr, "fifo data", 9) == 9);
	WL_CHECK(pipe(p) == 0);
	WL_CHECK(fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE) >= PIPE_SIZE);
	producer = fork();
	WL_CHECK(producer >= 0);
	if (producer == 0) {
		close(p[0]);
		produce(p[1]);
	}
	close(p[1]);
	WL_CHECK(pipe(q) == 0);
	WL_CHECK(write(q[1], MSG, strlen(MSG)) == (ssize_t)strlen(MSG));
	WL_CHECK(fcntl(q[0], F_SETFL, O_NONBLOCK) == 0);
	WL_CHECK(pipe(r) == 0 && write(r[1], "last words", 10) == 10 && close(r[1]) == 0);
	WL_CHECK(pipe(e) == 0 && close(e[0]) == 0);
	signal(SIGPIPE, SIG_IGN);
	/* the pipe fills: the producer blocks */
	for (int i = 0; i < 2000; i++) {
		int queued = 0;

		if (ioctl(p[0], FIONREAD, &queued) == 0 && queued >= PIPE_SIZE)
			break;
		usleep(1000);
	}

	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d,\"producer\":%d}", c, (int)getpid(),
			      (int)producer);
		WL_CHECK(consume(p[0], 100000)); /* more than the pipe holds: it writes on */
	}

	wl_expect(fcntl(p[0], F_GETPIPE_SZ) == PIPE_SIZE, "the pipe holds %d bytes, not %d",
		  fcntl(p[0], F_GETPIPE_SZ), PIPE_SIZE);
	wl_expect(consume(p[0], 0), "the stream ended early, at word %llu",
		  (unsigned long long)next);
	wl_expect(next == WORDS, "%llu words came through, not %u", (unsigned long long)next,
		  WORDS);
	WL_CHECK(waitpid(producer, &status, 0) == producer);
	wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the producer ended with %#x",
		  status);
	memset(buf, 0, sizeof(buf));
	wl_expect(read(frd, buf, sizeof(buf) - 1) == 9 && !strcmp(buf, "fifo data"),
		  "the FIFO held '%s'", buf);
	wl_expect(read(frd, buf, sizeof(buf)) < 0 && errno == EAGAIN, "the FIFO is not empty");
	memset(buf, 0, sizeof(buf));
	wl_expect(write(fwr, "again", 5) == 5 && read(frd, buf, sizeof(buf) - 1) == 5 &&
			  !strcmp(buf, "again"),
		  "the FIFO does not carry new bytes: '%s'", buf);
	wl_expect(fcntl(q[0], F_GETFL) & O_NONBLOCK, "the message pipe is blocking now");
	wl_expect(read(q[0], buf, sizeof(buf) - 1) == (ssize_t)strlen(MSG) && !strcmp(buf, MSG),
		  "the message pipe holds '%s'", buf);
	wl_expect(read(q[0], buf, sizeof(buf)) < 0 && errno == EAGAIN,
		  "the message pipe is not empty after its message");
	memset(buf, 0, sizeof(buf));
	wl_expect(read(r[0], buf, sizeof(buf) - 1) == 10 && !strcmp(buf, "last words") &&
			  read(r[0], buf, sizeof(buf)) == 0,
		  "the pipe without writers did not give its bytes, then its end: '%s'", buf);
	wl_expect(write(e[1], "x", 1) == -1 && errno == EPIPE,
		  "a write to the pipe without readers did not fail with EPIPE");
	return wl_result(cycles + 1);
}
