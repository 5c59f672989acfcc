// SPDX-License-Identifier: GPL-2.0-only
/*
 * A restored process's threads and what the kernel keeps per process and
 * per thread: signal handlers, interval timers, the other threads (made by
 * clone3 with their tids), each thread's rseq, robust list and tid address,
 * pending signals, credentials; last the registers, extended state and
 * signal masks, so that every thread is ready to go on exactly where it
 * was. Everything is done by syscalls injected into the stopped threads.
 *
 * A thread stopped inside a syscall keeps its registers as the kernel left
 * them (orig_rax the syscall, rax -ERESTART...): when it is let go the
 * kernel's own signal-return path restarts the call as it would have. Calls
 * whose restart state lives in the kernel (-ERESTART_RESTARTBLOCK) are set
 * up again where appshot knows it (nanosleep); others return -EINTR, as
 * after a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kind.h"
#include "log.h"
#include "rst.h"
#include "util.h"

#define ERESTART_RESTARTBLOCK 516
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

/* The kernel's struct sigaction on x86-64, as rt_sigaction takes it. */
struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

static int failed(long ret)
{
	return ret < 0 && ret > -4096;
}

static long rsys(struct remote *r, const char *what, long nr, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	long ret = remote_syscall(r, nr, a1, a2, a3, a4, a5, a6);

	if (failed(ret))
		pr_err("restore: thread %d: %s failed: %s", r->tid, what, strerror(-ret));
	return ret;
}

static int restore_sigactions(struct rst_proc *p, struct remote *r)
{
	for (size_t i = 0; i < p->nsigactions; i++) {
		const struct rst_sigaction *s = &p->sigactions[i];
		struct ksigaction ka = { s->handler, s->flags, s->restorer, s->mask };
		char what[48];

		snprintf(what, sizeof(what), "rt_sigaction(%d)", s->sig);
		if (remote_write(r, r->scratch, &ka, sizeof(ka)))
			return -EIO;
		if (failed(rsys(r, what, SYS_rt_sigaction, s->sig, r->scratch, 0, 8, 0, 0)))
			return -EINVAL;
	}
	return 0;
}

static int restore_itimers(struct rst_proc *p, struct remote *r)
{
	for (int which = 0; which < 3; which++) {
		struct itimerval it = {
			{ p->itimers[which][0], p->itimers[which][1] },
			{ p->itimers[which][2], p->itimers[which][3] },
		};

		if (!it.it_value.tv_sec && !it.it_value.tv_usec)
			continue; /* not running */
		if (remote_write(r, r->scratch, &it, sizeof(it)))
			return -EIO;
		if (failed(rsys(r, "setitimer", SYS_setitimer, which, r->scratch, 0, 0, 0, 0)))
			return -EINVAL;
	}
	return 0;
}

/* Thread t, with its tid, made by the leader; left stopped, opened in *tr. */
static int make_thread(struct rst_proc *p, struct remote *r, struct rst_thread *t,
		       struct remote *tr)
{
	struct clone_args ca = {
		.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			 CLONE_SYSVSEM,
		.set_tid = r->scratch + 256,
		.set_tid_size = 1,
	};
	uint64_t want = t->tid;
	pid_t child;
	long ret;
	int err;

	if (remote_write(r, r->scratch, &ca, sizeof(ca)) ||
	    remote_write(r, r->scratch + 256, &want, sizeof(pid_t)))
		return -EIO;
	ret = remote_clone3(r, r->scratch, sizeof(ca), &child);
	if (failed(ret)) {
		pr_err("restore: pid %d: cannot make thread %d: %s", p->pid, t->tid,
		       ret == -EEXIST ? "that tid is taken" : strerror(-ret));
		return ret;
	}
	t->sys_tid = child;
	if (ret != t->tid) {
		pr_err("restore: pid %d: thread %d came back as %ld", p->pid, t->tid, ret);
		return -EEXIST;
	}
	err = remote_open(tr, child);
	if (err)
		pr_err("restore: pid %d: cannot work in thread %d: %s", p->pid, t->tid,
		       strerror(-err));
	tr->scratch = r->scratch; /* shared memory: one scratch for all */
	return err;
}

/* Resume a stopped thread with req and wait for its next stop; its status. */
static int step(pid_t tid, int req, int *status)
{
	if (ptrace(req, tid, 0, 0))
		return -errno;
	return ptrace_wait(tid, status);
}

/*
 * A sleep interrupted by the snapshot sleeps on for what it had left, as it
 * would have if never stopped. The thread starts the same sleep for the
 * time left (clock_nanosleep, relative, with the sleep's remainder
 * pointer) and is interrupted in it: the kernel keeps that sleep's restart
 * block, and the registers the image has (-ERESTART_RESTARTBLOCK) make the
 * kernel restart it when the thread goes on. A sleep whose time runs out
 * meanwhile returns 0. Other restart blocks (futex or poll timeouts) are
 * not known here: those calls return -EINTR, as after a signal.
 */
static int restart_sleep(struct rst_proc *p, struct remote *tr, struct rst_thread *t,
			 struct user_regs_struct *regs)
{
	struct timespec left = { t->sleep_left_ns / 1000000000, t->sleep_left_ns % 1000000000 };
	unsigned long at = 0;
	struct user_regs_struct now = tr->saved;
	char saved[sizeof(left)];
	int status, err;

	/* the time left goes, for a moment, into readable memory of the application's */
	for (size_t i = 0; i < p->nvmas && !at; i++)
		if ((p->vmas[i].prot & PROT_READ) && strcmp(p->vmas[i].kind, "vsyscall") &&
		    strncmp(p->vmas[i].kind, "vvar", 4) && strcmp(p->vmas[i].kind, "vdso"))
			at = p->vmas[i].start;
	if (!t->has_sleep || !at) {
		regs->rax = -EINTR;
		return 0;
	}
	err = remote_read(tr, at, saved, sizeof(saved));
	if (!err)
		err = remote_write(tr, at, &left, sizeof(left));
	if (err)
		return err;
	now.rip = tr->sysip;
	now.orig_rax = -1;
	now.rax = SYS_clock_nanosleep;
	now.rdi = t->sleep_clockid;
	now.rsi = 0;
	now.rdx = at;
	now.r10 = t->sleep_rmtp;
	err = regs_set(tr->tid, &now);
	/* to the syscall's entry, into the sleep, interrupted: its exit */
	if (!err)
		err = step(tr->tid, PTRACE_SYSCALL, &status);
	if (!err && ptrace(PTRACE_SYSCALL, tr->tid, 0, 0))
		err = -errno;
	if (!err && ptrace(PTRACE_INTERRUPT, tr->tid, 0, 0))
		err = -errno;
	if (!err)
		err = ptrace_wait(tr->tid, &status);
	if (!err)
		err = regs_get(tr->tid, &now);
	if (remote_write(tr, at, saved, sizeof(saved)) && !err)
		err = -EIO;
	if (err || !WIFSTOPPED(status)) {
		pr_err("restore: thread %d: cannot restart its sleep: %s", t->tid,
		       err ? strerror(-err) : "it died");
		return err ?: -ESRCH;
	}
	if (now.rax == 0) { /* slept it all */
		regs->rax = 0;
		regs->orig_rax = -1;
	}
	/*
	 * Stopped at the syscall's exit: the registers are set there, and the
	 * thread is let on to a stop in the signal path, where the kernel looks
	 * at them for a restart when it goes on.
	 */
	err = regs_set(tr->tid, regs);
	if (!err && ptrace(PTRACE_INTERRUPT, tr->tid, 0, 0))
		err = -errno;
	if (!err)
		err = step(tr->tid, PTRACE_CONT, &status);
	if (!err && (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP))
		err = -EPROTO;
	if (err)
		pr_err("restore: thread %d: its sleep did not stop as expected: %s", t->tid,
		       strerror(-err));
	return err;
}

/* Per thread: what only the thread can set for itself. */
static int thread_self(struct remote *tr, struct rst_thread *t)
{
	char name[16] = { 0 };

	/* its name: /proc/PID/task/TID/comm takes names from the thread's own group only */
	memcpy(name, t->comm, sizeof(name) - 1);
	if (remote_write(tr, tr->scratch + 768, name, sizeof(name)) ||
	    failed(rsys(tr, "PR_SET_NAME", SYS_prctl, PR_SET_NAME, tr->scratch + 768, 0, 0, 0, 0)))
		return -EINVAL;
	if (failed(rsys(tr, "set_tid_address", SYS_set_tid_address, t->clear_tid, 0, 0, 0, 0, 0)))
		return -EINVAL;
	if (t->has_altstack) {
		stack_t ss = { (void *)(uintptr_t)t->altstack_sp, t->altstack_flags,
			       t->altstack_size };

		if (remote_write(tr, tr->scratch + 768, &ss, sizeof(ss)) ||
		    failed(rsys(tr, "sigaltstack", SYS_sigaltstack, tr->scratch + 768, 0, 0, 0, 0,
				0)))
			return -EINVAL;
	}
	if (t->robust_list &&
	    failed(rsys(tr, "set_robust_list", SYS_set_robust_list, t->robust_list,
			t->robust_list_len, 0, 0, 0, 0)))
		return -EINVAL;
	if (t->has_rseq && failed(rsys(tr, "rseq", SYS_rseq, t->rseq_addr, t->rseq_len, 0,
				      t->rseq_sig, 0, 0)))
		return -EINVAL;
	return 0;
}

/* Credentials are per thread: each sets its own, privileges given up last. */
/*
 * The thread takes the image's credentials, in the order the kernel needs:
 * the bounding set first (CAP_SETPCAP); setuid's fix-up of capabilities
 * held off (SECBIT_NO_SETUID_FIXUP), so every capability we need stays
 * effective through the id changes: groups, gids and fsgid, uids and
 * fsuid (setresuid resets it); the inheritable set and the ambient
 * capabilities; the image's securebits; the image's capability sets last,
 * which may take away what it took to get there.
 */
static int thread_creds(struct rst_proc *p, struct remote *tr)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ p->cap_eff, p->cap_prm, p->cap_inh },
		{ p->cap_eff >> 32, p->cap_prm >> 32, p->cap_inh >> 32 },
	}, now[2];
	unsigned long s = tr->scratch;
	gid_t groups[256];

	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(p->cap_bnd >> cap & 1) &&
		    failed(rsys(tr, "PR_CAPBSET_DROP", SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0, 0)))
			return -EPERM;
	if (p->ngroups > 256)
		return -E2BIG;
	for (size_t i = 0; i < p->ngroups; i++)
		groups[i] = p->groups[i];
	if (failed(rsys(tr, "PR_SET_SECUREBITS", SYS_prctl, PR_SET_SECUREBITS,
			SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS, 0, 0, 0, 0)) ||
	    remote_write(tr, s, groups, p->ngroups * sizeof(gid_t)) ||
	    failed(rsys(tr, "setgroups", SYS_setgroups, p->ngroups, s, 0, 0, 0, 0)) ||
	    failed(rsys(tr, "setresgid", SYS_setresgid, p->gid[0], p->gid[1], p->gid[2], 0, 0, 0)) ||
	    rsys(tr, "setfsgid", SYS_setfsgid, p->gid[3], 0, 0, 0, 0, 0) < 0 ||
	    failed(rsys(tr, "setresuid", SYS_setresuid, p->uid[0], p->uid[1], p->uid[2], 0, 0, 0)) ||
	    rsys(tr, "setfsuid", SYS_setfsuid, p->uid[3], 0, 0, 0, 0, 0) < 0)
		return -EPERM;
	/* setfs[ug]id say nothing when refused: asked again, they tell */
	if (rsys(tr, "setfsuid", SYS_setfsuid, -1, 0, 0, 0, 0, 0) != p->uid[3] ||
	    rsys(tr, "setfsgid", SYS_setfsgid, -1, 0, 0, 0, 0, 0) != p->gid[3]) {
		pr_err("restore: thread %d: cannot take fsuid %lld fsgid %lld", tr->tid,
		       (long long)p->uid[3], (long long)p->gid[3]);
		return -EPERM;
	}
	/* ambient capabilities need them inheritable (and permitted: all are, still) */
	if (remote_write(tr, s, &hdr, sizeof(hdr)) ||
	    failed(rsys(tr, "capget", SYS_capget, s, s + 64, 0, 0, 0, 0)) ||
	    remote_read(tr, s + 64, now, sizeof(now)))
		return -EPERM;
	now[0].inheritable = data[0].inheritable;
	now[1].inheritable = data[1].inheritable;
	if (remote_write(tr, s, &hdr, sizeof(hdr)) || remote_write(tr, s + 64, now, sizeof(now)) ||
	    failed(rsys(tr, "capset", SYS_capset, s, s + 64, 0, 0, 0, 0)))
		return -EPERM;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if ((p->cap_amb >> cap & 1) &&
		    failed(rsys(tr, "PR_CAP_AMBIENT_RAISE", SYS_prctl, PR_CAP_AMBIENT,
				PR_CAP_AMBIENT_RAISE, cap, 0, 0, 0)))
			return -EPERM;
	if (failed(rsys(tr, "PR_SET_SECUREBITS", SYS_prctl, PR_SET_SECUREBITS, p->securebits, 0, 0,
			0, 0)))
		return -EPERM;
	if (remote_write(tr, s, &hdr, sizeof(hdr)) || remote_write(tr, s + 64, data, sizeof(data)) ||
	    failed(rsys(tr, "capset", SYS_capset, s, s + 64, 0, 0, 0, 0)))
		return -EPERM;
	return 0;
}

/* Do the image's credentials differ from ours (then each thread takes them)? */
static int creds_differ(const struct rst_proc *p)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uid_t u[3];
	gid_t g[3];
	int n = getgroups(0, NULL);

	if (getresuid(&u[0], &u[1], &u[2]) || getresgid(&g[0], &g[1], &g[2]) || syscall(SYS_capget, &hdr, d))
		return 1;
	for (int i = 0; i < 3; i++)
		if (p->uid[i] != u[i] || p->gid[i] != g[i])
			return 1;
	if (p->uid[3] != u[1] || p->gid[3] != g[1] || n < 0 || (size_t)n != p->ngroups ||
	    p->securebits != prctl(PR_GET_SECUREBITS) ||
	    p->cap_amb || p->cap_inh != (d[0].inheritable | (uint64_t)d[1].inheritable << 32) ||
	    p->cap_prm != (d[0].permitted | (uint64_t)d[1].permitted << 32) ||
	    p->cap_eff != (d[0].effective | (uint64_t)d[1].effective << 32))
		return 1;
	if (n > 0) {
		gid_t *gs = calloc(n, sizeof(*gs));
		int differ = !gs || getgroups(n, gs) != n;

		for (int i = 0; i < n && !differ; i++)
			differ = (int64_t)gs[i] != p->groups[i];
		free(gs);
		return differ;
	}
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(p->cap_bnd >> cap & 1) && prctl(PR_CAPBSET_READ, cap) == 1)
			return 1;
	return 0;
}

/* Signals pending when the image was made, queued again (all are blocked now). */
static int queue_pending(struct rst_proc *p, struct remote *r)
{
	for (size_t i = 0; i < p->nthreads; i++) {
		struct rst_thread *t = &p->threads[i];

		for (size_t k = 0; k < t->npending; k++) {
			siginfo_t *si = &t->pending[k];

			if (si->si_signo == SIGKILL || si->si_signo == SIGSTOP)
				continue;
			if (remote_write(r, r->scratch, si, sizeof(*si)) ||
			    failed(rsys(r, "rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, p->pid, t->tid,
					si->si_signo, r->scratch, 0, 0)))
				return -EINVAL;
		}
	}
	for (size_t k = 0; k < p->nshared_pending; k++) {
		siginfo_t *si = &p->shared_pending[k];

		if (si->si_signo == SIGKILL || si->si_signo == SIGSTOP)
			continue;
		if (remote_write(r, r->scratch, si, sizeof(*si)) ||
		    failed(rsys(r, "rt_sigqueueinfo", SYS_rt_sigqueueinfo, p->pid, si->si_signo,
				r->scratch, 0, 0, 0)))
			return -EINVAL;
	}
	return 0;
}

static int attrs(struct remote *r, struct json_object *a, int thread)
{
	char why[256];
	int err = task_attrs_restore(r, a, thread, why, sizeof(why));

	if (err)
		pr_err("restore: thread %d: %s", r->tid, why);
	return err;
}

/* The registers it stopped with; a syscall in flight goes on as the kernel would. */
static int final_state(struct rst_proc *p, struct remote *tr, struct rst_thread *t)
{
	struct user_regs_struct regs = t->regs;
	int err;

	if ((long)regs.orig_rax >= 0 && (long)regs.rax == -ERESTART_RESTARTBLOCK) {
		err = restart_sleep(p, tr, t, &regs);
		if (err)
			return err;
	}
	err = regs_set(t->sys_tid, &regs);
	if (!err)
		err = xstate_set(t->sys_tid, t->xstate, t->xlen);
	if (!err)
		err = sigmask_set(t->sys_tid, t->sigmask);
	if (err)
		pr_err("restore: thread %d: cannot set its registers: %s", t->tid, strerror(-err));
	return err;
}

int rst_threads(struct rst_proc *p, struct remote *r)
{
	struct remote *tr = calloc(p->nthreads, sizeof(*tr));
	int err, creds = creds_differ(p);

	if (!tr)
		return -ENOMEM;
	for (size_t i = 0; i < p->nthreads; i++)
		tr[i].mem = -1;
	tr[0] = *r;
	p->threads[0].sys_tid = r->tid;
	err = restore_sigactions(p, r);
	if (!err)
		err = restore_itimers(p, r);
	for (size_t i = 1; i < p->nthreads && !err; i++)
		err = make_thread(p, r, &p->threads[i], &tr[i]);
	for (size_t i = 0; i < p->nthreads && !err; i++) {
		err = thread_self(&tr[i], &p->threads[i]);
	}
	if (!err)
		err = queue_pending(p, r);
	/* once every thread is there: a timer may signal one */
	if (!err) {
		char why[256];

		err = posix_timers_restore(r, p->timers, why, sizeof(why));
		if (err)
			pr_err("restore: pid %d: %s", p->pid, why);
	}
	/* appshot's own fds go before privileges may be given up */
	if (!err && failed(rsys(r, "close_range", SYS_close_range, p->service_base, ~0u, 0, 0, 0, 0)))
		err = -EBADF;
	/* limits are the process's own: set by it, before it may lose the right to */
	for (int i = 0; i < RST_RLIMITS && !err; i++) {
		char what[48];

		snprintf(what, sizeof(what), "prlimit64(%d, %llu, %llu)", i,
			 (unsigned long long)p->rlimits[i].rlim_cur,
			 (unsigned long long)p->rlimits[i].rlim_max);
		if (remote_write(r, r->scratch, &p->rlimits[i], sizeof(p->rlimits[i])) ||
		    failed(rsys(r, what, SYS_prlimit64, 0, i, r->scratch, 0, 0, 0)))
			err = -EPERM;
	}
	/* what each thread and the process keep, set while they may (privileges) */
	for (size_t i = 0; i < p->nthreads && !err; i++)
		err = attrs(&tr[i], p->threads[i].attrs, 1);
	if (!err)
		err = attrs(r, p->attrs, 0);
	for (size_t i = 0; i < p->nthreads && !err && creds; i++)
		err = thread_creds(p, &tr[i]);
	for (size_t i = 0; i < p->nthreads && !err && p->no_new_privs; i++)
		if (failed(rsys(&tr[i], "PR_SET_NO_NEW_PRIVS", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0,
				0, 0, 0)))
			err = -EPERM;
	if (!err && failed(rsys(r, "PR_SET_DUMPABLE", SYS_prctl, PR_SET_DUMPABLE,
				p->dumpable == 1, 0, 0, 0, 0)))
		err = -EPERM;
	/* the scratch was every thread's: it goes before any thread gets its registers */
	if (!err && failed(rsys(r, "munmap", SYS_munmap, r->scratch, r->scratch_len, 0, 0, 0, 0)))
		err = -EFAULT;
	r->scratch = 0;
	for (size_t i = 0; i < p->nthreads && !err; i++)
		err = final_state(p, &tr[i], &p->threads[i]);
	for (size_t i = 1; i < p->nthreads; i++)
		remote_forget(&tr[i]);
	free(tr);
	return err;
}
