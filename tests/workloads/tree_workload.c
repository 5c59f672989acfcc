// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process tree started outside appshot, to be adopted with attach: two
 * children with a thread each and a grandchild, all holding a few fds.
 * Checkpoint 1: the tree is up. Then it forks one more child that opens
 * DIR/late.txt (checkpoint 2), and everything ends after the last go.
 *
 * usage: tree_workload DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "wl.h"

static int hold[2]; /* every process blocks reading this until it closes */

static void *idle_thread(void *arg)
{
	char c;

	(void)arg;
	if (read(hold[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static void __attribute__((noreturn)) child(const char *dir, int grandchild)
{
	char path[4096], c;
	pthread_t th;

	close(hold[1]); /* only the parent may keep the pipe open */
	snprintf(path, sizeof(path), "%s/child-%d.txt", dir, (int)getpid());
	WL_CHECK(open(path, O_RDWR | O_CREAT, 0600) >= 0);
	WL_CHECK(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
		 MAP_FAILED);
	WL_CHECK(pthread_create(&th, NULL, idle_thread, NULL) == 0);
	if (grandchild && fork() == 0)
		child(dir, 0);
	if (read(hold[0], &c, 1) < 0)
		_exit(1);
	while (wait(NULL) > 0)
		;
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kids[3];
	char path[4096];
	int fd;

	if (argc != 2)
		wl_die("usage: tree_workload DIR");
	wl_init();
	WL_CHECK(pipe(hold) == 0);
	snprintf(path, sizeof(path), "%s/parent.txt", argv[1]);
	WL_CHECK((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0);
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		WL_CHECK(kids[i] >= 0);
		if (kids[i] == 0)
			child(argv[1], i == 0);
	}
	wl_checkpoint("{\"cp\":1,\"pid\":%d,\"kids\":[%d,%d]}", (int)getpid(), (int)kids[0],
		      (int)kids[1]);
	kids[2] = fork();
	WL_CHECK(kids[2] >= 0);
	if (kids[2] == 0) {
		snprintf(path, sizeof(path), "%s/late.txt", argv[1]);
		WL_CHECK(open(path, O_RDWR | O_CREAT, 0600) >= 0);
		child(argv[1], 0);
	}
	/* Wait until the late child has its file open. */
	snprintf(path, sizeof(path), "%s/late.txt", argv[1]);
	for (int i = 0; i < 1000 && access(path, F_OK); i++)
		usleep(1000);
	wl_checkpoint("{\"cp\":2,\"late\":%d}", (int)kids[2]);
	close(hold[1]); /* everyone's read returns 0 */
	close(hold[0]);
	while (wait(NULL) > 0)
		;
	return 0;
}
