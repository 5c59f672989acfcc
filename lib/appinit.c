// SPDX-License-Identifier: GPL-2.0-only
/* The init of an application's pid namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appinit.h"

void appinit_block_signals(void)
{
	sigset_t set;

	prctl(PR_SET_NAME, "appshot-init");
	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

void reset_signals(void)
{
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int wait_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

void appinit_loop(pid_t main)
{
	int status, code = 0, main_alive = 1;
	siginfo_t si;
	sigset_t set;
	pid_t pid;

	sigfillset(&set);
	for (;;) {
		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			if (main_alive)
				kill(main, si.si_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == main) {
				code = wait_status_code(status);
				main_alive = 0;
			}
		}
		if (pid < 0 && errno == ECHILD)
			_exit(code);
	}
}

int appinit_close_fds_from(int from, int keep)
{
	if (keep < from)
		return close_range(from, ~0u, 0) ? -errno : 0;
	if ((keep > from && close_range(from, keep - 1, 0)) || close_range(keep + 1, ~0u, 0))
		return -errno;
	return 0;
}

int appinit_close_own_fds(int keep1, int keep2)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int fd, dfd;

	if (!d)
		return -errno;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd != keep1 && fd != keep2 && fd != dfd && (fcntl(fd, F_GETFD) & FD_CLOEXEC))
			close(fd);
	}
	closedir(d);
	return 0;
}
