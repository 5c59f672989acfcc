// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: a process tree.
 *
 *   main ─┬─ a (its own process group) ── g (in a's group)
 *         └─ b (its own session)        ── h (in b's session and group)
 *
 * Every process has a shared anonymous mapping and a memfd (mapped, and
 * its fd: one offset) that main made before it forked: at the end a
 * writes to the first, b to the second and moves the memfd's offset, and
 * main must see both. main and a share one open file (written by both: one offset); every
 * process has memory of its own filled from its pid, a file of its own at
 * an offset, and a name. The children wait (pause) across the cycles; at
 * the end main signals a and b, each signals its child, and every process
 * checks its pid, parent, group, session, name, memory and files, and
 * exits 0 or 1; parents pass their children's failures up. a writes the
 * shared file once more first: main must see its offset move.
 *
 * With "zombie" main holds two children that ended (one exited 7, one
 * killed by SIGTERM) unreaped meanwhile, and one stopped by SIGSTOP (it is
 * still stopped after the restores, and goes on with SIGCONT); with "daemon" a daemon that
 * double-forked (setsid in the middle one, which left) runs in a session
 * whose leader is gone, its parent init; with "outside" a pipe to the
 * harness at fd 20, or with "mqueue" a POSIX message queue, must make the
 * snapshot fail and leave all as it was.
 *
 * usage: rs_tree [cycles [zombie|daemon|outside|mqueue]]
 */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "wl.h"

#define MEM (256 * 1024)

struct self {
	pid_t pid, ppid, pgid, sid;
	int outside; /* parent, group and session outside the application: not kept */
	int mains_session; /* in main's session, wherever that is */
	char name[16];
	unsigned char *mem;
	int own_fd;
	off_t own_pos;
};

static volatile sig_atomic_t go;
static char dir[4096];
static int end_write = -1; /* a: the shared file, written once more at the end */
static pid_t main_pid, main_sid;
static char *shared_anon, *memfd_map; /* SHARED_LEN each, made by main before it forks */
static int memfd;
#define SHARED_LEN (64 * 1024)

/* the daemon's word, in memory main shares with it */
static struct daemon_page {
	volatile pid_t pid;
	volatile int verdict, failures;
} *dpage;

static void shared_fill(char *m, int seed)
{
	for (size_t i = 0; i < SHARED_LEN; i++)
		m[i] = (char)(i * 13 + seed);
}

static int shared_same(const char *m, int seed, size_t from)
{
	for (size_t i = from; i < SHARED_LEN; i++)
		if (m[i] != (char)(i * 13 + seed))
			return 0;
	return 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void fill(unsigned char *m, pid_t pid)
{
	for (size_t i = 0; i < MEM; i++)
		m[i] = (unsigned char)(i * 31 + pid);
}

/* Who this process is, remembered to be checked after the restores. */
static void become(struct self *s, const char *name)
{
	char path[4200];

	s->pid = getpid();
	s->ppid = getppid();
	s->pgid = getpgrp();
	s->sid = getsid(0);
	/* sharing our pid namespace, main's parent, group and session are the harness's */
	s->outside = s->ppid != 1 && !strcmp(name, "tree-main");
	s->mains_session = s->sid == main_sid;
	snprintf(s->name, sizeof(s->name), "%s", name);
	WL_CHECK(prctl(PR_SET_NAME, s->name) == 0);
	WL_CHECK((s->mem = malloc(MEM)));
	fill(s->mem, s->pid);
	snprintf(path, sizeof(path), "%s/own-%s", dir, name);
	WL_CHECK((s->own_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	WL_CHECK(write(s->own_fd, name, strlen(name)) == (ssize_t)strlen(name));
	s->own_pos = lseek(s->own_fd, 0, SEEK_CUR);
}

static void check(const struct self *s)
{
	char comm[32] = "";
	unsigned char *want = malloc(MEM);

	WL_CHECK(want);
	fill(want, s->pid);
	wl_expect(getpid() == s->pid, "%s: pid %d, was %d", s->name, (int)getpid(), (int)s->pid);
	wl_expect(s->outside || getppid() == s->ppid, "%s: parent %d, was %d", s->name,
		  (int)getppid(), (int)s->ppid);
	wl_expect(s->outside || getpgrp() == s->pgid, "%s: group %d, was %d", s->name,
		  (int)getpgrp(), (int)s->pgid);
	if (s->mains_session)
		wl_expect(getsid(0) == getsid(main_pid), "%s: session %d, main's is %d", s->name,
			  (int)getsid(0), (int)getsid(main_pid));
	else
		wl_expect(getsid(0) == s->sid, "%s: session %d, was %d", s->name, (int)getsid(0),
			  (int)s->sid);
	prctl(PR_GET_NAME, comm);
	wl_expect(!strcmp(comm, s->name), "%s: named %s", s->name, comm);
	wl_expect(!memcmp(s->mem, want, MEM), "%s: its memory changed", s->name);
	wl_expect(lseek(s->own_fd, 0, SEEK_CUR) == s->own_pos, "%s: its file is at %lld, was %lld",
		  s->name, (long long)lseek(s->own_fd, 0, SEEK_CUR), (long long)s->own_pos);
	free(want);
}

/* A child: wait for the end, pass it on to its own child, check, exit with the verdict. */
static void __attribute__((noreturn)) child_end(const struct self *s, pid_t child)
{
	int status;

	while (!go)
		pause();
	if (child > 0) {
		WL_CHECK(kill(child, SIGUSR1) == 0);
		WL_CHECK(waitpid(child, &status, 0) == child);
		wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "%s: its child %d failed (status %#x)", s->name, (int)child, status);
	}
	if (end_write >= 0)
		WL_CHECK(write(end_write, "efgh", 4) == 4);
	if (!strcmp(s->name, "tree-a"))
		memcpy(shared_anon, "from a", 7);
	if (!strcmp(s->name, "tree-b")) {
		memcpy(memfd_map, "from b", 7);
		WL_CHECK(lseek(memfd, 123, SEEK_SET) == 123);
	}
	check(s);
	fflush(stderr);
	if (!strcmp(s->name, "tree-d")) {
		dpage->failures = wl_failures;
		dpage->verdict = 1;
	}
	_exit(wl_failures ? 1 : 0);
}

/* A leaf: its own state, then wait. */
static void __attribute__((noreturn)) leaf(const char *name)
{
	struct self s;

	become(&s, name);
	child_end(&s, -1);
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, shared, status;
	struct sigaction sa = { .sa_handler = on_usr1 };
	char path[4200], buf[64] = "";
	const char *mode = argc > 2 ? argv[2] : "";
	struct self s;
	pid_t a, b, z = -1, z2 = -1, stopped = -1;
	char mqname[64];
	mqd_t mq = -1;
	siginfo_t si;

	wl_init();
	WL_CHECK(getenv("WL_DIR"));
	snprintf(dir, sizeof(dir), "%s", getenv("WL_DIR"));
	WL_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	main_pid = getpid();
	main_sid = getsid(0);
	become(&s, "tree-main");
	snprintf(path, sizeof(path), "%s/shared", dir);
	WL_CHECK((shared = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	WL_CHECK(write(shared, "0123", 4) == 4);
	shared_anon = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	WL_CHECK(shared_anon != MAP_FAILED);
	shared_fill(shared_anon, 1);
	WL_CHECK((memfd = memfd_create("tree-memfd", 0)) >= 0);
	WL_CHECK(ftruncate(memfd, SHARED_LEN) == 0);
	dpage = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(dpage != MAP_FAILED);
	memfd_map = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	WL_CHECK(memfd_map != MAP_FAILED);
	shared_fill(memfd_map, 2);

	a = fork();
	WL_CHECK(a >= 0);
	if (a == 0) {
		struct self me;
		pid_t g;

		WL_CHECK(setpgid(0, 0) == 0);
		become(&me, "tree-a");
		WL_CHECK(write(shared, "abcd", 4) == 4); /* moves main's offset too */
		g = fork();
		WL_CHECK(g >= 0);
		if (g == 0)
			leaf("tree-g");
		end_write = shared;
		child_end(&me, g);
	}
	b = fork();
	WL_CHECK(b >= 0);
	if (b == 0) {
		struct self me;
		pid_t h;

		WL_CHECK(setsid() == getpid());
		become(&me, "tree-b");
		h = fork();
		WL_CHECK(h >= 0);
		if (h == 0)
			leaf("tree-h");
		child_end(&me, h);
	}
	/* everyone set up: a has written, its group and b's session exist */
	for (int i = 0; i < 5000 && (lseek(shared, 0, SEEK_CUR) != 8 || getpgid(a) != a ||
				     getsid(b) != b); i++)
		usleep(1000);
	WL_CHECK(lseek(shared, 0, SEEK_CUR) == 8);
	usleep(50000); /* the grandchildren named themselves */

	if (!strcmp(mode, "zombie")) {
		z = fork();
		WL_CHECK(z >= 0);
		if (z == 0)
			_exit(7);
		z2 = fork();
		WL_CHECK(z2 >= 0);
		if (z2 == 0) {
			signal(SIGTERM, SIG_DFL);
			raise(SIGTERM);
			_exit(1);
		}
		WL_CHECK(waitid(P_PID, z, &si, WEXITED | WNOWAIT) == 0);
		WL_CHECK(waitid(P_PID, z2, &si, WEXITED | WNOWAIT) == 0);
		stopped = fork();
		WL_CHECK(stopped >= 0);
		if (stopped == 0) {
			raise(SIGSTOP);
			_exit(5); /* after its SIGCONT */
		}
		WL_CHECK(waitpid(stopped, &status, WUNTRACED) == stopped && WIFSTOPPED(status));
	} else if (!strcmp(mode, "daemon")) {
		pid_t mid = fork();

		WL_CHECK(mid >= 0);
		if (mid == 0) {
			pid_t self = getpid();

			WL_CHECK(setsid() == self);
			if (fork() == 0) {
				struct self me;

				for (int i = 0; i < 5000 && getppid() == self; i++)
					usleep(1000); /* until mid is gone: init is the parent then */
				become(&me, "tree-d");
				dpage->pid = getpid();
				child_end(&me, -1);
			}
			_exit(0);
		}
		WL_CHECK(waitpid(mid, &status, 0) == mid);
		for (int i = 0; i < 5000 && !dpage->pid; i++)
			usleep(1000);
		WL_CHECK(dpage->pid);
	} else if (!strcmp(mode, "outside")) {
		WL_CHECK(dup2(0, 20) == 20);
	} else if (!strcmp(mode, "mqueue")) {
		snprintf(mqname, sizeof(mqname), "/appshot-rs-tree-%d", (int)getpid());
		WL_CHECK((mq = mq_open(mqname, O_CREAT | O_RDWR, 0600, NULL)) >= 0);
	}

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d,\"a\":%d,\"b\":%d}", c, (int)getpid(), (int)a,
			      (int)b);

	if (stopped > 0) {
		/* stopped still: it has not gone on to exit (its /proc is not in view here) */
		usleep(100000);
		memset(&si, 0, sizeof(si));
		WL_CHECK(waitid(P_PID, stopped, &si, WEXITED | WNOHANG | WNOWAIT) == 0);
		wl_expect(si.si_pid == 0, "the stopped child went on and ended (%d)", si.si_status);
		WL_CHECK(kill(stopped, SIGCONT) == 0);
		WL_CHECK(waitpid(stopped, &status, 0) == stopped);
		wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 5,
			  "the stopped child ended %#x after its SIGCONT", status);
	}
	if (z > 0) {
		WL_CHECK(waitpid(z, &status, 0) == z);
		wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 7, "the zombie was %#x",
			  status);
		WL_CHECK(waitpid(z2, &status, 0) == z2);
		wl_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
			  "the killed zombie was %#x", status);
	}
	if (dpage->pid) {
		WL_CHECK(kill(dpage->pid, SIGUSR1) == 0);
		for (int i = 0; i < 5000 && !dpage->verdict; i++)
			usleep(1000);
		wl_expect(dpage->verdict && !dpage->failures,
			  "the daemon %s (%d failures, its log says which)",
			  dpage->verdict ? "found its state changed" : "did not answer",
			  dpage->failures);
	}
	close(20);
	if (mq >= 0) {
		mq_close(mq);
		mq_unlink(mqname);
	}

	/* the end: a writes through the shared file once more, after every restore */
	WL_CHECK(kill(a, SIGUSR1) == 0);
	WL_CHECK(kill(b, SIGUSR1) == 0);
	WL_CHECK(waitpid(a, &status, 0) == a);
	wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child a failed (status %#x)",
		  status);
	WL_CHECK(waitpid(b, &status, 0) == b);
	wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child b failed (status %#x)",
		  status);
	check(&s);
	wl_expect(!strcmp(shared_anon, "from a") && shared_same(shared_anon, 1, 7),
		  "the shared anonymous memory does not hold what a wrote, then the pattern");
	wl_expect(!strcmp(memfd_map, "from b") && shared_same(memfd_map, 2, 7),
		  "the memfd does not hold what b wrote, then the pattern");
	wl_expect(lseek(memfd, 0, SEEK_CUR) == 123, "the memfd's offset is %lld, b moved it to 123",
		  (long long)lseek(memfd, 0, SEEK_CUR));
	wl_expect(lseek(shared, 0, SEEK_CUR) == 12, "the shared file is at %lld, not 12",
		  (long long)lseek(shared, 0, SEEK_CUR));
	WL_CHECK(pread(shared, buf, sizeof(buf) - 1, 0) >= 0);
	wl_expect(!strcmp(buf, "0123abcdefgh"), "the shared file holds '%s'", buf);
	return wl_result(cycles + 1);
}
