// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: POSIX timers. Five are made and the second and fourth
 * deleted, so the others have ids 0, 2 and 4: a periodic one signalling
 * the process (SIGUSR1 with a value), one that only counts (SIGEV_NONE),
 * armed an hour ahead with a two-hour interval, and a periodic one
 * signalling a second thread (SIGUSR2 to that thread). After the restores
 * the ids are those, the deleted ones stay deleted, the long timer has
 * less than an hour left and its interval, and both periodic timers go
 * on signalling whom they did, with their values.
 *
 * usage: rs_timers [cycles]
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "wl.h"

static volatile sig_atomic_t usr1, usr1_bad, usr2, usr2_bad;
static volatile pid_t worker_tid;
static timer_t ids[5];

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == SI_TIMER && si->si_value.sival_int == 0x1234 &&
	    si->si_timerid == (int)(intptr_t)ids[0])
		usr1++;
	else
		usr1_bad++;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == SI_TIMER && syscall(SYS_gettid) == worker_tid)
		usr2++;
	else
		usr2_bad++;
}

static void *worker(void *arg)
{
	sigset_t m;

	(void)arg;
	worker_tid = syscall(SYS_gettid);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	for (;;)
		pause();
	return NULL;
}

static void make(int i, clockid_t clock, int notify, int sig, int value, pid_t tid)
{
	struct sigevent ev = { .sigev_notify = notify, .sigev_signo = sig,
			       .sigev_value.sival_int = value };

	ev._sigev_un._tid = tid;
	WL_CHECK(timer_create(clock, &ev, &ids[i]) == 0);
	WL_CHECK((intptr_t)ids[i] == i);
}

int main(int argc, char **argv)
{
	struct sigaction sa1 = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction sa2 = { .sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct itimerspec every = { { 0, 10000000 }, { 0, 10000000 } };
	struct itimerspec hour = { { 7200, 0 }, { 3600, 0 } }, left;
	int cycles = argc > 1 ? atoi(argv[1]) : 1;
	sig_atomic_t a, b;
	pthread_t t;
	sigset_t m;

	wl_init();
	WL_CHECK(sigaction(SIGUSR1, &sa1, NULL) == 0 && sigaction(SIGUSR2, &sa2, NULL) == 0);
	/* only the worker takes SIGUSR2 */
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	WL_CHECK(pthread_sigmask(SIG_BLOCK, &m, NULL) == 0);
	WL_CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
	while (!worker_tid)
		usleep(1000);
	make(0, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 0x1234, 0);
	make(1, CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
	make(2, CLOCK_REALTIME, SIGEV_NONE, 0, 0, 0);
	make(3, CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
	make(4, CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR2, 7, worker_tid);
	WL_CHECK(timer_delete(ids[1]) == 0 && timer_delete(ids[3]) == 0);
	WL_CHECK(timer_settime(ids[0], 0, &every, NULL) == 0);
	WL_CHECK(timer_settime(ids[2], 0, &hour, NULL) == 0);
	every.it_interval.tv_nsec = every.it_value.tv_nsec = 20000000;
	WL_CHECK(timer_settime(ids[4], 0, &every, NULL) == 0);

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());

	wl_expect(timer_gettime(ids[1], &left) == -1 && errno == EINVAL,
		  "deleted timer 1 is back");
	wl_expect(timer_gettime(ids[3], &left) == -1 && errno == EINVAL,
		  "deleted timer 3 is back");
	WL_CHECK(timer_gettime(ids[2], &left) == 0);
	wl_expect(left.it_value.tv_sec < 3600 && (left.it_value.tv_sec || left.it_value.tv_nsec) &&
			  left.it_interval.tv_sec == 7200,
		  "timer 2 has %lld s left and an interval of %lld s",
		  (long long)left.it_value.tv_sec, (long long)left.it_interval.tv_sec);
	WL_CHECK(timer_gettime(ids[0], &left) == 0);
	wl_expect(left.it_interval.tv_nsec == 10000000, "timer 0's interval is %ld ns",
		  left.it_interval.tv_nsec);
	a = usr1, b = usr2;
	for (int i = 0; i < 100 && (usr1 < a + 5 || usr2 < b + 5); i++)
		usleep(10000);
	wl_expect(usr1 >= a + 5, "timer 0 signalled the process %d times in a second",
		  (int)(usr1 - a));
	wl_expect(usr2 >= b + 5, "timer 4 signalled its thread %d times in a second",
		  (int)(usr2 - b));
	wl_expect(!usr1_bad && !usr2_bad, "%d SIGUSR1 and %d SIGUSR2 came not from their timers",
		  (int)usr1_bad, (int)usr2_bad);
	return wl_result(cycles + 1);
}
