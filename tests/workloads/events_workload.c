// SPDX-License-Identifier: GPL-2.0-only
/*
 * A known number of events: after the first go it opens and closes
 * DIR/ev.txt N times (2N events, nothing else traced happens), then
 * reports and waits for the last go.
 *
 * usage: events_workload DIR N
 */
#include <fcntl.h>

#include "wl.h"

int main(int argc, char **argv)
{
	char path[4096];
	long n;
	int fd;

	if (argc != 3)
		wl_die("usage: events_workload DIR N");
	wl_init();
	n = atol(argv[2]);
	snprintf(path, sizeof(path), "%s/ev.txt", argv[1]);
	WL_CHECK((fd = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
	WL_CHECK(close(fd) == 0);
	wl_checkpoint("{\"cp\":1,\"pid\":%d}", (int)getpid());
	for (long i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		WL_CHECK(fd >= 0);
		WL_CHECK(close(fd) == 0);
	}
	wl_checkpoint("{\"cp\":2,\"events\":%ld}", 2 * n);
	return 0;
}
