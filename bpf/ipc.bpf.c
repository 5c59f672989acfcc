// SPDX-License-Identifier: GPL-2.0-only
/*
 * SysV IPC: the semaphore sets, shared memory segments and message queues
 * an application gets (by creating or opening them), until IPC_RMID.
 */
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define IPC_RMID 0

static __always_inline int ipc_got(struct task_info *t, long ret, struct syscall_args *a,
				   enum appshot_ipc_kind kind, int nargs_size)
{
	struct ipc_key k = {};
	struct ipc_info ii = {};
	struct appshot_event *e;

	if (ret < 0)
		return 0;
	k.aid = t->aid;
	k.kind = kind;
	k.id = ret;
	if (bpf_map_lookup_elem(&ipcs, &k))
		return 0; /* already known: another process of the application got it */
	ii.key = a->a[0];
	ii.creator = t->tgid;
	ii.vcreator = t->vtgid;
	/* semget(key, nsems, flg), shmget(key, size, flg), msgget(key, flg) */
	ii.flags = nargs_size ? a->a[2] : a->a[1];
	ii.size = nargs_size ? a->a[1] : 0;
	bpf_map_update_elem(&ipcs, &k, &ii, BPF_NOEXIST);
	e = ev_reserve(t, EVT_IPC_GET);
	if (e) {
		e->ipc.kind = kind;
		e->ipc.id = k.id;
		e->ipc.info = ii;
		ev_submit(e);
	}
	return 0;
}

static __always_inline int ipc_ctl(struct task_info *t, long ret, struct syscall_args *a,
				   enum appshot_ipc_kind kind, int cmd_arg)
{
	struct ipc_key k = {};
	struct appshot_event *e;
	struct ipc_info *ii;

	/* glibc passes cmd | IPC_64 */
	if (ret < 0 || (a->a[cmd_arg & 3] & 0xff) != IPC_RMID)
		return 0;
	k.aid = t->aid;
	k.kind = kind;
	k.id = a->a[0];
	ii = bpf_map_lookup_elem(&ipcs, &k);
	if (!ii)
		return 0;
	/* A segment still attached lives on, marked, until its last detach. */
	if (kind == IPCK_SHM && ii->nattch > 0)
		ii->state |= IPCS_REMOVED;
	else
		bpf_map_delete_elem(&ipcs, &k);
	e = ev_reserve(t, EVT_IPC_RM);
	if (e) {
		e->ipc.kind = kind;
		e->ipc.id = k.id;
		ev_submit(e);
	}
	return 0;
}

SC_HANDLER(ipc_semget)
{
	return ipc_got(t, ret, a, IPCK_SEM, 1);
}

SC_HANDLER(ipc_shmget)
{
	return ipc_got(t, ret, a, IPCK_SHM, 1);
}

SC_HANDLER(ipc_msgget)
{
	return ipc_got(t, ret, a, IPCK_MSG, 0);
}

/* the cmd is argument 2 of semctl(id, num, cmd), 1 of shmctl and msgctl */
SC_HANDLER(ipc_semctl)
{
	return ipc_ctl(t, ret, a, IPCK_SEM, 2);
}

SC_HANDLER(ipc_shmctl)
{
	return ipc_ctl(t, ret, a, IPCK_SHM, 1);
}

SC_HANDLER(ipc_msgctl)
{
	return ipc_ctl(t, ret, a, IPCK_MSG, 1);
}
