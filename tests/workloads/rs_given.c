// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: an application given fd 3 (appshot run
 * --preserve-fds 1), a pipe it writes on, not its own. It holds no other
 * fd than stdio and that one (a stray fd of its caller, 9, must not have
 * come); at each checkpoint it writes "cp N" on fd 3 first, so that the
 * test reads there what the file it was given (or, after a restore, the
 * one --inherit-fd gave) received.
 *
 * usage: rs_given [cycles]
 */
#include <dirent.h>
#include <fcntl.h>

#include "wl.h"

/* Its fds but its directory stream's: those it was given, no more. */
static int only_given(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int ok = 1;

	WL_CHECK(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) > 3 && atoi(de->d_name) != dirfd(d)) {
			fprintf(stderr, "workload: fd %s is open, it was not given\n", de->d_name);
			ok = 0;
		}
	closedir(d);
	return ok;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1;
	char line[16];

	wl_init();
	wl_expect(fcntl(3, F_GETFD) >= 0, "fd 3 was not given");
	wl_expect(only_given(), "it holds fds it was not given");
	for (int c = 1; c <= cycles; c++) {
		int n = snprintf(line, sizeof(line), "cp %d\n", c);

		wl_expect(write(3, line, n) == n, "cannot write on the fd it was given: %s",
			  strerror(errno));
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
	}
	return wl_result(cycles + 1);
}
