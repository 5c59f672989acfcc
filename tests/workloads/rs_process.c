// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: a process's identity and the state the kernel keeps for
 * it. It sets up a session, name, umask, cwd, limits, personality, timers,
 * dumpable and no_new_privs (and with "creds", other ids and groups), notes
 * what /proc says of it, and after each snapshot and restore checks that
 * all of it reads the same: pids, cmdline, environ, auxv, maps, exe, brk.
 *
 * usage: rs_process [cycles] [creds]
 */
#include <grp.h>
#include <linux/prctl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>

#include "wl.h"

#define BIG 65536

struct view {
	pid_t pid, ppid, sid, pgid, tid;
	char comm[64], cwd[4096], exe[4096];
	char cmdline[BIG], environ[BIG], auxv[4096], maps[BIG];
	ssize_t cmdline_len, environ_len, auxv_len;
	void *brk;
	struct rlimit lim[RLIM_NLIMITS];
	int persona, dumpable, nnp;
	mode_t umask;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	gid_t groups[16];
	int ngroups;
	uid_t fsuid;
	gid_t fsgid;
	int securebits;
	struct __user_cap_data_struct caps[2];
};

static void take(struct view *v)
{
	char buf[4096];
	ssize_t n;

	v->pid = getpid();
	v->ppid = getppid();
	v->sid = getsid(0);
	v->pgid = getpgrp();
	v->tid = syscall(SYS_gettid);
	WL_CHECK(wl_read_file("/proc/self/comm", v->comm, sizeof(v->comm)) > 0);
	WL_CHECK(getcwd(v->cwd, sizeof(v->cwd)));
	n = readlink("/proc/self/exe", v->exe, sizeof(v->exe) - 1);
	WL_CHECK(n > 0);
	v->exe[n] = 0;
	v->cmdline_len = wl_read_file("/proc/self/cmdline", v->cmdline, sizeof(v->cmdline));
	v->environ_len = wl_read_file("/proc/self/environ", v->environ, sizeof(v->environ));
	v->auxv_len = wl_read_file("/proc/self/auxv", v->auxv, sizeof(v->auxv));
	wl_read_maps(v->maps, sizeof(v->maps));
	v->brk = sbrk(0);
	for (int i = 0; i < RLIM_NLIMITS; i++)
		WL_CHECK(getrlimit(i, &v->lim[i]) == 0);
	v->persona = personality(0xffffffff);
	v->dumpable = prctl(PR_GET_DUMPABLE);
	v->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	v->umask = umask(0);
	umask(v->umask);
	WL_CHECK(getresuid(&v->ruid, &v->euid, &v->suid) == 0);
	WL_CHECK(getresgid(&v->rgid, &v->egid, &v->sgid) == 0);
	v->ngroups = getgroups(16, v->groups);
	v->fsuid = setfsuid(-1); /* an invalid id: no change, the current one back */
	v->fsgid = setfsgid(-1);
	v->securebits = prctl(PR_GET_SECUREBITS);
	{
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

		WL_CHECK(syscall(SYS_capget, &hdr, v->caps) == 0);
	}
	(void)buf;
}

static void compare(const struct view *a, const struct view *b)
{
	wl_expect(a->pid == b->pid, "pid %d, was %d", b->pid, a->pid);
	/*
	 * A parent outside the application (it shares our pid namespace) is
	 * not ours to keep: the restore is the new one, as with --shell-job.
	 */
	if (a->ppid == 1)
		wl_expect(a->ppid == b->ppid, "ppid %d, was %d", b->ppid, a->ppid);
	wl_expect(a->sid == b->sid, "sid %d, was %d", b->sid, a->sid);
	wl_expect(a->pgid == b->pgid, "pgid %d, was %d", b->pgid, a->pgid);
	wl_expect(a->tid == b->tid, "tid %d, was %d", b->tid, a->tid);
	wl_expect(!strcmp(a->comm, b->comm), "comm '%s', was '%s'", b->comm, a->comm);
	wl_expect(!strcmp(a->cwd, b->cwd), "cwd '%s', was '%s'", b->cwd, a->cwd);
	wl_expect(!strcmp(a->exe, b->exe), "exe '%s', was '%s'", b->exe, a->exe);
	wl_expect(a->cmdline_len == b->cmdline_len &&
			  !memcmp(a->cmdline, b->cmdline, a->cmdline_len),
		  "/proc/self/cmdline differs (%zd bytes, was %zd)", b->cmdline_len, a->cmdline_len);
	wl_expect(a->environ_len == b->environ_len &&
			  !memcmp(a->environ, b->environ, a->environ_len),
		  "/proc/self/environ differs (%zd bytes, was %zd)", b->environ_len, a->environ_len);
	wl_expect(a->auxv_len == b->auxv_len && !memcmp(a->auxv, b->auxv, a->auxv_len),
		  "/proc/self/auxv differs");
	wl_expect(!strcmp(a->maps, b->maps), "/proc/self/maps differs:\n--- was\n%s--- now\n%s",
		  a->maps, b->maps);
	wl_expect(a->brk == b->brk, "brk %p, was %p", b->brk, a->brk);
	for (int i = 0; i < RLIM_NLIMITS; i++)
		wl_expect(a->lim[i].rlim_cur == b->lim[i].rlim_cur &&
				  a->lim[i].rlim_max == b->lim[i].rlim_max,
			  "rlimit %d: %llu/%llu, was %llu/%llu", i,
			  (unsigned long long)b->lim[i].rlim_cur,
			  (unsigned long long)b->lim[i].rlim_max,
			  (unsigned long long)a->lim[i].rlim_cur,
			  (unsigned long long)a->lim[i].rlim_max);
	wl_expect(a->persona == b->persona, "personality %#x, was %#x", b->persona, a->persona);
	wl_expect(a->dumpable == b->dumpable, "dumpable %d, was %d", b->dumpable, a->dumpable);
	wl_expect(a->nnp == b->nnp, "no_new_privs %d, was %d", b->nnp, a->nnp);
	wl_expect(a->umask == b->umask, "umask %o, was %o", b->umask, a->umask);
	wl_expect(a->ruid == b->ruid && a->euid == b->euid && a->suid == b->suid,
		  "uids %d/%d/%d, were %d/%d/%d", b->ruid, b->euid, b->suid, a->ruid, a->euid,
		  a->suid);
	wl_expect(a->rgid == b->rgid && a->egid == b->egid && a->sgid == b->sgid,
		  "gids %d/%d/%d, were %d/%d/%d", b->rgid, b->egid, b->sgid, a->rgid, a->egid,
		  a->sgid);
	wl_expect(a->ngroups == b->ngroups &&
			  !memcmp(a->groups, b->groups, a->ngroups * sizeof(gid_t)),
		  "%d groups, were %d", b->ngroups, a->ngroups);
	wl_expect(a->fsuid == b->fsuid && a->fsgid == b->fsgid, "fsuid %u fsgid %u, were %u %u",
		  b->fsuid, b->fsgid, a->fsuid, a->fsgid);
	wl_expect(a->securebits == b->securebits, "securebits %#x, were %#x", b->securebits,
		  a->securebits);
	wl_expect(!memcmp(a->caps, b->caps, sizeof(a->caps)),
		  "capabilities eff %#x prm %#x inh %#x, were %#x %#x %#x", b->caps[0].effective,
		  b->caps[0].permitted, b->caps[0].inheritable, a->caps[0].effective,
		  a->caps[0].permitted, a->caps[0].inheritable);
}

/* Timers run on: still armed, with no more left than before, same interval. */
static void check_timers(const struct itimerval *was_real, const struct itimerval *was_prof)
{
	struct itimerval real, prof;

	WL_CHECK(getitimer(ITIMER_REAL, &real) == 0);
	WL_CHECK(getitimer(ITIMER_PROF, &prof) == 0);
	wl_expect(real.it_value.tv_sec > 0 && real.it_value.tv_sec <= was_real->it_value.tv_sec,
		  "ITIMER_REAL has %lds left, had %lds", (long)real.it_value.tv_sec,
		  (long)was_real->it_value.tv_sec);
	wl_expect(real.it_interval.tv_sec == was_real->it_interval.tv_sec,
		  "ITIMER_REAL interval %lds, was %lds", (long)real.it_interval.tv_sec,
		  (long)was_real->it_interval.tv_sec);
	wl_expect(prof.it_value.tv_sec || prof.it_value.tv_usec, "ITIMER_PROF is disarmed");
	wl_expect(prof.it_interval.tv_sec == was_prof->it_interval.tv_sec &&
			  prof.it_interval.tv_usec == was_prof->it_interval.tv_usec,
		  "ITIMER_PROF interval changed");
}

int main(int argc, char **argv)
{
	static struct view before, after;
	struct itimerval real = { { 500, 0 }, { 900, 0 } }, prof = { { 700, 0 }, { 800, 0 } };
	struct rlimit nofile = { 512, 4096 }, core = { 0, 0 }, stack = { 4 << 20, RLIM_INFINITY };
	int cycles = argc > 1 ? atoi(argv[1]) : 1;
	int creds = argc > 2 && !strcmp(argv[2], "creds");
	const char *dir = getenv("WL_DIR");

	wl_init();
	WL_CHECK(dir && chdir(dir) == 0);
	if (getpid() != getsid(0))
		WL_CHECK(setsid() > 0);
	WL_CHECK(prctl(PR_SET_NAME, "rs-proc-named") == 0);
	umask(027);
	WL_CHECK(setrlimit(RLIMIT_NOFILE, &nofile) == 0);
	WL_CHECK(setrlimit(RLIMIT_CORE, &core) == 0);
	WL_CHECK(setrlimit(RLIMIT_STACK, &stack) == 0);
	WL_CHECK(personality(PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26) >= 0);
	WL_CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0);
	WL_CHECK(setitimer(ITIMER_PROF, &prof, NULL) == 0);
	WL_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	if (creds) {
		gid_t groups[] = { 4, 27, 1234 };

		WL_CHECK(setgroups(3, groups) == 0);
		WL_CHECK(setresgid(1001, 1002, 1003) == 0);
		/* fs ids of their own, and a securebit that outlives root */
		setfsgid(1004);
		WL_CHECK(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT) == 0);
		WL_CHECK(setresuid(2001, 2002, 2003) == 0);
		setfsuid(2003);
	} else {
		WL_CHECK(prctl(PR_SET_DUMPABLE, 0) == 0);
	}
	take(&before);
	for (int i = 1; i <= cycles; i++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", i, (int)getpid());
		take(&after);
		compare(&before, &after);
		check_timers(&real, &prof);
	}
	return wl_result(cycles + 1);
}
