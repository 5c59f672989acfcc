// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipes the application holds both ends of, and named FIFOs: saved with
 * their size and the bytes in them (copied with tee, so they stay), made
 * again once by appshot with those bytes, each open file of them given to
 * the processes that hold it. A FIFO is reopened by its path, a reader
 * first. A pipe with an end outside the application is refused (refused.c)
 * unless it is stdio (stdio.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dump.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "rst.h"
#include "tracer.h"

extern const struct fd_kind kind_fifo;

/* ---- snapshot ---------------------------------------------------------- */

/* The inode of an anonymous pipe from its /proc link, or 0. */
static uint64_t pipe_ino(const char *link)
{
	return strncmp(link, "pipe:[", 6) ? 0 : strtoull(link + 6, NULL, 10);
}

static struct dump_pipe *find_pipe(struct dump *d, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < d->npipes; i++)
		if (d->pipes[i].dev == dev && d->pipes[i].ino == ino)
			return &d->pipes[i];
	return NULL;
}

static struct dump_pipe *add_pipe(struct dump *d, uint64_t dev, uint64_t ino)
{
	struct dump_pipe *p = realloc(d->pipes, (d->npipes + 1) * sizeof(*p));

	if (!p)
		return NULL;
	d->pipes = p;
	p = &d->pipes[d->npipes++];
	*p = (struct dump_pipe){ .dev = dev, .ino = ino };
	return p;
}

/* One open file of a pipe: counted once for its pipe, whoever else holds it. */
static int count_file(struct dump *d, uint64_t dev, uint64_t ino, uint64_t file, int rd, int wr,
		      unsigned int readers, unsigned int writers)
{
	struct dump_pipe *p = find_pipe(d, dev, ino);
	uint64_t *n;

	if (!p && !(p = add_pipe(d, dev, ino)))
		return -ENOMEM;
	p->all_readers = readers;
	p->all_writers = writers;
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i] == file)
			return 0;
	n = realloc(p->files, (p->nfiles + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->files = n;
	p->files[p->nfiles++] = file;
	p->readers += rd;
	p->writers += wr;
	return 0;
}

static int in_pids(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/*
 * Every open file of a pipe or FIFO the processes hold, from the tracer's
 * pipe_ends iterator, with the pipe's own counts of readers and writers.
 */
int dump_scan_pipes(struct dump *d, const pid_t *pids, size_t n)
{
	char line[256];
	int err;
	FILE *f = tracer_iter_fopen("pipe_ends", &err);

	if (!f) {
		pr_err("cannot list the pipes of the application");
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned long long ino, file;
		unsigned int tgid, kdev, rd, wr, readers, writers;

		if (sscanf(line, "%u %u %llu %llx %u %u %u %u", &tgid, &kdev, &ino, &file, &rd, &wr,
			   &readers, &writers) != 8 ||
		    !in_pids(pids, n, tgid))
			continue;
		/* the kernel's dev_t, as stat gives it */
		err = count_file(d, makedev(kdev >> 20, kdev & 0xfffff), ino, file, rd, wr, readers,
				 writers);
	}
	fclose(f);
	if (err)
		pr_err("cannot list the pipes of the application: %s", strerror(-err));
	return err;
}

/* Does the application hold every open file of its pipe? */
static int all_inside(const struct dump_pipe *p)
{
	return p && p->readers == p->all_readers && p->writers == p->all_writers;
}

static int claims_pipe(const struct fd_seen *s)
{
	return pipe_ino(s->link) && all_inside(find_pipe(s->d, s->st.st_dev, pipe_ino(s->link)));
}

/* A named FIFO no one outside has open: otherwise its bytes stay in it for them. */
static int claims_fifo(const struct fd_seen *s)
{
	return s->fd > 2 && S_ISFIFO(s->st.st_mode) && !pipe_ino(s->link) &&
	       all_inside(find_pipe(s->d, s->st.st_dev, s->st.st_ino));
}

/*
 * The bytes in a pipe, copied without taking them: a new reader of it
 * (opened through /proc), tee'd into a pipe of ours as large as it.
 */
static int save_bytes(const struct fd_seen *s, struct dump_pipe *p, struct json_object *o)
{
	char path[64], name[64];
	int in = -1, tmp[2] = { -1, -1 }, size, err = 0;
	ssize_t n = 0;
	char *buf = NULL;

	js_u64(o, "pipe", p->ino);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", s->pid, s->fd);
	in = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 || (size = fcntl(in, F_GETPIPE_SZ)) < 0 || pipe2(tmp, O_CLOEXEC) ||
	    fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
		err = -errno;
		pr_err("pid %d fd %d: cannot look into its pipe: %s", s->vpid, s->fd,
		       strerror(errno));
		goto out;
	}
	js_i64(o, "pipe_size", size);
	if (p->saved)
		goto out;
	n = tee(in, tmp[1], INT_MAX, SPLICE_F_NONBLOCK);
	if (n < 0 && errno == EAGAIN)
		n = 0; /* empty */
	if (n < 0) {
		err = -errno;
		pr_err("pid %d fd %d: cannot copy the bytes in its pipe: %s", s->vpid, s->fd,
		       strerror(errno));
		goto out;
	}
	if (n > 0) {
		buf = malloc(n);
		if (!buf || read(tmp[0], buf, n) != n) {
			err = buf ? -EIO : -ENOMEM;
			goto out;
		}
		snprintf(name, sizeof(name), "pipe-%llu", (unsigned long long)p->ino);
		err = image_write_blob(&s->d->w, name, buf, n);
		if (err)
			goto out;
		js_str(o, "pipe_data", name);
	}
	js_i64(o, "pipe_bytes", n);
	p->saved = 1;
out:
	free(buf);
	if (in >= 0)
		close(in);
	if (tmp[0] >= 0)
		close(tmp[0]);
	if (tmp[1] >= 0)
		close(tmp[1]);
	return err;
}

static int save_pipe(const struct fd_seen *s, struct json_object *o)
{
	return save_bytes(s, find_pipe(s->d, s->st.st_dev, pipe_ino(s->link)), o);
}

/* A FIFO removed while open is made again at its path for the while (a ghost). */
static int save_fifo(const struct fd_seen *s, struct json_object *o)
{
	size_t n = strlen(s->link);

	if (n > 10 && !strcmp(s->link + n - 10, " (deleted)")) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%.*s", (int)(n - 10), s->link);
		js_str(o, "path", path);
		js_bool(o, "deleted", 1);
	}
	return save_bytes(s, find_pipe(s->d, s->st.st_dev, s->st.st_ino), o);
}

/* ---- restore ----------------------------------------------------------- */

/* What one fd of a pipe says of it. */
struct pipe_fd {
	uint64_t ino;
	int size;
	int deleted; /* a FIFO removed while open */
	int64_t bytes; /* unread bytes, -1 if another fd of it says */
	char data[64]; /* the blob record with them */
};

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	struct pipe_fd *pf = calloc(1, sizeof(*pf));

	f->state = pf;
	if (!pf || jg_u64(o, "pipe", &pf->ino) || jg_int(o, "pipe_size", &pf->size) ||
	    pf->size < 4096 || pf->size > (1 << 30)) {
		snprintf(why, len, "its pipe's record is damaged");
		return -1;
	}
	pf->bytes = -1;
	if (json_object_object_get_ex(o, "pipe_bytes", NULL) &&
	    (jg_i64(o, "pipe_bytes", &pf->bytes) || pf->bytes < 0 || pf->bytes > pf->size)) {
		snprintf(why, len, "its pipe's bytes are damaged");
		return -1;
	}
	if (json_object_object_get_ex(o, "deleted", NULL) && jg_bool(o, "deleted", &pf->deleted)) {
		snprintf(why, len, "its FIFO's record is damaged");
		return -1;
	}
	if (pf->bytes > 0 && jg_str(o, "pipe_data", pf->data, sizeof(pf->data))) {
		snprintf(why, len, "its pipe's bytes are missing");
		return -1;
	}
	return 0;
}

/* The pipe (or named FIFO) an fd is of, or NULL. */
static struct rst_pipe *pipe_of(const struct rst_app *a, const struct rst_fd *f)
{
	const struct pipe_fd *pf = f->state;
	int fifo = f->kind == &kind_fifo;

	for (size_t i = 0; i < a->npipes; i++)
		if (a->pipes[i].ino == pf->ino && !a->pipes[i].fifo == !fifo &&
		    (!fifo || !strcmp(a->pipes[i].fifo, f->path)))
			return &a->pipes[i];
	return NULL;
}

/*
 * Every pipe once, with its size and bytes; every open file of a pipe is
 * made by appshot (the pipe's two ends come from one pipe2), so each has a
 * slot, shared or not.
 */
static int plan(struct rst_app *a, struct rst_proc *p, struct rst_fd *f)
{
	const struct pipe_fd *pf = f->state;
	struct rst_pipe *pp = pipe_of(a, f);

	if (!pp) {
		pp = realloc(a->pipes, (a->npipes + 1) * sizeof(*pp));
		if (!pp)
			return -ENOMEM;
		a->pipes = pp;
		pp = &a->pipes[a->npipes++];
		*pp = (struct rst_pipe){ .ino = pf->ino, .rd = -1, .wr = -1 };
		if (f->kind == &kind_fifo) {
			pp->fifo = f->path;
			pp->ghost = pf->deleted;
		}
	}
	if (pf->size > pp->size)
		pp->size = pf->size;
	if (pf->bytes > 0) {
		snprintf(pp->data_name, sizeof(pp->data_name), "%s", pf->data);
		pp->len = pf->bytes;
	}
	return f->dup_of < 0 && f->same_pid < 0 ? rst_add_slot(a, f) : 0;
}

static int load(struct image *im, struct rst_app *a)
{
	for (size_t i = 0; i < a->npipes; i++) {
		struct rst_pipe *pp = &a->pipes[i];
		size_t len = 0;

		if (!pp->len || pp->data)
			continue;
		pp->data = image_read_blob(im, pp->data_name, &len);
		if (!pp->data || len != pp->len) {
			pr_err("image %s: the bytes of pipe:[%llu] are missing or damaged", im->dir,
			       (unsigned long long)pp->ino);
			return -EBADMSG;
		}
	}
	return 0;
}

/* A pipe made again, its bytes in it. */
static int make_pipe(struct rst_pipe *pp)
{
	int fds[2];

	if (pp->fifo) {
		if (pp->ghost && mkfifo(pp->fifo, 0600)) {
			pr_perror("restore: cannot make the removed FIFO %s again for the while",
				  pp->fifo);
			return -errno;
		}
		/* a reader first, so that the writer's open does not wait */
		fds[0] = open(pp->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		fds[1] = fds[0] < 0 ? -1 : open(pp->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (pp->ghost)
			unlink(pp->fifo);
		if (fds[1] < 0) {
			pr_perror("restore: cannot open the FIFO %s", pp->fifo);
			if (fds[0] >= 0)
				close(fds[0]);
			return -errno;
		}
	} else if (pipe2(fds, O_CLOEXEC)) {
		pr_perror("restore: cannot make a pipe");
		return -errno;
	}
	pp->rd = fds[0];
	pp->wr = fds[1];
	if (fcntl(pp->wr, F_GETPIPE_SZ) < pp->size && fcntl(pp->wr, F_SETPIPE_SZ, pp->size) < 0) {
		pr_perror("restore: cannot make a pipe of %d bytes", pp->size);
		return -errno;
	}
	if (pp->len && write(pp->wr, pp->data, pp->len) != (ssize_t)pp->len) {
		pr_perror("restore: cannot put %zu bytes back into a pipe", pp->len);
		return -EIO;
	}
	return 0;
}

/* An open file of the pipe: one of pipe2's ends the first time, else a new one of it. */
static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	struct rst_pipe *pp = pipe_of(a, f);
	int acc = f->flags & O_ACCMODE, fd;
	char path[64];

	if (!pp) {
		snprintf(why, len, "its pipe was not planned");
		return -1;
	}
	if (pp->rd < 0 && make_pipe(pp)) {
		snprintf(why, len, "cannot make its pipe again");
		return -1;
	}
	if (acc == O_RDONLY && !pp->rd_taken) {
		pp->rd_taken = 1;
		fd = pp->rd;
	} else if (acc == O_WRONLY && !pp->wr_taken) {
		pp->wr_taken = 1;
		fd = pp->wr;
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pp->rd);
		fd = open(path, acc | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, len, "cannot open pipe:[%llu] again: %s",
				 (unsigned long long)pp->ino, strerror(errno));
			return -1;
		}
	}
	/* O_ASYNC waits for the process: a signal says the fd it was set through */
	if (fcntl(fd, F_SETFL, f->flags & ~O_ASYNC)) {
		snprintf(why, len, "cannot set the flags of pipe:[%llu]: %s",
			 (unsigned long long)pp->ino, strerror(errno));
		return -1;
	}
	return fd;
}

/* The ends no process holds: a pipe whose writers are all gone reads EOF after its bytes. */
static int finish(struct rst_app *a)
{
	for (size_t i = 0; i < a->npipes; i++) {
		struct rst_pipe *pp = &a->pipes[i];

		if (!pp->rd_taken && pp->rd >= 0)
			close(pp->rd);
		if (!pp->wr_taken && pp->wr >= 0)
			close(pp->wr);
		pp->rd = pp->wr = -1;
	}
	return 0;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	int64_t bytes, size;

	if (!jg_i64(o, "pipe_bytes", &bytes) && !jg_i64(o, "pipe_size", &size))
		snprintf(buf, len, "%lld of %lld bytes in it", (long long)bytes, (long long)size);
}

const struct fd_kind kind_pipe = {
	.name = "pipe",
	.claims = claims_pipe,
	.save = save_pipe,
	.parse = parse,
	.load = load,
	.plan = plan,
	.make = make,
	.finish = finish,
	.describe = describe,
};

const struct fd_kind kind_fifo = {
	.name = "fifo",
	.claims = claims_fifo,
	.save = save_fifo,
	.parse = parse,
	.plan = plan,
	.make = make,
	.describe = describe,
};
