/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pid 1 of an application's own pid namespace (appshot run and restore):
 * it reaps what ends up with it and passes signals to the application's
 * main process, and leaves, with that process's status, when no process is
 * left.
 */
#ifndef APPSHOT_APPINIT_H
#define APPSHOT_APPINIT_H

#include <sys/types.h>

/* Block every signal: init takes them with sigwaitinfo. Before it forks the main process. */
void appinit_block_signals(void);
/* The reaper loop, once the main process (pid in init's namespace) exists. */
void __attribute__((noreturn)) appinit_loop(pid_t main);
/* Default dispositions and an empty mask, for a child about to become the application. */
void reset_signals(void);
/*
 * In a process forked from appshot that does not exec: close appshot's own
 * fds (all close-on-exec: BPF maps, the registry lock) but keep1 and keep2.
 * What the application inherits from its caller stays.
 */
int appinit_close_own_fds(int keep1, int keep2);
/* Close every fd from `from` on but keep (what an application is not given). */
int appinit_close_fds_from(int from, int keep);
/* An exit status as a shell reports it: the code, or 128 + the signal. */
int wait_status_code(int status);

#endif /* APPSHOT_APPINIT_H */
