// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: a client inside the application of a server outside
 * it (the test's own). After each restore it reads what the server sent
 * while the application was away, then asks and gets its answer.
 *
 * usage: rs_client CYCLES ADDR PORT
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "wl.h"

static int read_exactly(int fd, const char *want)
{
	char buf[128] = "";
	size_t got = 0, n = strlen(want);

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		if (k <= 0)
			return 0;
		got += k;
	}
	return !memcmp(buf, want, n);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char msg[64];
	int cycles, c, s;

	if (argc != 4)
		wl_die("usage: rs_client CYCLES ADDR PORT");
	wl_init();
	cycles = atoi(argv[1]);
	WL_CHECK(inet_pton(AF_INET, argv[2], &a.sin_addr) == 1);
	a.sin_port = htons(atoi(argv[3]));
	WL_CHECK((s = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	WL_CHECK(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	for (c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		snprintf(msg, sizeof(msg), "away %d;", c);
		wl_expect(read_exactly(s, msg), "cycle %d: what the server sent while away is not '%s'",
			  c, msg);
		snprintf(msg, sizeof(msg), "ask %d;", c);
		WL_CHECK(write(s, msg, strlen(msg)) == (ssize_t)strlen(msg));
		snprintf(msg, sizeof(msg), "answer %d;", c);
		wl_expect(read_exactly(s, msg), "cycle %d: the server's answer is not '%s'", c, msg);
	}
	close(s);
	return wl_result(cycles + 1);
}
