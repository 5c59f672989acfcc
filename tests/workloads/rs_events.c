// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: an event loop. An epoll instance watches an eventfd
 * holding a count, a periodic timerfd and a signalfd for a blocked signal
 * that is pending; a second timerfd is armed an hour ahead with a two-hour
 * interval; a child shares one more eventfd with main. After the restores
 * epoll reports the three with their data, the eventfd gives its count,
 * the periodic timer has fired on, the signal is read from the signalfd,
 * the long timer has less than an hour left and its interval, and what
 * the child added to the shared eventfd is there. An inotify instance
 * watches two directories as wd 1 and 3 (wd 2 came and went): files made
 * after the restores are reported with those wds. The periodic timer keeps
 * its interval and fires on after its first expiration read. One more
 * eventfd is watched under an fd number that was closed and reused for
 * another file since: the entry still reports it, with its data, and the
 * epoll still lists it under that number.
 *
 * usage: rs_events [cycles]
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "wl.h"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, efd, shared, tick, lon, sfd, ep, status, n;
	int lent, moved, reused;
	struct itimerspec every = { { 0, 10000000 }, { 0, 10000000 } };
	struct itimerspec hour = { { 7200, 0 }, { 3600, 0 } }, left;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct epoll_event ev, got[8];
	struct signalfd_siginfo si;
	uint64_t v, seen = 0;
	char d1[4200], d2[4200], path[4300], evbuf[4096];
	int ino;
	sigset_t mask;
	pid_t child;

	wl_init();
	WL_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	WL_CHECK(getenv("WL_DIR"));
	snprintf(d1, sizeof(d1), "%s/one", getenv("WL_DIR"));
	snprintf(d2, sizeof(d2), "%s/two", getenv("WL_DIR"));
	WL_CHECK(mkdir(d1, 0700) == 0 && mkdir(d2, 0700) == 0);
	WL_CHECK((ino = inotify_init1(IN_NONBLOCK)) >= 0);
	WL_CHECK(inotify_add_watch(ino, d1, IN_CREATE) == 1);
	WL_CHECK(inotify_add_watch(ino, getenv("WL_DIR"), IN_DELETE) == 2);
	WL_CHECK(inotify_add_watch(ino, d2, IN_CREATE | IN_ONLYDIR) == 3);
	WL_CHECK(inotify_rm_watch(ino, 2) == 0);
	while (read(ino, evbuf, sizeof(evbuf)) > 0) /* its IN_IGNORED */
		;
	WL_CHECK((shared = eventfd(1, 0)) >= 0);
	child = fork();
	WL_CHECK(child >= 0);
	if (child == 0) {
		while (!go)
			pause();
		v = 5;
		_exit(write(shared, &v, 8) == 8 ? 0 : 1);
	}
	WL_CHECK((efd = eventfd(3, EFD_NONBLOCK)) >= 0);
	WL_CHECK((tick = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) >= 0);
	WL_CHECK(timerfd_settime(tick, 0, &every, NULL) == 0);
	WL_CHECK((lon = timerfd_create(CLOCK_MONOTONIC, 0)) >= 0);
	WL_CHECK(timerfd_settime(lon, 0, &hour, NULL) == 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	WL_CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
	WL_CHECK((sfd = signalfd(-1, &mask, SFD_NONBLOCK)) >= 0);
	WL_CHECK(raise(SIGUSR2) == 0);
	WL_CHECK((ep = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	ev.events = EPOLLIN;
	ev.data.u64 = 11;
	WL_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
	ev.data.u64 = 22;
	WL_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, tick, &ev) == 0);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 33;
	WL_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) == 0);
	/* an entry added as fd "lent", whose file lives on at "moved" only */
	WL_CHECK((moved = eventfd(0, EFD_NONBLOCK)) >= 0);
	WL_CHECK((lent = dup(moved)) >= 0);
	ev.events = EPOLLIN;
	ev.data.u64 = 44;
	WL_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lent, &ev) == 0);
	WL_CHECK(close(lent) == 0);
	WL_CHECK((reused = open("/dev/null", O_RDONLY)) == lent);

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());

	/* all three are ready: the count, the ticking timer, the pending signal */
	for (int i = 0; i < 100 && seen != 7; i++) {
		n = epoll_wait(ep, got, 8, 100);
		for (int k = 0; k < n; k++) {
			wl_expect(got[k].data.u64 == 11 || got[k].data.u64 == 22 ||
					  got[k].data.u64 == 33,
				  "epoll gave data %llu", (unsigned long long)got[k].data.u64);
			if (got[k].data.u64 == 22 && read(tick, &v, 8) == 8)
				seen |= 2; /* it fired on after the restores */
			else if (got[k].data.u64 == 11)
				seen |= 1;
			else if (got[k].data.u64 == 33)
				seen |= 4;
		}
	}
	wl_expect(seen == 7, "epoll reported %llx of the eventfd, timer and signal (7)",
		  (unsigned long long)seen);
	/* the periodic timer is still armed: it fires again after a read */
	WL_CHECK(timerfd_gettime(tick, &left) == 0);
	wl_expect(left.it_interval.tv_nsec == 10000000 && !left.it_interval.tv_sec,
		  "the periodic timer's interval is %lld.%09ld s, not 0.01",
		  (long long)left.it_interval.tv_sec, left.it_interval.tv_nsec);
	while (read(tick, &v, 8) == 8)
		;
	n = 0;
	for (int i = 0; i < 200 && n <= 0; i++) {
		usleep(5000);
		n = read(tick, &v, 8);
	}
	wl_expect(n == 8 && v >= 1, "the periodic timer does not fire any more");
	/* the entry of the lent number reports its file, and is listed under that number */
	v = 1;
	WL_CHECK(write(moved, &v, 8) == 8);
	n = epoll_wait(ep, got, 8, 1000);
	seen = 0;
	for (int k = 0; k < n; k++)
		seen |= got[k].data.u64 == 44;
	wl_expect(seen, "epoll does not report the file it watches under fd %d", lent);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	{
		char info[4096], want[32];

		snprintf(want, sizeof(want), "tfd: %8d events:", lent);
		wl_expect(wl_read_file(path, info, sizeof(info)) > 0 && strstr(info, want),
			  "epoll lists no entry of fd %d: %s", lent, info);
	}
	wl_expect(fcntl(reused, F_GETFD) >= 0, "fd %d (the reused number) is gone", reused);
	wl_expect(read(efd, &v, 8) == 8 && v == 3, "the eventfd held %llu, not 3",
		  (unsigned long long)v);
	wl_expect(read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR2,
		  "the signalfd did not give the pending SIGUSR2");
	WL_CHECK(timerfd_gettime(lon, &left) == 0);
	wl_expect(left.it_value.tv_sec < 3600 && (left.it_value.tv_sec || left.it_value.tv_nsec) &&
			  left.it_interval.tv_sec == 7200 && !left.it_interval.tv_nsec,
		  "the long timer has %lld s left and an interval of %lld s",
		  (long long)left.it_value.tv_sec, (long long)left.it_interval.tv_sec);
	WL_CHECK(kill(child, SIGUSR1) == 0);
	WL_CHECK(waitpid(child, &status, 0) == child);
	wl_expect(WIFEXITED(status) && !WEXITSTATUS(status), "the child ended %#x", status);
	wl_expect(read(shared, &v, 8) == 8 && v == 6, "the shared eventfd held %llu, not 6",
		  (unsigned long long)v);
	/* the watches: a file made in each directory comes with its wd */
	for (int k = 0; k < 2; k++) {
		struct inotify_event *e = (struct inotify_event *)evbuf;
		int fd;

		snprintf(path, sizeof(path), "%s/new", k ? d2 : d1);
		WL_CHECK((fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0);
		close(fd);
		wl_expect(read(ino, evbuf, sizeof(evbuf)) > 0 && e->wd == (k ? 3 : 1) &&
				  (e->mask & IN_CREATE) && !strcmp(e->name, "new"),
			  "inotify: no IN_CREATE of 'new' with wd %d", k ? 3 : 1);
	}
	return wl_result(cycles + 1);
}
