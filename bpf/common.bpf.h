/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers every tracer program uses: membership, syscall arguments, events. */
#ifndef APPSHOT_COMMON_BPF_H
#define APPSHOT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define EBADF 9
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-MAX_ERRNO)

static __always_inline __u32 cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline __u32 cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* The first step of every program: is this thread part of an application? */
static __always_inline struct task_info *member(__u32 tid)
{
	return bpf_map_lookup_elem(&tasks, &tid);
}

static __always_inline struct task_info *cur_member(void)
{
	return member(cur_tid());
}

/*
 * sys_enter keeps the first n arguments for sys_exit. n must be the
 * syscall's real argument count or less: reading past it makes the
 * tracepoint refuse the program (KERNEL.md).
 */
static __always_inline int stash_args(struct trace_event_raw_sys_enter *ctx,
				      const int n)
{
	struct syscall_args a = {};
	__u32 tid = cur_tid();

	if (!member(tid))
		return 0;
	if (n > 0)
		a.a[0] = ctx->args[0];
	if (n > 1)
		a.a[1] = ctx->args[1];
	if (n > 2)
		a.a[2] = ctx->args[2];
	if (n > 3)
		a.a[3] = ctx->args[3];
	if (n > 4)
		a.a[4] = ctx->args[4];
	if (n > 5)
		a.a[5] = ctx->args[5];
	bpf_map_update_elem(&syscall_args, &tid, &a, BPF_ANY);
	return 0;
}

/* A sys_enter program that keeps the first n arguments of syscall sc. */
#define ENTER_STASH(sc, n)                                                    \
	SEC("tracepoint/syscalls/sys_enter_" #sc)                             \
	int enter_##sc(struct trace_event_raw_sys_enter *ctx)                 \
	{                                                                     \
		return stash_args(ctx, n);                                    \
	}

/* At sys_exit: the arguments kept at sys_enter, if this thread is traced. */
static __always_inline struct task_info *take_args(struct syscall_args *out)
{
	__u32 tid = cur_tid();
	struct syscall_args *a;
	struct task_info *t;

	t = member(tid);
	if (!t)
		return NULL;
	a = bpf_map_lookup_elem(&syscall_args, &tid);
	if (!a)
		return NULL; /* entered before it was traced */
	__builtin_memcpy(out, a, sizeof(*out));
	bpf_map_delete_elem(&syscall_args, &tid);
	return t;
}

/*
 * The address a kernel pointer holds, as a number: global functions take
 * numbers (older kernels accept no kernel pointer there), and the verifier
 * keeps a pointer's type through a cast but not through a copy.
 */
static __always_inline __u64 addr_of(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

static __always_inline struct scratch *scratch_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* The pid number of a task at one level of pid namespaces, 0 if not visible. */
static __always_inline __u32 pid_at_level(struct task_struct *task, __u32 level)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct upid up = {};
	void *numbers;

	if (!pid || level > BPF_CORE_READ(pid, level))
		return 0;
	numbers = (void *)pid + bpf_core_field_offset(struct pid, numbers);
	bpf_probe_read_kernel(&up, sizeof(up),
			      numbers + (level & 31) * bpf_core_type_size(struct upid));
	return up.nr;
}

static __always_inline __u32 app_level(__u32 aid)
{
	struct app_info *app = bpf_map_lookup_elem(&apps, &aid);

	return app ? app->pidns_level : 0;
}

/*
 * Fill a task_info for a task of application aid. Threads are told from
 * processes by tid != tgid, which holds from the moment the task exists.
 */
static __always_inline void task_fill(struct task_info *ti, struct task_struct *task,
				      __u32 aid, __u32 creator)
{
	__u32 level = app_level(aid);
	__u32 pid = BPF_CORE_READ(task, pid), tgid = BPF_CORE_READ(task, tgid);

	ti->aid = aid;
	ti->tgid = tgid;
	ti->vtid = pid_at_level(task, level);
	ti->vtgid = pid_at_level(BPF_CORE_READ(task, group_leader), level);
	ti->creator = creator;
	ti->flags = pid != tgid ? TASKF_THREAD : 0;
	ti->start_ns = BPF_CORE_READ(task, start_time);
	ti->exit_code = 0;
	BPF_CORE_READ_STR_INTO(&ti->comm, task, comm);
}

/*
 * An event for the application's watcher, if it has one: without a watcher
 * nothing is reserved. A full ring counts the event as lost.
 */
static __always_inline struct appshot_event *ev_reserve(const struct task_info *t,
							 enum appshot_event_type type)
{
	struct appshot_event *e;
	struct app_info *app;
	__u32 aid = t->aid;
	void *ring;

	ring = bpf_map_lookup_elem(&rings, &aid);
	if (!ring)
		return NULL;
	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		app = bpf_map_lookup_elem(&apps, &aid);
		if (app)
			__sync_fetch_and_add(&app->lost, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->type = type;
	e->aid = aid;
	e->tgid = t->tgid;
	e->vtgid = t->vtgid;
	e->tid = cur_tid();
	e->vtid = t->vtid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void ev_submit(struct appshot_event *e)
{
	__u32 aid = e->aid;
	struct app_info *app = bpf_map_lookup_elem(&apps, &aid);

	if (app)
		__sync_fetch_and_add(&app->events, 1);
	bpf_ringbuf_submit(e, 0);
}

#endif /* APPSHOT_COMMON_BPF_H */
