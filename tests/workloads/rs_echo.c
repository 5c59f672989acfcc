// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: an echo server for clients outside the application.
 * main listens on 127.0.0.1, or the address given (a port of the
 * kernel's choosing, in its reports) and a child echoes whatever its clients send; the clients are
 * the test's own, which carry on across the snapshots and restores.
 *
 * usage: rs_echo [cycles [addr]]
 */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "echo_loop.h"
#include "wl.h"

#define MAXC 16

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, l, status;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	pid_t server;

	wl_init();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc > 2)
		WL_CHECK(inet_pton(AF_INET, argv[2], &a.sin_addr) == 1);
	WL_CHECK((l = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	WL_CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 16) == 0);
	WL_CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
	server = fork();
	WL_CHECK(server >= 0);
	if (server == 0)
		echo_loop(l, MAXC);
	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d,\"port\":%d}", c, (int)getpid(),
			      ntohs(a.sin_port));
	WL_CHECK(kill(server, SIGTERM) == 0);
	WL_CHECK(waitpid(server, &status, 0) == server);
	wl_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "the server ended %#x",
		  status);
	return wl_result(cycles + 1);
}
