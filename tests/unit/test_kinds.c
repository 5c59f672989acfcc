// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests: the table of kinds tells fds apart as the snapshot sees
 * them (a link, a stat, a filesystem), refuses what it does not know, and
 * reads fdinfo as the kernel writes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "dump.h"
#include "kind.h"

#define PROC_SUPER_MAGIC 0x9fa0
#define MQUEUE_MAGIC 0x19800202
#define SECRETMEM_MAGIC 0x5345434d
#define TMPFS_MAGIC 0x01021994

static struct dump d; /* no pipes or sockets seen */

static const struct fd_kind *kind(int fd, const char *link, mode_t mode, dev_t rdev, long fs)
{
	struct fd_seen s = { .d = &d, .fd = fd, .link = link, .fs_type = fs, .fdinfo = "" };

	s.st.st_mode = mode;
	s.st.st_rdev = rdev;
	return kind_of(&s);
}

static void expect(const char *name, int refused, const struct fd_kind *k)
{
	assert_non_null(k);
	assert_string_equal(k->name, name);
	assert_int_equal(!!k->refusal, refused);
}

static void test_files(void **state)
{
	(void)state;
	expect("file", 0, kind(3, "/etc/passwd", S_IFREG | 0644, 0, 0));
	expect("file", 0, kind(3, "/proc/meminfo", S_IFREG | 0444, 0, PROC_SUPER_MAGIC));
	expect("dir", 0, kind(3, "/tmp", S_IFDIR | 0755, 0, 0));
	expect("file", 0, kind(3, "/tmp/link", S_IFLNK | 0777, 0, 0)); /* O_PATH on a symlink */
	expect("deleted", 0, kind(3, "/tmp/x (deleted)", S_IFREG | 0600, 0, 0));
	expect("memfd", 0, kind(3, "/memfd:buf (deleted)", S_IFREG | 0600, 0, TMPFS_MAGIC));
}

static void test_devices(void **state)
{
	(void)state;
	expect("chr", 0, kind(3, "/dev/null", S_IFCHR, makedev(1, 3), 0));
	expect("chr", 0, kind(3, "/dev/urandom", S_IFCHR, makedev(1, 9), 0));
	expect("chr", 0, kind(3, "/dev/pts/3", S_IFCHR, makedev(136, 3), 0));
	/* a new /dev/ptmx would be another terminal; a tun device forgets its interface */
	expect("device", 1, kind(3, "/dev/ptmx", S_IFCHR, makedev(5, 2), 0));
	expect("device", 1, kind(3, "/dev/net/tun", S_IFCHR, makedev(10, 200), 0));
	expect("block", 1, kind(3, "/dev/vda", S_IFBLK, makedev(254, 0), 0));
}

static void test_stdio(void **state)
{
	(void)state;
	expect("external", 0, kind(0, "pipe:[12]", S_IFIFO | 0600, 0, 0));
	expect("external", 0, kind(1, "/dev/pts/0", S_IFCHR, makedev(136, 0), 0));
	expect("external", 0, kind(2, "socket:[9]", S_IFSOCK | 0777, 0, 0));
	/* beyond stdio, a pipe with no end seen in the application is someone else's */
	expect("outside_pipe", 1, kind(20, "pipe:[12]", S_IFIFO | 0600, 0, 0));
	expect("outside_pipe", 1, kind(20, "/tmp/fifo", S_IFIFO | 0600, 0, 0));
}

/* A pipe or FIFO is the application's when it holds every open file of it. */
static void test_pipe_ends(void **state)
{
	struct dump_pipe pipes[] = {
		/* pipe:[12]: one reader and one writer, both ours */
		{ .ino = 12, .readers = 1, .writers = 1, .all_readers = 1, .all_writers = 1 },
		/* pipe:[13]: its writers all gone */
		{ .ino = 13, .readers = 1, .writers = 0, .all_readers = 1, .all_writers = 0 },
		/* pipe:[14]: a writer elsewhere */
		{ .ino = 14, .readers = 1, .writers = 1, .all_readers = 1, .all_writers = 2 },
		/* the FIFO at inode 99: opened by someone else too */
		{ .ino = 99, .readers = 1, .writers = 0, .all_readers = 2, .all_writers = 0 },
	};

	(void)state;
	d.pipes = pipes;
	d.npipes = sizeof(pipes) / sizeof(pipes[0]);
	expect("pipe", 0, kind(20, "pipe:[12]", S_IFIFO | 0600, 0, 0));
	expect("pipe", 0, kind(20, "pipe:[13]", S_IFIFO | 0600, 0, 0));
	expect("outside_pipe", 1, kind(20, "pipe:[14]", S_IFIFO | 0600, 0, 0));
	expect("external", 0, kind(1, "pipe:[14]", S_IFIFO | 0600, 0, 0));
	pipes[3].all_readers = 1;
	d.npipes = 4;
	{
		struct fd_seen s = { .d = &d, .fd = 20, .link = "/tmp/fifo", .fdinfo = "" };

		s.st.st_mode = S_IFIFO | 0600;
		s.st.st_ino = 99;
		expect("fifo", 0, kind_of(&s));
		pipes[3].all_readers = 2;
		expect("outside_pipe", 1, kind_of(&s));
	}
	d.pipes = NULL;
	d.npipes = 0;
}

static void test_refused(void **state)
{
	(void)state;
	expect("io_uring", 1, kind(3, "anon_inode:[io_uring]", S_IFREG | 0600, 0, 0));
	expect("pidfd", 1, kind(3, "anon_inode:[pidfd]", S_IFREG | 0600, 0, 0));
	expect("fanotify", 1, kind(3, "anon_inode:[fanotify]", S_IFREG | 0600, 0, 0));
	expect("userfaultfd", 1, kind(3, "anon_inode:[userfaultfd]", S_IFREG | 0600, 0, 0));
	expect("bpf", 1, kind(3, "anon_inode:bpf-map", S_IFREG | 0600, 0, 0));
	expect("anon", 1, kind(3, "anon_inode:[something new]", S_IFREG | 0600, 0, 0));
	expect("secretmem", 1, kind(3, "/secretmem (deleted)", S_IFREG | 0600, 0, SECRETMEM_MAGIC));
	expect("mqueue", 1, kind(3, "/q", S_IFREG | 0600, 0, MQUEUE_MAGIC));
	expect("proc_pid", 1, kind(3, "/proc/123/status", S_IFREG | 0444, 0, PROC_SUPER_MAGIC));
	expect("proc_pid", 1, kind(3, "/proc/self/maps", S_IFREG | 0444, 0, PROC_SUPER_MAGIC));
	expect("proc_pid", 1, kind(3, "/proc/thread-self", S_IFDIR | 0555, 0, PROC_SUPER_MAGIC));
	expect("unknown", 1, kind(3, "what", 0, 0, 0));
}

static void test_anon(void **state)
{
	(void)state;
	expect("eventfd", 0, kind(3, "anon_inode:[eventfd]", S_IFREG | 0600, 0, 0));
	expect("timerfd", 0, kind(3, "anon_inode:[timerfd]", S_IFREG | 0600, 0, 0));
	expect("signalfd", 0, kind(3, "anon_inode:[signalfd]", S_IFREG | 0600, 0, 0));
	expect("epoll", 0, kind(3, "anon_inode:[eventpoll]", S_IFREG | 0600, 0, 0));
	expect("inotify", 0, kind(3, "anon_inode:inotify", S_IFREG | 0600, 0, 0));
}

static void test_names(void **state)
{
	(void)state;
	/* every kind an image may name is found by it; refusals never are */
	for (size_t i = 0; kinds[i]; i++) {
		const struct fd_kind *k = kind_named(kinds[i]->name);

		if (kinds[i]->refusal)
			assert_null(k);
		else
			assert_ptr_equal(k, kinds[i]);
	}
	assert_null(kind_named("no such kind"));
}

static void test_fdinfo(void **state)
{
	const char *info = "pos:\t0\nflags:\t02004002\nmnt_id:\t15\nino:\t1057\n"
			   "eventfd-count:                5\neventfd-id: 3\n";

	(void)state;
	assert_string_equal(fdinfo_value(info, "flags:"), "\t02004002\nmnt_id:\t15\nino:\t1057\n"
							   "eventfd-count:                5\n"
							   "eventfd-id: 3\n");
	assert_int_equal(strtoull(fdinfo_value(info, "eventfd-count:"), NULL, 16), 5);
	/* a key is the start of a line, not a word inside one */
	assert_null(fdinfo_value(info, "count:"));
	assert_null(fdinfo_value(info, "sigmask:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),   cmocka_unit_test(test_devices),
		cmocka_unit_test(test_stdio),   cmocka_unit_test(test_pipe_ends),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_anon),    cmocka_unit_test(test_names),
		cmocka_unit_test(test_fdinfo),
	};

	return cmocka_run_group_tests_name("kinds", tests, NULL, NULL);
}
