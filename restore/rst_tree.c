// SPDX-License-Identifier: GPL-2.0-only
/*
 * The process tree of an application, made again in its original shape:
 * each process is made by its parent (clone3 with set_tid, so pids stay),
 * after the parent has its session and group, so that children inherit
 * them as they did. Processes whose parent is not in the image are made by
 * the namespace's init, or by appshot when the application shares ours.
 *
 * Open files that several processes share (one offset for all) are opened
 * once, by appshot, before any process is made: every process inherits
 * them among its "global" fds and takes its own from there. So are the
 * application's pipes, with the bytes they held.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appinit.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "rst.h"

static struct rst_proc *find_proc(const struct rst_app *a, pid_t pid)
{
	for (size_t i = 0; i < a->nprocs; i++)
		if (a->procs[i].pid == pid)
			return &a->procs[i];
	return NULL;
}

static struct rst_fd *find_fd(struct rst_proc *p, int fd)
{
	for (size_t i = 0; i < p->nfds; i++)
		if (p->fds[i].fd == fd)
			return &p->fds[i];
	return NULL;
}

struct rst_fd *rst_holder(struct rst_app *a, pid_t pid, int fd)
{
	struct rst_proc *p = find_proc(a, pid);
	struct rst_fd *f = p ? find_fd(p, fd) : NULL;

	/* a dup names its first fd; a file another process opened first names that one */
	for (int hops = 0; f && hops < 3; hops++) {
		if (f->dup_of >= 0) {
			f = find_fd(p, f->dup_of);
		} else if (f->same_pid >= 0) {
			p = find_proc(a, f->same_pid);
			f = p ? find_fd(p, f->same_fd) : NULL;
		} else {
			return f;
		}
	}
	return NULL;
}

static int add_child(struct rst_proc *parent, struct rst_proc *c)
{
	struct rst_proc **n = realloc(parent->children, (parent->nchildren + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	parent->children = n;
	n[parent->nchildren++] = c;
	return 0;
}

/*
 * Sessions come back by inheritance: a process leads its own, or is in its
 * parent's. A process without a parent in the image whose session leader
 * is gone (a daemon after setsid and a second fork) is made by a stand-in
 * leader with that pid, which leaves at once: init takes the orphan.
 */
static int check_session(struct rst_app *a, struct rst_proc *p)
{
	if (p->sid == p->pid)
		return 0;
	if (p->parent ? p->sid == p->parent->sid : (!a->own_ns || p->sid == 0))
		return 0;
	if (!p->parent && !find_proc(a, p->sid)) {
		p->helper = p->sid;
		return 0;
	}
	pr_err("restore: pid %d is in session %d, which %s: appshot cannot restore that yet",
	       p->pid, p->sid,
	       p->parent ? "is not its parent's" : "another process of it leads");
	return -ENOTSUP;
}

int rst_tree_zombies(struct rst_app *a, struct json_object *list)
{
	size_t n = list ? ja_len(list) : 0;

	a->zombies = calloc(n + 1, sizeof(*a->zombies));
	if (!a->zombies)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = ja_at(list, i);
		struct rst_zombie *z = &a->zombies[i];

		if (jg_int(o, "pid", &z->pid) || jg_int(o, "ppid", &z->ppid) ||
		    jg_int(o, "pgid", &z->pgid) || jg_int(o, "sid", &z->sid) ||
		    jg_str(o, "comm", z->comm, sizeof(z->comm)) || jg_int(o, "status", &z->status) ||
		    z->pid <= 0 || z->status < 0 || !find_proc(a, z->ppid) || find_proc(a, z->pid)) {
			pr_err("image: zombie %zu is damaged, or its parent is not in the image", i);
			return -EBADMSG;
		}
		a->nzombies++;
	}
	return 0;
}

int rst_add_slot(struct rst_app *a, struct rst_fd *f)
{
	struct rst_fd **n;

	if (f->shared >= 0)
		return 0;
	n = realloc(a->shared, (a->nshared + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	a->shared = n;
	f->shared = a->nshared;
	n[a->nshared++] = f;
	return 0;
}

/* The kinds' planning: a slot for each open file appshot makes (pipes, sockets). */
static int plan_kinds(struct rst_app *a)
{
	for (size_t i = 0; i < a->nprocs; i++) {
		struct rst_proc *p = &a->procs[i];

		for (size_t k = 0; k < p->nfds; k++) {
			struct rst_fd *f = &p->fds[k];
			int err = f->kind->plan ? f->kind->plan(a, p, f) : 0;

			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Memory objects several processes have (shared anonymous memory, memfds,
 * deleted files): made once, by appshot, and given to each. Their fds in
 * the processes are fixed, as the objects' own are.
 */
static int plan_objects(struct rst_app *a)
{
	for (size_t i = 0; i < a->nprocs; i++) {
		struct rst_proc *p = &a->procs[i];

		for (size_t k = 0; k < p->nobjects; k++) {
			struct rst_object *ob = &p->objects[k], *first, **n;
			struct rst_proc *holder;

			if (!ob->of)
				continue;
			holder = find_proc(a, ob->of);
			first = holder ? rst_object(holder, ob->id) : NULL;
			if (!first || first->of || strcmp(first->kind, ob->kind) ||
			    first->size != ob->size) {
				pr_err("restore: pid %d shares memory object %d with pid %d, which "
				       "does not have it",
				       p->pid, ob->id, ob->of);
				return -EBADMSG;
			}
			if (first->global < 0) {
				n = realloc(a->gobjs, (a->ngobjs + 1) * sizeof(*n));
				if (!n)
					return -ENOMEM;
				a->gobjs = n;
				first->global = a->ngobjs;
				n[a->ngobjs++] = first;
				first->fd = holder->service_base + 5 + (first - holder->objects);
			}
			ob->global = first->global;
			ob->fd = p->service_base + 5 + k;
		}
	}
	return 0;
}

int rst_tree_plan(struct rst_app *a)
{
	int err;

	a->roots = calloc(a->nprocs, sizeof(*a->roots));
	if (!a->roots)
		return -ENOMEM;
	for (size_t i = 0; i < a->nprocs; i++) {
		struct rst_proc *p = &a->procs[i], *parent = find_proc(a, p->ppid);

		if (parent == p) {
			pr_err("restore: pid %d is its own parent in the image", p->pid);
			return -EBADMSG;
		}
		if (find_proc(a, p->pid) != p) {
			pr_err("restore: pid %d is twice in the image", p->pid);
			return -EBADMSG;
		}
		/*
		 * In namespaces of its own, the application's first processes
		 * are children of appshot's init, pid 1, which the image does
		 * not hold: any other parent missing is a damaged image.
		 */
		if (a->own_ns && (p->pid == 1 || (!parent && p->ppid != 1))) {
			pr_err("image: record core-%d: %s", p->pid,
			       p->pid == 1 ? "pid 1 is appshot's init, not the application's"
					   : "its parent is not in the image");
			return -EBADMSG;
		}
		p->parent = parent;
		err = parent ? add_child(parent, p) : 0;
		if (err)
			return err;
		if (!parent)
			a->roots[a->nroots++] = p;
	}
	/* a loop of parents would leave no root to start from */
	for (size_t i = 0; i < a->nprocs; i++) {
		struct rst_proc *q = &a->procs[i];
		size_t depth = 0;

		while (q->parent && depth++ <= a->nprocs)
			q = q->parent;
		if (q->parent) {
			pr_err("restore: the parents of pid %d make a loop", a->procs[i].pid);
			return -EBADMSG;
		}
		err = check_session(a, &a->procs[i]);
		if (err)
			return err;
	}

	err = plan_kinds(a);
	if (!err)
		err = plan_objects(a);
	if (err)
		return err;
	/* Open files shared between processes: one slot each, named by the first holder. */
	for (size_t i = 0; i < a->nprocs; i++) {
		struct rst_proc *p = &a->procs[i];

		for (size_t k = 0; k < p->nfds; k++) {
			struct rst_fd *f = &p->fds[k], *first;
			struct rst_object *ob;
			struct rst_proc *holder;

			if (f->same_pid < 0)
				continue;
			holder = find_proc(a, f->same_pid);
			first = holder ? find_fd(holder, f->same_fd) : NULL;
			ob = first && first->object >= 0 ? rst_object(holder, first->object) : NULL;
			if (!first || first->same_pid >= 0 || first->dup_of >= 0 ||
			    (first->object >= 0 && (!ob || ob->global < 0)) ||
			    first->kind != f->kind) {
				pr_err("restore: pid %d fd %d shares the open file of pid %d fd %d, "
				       "which the image does not hold as such",
				       p->pid, f->fd, f->same_pid, f->same_fd);
				return -EBADMSG;
			}
			if (first->kind->unshareable) {
				pr_err("restore: pid %d fd %d shares its %s with pid %d: "
				       "appshot cannot restore that yet",
				       p->pid, f->fd, first->kind->name, f->same_pid);
				return -ENOTSUP;
			}
			if (first->shared < 0 && (err = rst_add_slot(a, first)))
				return err;
			first->gobj = ob ? ob->global : -1;
			f->shared = first->shared;
		}
	}
	return 0;
}

static int highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int top = 2;

	if (!d)
		return 1024;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && atoi(de->d_name) > top)
			top = atoi(de->d_name);
	closedir(d);
	return top;
}

int rst_tree_open(struct rst_app *a, int pages_fd)
{
	char why[512];
	int top, err;

	a->gobj_fd = calloc(a->ngobjs + 1, sizeof(*a->gobj_fd));
	if (!a->gobj_fd)
		return -ENOMEM;
	for (size_t k = 0; k < a->ngobjs; k++)
		a->gobj_fd[k] = -1;
	for (size_t k = 0; k < a->ngobjs; k++) {
		a->gobj_fd[k] = rst_object_create(a->gobjs[k], pages_fd, a->pages_off, why,
						  sizeof(why));
		if (a->gobj_fd[k] < 0) {
			pr_err("restore: %s", why);
			return -EIO;
		}
	}
	a->shared_fd = calloc(a->nshared + 1, sizeof(*a->shared_fd));
	if (!a->shared_fd)
		return -ENOMEM;
	for (size_t k = 0; k < a->nshared; k++)
		a->shared_fd[k] = -1;
	for (size_t i = 0; kinds[i]; i++)
		if (kinds[i]->prepare && (err = kinds[i]->prepare(a)))
			return err;
	for (size_t k = 0; k < a->nshared; k++) {
		struct rst_fd *f = a->shared[k];
		int flags = f->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
		int fd;

		if (f->kind->make) {
			fd = f->kind->make(a, f, why, sizeof(why));
			if (fd < 0) {
				pr_err("restore: fd %d: %s", f->fd, why);
				return -EIO;
			}
			a->shared_fd[k] = fd;
			if (fdattr_file_locks(fd, f, why, sizeof(why))) {
				pr_err("restore: fd %d: %s", f->fd, why);
				return -EIO;
			}
			continue;
		}
		if (f->gobj >= 0) {
			/* a memory object's file several processes share: opened from ours */
			snprintf(why, sizeof(why), "/proc/self/fd/%d", a->gobj_fd[f->gobj]);
			fd = open(why, flags | O_CLOEXEC);
		} else {
			fd = open(f->path, flags | O_CLOEXEC);
		}
		if (fd < 0) {
			pr_perror("restore: cannot open %s", f->path);
			return -errno;
		}
		a->shared_fd[k] = fd;
		if (!S_ISCHR(f->mode) && !(flags & O_PATH) && lseek(fd, f->pos, SEEK_SET) < 0) {
			pr_perror("restore: cannot seek %s to %llu", f->path,
				  (unsigned long long)f->pos);
			return -errno;
		}
		if (fdattr_file_locks(fd, f, why, sizeof(why))) {
			pr_err("restore: fd %d: %s", f->fd, why);
			return -EIO;
		}
	}
	for (size_t i = 0; kinds[i]; i++)
		if (kinds[i]->finish && (err = kinds[i]->finish(a)))
			return err;
	/* above every process's own fds and service fds, and above all of ours */
	top = highest_fd();
	a->gbase = top + 1;
	for (size_t i = 0; i < a->nprocs; i++) {
		const struct rst_proc *p = &a->procs[i];
		int end = p->service_base + 5 + p->nobjects;

		if (end > a->gbase)
			a->gbase = end;
	}
	return 0;
}

void rst_tree_free_fds(struct rst_app *a)
{
	for (size_t k = 0; a->gobj_fd && k < a->ngobjs; k++)
		if (a->gobj_fd[k] >= 0) {
			close(a->gobj_fd[k]);
			a->gobj_fd[k] = -1;
		}
	for (size_t k = 0; a->shared_fd && k < a->nshared; k++)
		if (a->shared_fd[k] >= 0) {
			close(a->shared_fd[k]);
			a->shared_fd[k] = -1;
		}
}

void rst_tree_free(struct rst_app *a)
{
	rst_tree_free_fds(a);
	for (size_t i = 0; i < a->nprocs; i++)
		free(a->procs[i].children);
	for (size_t i = 0; i < a->npipes; i++) {
		if (!a->pipes[i].rd_taken && a->pipes[i].rd >= 0)
			close(a->pipes[i].rd);
		if (!a->pipes[i].wr_taken && a->pipes[i].wr >= 0)
			close(a->pipes[i].wr);
		free(a->pipes[i].data);
	}
	free(a->pipes);
	a->pipes = NULL;
	a->npipes = 0;
	free(a->zombies);
	a->zombies = NULL;
	a->nzombies = 0;
	free(a->gobj_fd);
	free(a->gobjs);
	a->gobj_fd = NULL;
	a->gobjs = NULL;
	a->ngobjs = 0;
	free(a->shared_fd);
	free(a->shared);
	free(a->roots);
	a->shared_fd = NULL;
	a->shared = NULL;
	a->roots = NULL;
}

int rst_tree_globals(const struct rst_app *a, int pages_fd, int chan)
{
	int g = a->gbase, n = rst_nglobals(a);
	struct dirent *de;
	DIR *d;

	if (rst_fit_fds(g + n))
		return -EMFILE;
	/* every source is below gbase: no dup2 here overwrites one still to move */
	if (dup2(pages_fd, g + RST_G_PAGES) < 0 || dup2(chan, g + RST_G_CHAN) < 0)
		return -errno;
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(fd, g + RST_G_STDIO + fd) < 0 && dup2(pages_fd, g + RST_G_STDIO + fd) < 0)
			return -errno; /* a closed stdio: a placeholder */
	for (size_t k = 0; k < a->nshared; k++)
		if (dup2(a->shared_fd[k], g + RST_G_SHARED + k) < 0)
			return -errno;
	for (size_t k = 0; k < a->ngobjs; k++)
		if (dup2(a->gobj_fd[k], rst_gobj_fd(a, k)) < 0)
			return -errno;
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd != dirfd(d) &&
		    (fd < g || fd >= g + n))
			close(fd);
	}
	closedir(d);
	for (int fd = g; fd < g + n; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

pid_t rst_clone(pid_t pid, int cgroup_fd, uint64_t flags)
{
	pid_t want = pid;
	struct clone_args ca = {
		.flags = flags,
		.exit_signal = SIGCHLD,
		.set_tid = pid > 0 ? (uintptr_t)&want : 0,
		.set_tid_size = pid > 0,
		.cgroup = cgroup_fd,
	};

	if (cgroup_fd < 0)
		ca.cgroup = 0;
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

static void __attribute__((noreturn)) say(int chan, pid_t vpid, const char *why)
{
	struct rst_ready m = { .err = 1, .vpid = vpid };

	snprintf(m.why, sizeof(m.why), "%s", why);
	send(chan, &m, sizeof(m), MSG_NOSIGNAL);
	_exit(1);
}

/* The children of p that had ended: made, and ended again the same way. */
static int make_zombies(const struct rst_app *a, const struct rst_proc *p, char *why, size_t len)
{
	for (size_t i = 0; i < a->nzombies; i++) {
		const struct rst_zombie *z = &a->zombies[i];
		pid_t pid;

		if (z->ppid != p->pid)
			continue;
		pid = rst_clone(z->pid, -1, 0);
		if (pid < 0) {
			snprintf(why, len, "pid %d cannot make its zombie %d again: %s", p->pid,
				 z->pid, strerror(errno));
			return -1;
		}
		if (pid == 0) {
			struct rlimit none = { 0, 0 };
			sigset_t all;

			prctl(PR_SET_NAME, z->comm);
			if (z->pgid == z->pid)
				setpgid(0, 0);
			if (WIFSIGNALED(z->status)) {
				setrlimit(RLIMIT_CORE, &none); /* no core file this time */
				signal(WTERMSIG(z->status), SIG_DFL);
				sigemptyset(&all);
				sigprocmask(SIG_SETMASK, &all, NULL);
				raise(WTERMSIG(z->status));
			}
			_exit(WEXITSTATUS(z->status));
		}
	}
	return 0;
}

/* A stand-in session leader: its session, then the processes in it, then gone. */
static void __attribute__((noreturn)) helper_main(const struct rst_app *a, pid_t sid, int chan)
{
	char why[512];

	if (setsid() < 0) {
		snprintf(why, sizeof(why), "the stand-in leader of session %d: %s", sid,
			 strerror(errno));
		say(chan, 0, why);
	}
	for (size_t i = 0; i < a->nroots; i++) {
		pid_t pid;

		if (a->roots[i]->helper != sid)
			continue;
		pid = rst_clone(a->roots[i]->pid, -1, 0);
		if (pid == 0)
			rst_tree_process(a, a->roots[i]);
		if (pid < 0) {
			snprintf(why, sizeof(why), "cannot make pid %d in session %d: %s",
				 a->roots[i]->pid, sid, strerror(errno));
			say(chan, 0, why);
		}
	}
	_exit(0);
}

int rst_tree_roots(const struct rst_app *a, char *why, size_t len)
{
	int chan = a->gbase + RST_G_CHAN;

	for (size_t i = 0; i < a->nroots; i++) {
		const struct rst_proc *r = a->roots[i];
		int first = 1;
		pid_t pid;

		for (size_t j = 0; j < i && first; j++)
			first = !r->helper || a->roots[j]->helper != r->helper;
		if (!first)
			continue; /* its stand-in leader makes it */
		pid = rst_clone(r->helper ? r->helper : r->pid, -1, 0);
		if (pid == 0) {
			if (r->helper)
				helper_main(a, r->helper, chan);
			rst_tree_process(a, a->roots[i]);
		}
		if (pid < 0) {
			snprintf(why, len, "cannot make pid %d in the new namespace: %s",
				 r->helper ? r->helper : r->pid, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void rst_tree_process(const struct rst_app *a, struct rst_proc *p)
{
	struct rst_ready m = { .vpid = p->pid };
	int chan = a->gbase + RST_G_CHAN;
	char c;

	reset_signals();
	if (rst_child_setup(a, p, m.why, sizeof(m.why)))
		say(chan, p->pid, m.why);
	for (size_t i = 0; i < p->nchildren; i++) {
		pid_t child = rst_clone(p->children[i]->pid, -1, 0);

		if (child == 0)
			rst_tree_process(a, p->children[i]);
		if (child < 0) {
			snprintf(m.why, sizeof(m.why), "pid %d cannot make its child %d: %s", p->pid,
				 p->children[i]->pid, errno == EEXIST ? "the pid is taken" :
				 strerror(errno));
			say(chan, p->pid, m.why);
		}
	}
	if (make_zombies(a, p, m.why, sizeof(m.why)) || rst_child_files(a, p, m.why, sizeof(m.why)))
		say(chan, p->pid, m.why);
	chan = p->service_base + 1;
	close_range(a->gbase, a->gbase + rst_nglobals(a) - 1, 0);
	/* SO_PASSCRED on appshot's end: the kernel adds our pid, as appshot sees it */
	if (send(chan, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		_exit(1);
	/* appshot takes over from here; this read never returns unless it is gone */
	while (read(chan, &c, 1) < 0)
		;
	_exit(1);
}
