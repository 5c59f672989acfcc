// SPDX-License-Identifier: GPL-2.0-only
/*
 * A thread that is not the leader calls exec: the kernel gives it the
 * leader's pid and ends the other threads (de_thread). Checkpoint 1 has
 * the two threads; after go the second one execs /bin/sleep.
 */
#include <pthread.h>

#include "wl.h"

static void *exec_thread(void *arg)
{
	char c;

	(void)arg;
	if (read(wl_wait_fd, &c, 1) != 1)
		_exit(1);
	execl("/bin/sleep", "sleep", "1000", (char *)NULL);
	_exit(127);
}

int main(void)
{
	pthread_t th;

	wl_init();
	WL_CHECK(pthread_create(&th, NULL, exec_thread, NULL) == 0);
	/* The thread reads the go: report without waiting ourselves. */
	dprintf(wl_report_fd, "{\"cp\":1,\"pid\":%d}\n", (int)getpid());
	for (;;)
		pause();
}
