// SPDX-License-Identifier: GPL-2.0-only
/* ptrace: stops, registers, and syscalls run by a stopped thread for us. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "remote.h"

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

int ptrace_wait(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Is a signal that stops the thread pending for it (SIGSTOP cannot be blocked)? */
static int stop_pending(pid_t tid)
{
	char path[64], line[256];
	unsigned long long pnd = 0, shd = 0, blk = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SigPnd: %llx", &v) == 1)
			pnd = v;
		else if (sscanf(line, "ShdPnd: %llx", &v) == 1)
			shd = v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			blk = v;
	}
	fclose(f);
	v = pnd | shd;
	return (v >> (SIGSTOP - 1) & 1) ||
	       ((v & ~blk) & (1ull << (SIGTSTP - 1) | 1ull << (SIGTTIN - 1) | 1ull << (SIGTTOU - 1)));
}

int ptrace_seize_stop(pid_t tid, int *stopped)
{
	int status, err;

	if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		err = -errno;
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return err;
	}
	/*
	 * The stop wanted is a PTRACE_EVENT_STOP. A signal may be reported
	 * first: it is delivered (it came before the snapshot). A stopped
	 * process (SIGSTOP, job control) reports its group stop, noted in
	 * *stopped; a stop signal still pending (it cannot be blocked while
	 * we work) is let make its stop first. The caller stops the process
	 * again when it lets it go; a trap left pending by the interrupt comes
	 * at the next step (step_syscall takes it).
	 */
	for (int i = 0; i < 64; i++) {
		err = ptrace_wait(tid, &status);
		if (err)
			return err;
		if (!WIFSTOPPED(status))
			return -ESRCH; /* it died */
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			if (stop_signal(WSTOPSIG(status)) && stopped)
				*stopped = WSTOPSIG(status);
			if (!stop_pending(tid))
				return 0;
			/* into the stop it would make once let run (the interrupt brings it back) */
			if (ptrace(PTRACE_CONT, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0))
				return -errno;
			continue;
		}
		/* A signal-delivery stop: let it be delivered, stop again. */
		if (ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(status)) ||
		    ptrace(PTRACE_INTERRUPT, tid, 0, 0))
			return -errno;
	}
	return -EAGAIN;
}

int ptrace_detach(pid_t tid)
{
	return ptrace(PTRACE_DETACH, tid, 0, 0) ? -errno : 0;
}

int regs_get(pid_t tid, struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof(*r) };

	return ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, &iov) ? -errno : 0;
}

int regs_set(pid_t tid, const struct user_regs_struct *r)
{
	struct iovec iov = { (void *)r, sizeof(*r) };

	return ptrace(PTRACE_SETREGSET, tid, NT_PRSTATUS, &iov) ? -errno : 0;
}

int xstate_get(pid_t tid, void *buf, size_t *len)
{
	struct iovec iov = { buf, *len };

	if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov))
		return -errno;
	*len = iov.iov_len;
	return 0;
}

int xstate_set(pid_t tid, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, &iov) ? -errno : 0;
}

int sigmask_get(pid_t tid, uint64_t *mask)
{
	return ptrace(PTRACE_GETSIGMASK, tid, sizeof(*mask), mask) ? -errno : 0;
}

int sigmask_set(pid_t tid, uint64_t mask)
{
	return ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask) ? -errno : 0;
}

int remote_read(struct remote *r, unsigned long addr, void *buf, size_t len)
{
	ssize_t n = pread(r->mem, buf, len, addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int remote_write(struct remote *r, unsigned long addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(r->mem, buf, len, addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* A syscall instruction (0f 05: one wherever execution starts at it) in [lo, hi) of r. */
static int syscall_in(struct remote *r, unsigned long lo, unsigned long hi)
{
	unsigned char buf[65536];

	for (unsigned long at = lo; at < hi; at += sizeof(buf) - 1) {
		size_t n = hi - at < sizeof(buf) ? hi - at : sizeof(buf);

		if (remote_read(r, at, buf, n))
			return -EIO;
		for (size_t i = 0; i + 1 < n; i++)
			if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
				r->sysip = at + i;
				return 0;
			}
	}
	return -ENOENT;
}

/*
 * The vdso's syscall instruction; a process that unmapped its vdso has one
 * in its code (an executable mapping: the first 64 MiB of them are looked at).
 */
int remote_find_syscall(struct remote *r, int without_vdso)
{
	unsigned long lo, hi, seen = 0;
	char path[64], line[512], perms[8];
	int err = -ENOENT, pass;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", r->tid);
	for (pass = without_vdso ? 1 : 0; pass < 2 && err; pass++) {
		f = fopen(path, "re");
		if (!f)
			return -errno;
		while (err && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
				continue;
			if (pass == 0 ? !strstr(line, "[vdso]")
				      : perms[2] != 'x' || strstr(line, "[vdso]") || seen > (64u << 20))
				continue;
			seen += hi - lo;
			err = syscall_in(r, lo, hi);
		}
		fclose(f);
	}
	return err;
}

int remote_open(struct remote *r, pid_t tid)
{
	char path[64];
	int err;

	memset(r, 0, sizeof(*r));
	r->tid = tid;
	snprintf(path, sizeof(path), "/proc/%d/mem", tid);
	r->mem = open(path, O_RDWR | O_CLOEXEC);
	if (r->mem < 0)
		return -errno;
	err = regs_get(tid, &r->saved);
	if (!err)
		err = sigmask_get(tid, &r->saved_mask);
	if (!err)
		err = sigmask_set(tid, ~0ull); /* nothing delivered while we work */
	if (!err)
		err = remote_find_syscall(r, 0);
	if (err) {
		close(r->mem);
		r->mem = -1;
	}
	return err;
}

/* Single-step the syscall instruction with these arguments; *child gets a clone's tid. */
static long step_syscall(struct remote *r, long nr, const unsigned long *a, pid_t *child)
{
	struct user_regs_struct regs = r->saved;
	unsigned long msg;
	int status, err;

	r->calls++;
	regs.rip = r->sysip;
	regs.rax = nr;
	regs.orig_rax = -1; /* not in a syscall: nothing to restart */
	regs.rdi = a[0];
	regs.rsi = a[1];
	regs.rdx = a[2];
	regs.r10 = a[3];
	regs.r8 = a[4];
	regs.r9 = a[5];
	err = regs_set(r->tid, &regs);
	if (err)
		return err;
	for (int stops = 0; stops < 4; stops++) {
		if (ptrace(PTRACE_SINGLESTEP, r->tid, 0, 0))
			return -errno;
		err = ptrace_wait(r->tid, &status);
		if (err)
			return err;
		if (!WIFSTOPPED(status))
			return -ESRCH;
		/* a new thread or process on the way out of clone: note it, step on */
		if ((status >> 16) == PTRACE_EVENT_CLONE || (status >> 16) == PTRACE_EVENT_FORK) {
			if (ptrace(PTRACE_GETEVENTMSG, r->tid, 0, &msg))
				return -errno;
			if (child)
				*child = msg;
			continue;
		}
		err = regs_get(r->tid, &regs);
		if (err)
			return err;
		/* a trap that was pending (a stopped process's), before the step: step again */
		if ((status >> 16) == PTRACE_EVENT_STOP && regs.rip == r->sysip)
			continue;
		if (WSTOPSIG(status) != SIGTRAP || regs.rip != r->sysip + 2)
			break;
		return regs.rax;
	}
	pr_debug("thread %d: syscall %ld did not come back (stop %#x at %llx)", r->tid, nr, status,
		 regs.rip);
	return -EFAULT;
}

long remote_syscall(struct remote *r, long nr, unsigned long a1, unsigned long a2,
		    unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	unsigned long a[6] = { a1, a2, a3, a4, a5, a6 };

	return step_syscall(r, nr, a, NULL);
}

long remote_clone3(struct remote *r, unsigned long args, size_t size, pid_t *child)
{
	unsigned long a[6] = { args, size };
	int status, err;
	long ret;

	*child = -1;
	ret = step_syscall(r, SYS_clone3, a, child);
	if (ret < 0 && ret > -4096)
		return ret;
	if (*child < 0)
		return -ECHILD;
	/* attached as we are: it starts with a PTRACE_EVENT_STOP */
	err = ptrace_wait(*child, &status);
	if (err)
		return err;
	if (!WIFSTOPPED(status))
		return -ESRCH;
	return ret;
}

int remote_scratch(struct remote *r, size_t len)
{
	long addr;

	len = (len + 4095) & ~4095ul;
	addr = remote_syscall(r, SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		return addr;
	r->scratch = addr;
	r->scratch_len = len;
	return 0;
}

int remote_close(struct remote *r)
{
	int err = 0;

	if (r->scratch) {
		long ret = remote_syscall(r, SYS_munmap, r->scratch, r->scratch_len, 0, 0, 0, 0);

		if (ret)
			err = ret;
		r->scratch = 0;
	}
	if (regs_set(r->tid, &r->saved) && !err)
		err = -errno;
	if (sigmask_set(r->tid, r->saved_mask) && !err)
		err = -errno;
	if (r->mem >= 0)
		close(r->mem);
	r->mem = -1;
	return err;
}

void remote_forget(struct remote *r)
{
	if (r->mem >= 0)
		close(r->mem);
	r->mem = -1;
}
