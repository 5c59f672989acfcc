// SPDX-License-Identifier: GPL-2.0-only
/*
 * A workload that holds one of everything the tracer follows: children, a
 * double-forked setsid daemon, a zombie, threads, files of every kind,
 * pipes and sockets (one fd passed with SCM_RIGHTS), SysV semaphores,
 * shared memory and a message queue, and memory mapped, split, moved and
 * re-protected. It reports at three checkpoints what it made; the harness
 * compares that and /proc with what appshot-trace status says.
 *
 * usage: trace_workload DIR    (DIR: an empty directory for its files)
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "wl.h"

#define PG 4096UL

static int thread_pipe[2][2];

static void *thread_main(void *arg)
{
	long i = (long)arg;
	char c;

	/* Block until told to end. */
	if (read(thread_pipe[i][0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static int tcp_listener(int family, const char *addr, int *port)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	}
	if (bind(fd, (void *)&ss, len) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	getsockname(fd, (void *)&ss, &len);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = {}, data = 'f';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			      .msg_controllen = sizeof(buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	WL_CHECK(sendmsg(sock, &msg, 0) == 1);
}

static int recv_fd(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))] = {}, data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			      .msg_controllen = sizeof(buf) };
	int fd;

	WL_CHECK(recvmsg(sock, &msg, 0) == 1);
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

/* Wait until child pid has exited, without reaping it. */
static void wait_exited(pid_t pid)
{
	siginfo_t si;

	WL_CHECK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
}

int main(int argc, char **argv)
{
	char path[4096], sun_path[108], maps_json[2048];
	int f_append, dfd, devnull, gone, fifo, memfd, efd, epfd, tfd, sfd, ifd, pidfd;
	int tcp, tcp6, tcp6_port = 0, tcp_port, cli, srv, udp, sp[2], ulisten, udgram, passed;
	int p1[2], dpipe[2], sem, shm, msq, mapped, log_fd;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	struct itimerspec its = { .it_value = { .tv_sec = 3600 } };
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t th[2];
	pid_t c1, c2, daemon_pid, mid, zombie;
	char *a, *b, *c, *fm, *shm_addr;
	struct { long type; char text[16]; } msg = { 7, "hello" };
	socklen_t slen;
	sigset_t mask;
	void *brk0;
	char x = 'x';

	if (argc != 2)
		wl_die("usage: trace_workload DIR");
	wl_init();
	snprintf(path, sizeof(path), "%s/workload.log", argv[1]);
	log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	WL_CHECK(log_fd >= 0);
	dup2(log_fd, 1);
	dup2(log_fd, 2);
	close(log_fd);

	/* ---- checkpoint 1: everything made ---- */
	snprintf(path, sizeof(path), "%s/log", argv[1]);
	WL_CHECK((f_append = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0);
	WL_CHECK(write(f_append, "x", 1) == 1);
	WL_CHECK((dfd = open(argv[1], O_RDONLY | O_DIRECTORY)) >= 0);
	WL_CHECK((devnull = open("/dev/null", O_RDWR)) >= 0);
	snprintf(path, sizeof(path), "%s/gone", argv[1]);
	WL_CHECK((gone = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
	WL_CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/fifo", argv[1]);
	WL_CHECK(mkfifo(path, 0600) == 0);
	WL_CHECK((fifo = open(path, O_RDWR)) >= 0);
	WL_CHECK((memfd = memfd_create("wl-memfd", 0)) >= 0);
	WL_CHECK(ftruncate(memfd, PG) == 0);
	WL_CHECK((efd = eventfd(0, EFD_NONBLOCK)) >= 0);
	WL_CHECK((epfd = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	WL_CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) == 0);
	WL_CHECK((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) >= 0);
	WL_CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	WL_CHECK((sfd = signalfd(-1, &mask, 0)) >= 0);
	WL_CHECK((ifd = inotify_init1(0)) >= 0);
	WL_CHECK(inotify_add_watch(ifd, argv[1], IN_CREATE) >= 0);
	WL_CHECK((pidfd = syscall(SYS_pidfd_open, getpid(), 0)) >= 0);

	WL_CHECK((tcp = tcp_listener(AF_INET, "127.0.0.1", &tcp_port)) >= 0);
	tcp6 = tcp_listener(AF_INET6, "::1", &tcp6_port); /* no IPv6: -1 */
	WL_CHECK((cli = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(tcp_port);
	WL_CHECK(connect(cli, (void *)&sa, sizeof(sa)) == 0);
	WL_CHECK((srv = accept(tcp, NULL, NULL)) >= 0);
	WL_CHECK((udp = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	sa.sin_port = 0;
	WL_CHECK(bind(udp, (void *)&sa, sizeof(sa)) == 0);
	WL_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	WL_CHECK((ulisten = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	snprintf(sun_path, sizeof(sun_path), "appshot-wl-%d", (int)getpid());
	memcpy(su.sun_path + 1, sun_path, strlen(sun_path));
	WL_CHECK(bind(ulisten, (void *)&su, offsetof(struct sockaddr_un, sun_path) + 1 +
						strlen(sun_path)) == 0);
	WL_CHECK(listen(ulisten, 4) == 0);
	WL_CHECK((udgram = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0);
	memset(su.sun_path, 0, sizeof(su.sun_path));
	snprintf(su.sun_path, sizeof(su.sun_path), "%s/sock", argv[1]);
	WL_CHECK(bind(udgram, (void *)&su, sizeof(su)) == 0);
	send_fd(sp[0], devnull);
	passed = recv_fd(sp[1]);

	WL_CHECK((sem = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600)) >= 0);
	WL_CHECK((shm = shmget(IPC_PRIVATE, 16 * PG, IPC_CREAT | 0640)) >= 0);
	WL_CHECK((shm_addr = shmat(shm, NULL, 0)) != (void *)-1);
	WL_CHECK((msq = msgget(0x5157, IPC_CREAT | 0600)) >= 0);
	WL_CHECK(msgsnd(msq, &msg, sizeof(msg.text), 0) == 0);

	/* 16 pages, a 2-page hole at 4, the first page read-only: three mappings */
	a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(a != MAP_FAILED);
	WL_CHECK(munmap(a + 4 * PG, 2 * PG) == 0);
	WL_CHECK(mprotect(a, PG, PROT_READ) == 0);
	b = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(b != MAP_FAILED);
	snprintf(path, sizeof(path), "%s/mapped", argv[1]);
	WL_CHECK((mapped = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
	WL_CHECK(ftruncate(mapped, 4 * PG) == 0);
	fm = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, mapped, 0);
	WL_CHECK(fm != MAP_FAILED);
	WL_CHECK(mprotect(fm + PG, PG, PROT_READ | PROT_WRITE) == 0);
	c = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(c != MAP_FAILED);
	c[0] = 1;
	c = mremap(c, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
	WL_CHECK(c != MAP_FAILED);
	WL_CHECK(mmap(NULL, PG, PROT_READ, MAP_SHARED, memfd, 0) != MAP_FAILED);
	brk0 = sbrk(0);
	WL_CHECK(sbrk(64 * PG) != (void *)-1);

	for (long i = 0; i < 2; i++) {
		WL_CHECK(pipe(thread_pipe[i]) == 0);
		WL_CHECK(pthread_create(&th[i], NULL, thread_main, (void *)i) == 0);
	}
	WL_CHECK(pipe(p1) == 0);
	c1 = fork();
	WL_CHECK(c1 >= 0);
	if (c1 == 0) {
		snprintf(path, sizeof(path), "%s/c1.txt", argv[1]);
		WL_CHECK(open(path, O_RDWR | O_CREAT, 0600) >= 0);
		close(p1[1]);
		if (read(p1[0], &x, 1) < 0)
			_exit(1);
		_exit(0);
	}
	/* The daemon: fork, setsid, fork again; the middle one leaves at once. */
	WL_CHECK(pipe(dpipe) == 0);
	mid = fork();
	WL_CHECK(mid >= 0);
	if (mid == 0) {
		setsid();
		daemon_pid = fork();
		if (daemon_pid == 0) {
			daemon_pid = getpid();
			if (write(dpipe[1], &daemon_pid, sizeof(daemon_pid)) < 0)
				_exit(1);
			for (;;)
				pause();
		}
		_exit(daemon_pid > 0 ? 0 : 1);
	}
	WL_CHECK(waitpid(mid, NULL, 0) == mid);
	WL_CHECK(read(dpipe[0], &daemon_pid, sizeof(daemon_pid)) == sizeof(daemon_pid));

	snprintf(maps_json, sizeof(maps_json),
		 "[{\"start\":%lu,\"end\":%lu,\"prot\":\"r--p\"},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-p\"},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-p\"},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-s\"},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"r--p\",\"pgoff\":0},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-p\",\"pgoff\":1},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"r--p\",\"pgoff\":2},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-p\"},"
		 "{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-s\",\"kind\":\"sysv-shm\",\"shmid\":%d}]",
		 (unsigned long)a, (unsigned long)a + PG, (unsigned long)a + PG,
		 (unsigned long)a + 4 * PG, (unsigned long)a + 6 * PG, (unsigned long)a + 16 * PG,
		 (unsigned long)b, (unsigned long)b + 4 * PG, (unsigned long)fm,
		 (unsigned long)fm + PG, (unsigned long)fm + PG, (unsigned long)fm + 2 * PG,
		 (unsigned long)fm + 2 * PG, (unsigned long)fm + 4 * PG, (unsigned long)c,
		 (unsigned long)c + 8 * PG, (unsigned long)shm_addr,
		 (unsigned long)shm_addr + 16 * PG, shm);
	slen = sizeof(sa);
	getsockname(udp, (void *)&sa, &slen);
	wl_checkpoint("{\"cp\":1,\"pid\":%d,\"c1\":%d,\"daemon\":%d,"
		      "\"fds\":{\"append\":%d,\"dir\":%d,\"devnull\":%d,\"gone\":%d,\"fifo\":%d,"
		      "\"memfd\":%d,\"eventfd\":%d,\"epoll\":%d,\"timerfd\":%d,\"signalfd\":%d,"
		      "\"inotify\":%d,\"pidfd\":%d,\"tcp\":%d,\"tcp6\":%d,\"cli\":%d,\"srv\":%d,"
		      "\"udp\":%d,\"sp0\":%d,\"sp1\":%d,\"ulisten\":%d,\"udgram\":%d,\"passed\":%d,"
		      "\"mapped\":%d},"
		      "\"tcp_port\":%d,\"tcp6_port\":%d,\"udp_port\":%d,\"abstract\":\"%s\","
		      "\"ipc\":[{\"kind\":\"sem\",\"id\":%d},{\"kind\":\"shm\",\"id\":%d},"
		      "{\"kind\":\"msg\",\"id\":%d,\"key\":%d}],"
		      "\"maps\":%s,\"brk0\":%lu}",
		      (int)getpid(), (int)c1, (int)daemon_pid, f_append, dfd, devnull, gone, fifo,
		      memfd, efd, epfd, tfd, sfd, ifd, pidfd, tcp, tcp6, cli, srv, udp, sp[0], sp[1],
		      ulisten, udgram, passed, mapped, tcp_port, tcp6_port, ntohs(sa.sin_port),
		      sun_path, sem, shm, msq, 0x5157, maps_json, (unsigned long)brk0);

	/* ---- checkpoint 2: some of it gone or changed ---- */
	close(f_append);
	WL_CHECK(write(p1[1], &x, 1) == 1); /* c1 ends */
	WL_CHECK(waitpid(c1, NULL, 0) == c1);
	WL_CHECK(write(thread_pipe[1][1], &x, 1) == 1); /* the second thread ends */
	WL_CHECK(pthread_join(th[1], NULL) == 0);
	WL_CHECK(dup2(devnull, 100) == 100);
	WL_CHECK(fcntl(devnull, F_SETFL, O_NONBLOCK) == 0); /* fd 100 shares the file */
	WL_CHECK(fcntl(dfd, F_SETFD, FD_CLOEXEC) == 0);
	close(sp[1]);
	/* others hold cli too, so close would send no FIN: shutdown does. srv gets
	 * CLOSE_WAIT with no syscall on it. */
	WL_CHECK(shutdown(cli, SHUT_WR) == 0);
	WL_CHECK(semctl(sem, 0, IPC_RMID) == 0);
	WL_CHECK(msgctl(msq, IPC_RMID, NULL) == 0);
	WL_CHECK(shmdt(shm_addr) == 0);
	WL_CHECK(shmctl(shm, IPC_RMID, NULL) == 0);
	WL_CHECK(munmap(b, 4 * PG) == 0);
	WL_CHECK(munmap(a, 16 * PG) == 0);
	c2 = fork();
	WL_CHECK(c2 >= 0);
	if (c2 == 0) {
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	zombie = fork();
	WL_CHECK(zombie >= 0);
	if (zombie == 0)
		_exit(3);
	wait_exited(zombie);
	/* c2 may not have exec'ed yet: the harness waits for it. */
	/* The daemon forked with the segment attached: removed, it lives on. */
	wl_checkpoint("{\"cp\":2,\"pid\":%d,\"c2\":%d,\"zombie\":%d,\"daemon\":%d,"
		      "\"fds\":{\"devnull\":%d,\"dup\":100,\"dir\":%d,\"srv\":%d},\"shm\":%d,"
		      "\"maps\":[{\"start\":%lu,\"end\":%lu,\"prot\":\"rw-p\"}]}",
		      (int)getpid(), (int)c2, (int)zombie, (int)daemon_pid, devnull, dfd, srv, shm,
		      (unsigned long)c, (unsigned long)c + 8 * PG);

	/* ---- checkpoint 3: the end ---- */
	kill(daemon_pid, SIGKILL); /* not our child any more: init reaps it */
	kill(c2, SIGKILL);
	WL_CHECK(waitpid(c2, NULL, 0) == c2);
	WL_CHECK(waitpid(zombie, NULL, 0) == zombie);
	WL_CHECK(write(thread_pipe[0][1], &x, 1) == 1);
	WL_CHECK(pthread_join(th[0], NULL) == 0);
	(void)tcp6;
	return 0;
}
