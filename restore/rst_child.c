// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the new process does for itself, still running appshot's code,
 * before appshot takes it over: its fd table at the original numbers (files
 * at their offsets with their flags, shared descriptions shared, stdio from
 * outside given by the restore), its memory objects (memfds, deleted files
 * re-created from the image), session, umask, personality, cwd.
 *
 * The fds it works with meanwhile ("service fds") sit just above every fd
 * number the application uses: the pages of the image at base, the channel
 * to appshot at base + 1, the restore's stdio at base + 2..4, the objects
 * after. appshot closes them when it is done.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kind.h"
#include "rst.h"

#define FAIL(...)                                                             \
	do {                                                                  \
		snprintf(why, len, __VA_ARGS__);                              \
		return -1;                                                    \
	} while (0)

/* Close every fd but those in [base, base + n) and [base2, base2 + n2). */
static void close_others(int base, int n, int base2, int n2)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int dfd, fd;

	if (!d)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd != dfd && (fd < base || fd >= base + n) && (fd < base2 || fd >= base2 + n2))
			close(fd);
	}
	closedir(d);
}

int rst_fit_fds(int top)
{
	struct rlimit nofile;

	if (getrlimit(RLIMIT_NOFILE, &nofile) || (rlim_t)top < nofile.rlim_cur)
		return 0;
	nofile.rlim_cur = nofile.rlim_max;
	if ((rlim_t)top >= nofile.rlim_max || setrlimit(RLIMIT_NOFILE, &nofile))
		return -1;
	return 0;
}

/* Copy the object's page runs from the image (page-aligned there) into fd. */
static int fill_object(uint64_t pages_off, const struct rst_object *ob, int pages_fd, int fd)
{
	for (size_t i = 0; i < ob->nruns; i++) {
		size_t len = ob->runs[i].npages * 4096, done = 0;
		off_t out = ob->runs[i].start * 4096;
		void *src = mmap(NULL, len, PROT_READ, MAP_PRIVATE, pages_fd,
				 pages_off + ob->runs[i].off);

		if (src == MAP_FAILED)
			return -errno;
		while (done < len) {
			ssize_t n = pwrite(fd, (char *)src + done, len - done, out + done);

			if (n <= 0) {
				munmap(src, len);
				return n < 0 ? -errno : -EIO;
			}
			done += n;
		}
		munmap(src, len);
	}
	return ftruncate(fd, ob->size) ? -errno : 0;
}

/* A deleted file again: made at its old path (or next to it), filled, unlinked. */
static int make_deleted(const struct rst_object *ob, char *why, size_t len)
{
	char path[PATH_MAX + 32];
	int fd = -1;

	for (int i = 0; i < 100 && fd < 0; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s", ob->name);
		else
			snprintf(path, sizeof(path), "%s.appshot-%d", ob->name, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, ob->mode & 07777);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd >= 0) {
		unlink(path);
		return fd;
	}
	/* its directory is gone too: a nameless file elsewhere holds the contents */
	fd = open("/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, ob->mode & 07777);
	if (fd < 0)
		FAIL("cannot re-create the deleted file %s: %s", ob->name, strerror(errno));
	return fd;
}

/* Shared anonymous memory: a mapping of our own, filled, reopened through map_files. */
static int make_shmem(const struct rst_object *ob, int pages_fd, uint64_t pages_off, char *why,
		      size_t len)
{
	size_t size = ob->size ? (ob->size + 4095) & ~4095ULL : 4096;
	char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char path[64];
	int fd;

	if (m == MAP_FAILED)
		FAIL("cannot make shared memory object %d (%zu bytes): %s", ob->id, size,
		     strerror(errno));
	for (size_t i = 0; i < ob->nruns; i++) {
		size_t n = ob->runs[i].npages * 4096, done = 0;
		char *to = m + ob->runs[i].start * 4096;

		while (done < n) {
			ssize_t k = pread(pages_fd, to + done, n - done,
					  pages_off + ob->runs[i].off + done);

			if (k <= 0) {
				munmap(m, size);
				FAIL("cannot fill shared memory object %d from the image", ob->id);
			}
			done += k;
		}
	}
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)m,
		 (unsigned long)m + size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	munmap(m, size);
	if (fd < 0)
		FAIL("cannot reopen shared memory object %d: %s", ob->id, strerror(errno));
	return fd;
}

/* Its mode (whatever the umask), owner and times; its seals last: they may forbid writes. */
static int set_owner(int fd, const struct rst_object *ob)
{
	struct timespec t[2] = { { ob->atime_ns / 1000000000, ob->atime_ns % 1000000000 },
				 { ob->mtime_ns / 1000000000, ob->mtime_ns % 1000000000 } };

	int now;

	if (fchown(fd, ob->uid, ob->gid) || fchmod(fd, ob->mode & 07777) || futimens(fd, t))
		return -1;
	if (!ob->seals)
		return 0;
	/* a tmpfs file that is no memfd comes sealed against seals (F_SEAL_SEAL) already */
	now = fcntl(fd, F_GET_SEALS);
	if (now < 0)
		return -1;
	return (ob->seals & ~now) && fcntl(fd, F_ADD_SEALS, ob->seals & ~now) ? -1 : 0;
}

int rst_object_create(const struct rst_object *ob, int pages_fd, uint64_t pages_off, char *why,
		      size_t len)
{
	const char *name = ob->name;
	int fd, err;

	if (!strcmp(ob->kind, "shmem"))
		return make_shmem(ob, pages_fd, pages_off, why, len);
	if (!strcmp(ob->kind, "memfd")) {
		if (!strncmp(name, "memfd:", 6))
			name += 6;
		/* its seals are given back below (one that allowed none has F_SEAL_SEAL) */
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			FAIL("cannot make the memfd %s: %s", ob->name, strerror(errno));
	} else {
		fd = make_deleted(ob, why, len);
		if (fd < 0)
			return -1;
	}
	err = fill_object(pages_off, ob, pages_fd, fd);
	if (err) {
		close(fd);
		FAIL("cannot fill %s from the image: %s", ob->name, strerror(-err));
	}
	if (ob->has_owner && set_owner(fd, ob)) {
		err = errno;
		close(fd);
		FAIL("cannot give %s its owner, mode, times or seals: %s", ob->name, strerror(err));
	}
	return fd;
}

/*
 * The process's memory objects at their fds: those it shares with others
 * from the global ones; its own made here, but shared anonymous memory,
 * which rst_mem.c makes where it is mapped.
 */
static int make_objects(const struct rst_app *a, struct rst_proc *p, int pages_fd, char *why,
			size_t len)
{
	for (size_t k = 0; k < p->nobjects; k++) {
		struct rst_object *ob = &p->objects[k];
		int fd;

		if (ob->global >= 0) {
			if (dup2(rst_gobj_fd(a, ob->global), ob->fd) < 0)
				FAIL("cannot take shared memory object %d: %s", ob->id,
				     strerror(errno));
			continue;
		}
		if (!strcmp(ob->kind, "shmem"))
			continue;
		fd = rst_object_create(ob, pages_fd, p->pages_off, why, len);
		if (fd < 0)
			return -1;
		if (fd != ob->fd) {
			if (dup2(fd, ob->fd) < 0)
				FAIL("cannot keep %s: %s", ob->name, strerror(errno));
			close(fd);
		}
	}
	return 0;
}

/* Put the new open file fd at f's number. */
static int place(int fd, const struct rst_fd *f, char *why, size_t len)
{
	if (fd != f->fd) {
		if (dup2(fd, f->fd) < 0)
			FAIL("fd %d: %s", f->fd, strerror(errno));
		close(fd);
	}
	return 0;
}

static int restore_fd(const struct rst_app *a, struct rst_proc *p, struct rst_fd *f, char *why,
		      size_t len)
{
	int fd = -1, flags = f->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	char reason[256];

	if (f->dup_of >= 0) {
		if (dup2(f->dup_of, f->fd) < 0)
			FAIL("fd %d: cannot share fd %d: %s", f->fd, f->dup_of, strerror(errno));
	} else if (f->shared >= 0) {
		if (dup2(a->gbase + RST_G_SHARED + f->shared, f->fd) < 0)
			FAIL("fd %d: cannot take the open file it shares: %s", f->fd,
			     strerror(errno));
	} else if (f->kind->make) {
		fd = f->kind->make(a, f, reason, sizeof(reason));
		if (fd < 0)
			FAIL("fd %d: %s", f->fd, reason);
		if (place(fd, f, why, len))
			return -1;
	} else {
		if (f->object >= 0) {
			struct rst_object *ob = rst_object(p, f->object);
			char path[64];

			/* a description of its own, as the original fd had */
			snprintf(path, sizeof(path), "/proc/self/fd/%d", ob->fd);
			fd = open(path, flags);
		} else {
			fd = open(f->path, flags);
		}
		if (fd < 0)
			FAIL("fd %d: cannot open %s: %s", f->fd, f->path, strerror(errno));
		if (place(fd, f, why, len))
			return -1;
		/* offsets: files and directories; character devices have none to keep */
		if (!S_ISCHR(f->mode) && lseek(f->fd, f->pos, SEEK_SET) < 0 && !(flags & O_PATH))
			FAIL("fd %d: cannot seek %s to %llu: %s", f->fd, f->path,
			     (unsigned long long)f->pos, strerror(errno));
	}
	if (fcntl(f->fd, F_SETFD, f->cloexec ? FD_CLOEXEC : 0))
		FAIL("fd %d: %s", f->fd, strerror(errno));
	/* an open file of its own: its own locks (a shared one's are taken in appshot) */
	if (f->dup_of < 0 && f->shared < 0 && fdattr_file_locks(f->fd, f, reason, sizeof(reason)))
		FAIL("fd %d: %s", f->fd, reason);
	return 0;
}

/*
 * Its session and process group: its own, or its parent's (inherited), or
 * a group another process of its session leads (made first, or soon: the
 * processes set themselves up at once).
 */
static int join_group(const struct rst_proc *p, char *why, size_t len)
{
	pid_t inherited = p->parent ? p->parent->pgid : -1;

	if (p->sid == p->pid) {
		if (setsid() < 0)
			FAIL("cannot make session %d: %s", p->sid, strerror(errno));
		return 0;
	}
	if (p->pgid == p->pid) {
		if (setpgid(0, 0))
			FAIL("cannot make process group %d: %s", p->pgid, strerror(errno));
		return 0;
	}
	if (!p->parent || p->pgid == inherited)
		return 0;
	for (int i = 0; i < 2000; i++) {
		if (setpgid(0, p->pgid) == 0)
			return 0;
		if (errno != EPERM)
			break;
		usleep(1000);
	}
	FAIL("cannot join process group %d: %s", p->pgid, strerror(errno));
}

int rst_child_setup(const struct rst_app *a, struct rst_proc *p, char *why, size_t len)
{
	int base = p->service_base, n = 5 + p->nobjects, g = a->gbase;

	/* the service fds must fit under the fd limit while we work */
	if (rst_fit_fds(base + n))
		FAIL("fd %d is above this machine's fd limit", base - 1);
	if (dup2(g + RST_G_PAGES, base) < 0 || dup2(g + RST_G_CHAN, base + 1) < 0)
		FAIL("cannot set up the restore's own fds: %s", strerror(errno));
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(g + RST_G_STDIO + fd, base + 2 + fd) < 0)
			FAIL("cannot set up the restore's own fds: %s", strerror(errno));
	close_others(base, n, g, rst_nglobals(a));
	if (make_objects(a, p, base, why, len))
		return -1;
	return join_group(p, why, len);
}

int rst_child_files(const struct rst_app *a, struct rst_proc *p, char *why, size_t len)
{
	char reason[256];

	for (size_t i = 0; i < p->nfds; i++)
		if (restore_fd(a, p, &p->fds[i], why, len))
			return -1;
	/* what an fd refers to in the others (an epoll's watches), once all are there */
	for (size_t i = 0; i < p->nfds; i++) {
		struct rst_fd *f = &p->fds[i];

		if (f->kind->settle && f->dup_of < 0 && f->same_pid < 0 &&
		    f->kind->settle(f, reason, sizeof(reason)))
			FAIL("fd %d: %s", f->fd, reason);
	}
	/* who gets the signals of its files, and its POSIX locks: the process's own */
	for (size_t i = 0; i < p->nfds; i++) {
		struct rst_fd *f = &p->fds[i];

		if (!f->kind->external && f->dup_of < 0 && fdattr_process(f, reason, sizeof(reason)))
			FAIL("fd %d: %s", f->fd, reason);
	}
	umask(p->umask);
	if (personality(p->personality) < 0)
		FAIL("cannot set personality %llx: %s", (unsigned long long)p->personality,
		     strerror(errno));
	if (strcmp(p->root, "/") && chroot(p->root))
		FAIL("cannot change root to %s: %s", p->root, strerror(errno));
	if (p->cwd_deleted) {
		int fd = kind_ghost_dir(p->cwd, O_RDONLY);

		if (fd < 0 || fchdir(fd))
			FAIL("cannot change directory to %s (removed, made again for the while): %s",
			     p->cwd, strerror(errno));
		close(fd);
	} else if (chdir(p->cwd)) {
		FAIL("cannot change directory to %s: %s", p->cwd, strerror(errno));
	}
	return 0;
}
