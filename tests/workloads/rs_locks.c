// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: locks and signal owners, as a database or a server
 * holds them. On one file: POSIX record locks (write on bytes 10-29, read
 * from 100 to the end) and, through a second open file, an OFD write lock
 * on bytes 0-4; a shared flock on another file. A pipe sends SIGUSR1 to
 * this process when it has data (F_SETOWN_EX, F_SETSIG, O_ASYNC). After
 * the restores a child finds every lock held, by this process, as it was,
 * and a byte written into the pipe raises SIGUSR1 with the pipe's fd.
 *
 * usage: rs_locks [cycles]
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "wl.h"

static volatile sig_atomic_t got_fd = -1;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_fd = si->si_fd;
}

/* The lock another process would meet on [start, start + len) of fd's file. */
static struct flock probe(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		fl.l_type = -1;
	return fl;
}

/* In a child: every lock the parent holds, seen from another process. */
static int child_checks(const char *path, const char *path2, pid_t parent)
{
	int fd = open(path, O_RDWR), fd2 = open(path2, O_RDONLY), bad = 0;
	struct flock fl;

	if (fd < 0 || fd2 < 0)
		return 1;
	fl = probe(fd, F_GETLK, F_WRLCK, 10, 20);
	if (fl.l_type != F_WRLCK || fl.l_pid != parent || fl.l_start != 10 || fl.l_len != 20) {
		fprintf(stderr, "FAIL: bytes 10-29: lock %d of pid %d at %lld+%lld\n", fl.l_type,
			fl.l_pid, (long long)fl.l_start, (long long)fl.l_len);
		bad++;
	}
	fl = probe(fd, F_GETLK, F_WRLCK, 30, 70);
	if (fl.l_type != F_UNLCK) {
		fprintf(stderr, "FAIL: bytes 30-99 are locked (%d)\n", fl.l_type);
		bad++;
	}
	fl = probe(fd, F_GETLK, F_WRLCK, 5000, 10);
	if (fl.l_type != F_RDLCK || fl.l_pid != parent || fl.l_start != 100 || fl.l_len != 0) {
		fprintf(stderr, "FAIL: bytes 100-: lock %d of pid %d at %lld+%lld\n", fl.l_type,
			fl.l_pid, (long long)fl.l_start, (long long)fl.l_len);
		bad++;
	}
	if (probe(fd, F_GETLK, F_RDLCK, 5000, 10).l_type != F_UNLCK) {
		fprintf(stderr, "FAIL: a read lock meets the read lock from 100\n");
		bad++;
	}
	fl = probe(fd, F_OFD_GETLK, F_RDLCK, 0, 5);
	if (fl.l_type != F_WRLCK || fl.l_pid != -1) {
		fprintf(stderr, "FAIL: bytes 0-4: OFD lock %d of %d\n", fl.l_type, fl.l_pid);
		bad++;
	}
	if (flock(fd2, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		fprintf(stderr, "FAIL: the flock is not held (an exclusive one was had)\n");
		bad++;
	}
	if (flock(fd2, LOCK_SH | LOCK_NB)) {
		fprintf(stderr, "FAIL: the shared flock became exclusive\n");
		bad++;
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, a, b, c, p[2], status;
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	struct f_owner_ex own = { .type = F_OWNER_PID };
	char path[4200], path2[4200];
	struct flock fl = { .l_whence = SEEK_SET };
	pid_t child;

	wl_init();
	WL_CHECK(getenv("WL_DIR"));
	snprintf(path, sizeof(path), "%s/locked", getenv("WL_DIR"));
	snprintf(path2, sizeof(path2), "%s/flocked", getenv("WL_DIR"));
	WL_CHECK((a = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
	WL_CHECK(ftruncate(a, 4096) == 0);
	fl.l_type = F_WRLCK, fl.l_start = 10, fl.l_len = 20;
	WL_CHECK(fcntl(a, F_SETLK, &fl) == 0);
	fl.l_type = F_RDLCK, fl.l_start = 100, fl.l_len = 0;
	WL_CHECK(fcntl(a, F_SETLK, &fl) == 0);
	WL_CHECK((b = open(path, O_RDWR)) >= 0);
	fl.l_type = F_WRLCK, fl.l_start = 0, fl.l_len = 5, fl.l_pid = 0;
	WL_CHECK(fcntl(b, F_OFD_SETLK, &fl) == 0);
	WL_CHECK((c = open(path2, O_RDONLY | O_CREAT, 0600)) >= 0);
	WL_CHECK(flock(c, LOCK_SH) == 0);
	WL_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	WL_CHECK(pipe(p) == 0);
	own.pid = getpid();
	WL_CHECK(fcntl(p[0], F_SETOWN_EX, &own) == 0);
	WL_CHECK(fcntl(p[0], F_SETSIG, SIGUSR1) == 0);
	WL_CHECK(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) == 0);

	for (int i = 1; i <= cycles; i++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", i, (int)getpid());

	child = fork();
	WL_CHECK(child >= 0);
	if (child == 0)
		_exit(child_checks(path, path2, getppid()));
	WL_CHECK(waitpid(child, &status, 0) == child);
	wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the locks are not held as they were (%#x)", status);

	memset(&own, 0, sizeof(own));
	WL_CHECK(fcntl(p[0], F_GETOWN_EX, &own) == 0);
	wl_expect(own.type == F_OWNER_PID && own.pid == getpid(),
		  "the pipe's signals go to %d (type %d), not to us (%d)", own.pid, own.type,
		  (int)getpid());
	wl_expect(fcntl(p[0], F_GETSIG) == SIGUSR1, "the pipe's signal is %d, not SIGUSR1",
		  fcntl(p[0], F_GETSIG));
	wl_expect(fcntl(p[0], F_GETFL) & O_ASYNC, "the pipe lost O_ASYNC");
	WL_CHECK(write(p[1], "x", 1) == 1);
	for (int i = 0; i < 200 && got_fd < 0; i++)
		usleep(5000);
	wl_expect(got_fd == p[0], "no SIGUSR1 for the pipe's data (si_fd %d)", (int)got_fd);
	return wl_result(cycles + 1);
}
