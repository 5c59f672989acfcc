// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: an application holding one thing appshot cannot save
 * yet, named by MODE. Its snapshot must fail naming it and leave it
 * running untouched: after the failed attempt it must answer the harness
 * (neither frozen nor stopped), what it holds is still there and its
 * memory is as it was.
 *
 *   io_uring   an io_uring instance
 *   ptmx       a pseudo-terminal master (/dev/ptmx)
 *   procfile   a file of its own in /proc (/proc/self/status)
 *   sem        a SysV semaphore set of the machine's IPC namespace, changed
 *   msg        a SysV message queue of the machine's IPC namespace, sent to
 *   pkey       memory with a protection key (where the CPU has them)
 *   sockfilter a UDP socket with a socket filter (classic BPF)
 *   multicast  a UDP socket that joined a multicast group (on lo)
 *   inflight   a pipe's end in flight in a unix socket, its sender's fd closed
 *   inflight-epoll  an epoll instance in flight, its sender holding it
 *
 * usage: rs_refused MODE
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>

#include "wl.h"

static int semid = -1, msqid = -1;

static void remove_ipc(void)
{
	if (semid >= 0)
		semctl(semid, 0, IPC_RMID);
	if (msqid >= 0)
		msgctl(msqid, IPC_RMID, NULL);
	semid = msqid = -1; /* once: the ids may be another's after */
}

/* What MODE holds: an fd (or id) to find again after the failed snapshot. */
static int hold(const char *mode)
{
	if (!strcmp(mode, "io_uring")) {
		struct io_uring_params params = { 0 };

		return syscall(SYS_io_uring_setup, 8, &params);
	}
	if (!strcmp(mode, "ptmx"))
		return open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (!strcmp(mode, "procfile"))
		return open("/proc/self/status", O_RDONLY);
	if (!strcmp(mode, "sem")) {
		struct sembuf up = { .sem_num = 1, .sem_op = 1 };

		atexit(remove_ipc);
		semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
		WL_CHECK(semid >= 0 && semop(semid, &up, 1) == 0);
		return semid;
	}
	if (!strcmp(mode, "msg")) {
		struct {
			long type;
			char text[8];
		} m = { 1, "hello" };

		atexit(remove_ipc);
		msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		WL_CHECK(msqid >= 0 && msgsnd(msqid, &m, sizeof(m.text), 0) == 0);
		return msqid;
	}
	if (!strcmp(mode, "pkey")) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		long key = syscall(SYS_pkey_alloc, 0, 0);

		if (key < 0)
			return -2; /* no protection keys here: the test skips */
		WL_CHECK(p != MAP_FAILED);
		WL_CHECK(syscall(SYS_pkey_mprotect, p, 4096, PROT_READ | PROT_WRITE, key) == 0);
		return key;
	}
	if (!strcmp(mode, "sockfilter")) {
		struct sock_filter accept_all = BPF_STMT(BPF_RET | BPF_K, 0xffff);
		struct sock_fprog prog = { .len = 1, .filter = &accept_all };
		int sk = socket(AF_INET, SOCK_DGRAM, 0);

		WL_CHECK(sk >= 0 && setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
					       sizeof(prog)) == 0);
		return sk;
	}
	if (!strcmp(mode, "inflight") || !strcmp(mode, "inflight-epoll")) {
		int sp[2], pp[2], ep = epoll_create1(0);
		char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov = { "x", 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		int epoll = !strcmp(mode, "inflight-epoll");

		WL_CHECK(ep >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 && pipe(pp) == 0);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), epoll ? &ep : &pp[0], sizeof(int));
		WL_CHECK(sendmsg(sp[0], &mh, 0) == 1);
		if (!epoll)
			close(pp[0]); /* in flight only */
		return sp[1];
	}
	if (!strcmp(mode, "multicast")) {
		struct ip_mreqn m = { .imr_multiaddr.s_addr = htonl(0xe00000fb), .imr_ifindex = 1 };
		int sk = socket(AF_INET, SOCK_DGRAM, 0);

		WL_CHECK(sk >= 0 && setsockopt(sk, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) == 0);
		return sk;
	}
	wl_die("unknown mode %s", mode);
}

/* Is it still held? */
static int held(const char *mode, int h)
{
	if (!strcmp(mode, "sem"))
		return semctl(h, 1, GETVAL) == 1;
	if (!strcmp(mode, "msg")) {
		struct msqid_ds ds;

		return msgctl(h, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1;
	}
	if (!strcmp(mode, "pkey"))
		return 1;
	return fcntl(h, F_GETFD) >= 0;
}

int main(int argc, char **argv)
{
	volatile uint64_t sum = 0;
	const char *mode = argc > 1 ? argv[1] : "io_uring";
	int h;

	wl_init();
	h = hold(mode);
	WL_CHECK(h >= 0 || h == -2);
	for (uint64_t i = 0; i < 1000000; i++)
		sum += i;
	wl_checkpoint("{\"cp\":1,\"pid\":%d,\"held\":%d,\"unsupported\":%s}", (int)getpid(), h,
		      h == -2 ? "true" : "false");
	wl_expect(h == -2 || held(mode, h), "what it held (%s) is gone", mode);
	wl_expect(sum == 499999500000ull, "its memory changed");
	for (uint64_t i = 0; i < 1000000; i++)
		sum += i;
	wl_expect(sum == 2 * 499999500000ull, "it cannot compute");
	/* gone before its last word: the harness kills it once it has that */
	remove_ipc();
	return wl_result(2);
}
