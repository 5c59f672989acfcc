// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: threads inside system calls when the snapshot comes.
 * They must go on as the kernel would have had they only been stopped:
 * a relative nanosleep sleeps out its time and returns 0, an absolute
 * clock_nanosleep returns 0 at its deadline, a futex wait stays asleep
 * until woken, pause() returns EINTR only for a signal that is handled.
 * The main thread itself waits in read() on its stdin pipe. Threads end
 * and are joined (which needs their tid addresses restored).
 *
 * usage: rs_syscalls [cycles]
 */
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "wl.h"

#define SLEEP_S 3

/* each thread names itself, so that it can be found in /proc */
static const char *const names[4] = { "rs-sleeper", "rs-abs-sleeper", "rs-futex", "rs-pauser" };
static uint32_t futex_word;
static volatile sig_atomic_t handled;
static struct {
	pid_t tid;
	long ret, err;
	struct timespec end;
} res[4];
static struct timespec start, deadline;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *sleeper(void *arg)
{
	struct timespec req = { SLEEP_S, 0 }, rem = { 0 };

	(void)arg;
	prctl(PR_SET_NAME, names[0]);
	res[0].tid = syscall(SYS_gettid);
	res[0].ret = nanosleep(&req, &rem);
	res[0].err = errno;
	clock_gettime(CLOCK_MONOTONIC, &res[0].end);
	return NULL;
}

static void *abs_sleeper(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, names[1]);
	res[1].tid = syscall(SYS_gettid);
	res[1].ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
	clock_gettime(CLOCK_MONOTONIC, &res[1].end);
	return NULL;
}

static void *futex_waiter(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, names[2]);
	res[2].tid = syscall(SYS_gettid);
	while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0) {
		res[2].ret = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		if (res[2].ret)
			res[2].err = errno;
		if (res[2].ret && errno != EAGAIN)
			break;
	}
	return NULL;
}

static void *pauser(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, names[3]);
	res[3].tid = syscall(SYS_gettid);
	res[3].ret = pause();
	res[3].err = errno;
	return NULL;
}


/*
 * Is thread i blocked in syscall nr? Found by its name in /proc/self/task:
 * in its own pid namespace the application sees the machine's /proc, where
 * its thread ids are others.
 */
static int blocked_in(int i, long nr)
{
	char path[300], buf[256];
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	long got = -1;

	WL_CHECK(d);
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if (wl_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		buf[strcspn(buf, "\n")] = 0;
		if (strcmp(buf, names[i]))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", de->d_name);
		if (wl_read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%ld", &got) != 1)
			got = -1;
	}
	closedir(d);
	return got == nr;
}

static double since(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	void *(*fns[4])(void *) = { sleeper, abs_sleeper, futex_waiter, pauser };
	static const long nrs[4] = { SYS_nanosleep, SYS_clock_nanosleep, SYS_futex, SYS_pause };
	struct sigaction sa = { .sa_handler = on_usr1 };
	int cycles = argc > 1 ? atoi(argv[1]) : 1, all = 0;
	pthread_t th[4];
	struct timespec now;

	wl_init();
	WL_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	deadline = start;
	deadline.tv_sec += SLEEP_S;
	for (int i = 0; i < 4; i++) {
		WL_CHECK(pthread_create(&th[i], NULL, fns[i], NULL) == 0);
	}
	/* in their calls before the snapshot: nanosleep is glibc's clock_nanosleep */
	for (int tries = 0; tries < 1000 && !all; tries++) {
		all = 1;
		for (int i = 0; i < 4; i++)
			all &= blocked_in(i, i == 0 ? SYS_clock_nanosleep : nrs[i]) ||
			       (i == 0 && blocked_in(i, nrs[0]));
		if (!all)
			usleep(10000);
	}
	WL_CHECK(all);
	for (int i = 1; i <= cycles; i++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", i, (int)getpid());

	/* the futex waiter and the pauser still wait (back in their calls): nothing woke them */
	all = 0;
	for (int tries = 0; tries < 100 && !all; tries++) {
		all = blocked_in(2, SYS_futex) && blocked_in(3, SYS_pause);
		if (!all)
			usleep(10000);
	}
	wl_expect(blocked_in(2, SYS_futex), "the futex waiter left its wait unwoken");
	wl_expect(blocked_in(3, SYS_pause), "pause() returned without a signal");
	__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	syscall(SYS_tgkill, getpid(), res[3].tid, SIGUSR1);
	for (int i = 0; i < 4; i++)
		WL_CHECK(pthread_join(th[i], NULL) == 0);
	clock_gettime(CLOCK_MONOTONIC, &now);

	wl_expect(res[0].ret == 0, "nanosleep returned %ld (%s): it should have slept its time out",
		  res[0].ret, strerror(res[0].err));
	wl_expect(since(&start, &res[0].end) >= SLEEP_S, "nanosleep ended after %.3fs of %ds",
		  since(&start, &res[0].end), SLEEP_S);
	wl_expect(res[1].ret == 0, "clock_nanosleep(TIMER_ABSTIME) returned %ld", res[1].ret);
	wl_expect(since(&deadline, &res[1].end) >= 0, "clock_nanosleep ended %.3fs early",
		  -since(&deadline, &res[1].end));
	wl_expect(res[2].ret == 0 || res[2].err == EAGAIN, "futex wait: %s", strerror(res[2].err));
	wl_expect(res[3].ret == -1 && res[3].err == EINTR && handled == 1,
		  "pause() returned %ld (%s), handler ran %d times", res[3].ret,
		  strerror(res[3].err), (int)handled);
	fprintf(stderr, "nanosleep of %ds ended after %.3fs\n", SLEEP_S, since(&start, &res[0].end));
	return wl_result(cycles + 1);
}
