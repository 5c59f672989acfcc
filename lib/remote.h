/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Threads under ptrace: stopping them, their registers, and making a
 * stopped thread run system calls for us ("remote" syscalls), from a
 * syscall instruction of its vdso, single-stepped, with every signal
 * blocked meanwhile so that none is delivered or lost.
 */
#ifndef APPSHOT_REMOTE_H
#define APPSHOT_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/*
 * Seize a thread and stop it (it may be frozen). A thread of a stopped
 * process (SIGSTOP, job control) is brought out of its group stop, and
 * *stopped (if given) set to the signal that had stopped it.
 */
int ptrace_seize_stop(pid_t tid, int *stopped);
/* Wait for the next stop of a traced thread; its status in *status. */
int ptrace_wait(pid_t tid, int *status);
int ptrace_detach(pid_t tid);

int regs_get(pid_t tid, struct user_regs_struct *r);
int regs_set(pid_t tid, const struct user_regs_struct *r);
/* NT_X86_XSTATE: *len is the buffer's size in, the state's size out. */
int xstate_get(pid_t tid, void *buf, size_t *len);
int xstate_set(pid_t tid, const void *buf, size_t len);
int sigmask_get(pid_t tid, uint64_t *mask);
int sigmask_set(pid_t tid, uint64_t mask);

struct remote {
	pid_t tid;
	int mem; /* /proc/TID/mem */
	struct user_regs_struct saved; /* registers put back at the end */
	uint64_t saved_mask; /* signal mask put back at the end */
	unsigned long sysip; /* a syscall instruction in the thread's vdso */
	unsigned long scratch; /* a page of ours in the thread's memory, or 0 */
	size_t scratch_len;
	unsigned long calls; /* syscalls run so far */
};

/* Start working on a stopped thread: save its state, block its signals. */
int remote_open(struct remote *r, pid_t tid);
/* Run syscall nr in the thread: its result, or -errno (also for ptrace failures). */
long remote_syscall(struct remote *r, long nr, unsigned long a1, unsigned long a2,
		    unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6);
/*
 * clone3(args, size) run by the thread (it must be seized with
 * PTRACE_O_TRACECLONE): the new task's id as the thread sees it, and in
 * *child as we do; the new task is left in its first ptrace stop.
 */
long remote_clone3(struct remote *r, unsigned long args, size_t size, pid_t *child);
/* Map len bytes of scratch memory in the thread (read-write, private). */
int remote_scratch(struct remote *r, size_t len);
/* The thread's memory through /proc/TID/mem (which ignores page protections). */
int remote_write(struct remote *r, unsigned long addr, const void *buf, size_t len);
int remote_read(struct remote *r, unsigned long addr, void *buf, size_t len);
/*
 * Find a syscall instruction again: the vdso's, or (without_vdso, or when
 * the process has none) one in its code.
 */
int remote_find_syscall(struct remote *r, int without_vdso);
/* Unmap the scratch, put registers and mask back; the thread stays stopped. */
int remote_close(struct remote *r);
/* Give up without putting anything back (the thread is about to be replaced or killed). */
void remote_forget(struct remote *r);

#endif /* APPSHOT_REMOTE_H */
