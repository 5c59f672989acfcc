// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sockets: after each syscall that creates a socket or changes its
 * addresses or state, the socket's entry is read again from the kernel's
 * struct sock (so autobind, ephemeral ports and accepted peers are exact).
 */
#include "fdinfo.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define EINPROGRESS 115

static __always_inline int sock_event(struct task_info *t, int fd, enum appshot_sock_op op)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct appshot_event *e;
	struct sock_info *si;
	struct file_info *fi;
	struct sock_key k;

	fi = fd_sync(task, t->aid, t->tgid, fd);
	if (!fi || fi->kind != FDK_SOCKET)
		return 0;
	e = ev_reserve(t, EVT_SOCK);
	if (!e)
		return 0;
	e->sock.fd = fd;
	e->sock.op = op;
	e->sock.ino = fi->ino;
	k.aid = t->aid;
	k.pad = 0;
	k.ino = fi->ino;
	si = bpf_map_lookup_elem(&socks, &k);
	if (si)
		__builtin_memcpy(&e->sock.info, si, sizeof(*si));
	ev_submit(e);
	return 0;
}

/* Syscalls whose result is a new socket fd. */
#define NEW_SOCK_EXIT(sc, op)                                                 \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                              \
	int exit_##sc(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		struct task_info *t = cur_member();                           \
		if (!t || ctx->ret < 0)                                       \
			return 0;                                             \
		return sock_event(t, ctx->ret, op);                           \
	}

NEW_SOCK_EXIT(socket, SOCKOP_CREATE)
NEW_SOCK_EXIT(accept, SOCKOP_ACCEPT)
NEW_SOCK_EXIT(accept4, SOCKOP_ACCEPT)

/* Syscalls that change the socket of their first argument. */
#define SOCK_CHANGE(sc, nargs, op, ok)                                        \
	ENTER_STASH(sc, nargs)                                                \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                              \
	int exit_##sc(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		struct syscall_args a;                                        \
		struct task_info *t = take_args(&a);                          \
		long ret = ctx->ret;                                          \
		if (!t || !(ok))                                              \
			return 0;                                             \
		return sock_event(t, a.a[0], op);                             \
	}

SOCK_CHANGE(bind, 1, SOCKOP_BIND, ret == 0)
SOCK_CHANGE(connect, 1, SOCKOP_CONNECT, ret == 0 || ret == -EINPROGRESS)
SOCK_CHANGE(listen, 1, SOCKOP_LISTEN, ret == 0)
SOCK_CHANGE(shutdown, 1, SOCKOP_SHUTDOWN, ret == 0)

/*
 * TCP state changes the kernel makes on its own: a non-blocking connect
 * completing, the peer closing, a reset. The tracepoint fires before
 * sk_state is written, so the new state is taken from it.
 */
SEC("tracepoint/sock/inet_sock_set_state")
int on_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct sock_info *si;
	struct sock_key *k;

	k = bpf_map_lookup_elem(&sk_socks, &sk);
	if (!k)
		return 0;
	si = bpf_map_lookup_elem(&socks, k);
	if (si && si->sk == sk)
		si->state = ctx->newstate;
	return 0;
}
