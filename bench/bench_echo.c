// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `make bench` measures about TCP across a snapshot and restore.
 *
 *   bench_echo server          listens on 127.0.0.1, says its port on stdout
 *                              ("port N"), echoes every client (up to 256)
 *   bench_echo client PORT N   opens N connections and pings on the first
 *                              one, a byte at a time, until SIGUSR1; then
 *                              prints the longest time it waited for an
 *                              echo (ms) and how many pings it made
 *
 * The longest wait is the time a client sees no answer: from the freeze
 * to its first byte back after the restore (TCP retransmits included).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench.h"
#include "../tests/workloads/echo_loop.h"

#define MAXC 256

static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

static int server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, MAXC) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		return 2;
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	echo_loop(l, MAXC);
}

static int client(int port, int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fds[MAXC];
	uint64_t longest = 0, pings = 0;
	char c = 'x';

	if (n < 1 || n > MAXC)
		return 2;
	signal(SIGUSR1, on_usr1);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof(a)))
			return 2;
	}
	printf("connected\n");
	fflush(stdout);
	while (!stop) {
		uint64_t t = now();

		if (write(fds[0], &c, 1) != 1)
			return 3;
		while (read(fds[0], &c, 1) != 1)
			if (!stop || errno != EINTR)
				return 3;
		t = now() - t;
		if (t > longest)
			longest = t;
		pings++;
		usleep(1000);
	}
	printf("%.1f %llu\n", longest / 1e6, (unsigned long long)pings);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: bench_echo server | client PORT N\n");
	return 2;
}
