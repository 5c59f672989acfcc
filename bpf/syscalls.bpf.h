/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handlers the sys_exit program runs (include/syscalls.h names one per
 * syscall). Each is a global BPF function: the verifier checks it once,
 * not once for every syscall that uses it. t is the calling thread's
 * entry, ret the syscall's result, a the arguments kept at its entry
 * (zeroes for a syscall whose entry keeps nothing).
 */
#ifndef APPSHOT_SYSCALLS_BPF_H
#define APPSHOT_SYSCALLS_BPF_H

#include "common.bpf.h"

#define SC_PROTO(name) int name(struct task_info *t, long ret, struct syscall_args *a)

/*
 * Defines handler name, with the body that follows. The verifier of newer
 * kernels takes a global function's pointer arguments for possibly NULL:
 * the body runs once they are checked.
 */
#define SC_HANDLER(name)                                                      \
	static __always_inline int name##_body(struct task_info *t, long ret,  \
					       struct syscall_args *a);       \
	SC_PROTO(name)                                                        \
	{                                                                     \
		return t && a ? name##_body(t, ret, a) : 0;                   \
	}                                                                     \
	static __always_inline int name##_body(struct task_info *t, long ret,  \
					       struct syscall_args *a)

/* fd.bpf.c */
SC_PROTO(fd_new);
SC_PROTO(fd_pipe);
SC_PROTO(fd_socketpair);
SC_PROTO(fd_recvmsg);
SC_PROTO(fd_recvmmsg);
SC_PROTO(fd_close);
SC_PROTO(fd_close_range);
SC_PROTO(fd_fcntl);
SC_PROTO(fd_ioctl);

/* sock.bpf.c */
SC_PROTO(sock_create);
SC_PROTO(sock_accept);
SC_PROTO(sock_bind);
SC_PROTO(sock_connect);
SC_PROTO(sock_listen);
SC_PROTO(sock_shutdown);

/* mem.bpf.c; mem_enter counts the process's mapping change in flight */
int mem_enter(struct task_info *t);
SC_PROTO(mem_mmap);
SC_PROTO(mem_munmap);
SC_PROTO(mem_mremap);
SC_PROTO(mem_mprotect);
SC_PROTO(mem_brk);
SC_PROTO(mem_shmat);
SC_PROTO(mem_shmdt);

/* ipc.bpf.c */
SC_PROTO(ipc_semget);
SC_PROTO(ipc_shmget);
SC_PROTO(ipc_msgget);
SC_PROTO(ipc_semctl);
SC_PROTO(ipc_shmctl);
SC_PROTO(ipc_msgctl);

#endif /* APPSHOT_SYSCALLS_BPF_H */
