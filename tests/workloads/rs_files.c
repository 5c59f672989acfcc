// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: the fd table. Regular files open for reading, writing
 * and appending at their offsets, with their status flags and close-on-exec;
 * an fd dup'ed (one offset shared) and the same file opened twice (two
 * offsets); a file deleted while open (its contents come back from the
 * image); a directory used with openat; O_PATH; /dev/null, /dev/zero,
 * /dev/urandom; a high fd number. Its stdio is the harness's pipes, given
 * again at restore.
 *
 * usage: rs_files [cycles]
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <sys/mman.h>

#include "wl.h"

#define DELETED_LEN 20000

enum { RW, RO, WO, APP, DUP, TWICE, DELETED, DIRFD, OPATH, DNULL, DZERO, DURANDOM, HIGH, NFD };
static const char *const names[NFD] = { "rw",	 "ro",	 "wo",	 "append",  "dup",
					"twice", "deleted", "dir", "o_path", "null",
					"zero",	 "urandom", "high" };

struct fd_view {
	int fd, fdflags, flflags;
	off_t pos;
	dev_t dev, rdev;
	ino_t ino;
	mode_t mode;
	off_t size;
};

static int fds[NFD];

static void view(struct fd_view *v)
{
	for (int i = 0; i < NFD; i++) {
		struct stat st;

		v[i].fd = fds[i];
		v[i].fdflags = fcntl(fds[i], F_GETFD);
		v[i].flflags = fcntl(fds[i], F_GETFL);
		v[i].pos = i == OPATH ? 0 : lseek(fds[i], 0, SEEK_CUR);
		WL_CHECK(fstat(fds[i], &st) == 0);
		v[i].dev = st.st_dev;
		v[i].rdev = st.st_rdev;
		v[i].ino = st.st_ino;
		v[i].mode = st.st_mode;
		v[i].size = st.st_size;
	}
}

static int make(const char *dir, const char *name, int flags, const char *text)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	WL_CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	fd = open(path, flags);
	WL_CHECK(fd >= 0);
	return fd;
}

static void check_views(const struct fd_view *a, const struct fd_view *b)
{
	for (int i = 0; i < NFD; i++) {
		const char *n = names[i];

		wl_expect(a[i].fdflags == b[i].fdflags, "%s: fd flags %#x, were %#x", n,
			  b[i].fdflags, a[i].fdflags);
		wl_expect(a[i].flflags == b[i].flflags, "%s: file flags %#o, were %#o", n,
			  b[i].flflags, a[i].flflags);
		wl_expect(a[i].pos == b[i].pos, "%s: offset %lld, was %lld", n,
			  (long long)b[i].pos, (long long)a[i].pos);
		/* a directory's size counts its entries (on tmpfs): the harness adds images */
		wl_expect(a[i].mode == b[i].mode && (a[i].size == b[i].size || i == DIRFD),
			  "%s: mode %o size %lld, were %o %lld", n, b[i].mode,
			  (long long)b[i].size, a[i].mode, (long long)a[i].size);
		/* the same file again, except the deleted one (made anew from the image) */
		if (i != DELETED)
			wl_expect(a[i].dev == b[i].dev && a[i].ino == b[i].ino &&
					  a[i].rdev == b[i].rdev,
				  "%s: another file (dev %lx ino %lu, was %lx %lu)", n,
				  (long)b[i].dev, (unsigned long)b[i].ino, (long)a[i].dev,
				  (unsigned long)a[i].ino);
	}
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1;
	const char *dir = getenv("WL_DIR");
	struct fd_view before[NFD], after[NFD];
	static char deleted[DELETED_LEN], buf[DELETED_LEN];
	char path[4096], small[64];
	struct stat st;
	struct timespec times[2] = { { 1500000000, 123 }, { 1600000000, 456 } };
	int memfd;

	wl_init();
	WL_CHECK(dir);
	fds[RW] = make(dir, "rw", O_RDWR, "0123456789abcdefghij");
	fds[RO] = make(dir, "ro", O_RDONLY | O_CLOEXEC | O_NOATIME, "read only text");
	fds[WO] = make(dir, "wo", O_WRONLY, "write only");
	fds[APP] = make(dir, "append", O_WRONLY | O_APPEND | O_CLOEXEC, "first line\n");
	fds[DUP] = dup(fds[RW]);
	fds[TWICE] = make(dir, "twice", O_RDWR | O_NONBLOCK, "ABCDEFGHIJ");
	for (int i = 0; i < DELETED_LEN; i++)
		deleted[i] = 'a' + i * 7 % 26;
	snprintf(path, sizeof(path), "%s/deleted", dir);
	fds[DELETED] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0604);
	WL_CHECK(fds[DELETED] >= 0 && write(fds[DELETED], deleted, DELETED_LEN) == DELETED_LEN);
	WL_CHECK(unlink(path) == 0);
	/* its owner and times are its own too */
	WL_CHECK(fchown(fds[DELETED], 1234, 2345) == 0 && fchmod(fds[DELETED], 0604) == 0);
	WL_CHECK(futimens(fds[DELETED], times) == 0);
	/* a memfd, sealed */
	memfd = memfd_create("sealed", MFD_ALLOW_SEALING);
	WL_CHECK(memfd >= 0 && write(memfd, "sealed bytes", 12) == 12 && fchmod(memfd, 0640) == 0);
	WL_CHECK(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0);
	fds[DIRFD] = open(dir, O_RDONLY | O_DIRECTORY);
	fds[OPATH] = make(dir, "o_path", O_PATH, "");
	fds[DNULL] = open("/dev/null", O_RDWR);
	fds[DZERO] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	fds[DURANDOM] = open("/dev/urandom", O_RDONLY);
	fds[HIGH] = make(dir, "high", O_RDWR, "at a high number");
	WL_CHECK(dup2(fds[HIGH], 200) == 200);
	close(fds[HIGH]);
	fds[HIGH] = 200;
	for (int i = 0; i < NFD; i++)
		WL_CHECK(fds[i] >= 0);
	/* offsets of every kind */
	WL_CHECK(lseek(fds[RW], 7, SEEK_SET) == 7);
	WL_CHECK(read(fds[RO], small, 5) == 5);
	WL_CHECK(lseek(fds[WO], 3, SEEK_SET) == 3);
	WL_CHECK(write(fds[APP], "second\n", 7) == 7);
	WL_CHECK(lseek(fds[DELETED], 12345, SEEK_SET) == 12345);
	WL_CHECK(lseek(fds[HIGH], 3, SEEK_SET) == 3);
	/* the same file opened a second time: an offset of its own */
	snprintf(path, sizeof(path), "%s/twice", dir);
	int twice2 = open(path, O_RDONLY);

	WL_CHECK(twice2 >= 0 && lseek(fds[TWICE], 4, SEEK_SET) == 4);
	WL_CHECK(lseek(twice2, 8, SEEK_SET) == 8);
	view(before);

	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		view(after);
		check_views(before, after);
		wl_expect(lseek(twice2, 0, SEEK_CUR) == 8, "the second open of a file lost its offset");
	}

	/* they still behave as they did */
	WL_CHECK(read(fds[RW], small, 3) == 3);
	wl_expect(!memcmp(small, "789", 3), "reading rw at its offset gave \"%.3s\"", small);
	wl_expect(lseek(fds[DUP], 0, SEEK_CUR) == 10, "a dup'ed fd does not share its offset");
	WL_CHECK(read(fds[TWICE], small, 2) == 2);
	wl_expect(!memcmp(small, "EF", 2) && lseek(twice2, 0, SEEK_CUR) == 8,
		  "two opens of one file share an offset");
	WL_CHECK(write(fds[APP], "third\n", 6) == 6);
	snprintf(path, sizeof(path), "%s/append", dir);
	wl_expect(wl_read_file(path, buf, sizeof(buf)) == 24 &&
			  !strcmp(buf, "first line\nsecond\nthird\n"),
		  "an O_APPEND fd did not append: \"%s\"", buf);
	WL_CHECK(fstat(fds[DELETED], &st) == 0);
	wl_expect(st.st_uid == 1234 && st.st_gid == 2345 &&
			  st.st_atim.tv_sec == times[0].tv_sec && st.st_atim.tv_nsec == times[0].tv_nsec &&
			  st.st_mtim.tv_sec == times[1].tv_sec && st.st_mtim.tv_nsec == times[1].tv_nsec,
		  "the deleted file is owned by %u:%u, read %lld.%09ld, written %lld.%09ld",
		  st.st_uid, st.st_gid, (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
		  (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	WL_CHECK(fstat(memfd, &st) == 0);
	wl_expect(fcntl(memfd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) &&
			  (st.st_mode & 07777) == 0640 && st.st_size == 12,
		  "the memfd has seals %#x, mode %o, %lld bytes", fcntl(memfd, F_GET_SEALS),
		  st.st_mode & 07777, (long long)st.st_size);
	wl_expect(pread(memfd, small, 12, 0) == 12 && !memcmp(small, "sealed bytes", 12) &&
			  write(memfd, "x", 1) == -1 && errno == EPERM,
		  "the sealed memfd's bytes changed, or it can be written");
	WL_CHECK(pread(fds[DELETED], buf, DELETED_LEN, 0) == DELETED_LEN);
	wl_expect(!memcmp(buf, deleted, DELETED_LEN), "the deleted file's contents changed");
	WL_CHECK(fstat(fds[DELETED], &st) == 0);
	wl_expect(st.st_nlink == 0 && (st.st_mode & 07777) == 0604,
		  "the deleted file has %lu links, mode %o", (unsigned long)st.st_nlink,
		  st.st_mode & 07777);
	int in_dir = openat(fds[DIRFD], "rw", O_RDONLY);

	wl_expect(in_dir >= 0, "openat on the directory fd fails");
	close(in_dir);
	wl_expect(fstatat(fds[OPATH], "", &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode),
		  "the O_PATH fd does not name its file");
	wl_expect(write(fds[DNULL], "x", 1) == 1 && read(fds[DNULL], small, 1) == 0,
		  "/dev/null is not");
	memset(small, 1, sizeof(small));
	wl_expect(read(fds[DZERO], small, 16) == 16 && !small[0] && !small[15], "/dev/zero is not");
	wl_expect(read(fds[DURANDOM], small, 16) == 16, "/dev/urandom gives nothing");
	WL_CHECK(read(fds[HIGH], small, 2) == 2);
	wl_expect(!memcmp(small, "a ", 2), "fd 200 read \"%.2s\" at its offset", small);
	return wl_result(cycles + 1);
}
