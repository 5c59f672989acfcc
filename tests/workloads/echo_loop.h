/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An echo server's loop on listener l, for up to max clients at once: each
 * gets back what it sends; a client that ends (or fails) is closed. Shared
 * by the rs_echo workload and the bench's echo server.
 */
#ifndef APPSHOT_ECHO_LOOP_H
#define APPSHOT_ECHO_LOOP_H

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void __attribute__((noreturn)) echo_loop(int l, int max)
{
	struct pollfd *p = calloc(max + 1, sizeof(*p));
	char buf[4096];
	int n = 1;

	if (!p)
		_exit(2);
	p[0] = (struct pollfd){ .fd = l, .events = POLLIN };
	for (;;) {
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		if ((p[0].revents & POLLIN) && n <= max) {
			int c = accept(l, NULL, NULL);

			if (c >= 0)
				p[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
		for (int i = 1; i < n; i++) {
			ssize_t k;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			k = read(p[i].fd, buf, sizeof(buf));
			if (k <= 0 || write(p[i].fd, buf, k) != k) {
				close(p[i].fd);
				p[i--] = p[--n];
			}
		}
	}
}

#endif /* APPSHOT_ECHO_LOOP_H */
