/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The syscalls the tracer follows, in one table: the loader attaches the
 * tracer's two syscall programs to their tracepoints, and those programs
 * dispatch on the syscall number with the same table.
 */
#ifndef APPSHOT_SYSCALLS_H
#define APPSHOT_SYSCALLS_H

/* What sys_enter does for a syscall before its exit. */
enum appshot_sc_enter {
	ENTER_none = 0, /* nothing: no sys_enter program is attached */
	ENTER_keep, /* keep its arguments for sys_exit */
	ENTER_close, /* keep them, and the file the fd holds before it goes */
	ENTER_ioctl, /* keep them for the fd flag requests only */
	ENTER_mem, /* keep them, and count a mapping change in flight */
};

/*
 * X(syscall, enter, exit): syscall by its name in <asm/unistd.h> and in
 * tracefs, what its sys_enter does (ENTER_<enter>) and the handler its
 * sys_exit runs (bpf/syscalls.bpf.h).
 */
#define APPSHOT_SYSCALLS(X)                                                   \
	/* fds made */                                                        \
	X(open, none, fd_new)                                                 \
	X(openat, none, fd_new)                                               \
	X(openat2, none, fd_new)                                              \
	X(creat, none, fd_new)                                                \
	X(open_by_handle_at, none, fd_new)                                    \
	X(dup, none, fd_new)                                                  \
	X(dup2, none, fd_new)                                                 \
	X(dup3, none, fd_new)                                                 \
	X(eventfd, none, fd_new)                                              \
	X(eventfd2, none, fd_new)                                             \
	X(epoll_create, none, fd_new)                                         \
	X(epoll_create1, none, fd_new)                                        \
	X(timerfd_create, none, fd_new)                                       \
	X(signalfd, none, fd_new)                                             \
	X(signalfd4, none, fd_new)                                            \
	X(inotify_init, none, fd_new)                                         \
	X(inotify_init1, none, fd_new)                                        \
	X(fanotify_init, none, fd_new)                                        \
	X(memfd_create, none, fd_new)                                         \
	X(memfd_secret, none, fd_new)                                         \
	X(userfaultfd, none, fd_new)                                          \
	X(pidfd_open, none, fd_new)                                           \
	X(pidfd_getfd, none, fd_new)                                          \
	X(io_uring_setup, none, fd_new)                                       \
	X(perf_event_open, none, fd_new)                                      \
	X(mq_open, none, fd_new)                                              \
	X(fsopen, none, fd_new)                                               \
	X(fsmount, none, fd_new)                                              \
	X(open_tree, none, fd_new)                                            \
	X(fspick, none, fd_new)                                               \
	X(pipe, keep, fd_pipe)                                                \
	X(pipe2, keep, fd_pipe)                                               \
	X(socketpair, keep, fd_socketpair)                                    \
	X(recvmsg, keep, fd_recvmsg)                                          \
	X(recvmmsg, keep, fd_recvmmsg)                                        \
	/* fds changed or closed */                                           \
	X(close, close, fd_close)                                             \
	X(close_range, keep, fd_close_range)                                  \
	X(fcntl, keep, fd_fcntl)                                              \
	X(ioctl, ioctl, fd_ioctl)                                             \
	/* sockets */                                                         \
	X(socket, none, sock_create)                                          \
	X(accept, none, sock_accept)                                          \
	X(accept4, none, sock_accept)                                         \
	X(bind, keep, sock_bind)                                              \
	X(connect, keep, sock_connect)                                        \
	X(listen, keep, sock_listen)                                          \
	X(shutdown, keep, sock_shutdown)                                      \
	/* memory */                                                          \
	X(mmap, mem, mem_mmap)                                                \
	X(munmap, mem, mem_munmap)                                            \
	X(mremap, mem, mem_mremap)                                            \
	X(mprotect, mem, mem_mprotect)                                        \
	X(pkey_mprotect, mem, mem_mprotect)                                   \
	X(brk, mem, mem_brk)                                                  \
	X(shmat, mem, mem_shmat)                                              \
	X(shmdt, mem, mem_shmdt)                                              \
	/* SysV IPC */                                                        \
	X(semget, keep, ipc_semget)                                           \
	X(shmget, keep, ipc_shmget)                                           \
	X(msgget, keep, ipc_msgget)                                           \
	X(semctl, keep, ipc_semctl)                                           \
	X(shmctl, keep, ipc_shmctl)                                           \
	X(msgctl, keep, ipc_msgctl)

#endif /* APPSHOT_SYSCALLS_H */
