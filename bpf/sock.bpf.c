// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sockets: after each syscall that creates a socket or changes its
 * addresses or state, the socket's entry is read again from the kernel's
 * struct sock (so autobind, ephemeral ports and accepted peers are exact).
 */
#include "fdinfo.bpf.h"
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define EINPROGRESS 115

/* The socket of fd after a syscall changed it: its entries, and the event. */
__noinline int sock_event(struct task_info *t, int fd, enum appshot_sock_op op)
{
	struct appshot_event *e;
	struct sock_info *si;
	struct file_info *fi;
	struct sock_key k;

	if (!t)
		return 0;
	fi = fd_refresh(t, fd);
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
SC_HANDLER(sock_create)
{
	return ret < 0 ? 0 : sock_event(t, ret, SOCKOP_CREATE);
}

SC_HANDLER(sock_accept)
{
	return ret < 0 ? 0 : sock_event(t, ret, SOCKOP_ACCEPT);
}

/* Syscalls that change the socket of their first argument. */
SC_HANDLER(sock_bind)
{
	return ret != 0 ? 0 : sock_event(t, a->a[0], SOCKOP_BIND);
}

SC_HANDLER(sock_connect)
{
	return ret != 0 && ret != -EINPROGRESS ? 0 : sock_event(t, a->a[0], SOCKOP_CONNECT);
}

SC_HANDLER(sock_listen)
{
	return ret != 0 ? 0 : sock_event(t, a->a[0], SOCKOP_LISTEN);
}

SC_HANDLER(sock_shutdown)
{
	return ret != 0 ? 0 : sock_event(t, a->a[0], SOCKOP_SHUTDOWN);
}

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
