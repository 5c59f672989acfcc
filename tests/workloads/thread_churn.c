// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threads racing on one process's tables: each dup()s and closes a shared
 * fd, opens and closes files, makes and closes pipes, maps and unmaps
 * memory, thousands of times at once. Then, quiet, it reports: the tables
 * must say exactly what the kernel says, reference counts included.
 *
 * usage: thread_churn THREADS ROUNDS
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>

#include "wl.h"

static int shared_fd;
static long rounds;

static void *churn(void *arg)
{
	int p[2], keep = -1;

	(void)arg;
	for (long i = 0; i < rounds; i++) {
		int d = dup(shared_fd), f = open("/dev/null", O_RDONLY);
		char *m = mmap(NULL, 4096 * (1 + i % 3), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		WL_CHECK(d >= 0 && f >= 0 && m != MAP_FAILED);
		WL_CHECK(pipe(p) == 0);
		close(p[0]);
		close(p[1]);
		close(f);
		if (i % 7 == 0) { /* keep one dup now and then, drop the last one */
			if (keep >= 0)
				close(keep);
			keep = d;
		} else {
			close(d);
		}
		WL_CHECK(munmap(m, 4096 * (1 + i % 3)) == 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[16];
	int n;

	if (argc != 3)
		wl_die("usage: thread_churn THREADS ROUNDS");
	wl_init();
	n = atoi(argv[1]);
	rounds = atol(argv[2]);
	if (n < 1 || n > 16)
		wl_die("1 to 16 threads");
	WL_CHECK((shared_fd = open("/dev/null", O_RDWR)) >= 0);
	wl_checkpoint("{\"cp\":1,\"pid\":%d}", (int)getpid());
	for (int i = 0; i < n; i++)
		WL_CHECK(pthread_create(&th[i], NULL, churn, NULL) == 0);
	for (int i = 0; i < n; i++)
		WL_CHECK(pthread_join(th[i], NULL) == 0);
	wl_checkpoint("{\"cp\":2,\"pid\":%d}", (int)getpid());
	return 0;
}
