// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: signal state. Handlers with their flags and masks
 * (SA_SIGINFO, SA_RESTART, SA_ONSTACK, SA_NODEFER, SA_RESETHAND), ignored
 * signals, the blocked mask, signals pending with their siginfo (queued
 * to the process and to the thread, real-time ones twice, in order), the
 * alternate stack a handler runs on, and an alarm() that must still go
 * off after restore.
 *
 * usage: rs_signals [cycles]
 */
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "wl.h"

#define ALARM_S 3
#define MAXGOT 16

static struct {
	int signo, code, value;
	pid_t pid;
	int on_altstack;
} got[MAXGOT];
static volatile sig_atomic_t ngot, alarms;
static char altstack[65536];

static void on_signal(int signo, siginfo_t *si, void *uc)
{
	char here;

	(void)uc;
	if (ngot < MAXGOT) {
		got[ngot].signo = signo;
		got[ngot].code = si->si_code;
		got[ngot].value = si->si_value.sival_int;
		got[ngot].pid = si->si_pid;
		got[ngot].on_altstack = &here >= altstack && &here < altstack + sizeof(altstack);
		ngot++;
	}
}

static void on_alarm(int signo)
{
	(void)signo;
	alarms++;
}

static const struct {
	int signo, flags, masked;
	void (*plain)(int);
} dispositions[] = {
	{ SIGUSR1, SA_SIGINFO | SA_RESTART, SIGTERM, NULL },
	{ SIGUSR2, SA_SIGINFO | SA_NODEFER, SIGINT, NULL },
	{ SIGWINCH, SA_SIGINFO | SA_ONSTACK | SA_RESTART, SIGQUIT, NULL },
	{ SIGHUP, SA_SIGINFO | SA_RESETHAND, 0, NULL },
	{ 0 /* SIGRTMIN + 2 */, SA_SIGINFO | SA_RESTART, SIGUSR2, NULL },
	{ SIGALRM, SA_RESTART, 0, on_alarm },
	{ SIGPIPE, 0, 0, SIG_IGN },
	{ SIGCHLD, SA_NOCLDSTOP, 0, SIG_IGN },
};
#define NDISP (sizeof(dispositions) / sizeof(dispositions[0]))

static int signo_of(size_t i)
{
	return dispositions[i].signo ? dispositions[i].signo : SIGRTMIN + 2;
}

static void install(void)
{
	for (size_t i = 0; i < NDISP; i++) {
		struct sigaction sa = { .sa_flags = dispositions[i].flags };

		sigemptyset(&sa.sa_mask);
		if (dispositions[i].masked)
			sigaddset(&sa.sa_mask, dispositions[i].masked);
		if (dispositions[i].flags & SA_SIGINFO)
			sa.sa_sigaction = on_signal;
		else
			sa.sa_handler = dispositions[i].plain;
		WL_CHECK(sigaction(signo_of(i), &sa, NULL) == 0);
	}
}

static int same_set(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < SIGRTMAX; s++)
		if (sigismember(a, s) != sigismember(b, s))
			return 0;
	return 1;
}

static int queue_to_thread(int signo, int value)
{
	siginfo_t si = { .si_signo = signo, .si_code = SI_QUEUE };

	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), signo, &si);
}

/* The one delivery of signo with value (-1: any), or -1. */
static int find_got(int signo, int value, int from)
{
	for (int i = from; i < ngot; i++)
		if (got[i].signo == signo && (value < 0 || got[i].value == value))
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, rt = SIGRTMIN + 2;
	struct sigaction before[NDISP], now;
	sigset_t block, blocked_before, pending_before, set;
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct itimerval left;
	struct timespec tick = { 0, 10000000 };
	pid_t me = getpid();

	wl_init();
	install();
	WL_CHECK(sigaltstack(&ss, NULL) == 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, rt);
	sigaddset(&block, SIGTERM);
	WL_CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	/* pending: one to the process, two real-time ones to this thread */
	WL_CHECK(sigqueue(me, SIGUSR1, (union sigval){ .sival_int = 42 }) == 0);
	WL_CHECK(queue_to_thread(rt, 7) == 0);
	WL_CHECK(queue_to_thread(rt, 8) == 0);
	for (size_t i = 0; i < NDISP; i++)
		WL_CHECK(sigaction(signo_of(i), NULL, &before[i]) == 0);
	sigprocmask(SIG_BLOCK, NULL, &blocked_before);
	sigpending(&pending_before);
	alarm(ALARM_S);

	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)me);
		for (size_t i = 0; i < NDISP; i++) {
			WL_CHECK(sigaction(signo_of(i), NULL, &now) == 0);
			wl_expect(now.sa_handler == before[i].sa_handler &&
					  now.sa_flags == before[i].sa_flags &&
					  now.sa_restorer == before[i].sa_restorer &&
					  same_set(&now.sa_mask, &before[i].sa_mask),
				  "signal %d: handler %p flags %#x, was %p flags %#x (or its mask)",
				  signo_of(i), (void *)now.sa_handler, (unsigned)now.sa_flags,
				  (void *)before[i].sa_handler, (unsigned)before[i].sa_flags);
		}
		sigprocmask(SIG_BLOCK, NULL, &set);
		wl_expect(same_set(&set, &blocked_before), "the blocked mask changed");
		sigpending(&set);
		wl_expect(same_set(&set, &pending_before), "the pending signals changed");
		WL_CHECK(sigaltstack(NULL, &ss) == 0);
		wl_expect(ss.ss_sp == altstack && ss.ss_size == sizeof(altstack) &&
				  !(ss.ss_flags & SS_DISABLE),
			  "the alternate stack is %p+%zu, was %p+%zu", ss.ss_sp, ss.ss_size,
			  (void *)altstack, sizeof(altstack));
		WL_CHECK(getitimer(ITIMER_REAL, &left) == 0);
		wl_expect(alarms || left.it_value.tv_sec || left.it_value.tv_usec,
			  "the alarm is gone and never went off");
	}

	/* now let them come: each with its siginfo, real-time ones in order */
	WL_CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
	int i1 = find_got(SIGUSR1, 42, 0), r7 = find_got(rt, 7, 0), r8 = find_got(rt, 8, 0);

	wl_expect(i1 >= 0, "the pending SIGUSR1 with its value did not come");
	if (i1 >= 0)
		wl_expect(got[i1].code == SI_QUEUE && got[i1].pid == me,
			  "SIGUSR1 came with code %d pid %d, was sent with %d from %d",
			  got[i1].code, got[i1].pid, SI_QUEUE, me);
	wl_expect(r7 >= 0 && r8 > r7, "the queued real-time signals came as %d, %d", r7, r8);
	wl_expect(ngot == 3, "%d signals came, 3 were pending", (int)ngot);
	/* handlers run where their flags say */
	raise(SIGWINCH);
	int w = find_got(SIGWINCH, -1, 0);

	wl_expect(w >= 0 && got[w].on_altstack, "SIGWINCH did not run on the alternate stack");
	raise(SIGHUP);
	WL_CHECK(sigaction(SIGHUP, NULL, &now) == 0);
	wl_expect(find_got(SIGHUP, -1, 0) >= 0 && now.sa_handler == SIG_DFL,
		  "SA_RESETHAND did not reset SIGHUP");
	wl_expect(kill(me, SIGPIPE) == 0, "cannot send SIGPIPE");
	/* the alarm goes off within its seconds */
	for (int i = 0; i < (ALARM_S + 5) * 100 && !alarms; i++)
		nanosleep(&tick, NULL);
	wl_expect(alarms == 1, "alarm(%d) went off %d times", ALARM_S, (int)alarms);
	return wl_result(cycles + 1);
}
