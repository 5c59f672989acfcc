// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracer's two syscall programs. The loader attaches sys_enter and
 * sys_exit to the tracepoints of every syscall include/syscalls.h lists,
 * and they dispatch on the syscall number: two programs to verify and
 * load, not one or two per syscall.
 */
#include "fdinfo.bpf.h"
#include "syscalls.bpf.h"
#include "syscalls.h"
#include <asm/unistd_64.h>

char LICENSE[] SEC("license") = "GPL";

static __always_inline enum appshot_sc_enter enter_of(long nr)
{
	switch (nr) {
#define X(sc, enter, exit)                                                    \
	case __NR_##sc:                                                       \
		return ENTER_##enter;
		APPSHOT_SYSCALLS(X)
#undef X
	}
	return ENTER_none;
}

/*
 * The arguments, from the registers the thread entered the syscall with:
 * the tracepoint's record holds only as many as the syscall takes, and a
 * program that reads past them cannot be attached to it (KERNEL.md).
 */
static __always_inline void args_of(struct task_struct *task, struct syscall_args *a)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(task);

#if defined(__TARGET_ARCH_x86)
	/* the x86-64 syscall convention */
	a->a[0] = r->di;
	a->a[1] = r->si;
	a->a[2] = r->dx;
	a->a[3] = r->r10;
	a->a[4] = r->r8;
	a->a[5] = r->r9;
#else
#error "syscall arguments: this architecture's registers are not known here"
#endif
}

SEC("tracepoint")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	enum appshot_sc_enter what = enter_of(ctx->id);
	struct syscall_args a = {};
	__u32 tid = cur_tid();
	struct task_info *t;

	if (what == ENTER_none)
		return 0;
	t = member(tid);
	if (!t)
		return 0;
	args_of(task, &a);
	switch (what) {
	case ENTER_ioctl:
		if ((__u32)a.a[1] != FIONBIO && (__u32)a.a[1] != FIOASYNC &&
		    (__u32)a.a[1] != FIOCLEX && (__u32)a.a[1] != FIONCLEX)
			return 0;
		break;
	case ENTER_close:
		/* the file it closes, for its exit to clear only that */
		a.a[5] = (__u64)fd_now(task, a.a[0]);
		break;
	case ENTER_mem:
		mem_enter(t);
		break;
	default:
		break;
	}
	bpf_map_update_elem(&syscall_args, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	long nr = ctx->id, ret = ctx->ret;
	struct syscall_args a = {};
	struct task_info *t;

	/* A syscall whose entry keeps arguments, entered before its thread was traced, is not seen. */
	t = enter_of(nr) == ENTER_none ? cur_member() : take_args(&a);
	if (!t)
		return 0;
	switch (nr) {
#define X(sc, enter, exit)                                                    \
	case __NR_##sc:                                                       \
		return exit(t, ret, &a);
		APPSHOT_SYSCALLS(X)
#undef X
	}
	return 0;
}
