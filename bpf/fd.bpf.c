// SPDX-License-Identifier: GPL-2.0-only
/*
 * File descriptors: every syscall that makes, changes or closes an fd makes
 * the fd table entry say what the kernel's fd table holds once it returns.
 */
#include "fdinfo.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define F_DUPFD 0
#define F_SETFD 2
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451
#define FIONBIO 0x5421
#define FIOASYNC 0x5452
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define SCM_MAX_FDS 16

static __always_inline void emit_fd(struct task_info *t, enum appshot_event_type type,
				    int fd, const struct file_info *fi)
{
	struct appshot_event *e = ev_reserve(t, type);

	if (!e)
		return;
	e->fd.fd = fd;
	if (fi)
		__builtin_memcpy(&e->fd.info, fi, sizeof(*fi));
	ev_submit(e);
}

static __always_inline int new_fd(long ret)
{
	struct task_info *t;

	if (ret < 0)
		return 0;
	t = cur_member();
	if (!t)
		return 0;
	emit_fd(t, EVT_FD_OPEN, ret,
		fd_sync(bpf_get_current_task_btf(), t->aid, t->tgid, ret));
	return 0;
}

#define NEW_FD_EXIT(sc)                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                              \
	int exit_##sc(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		return new_fd(ctx->ret);                                      \
	}

NEW_FD_EXIT(open)
NEW_FD_EXIT(openat)
NEW_FD_EXIT(openat2)
NEW_FD_EXIT(creat)
NEW_FD_EXIT(open_by_handle_at)
NEW_FD_EXIT(dup)
NEW_FD_EXIT(dup2)
NEW_FD_EXIT(dup3)
NEW_FD_EXIT(eventfd)
NEW_FD_EXIT(eventfd2)
NEW_FD_EXIT(epoll_create)
NEW_FD_EXIT(epoll_create1)
NEW_FD_EXIT(timerfd_create)
NEW_FD_EXIT(signalfd)
NEW_FD_EXIT(signalfd4)
NEW_FD_EXIT(inotify_init)
NEW_FD_EXIT(inotify_init1)
NEW_FD_EXIT(fanotify_init)
NEW_FD_EXIT(memfd_create)
NEW_FD_EXIT(memfd_secret)
NEW_FD_EXIT(userfaultfd)
NEW_FD_EXIT(pidfd_open)
NEW_FD_EXIT(pidfd_getfd)
NEW_FD_EXIT(io_uring_setup)
NEW_FD_EXIT(perf_event_open)
NEW_FD_EXIT(mq_open)
NEW_FD_EXIT(fsopen)
NEW_FD_EXIT(fsmount)
NEW_FD_EXIT(open_tree)
NEW_FD_EXIT(fspick)

/* ---- close ----------------------------------------------------------- */

/* close keeps, besides its fd, the file it is closing: a.a[5]. */
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_args a = {};
	__u32 tid = cur_tid();

	if (!member(tid))
		return 0;
	a.a[0] = ctx->args[0];
	a.a[5] = (__u64)fd_now(bpf_get_current_task_btf(), a.a[0]);
	bpf_map_update_elem(&syscall_args, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_close")
int exit_close(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_args a;
	struct task_info *t = take_args(&a);

	if (!t || ctx->ret == -EBADF)
		return 0;
	/* close() frees the fd even when it reports an error other than EBADF. */
	fd_clear(t->aid, t->tgid, a.a[0], a.a[5]);
	emit_fd(t, EVT_FD_CLOSE, a.a[0], NULL);
	return 0;
}

struct range_ctx {
	struct task_struct *task;
	__u32 aid, tgid, first;
};

static long range_cb(__u32 i, struct range_ctx *c)
{
	struct fd_key k = { .tgid = c->tgid, .fd = c->first + i };

	if (bpf_map_lookup_elem(&fds, &k))
		fd_sync(c->task, c->aid, c->tgid, c->first + i);
	return 0;
}

ENTER_STASH(close_range, 3)

SEC("tracepoint/syscalls/sys_exit_close_range")
int exit_close_range(struct trace_event_raw_sys_exit *ctx)
{
	struct range_ctx c = { .task = bpf_get_current_task_btf() };
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	struct fdt_view v;
	__u64 first = (__u32)a.a[0], last = (__u32)a.a[1];

	if (!t || ctx->ret != 0 || fdt_of(c.task, &v))
		return 0;
	/* Entries exist only for fds that were inside the table. */
	if (last >= v.max_fds)
		last = v.max_fds - 1;
	if (first > last)
		return 0;
	c.aid = t->aid;
	c.tgid = t->tgid;
	c.first = first;
	bpf_loop(last - first + 1 < APPSHOT_FD_WALK_MAX ? last - first + 1 : APPSHOT_FD_WALK_MAX,
		 range_cb, &c, 0);
	return 0;
}

/* ---- flags: fcntl and ioctl ------------------------------------------ */

/*
 * File status flags (F_SETFL, FIONBIO) belong to the open file, shared by
 * every fd that refers to it: describing the file again updates them all.
 */
static __always_inline void sync_file_flags(struct task_info *t, int fd)
{
	fd_sync(bpf_get_current_task_btf(), t->aid, t->tgid, fd);
}

ENTER_STASH(fcntl, 3)

SEC("tracepoint/syscalls/sys_exit_fcntl")
int exit_fcntl(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_args a;
	struct task_info *t = take_args(&a);

	if (!t || ctx->ret < 0)
		return 0;
	switch ((__u32)a.a[1]) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return new_fd(ctx->ret);
	case F_SETFD:
		fd_sync(bpf_get_current_task_btf(), t->aid, t->tgid, a.a[0]);
		break;
	case F_SETFL:
		sync_file_flags(t, a.a[0]);
		break;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int enter_ioctl(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = ctx->args[1];

	if (cmd != FIONBIO && cmd != FIOASYNC && cmd != FIOCLEX && cmd != FIONCLEX)
		return 0;
	return stash_args(ctx, 3);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int exit_ioctl(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_args a;
	struct task_info *t = take_args(&a);

	if (!t || ctx->ret < 0)
		return 0;
	if ((__u32)a.a[1] == FIOCLEX || (__u32)a.a[1] == FIONCLEX)
		fd_sync(bpf_get_current_task_btf(), t->aid, t->tgid, a.a[0]);
	else
		sync_file_flags(t, a.a[0]);
	return 0;
}

/* ---- pipes ----------------------------------------------------------- */

static __always_inline int fd_pair(struct trace_event_raw_sys_exit *ctx, __u64 uptr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	int pair[2] = { -1, -1 };
	struct task_info *t;

	if (ctx->ret != 0 || !uptr || bpf_probe_read_user(pair, sizeof(pair), (void *)uptr))
		return 0;
	t = cur_member();
	if (!t)
		return 0;
	emit_fd(t, EVT_FD_OPEN, pair[0], fd_sync(task, t->aid, t->tgid, pair[0]));
	emit_fd(t, EVT_FD_OPEN, pair[1], fd_sync(task, t->aid, t->tgid, pair[1]));
	return 0;
}

/* Syscalls that write two new fds into an int[2] given as argument arg. */
#define FD_PAIR_PROGS(sc, nargs, arg)                                         \
	ENTER_STASH(sc, nargs)                                                \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                              \
	int exit_##sc(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		struct syscall_args a;                                        \
		if (!take_args(&a))                                           \
			return 0;                                             \
		return fd_pair(ctx, a.a[arg]);                                \
	}

FD_PAIR_PROGS(pipe, 1, 0)
FD_PAIR_PROGS(pipe2, 2, 0)
FD_PAIR_PROGS(socketpair, 4, 3)

/* ---- fds received over unix sockets (SCM_RIGHTS) --------------------- */

struct scm_ctx {
	struct task_struct *task;
	struct task_info *t;
	__u32 n;
	int fd[SCM_MAX_FDS];
};

static long scm_fd_cb(__u32 i, struct scm_ctx *c)
{
	int fd = c->fd[i & (SCM_MAX_FDS - 1)];

	emit_fd(c->t, EVT_FD_OPEN, fd, fd_sync(c->task, c->t->aid, c->t->tgid, fd));
	return 0;
}

/*
 * The fds a received message installed: the first SCM_RIGHTS control
 * message of a msghdr in user memory (the kernel has set msg_controllen to
 * what it wrote). At most SCM_MAX_FDS of them.
 */
static __always_inline void scm_rights(struct task_info *t, __u64 umsg)
{
	struct scm_ctx c = { .task = bpf_get_current_task_btf(), .t = t };
	struct {
		__u64 len;
		__s32 level;
		__s32 type;
	} h;
	__u64 ctl = 0, ctllen = 0, off = 0;

	/* struct user_msghdr: msg_control at 32, msg_controllen at 40 */
	bpf_probe_read_user(&ctl, sizeof(ctl), (void *)umsg + 32);
	bpf_probe_read_user(&ctllen, sizeof(ctllen), (void *)umsg + 40);
	if (!ctl)
		return;
	for (int i = 0; i < 4; i++) {
		if (off + sizeof(h) > ctllen || bpf_probe_read_user(&h, sizeof(h), (void *)ctl + off))
			return;
		if (h.len < sizeof(h))
			return;
		if (h.level == SOL_SOCKET && h.type == SCM_RIGHTS) {
			c.n = (h.len - sizeof(h)) / sizeof(int);
			if (c.n > SCM_MAX_FDS)
				c.n = SCM_MAX_FDS;
			bpf_probe_read_user(c.fd, sizeof(c.fd), (void *)ctl + off + sizeof(h));
			bpf_loop(c.n, scm_fd_cb, &c, 0);
			return;
		}
		off += (h.len + 7) & ~7ULL;
	}
}

ENTER_STASH(recvmsg, 3)

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_args a;
	struct task_info *t = take_args(&a);

	if (t && ctx->ret >= 0)
		scm_rights(t, a.a[1]);
	return 0;
}

struct mmsg_ctx {
	struct task_info *t;
	__u64 vec;
};

static long mmsg_cb(__u32 i, struct mmsg_ctx *c)
{
	scm_rights(c->t, c->vec + i * 64); /* sizeof(struct mmsghdr) */
	return 0;
}

ENTER_STASH(recvmmsg, 5)

SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int exit_recvmmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	struct mmsg_ctx c;

	if (!t || ctx->ret <= 0)
		return 0;
	c.t = t;
	c.vec = a.a[1];
	bpf_loop(ctx->ret < 64 ? ctx->ret : 64, mmsg_cb, &c, 0);
	return 0;
}
