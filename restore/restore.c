// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot restore: an application back from its image, with its pids, its
 * memory at its addresses, its registers, its files, and traced again.
 *
 * Everything in the image is verified and parsed before any process is
 * made. In its own namespaces (as `appshot run` made it) the application
 * gets a new pid namespace whose init is appshot's reaper, and its process
 * is made there with its pid (clone3 set_tid); otherwise the process is
 * made with its pid in ours, which must be free. The new process prepares
 * what it can itself (rst_child.c), then appshot stops it under ptrace and
 * replaces its memory and state (rst_mem.c, rst_threads.c). All threads are
 * let go together: frozen, detached, thawed. If anything fails, the
 * application's cgroup is killed and everything registered is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "app.h"
#include "appinit.h"
#include "cgroup.h"
#include "cmd.h"
#include "commands.h"
#include "js.h"
#include "kind.h"
#include "kinfo.h"
#include "lib_hold.h"
#include "log.h"
#include "names.h"
#include "proc.h"
#include "rst.h"
#include "util.h"

#define FREEZE_TIMEOUT_MS 2000
#define READY_TIMEOUT_S 60

struct restore_opts {
	const char *dir;
	const char *name;
	const char *netns; /* a network namespace to restore into (a path: /run/netns/NAME) */
	int detach;
	int check_only; /* verify and plan, make nothing */
	struct rst_inherit inherit[APP_MAX_EXTERNAL]; /* --inherit-fd KEY[=FD] */
	size_t ninherit;
};

/* ---- in the new processes -------------------------------------------- */

/* pid 1 of the new namespace: the processes without a parent in the image, then the reaper. */
static void __attribute__((noreturn)) init_main(const struct rst_app *a, int pages_fd, int chan)
{
	struct rst_ready m = { .err = 1 };

	appinit_block_signals();
	if (rst_tree_globals(a, pages_fd, chan)) {
		snprintf(m.why, sizeof(m.why), "init cannot keep the restore's fds: %s",
			 strerror(errno));
		send(chan, &m, sizeof(m), MSG_NOSIGNAL);
		_exit(1);
	}
	chan = a->gbase + RST_G_CHAN;
	/* global state first: the SysV objects, in our new IPC namespace */
	if (rst_ipc_make(a, a->gbase + RST_G_PAGES, a->pages_off, m.why, sizeof(m.why))) {
		send(chan, &m, sizeof(m), MSG_NOSIGNAL);
		_exit(1);
	}
	if (rst_tree_roots(a, m.why, sizeof(m.why))) {
		send(chan, &m, sizeof(m), MSG_NOSIGNAL);
		_exit(1);
	}
	close_range(a->gbase, a->gbase + rst_nglobals(a) - 1, 0);
	appinit_loop(a->roots[0]->pid);
}

/* ---- in appshot ------------------------------------------------------- */

/* A new process's word: which it is, and its pid as we see it. */
static int wait_ready(struct rst_app *a, int chan)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct rst_ready m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct rst_proc *p = NULL;
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(chan, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		pr_err("restore: the new processes did not all get ready within %d s",
		       READY_TIMEOUT_S);
		return -ETIMEDOUT;
	}
	if (n != sizeof(m)) {
		pr_err("restore: a new process died before it was ready");
		return -ECHILD;
	}
	m.why[sizeof(m.why) - 1] = 0;
	if (m.err) {
		pr_err("restore: %s", m.why);
		return -EINVAL;
	}
	for (size_t i = 0; i < a->nprocs && !p; i++)
		if (a->procs[i].pid == m.vpid && !a->procs[i].sys_pid)
			p = &a->procs[i];
	for (c = CMSG_FIRSTHDR(&mh); p && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			p->sys_pid = uc.pid;
			return 0;
		}
	pr_err("restore: a new process did not say who it is");
	return -EPROTO;
}

/* The manifest's account of the image; with here, whether this machine can run it. */
static int check_image(struct image *im, const char *dir, struct json_object **cores, int *own_ns,
		       char *name, size_t name_len, int here_too)
{
	struct json_object *m = im->manifest, *procs;
	char arch[32], kernel[128], here[128];
	uint64_t vdso, vdso_len, our_vdso = 0;
	size_t our_len = 0;

	if (jg_str(m, "arch", arch, sizeof(arch)) || jg_str(m, "kernel", kernel, sizeof(kernel)) ||
	    jg_u64(m, "vdso_xxh64", &vdso) || jg_u64(m, "vdso_size", &vdso_len) ||
	    jg_bool(m, "own_namespaces", own_ns) || jg_str(m, "name", name, name_len) ||
	    !(procs = jg_arr(m, "processes"))) {
		pr_err("image %s: its manifest does not say what it holds", dir);
		return -EBADMSG;
	}
	if (!here_too)
		goto processes;
	if (strcmp(arch, "x86_64")) {
		pr_err("image %s is of %s processes: this machine runs x86_64", dir, arch);
		return -ENOEXEC;
	}
	kernel_release(here, sizeof(here));
	vdso_fingerprint(&our_vdso, &our_len);
	if (vdso != our_vdso || vdso_len != our_len) {
		pr_err("image %s was made on kernel %s, whose vdso differs from this kernel's (%s): "
		       "the application's code calls into it, restore it on a kernel like its own",
		       dir, kernel, here);
		return -ENOEXEC;
	}
processes:
	if (!ja_len(procs)) {
		pr_err("image %s holds no process", dir);
		return -EBADMSG;
	}
	for (size_t i = 0; i < ja_len(procs); i++)
		if (!json_object_is_type(ja_at(procs, i), json_type_string)) {
			pr_err("image %s: its list of processes is damaged", dir);
			return -EBADMSG;
		}
	*cores = procs;
	return 0;
}

static int check_pid_free(pid_t id)
{
	char path[64], comm[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", id);
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	if (read_file(path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = 0;
	else
		snprintf(comm, sizeof(comm), "?");
	pr_err("restore: pid %d is taken here (by %s): the application needs it back", id, comm);
	return -EEXIST;
}

/* Sharing our pid namespace, the processes' pids and tids must be free here. */
static int check_pids_free(const struct rst_app *a)
{
	int err = 0;

	for (size_t k = 0; k < a->nprocs && !err; k++)
		for (size_t i = 0; i < a->procs[k].nthreads && !err; i++)
			err = check_pid_free(a->procs[k].threads[i].tid);
	for (size_t k = 0; k < a->nzombies && !err; k++)
		err = check_pid_free(a->zombies[k].pid);
	return err;
}

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		err = -errno;
		pr_err("restore: cannot enter the network namespace %s: %s", path, strerror(-err));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* --inherit-fd KEY[=FD]: our fd FD (KEY if not given) for the file the application was given as KEY. */
static int parse_inherit(const char *arg, struct restore_opts *o)
{
	char *end;
	long key = strtol(arg, &end, 10), fd = key;

	if (end != arg && *end == '=')
		fd = strtol(end + 1, &end, 10);
	if (*end || end == arg || key < 0 || key > INT32_MAX || fd < 0 || fd > INT32_MAX)
		return usage_error("restore", "--inherit-fd takes KEY or KEY=FD (fd numbers), not '%s'",
				   arg);
	if (fcntl(fd, F_GETFD) < 0) {
		pr_err("--inherit-fd %s: fd %ld is not open", arg, fd);
		return -EBADF;
	}
	for (size_t i = 0; i < o->ninherit; i++)
		if (o->inherit[i].key == key)
			return usage_error("restore", "--inherit-fd %ld is given twice", key);
	if (o->ninherit == APP_MAX_EXTERNAL)
		return usage_error("restore", "--inherit-fd: %d at most", APP_MAX_EXTERNAL);
	o->inherit[o->ninherit++] = (struct rst_inherit){ .key = key, .fd = fd };
	return 0;
}

static int parse_restore(int argc, char **argv, struct restore_opts *o)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "aid", required_argument, NULL, 'a' },
		{ "detach", no_argument, NULL, 'd' },
		{ "netns", required_argument, NULL, 'n' },
		{ "inherit-fd", required_argument, NULL, 'i' },
		{ "check-only", no_argument, NULL, 'c' },
		COMMON_LONG_OPTS,
		{},
	};
	const char *why;
	int c, r;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "D:a:d" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			o->dir = optarg;
			break;
		case 'a':
			o->name = optarg;
			break;
		case 'd':
			o->detach = 1;
			break;
		case 'n':
			o->netns = optarg;
			break;
		case 'i':
			r = parse_inherit(optarg, o);
			if (r)
				return r;
			break;
		case 'c':
			o->check_only = 1;
			break;
		default:
			r = common_opt(c, "restore");
			if (r)
				return r;
		}
	}
	if (!o->dir || optind != argc)
		return usage_error("restore", "give the image with -D DIR");
	if (o->name && aid_name_check(o->name, &why))
		return usage_error("restore", "invalid application name '%s': %s", o->name, why);
	return 0;
}

static void print_restored(const struct app_record *rec, const struct rst_app *a, const char *dir,
			   uint64_t ns, int detach)
{
	const struct rst_proc *main = a->roots[0];
	uint64_t mem = 0;
	size_t threads = 0;
	char size[32];

	for (size_t k = 0; k < a->nprocs; k++) {
		const struct rst_proc *p = &a->procs[k];

		threads += p->nthreads;
		for (size_t i = 0; i < p->nvmas; i++)
			for (size_t j = 0; j < p->vmas[i].nruns; j++)
				mem += p->vmas[i].runs[j].npages * 4096;
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		js_str(o, "name", rec->name);
		js_u64(o, "aid", rec->aid);
		js_i64(o, "pid", main->pid);
		js_i64(o, "sys_pid", main->sys_pid);
		js_u64(o, "processes", a->nprocs);
		js_u64(o, "sysv_objects", rst_ipc_count(a));
		js_u64(o, "threads", threads);
		js_u64(o, "memory_bytes", mem);
		js_u64(o, "us", ns / 1000);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		human_size(mem, size, sizeof(size));
		fprintf(detach ? stdout : stderr,
			"application %s (aid %u) restored from %s: pid %d (system pid %d), %zu "
			"process%s, %zu thread%s, %s of memory, %zu SysV object%s, %.1f ms\n",
			rec->name, rec->aid, dir, main->pid, main->sys_pid, a->nprocs,
			a->nprocs == 1 ? "" : "es", threads, threads == 1 ? "" : "s", size,
			rst_ipc_count(a), rst_ipc_count(a) == 1 ? "" : "s", ns / 1e6);
	}
	fflush(stdout);
}

/*
 * Make the processes, each of which says when it is ready; *first: the one
 * we wait for (init, or the first process without a parent in the image).
 */
static int make_processes(struct rst_app *a, const struct app_record *rec, int pages_fd,
			  pid_t *first)
{
	struct timeval tv = { .tv_sec = READY_TIMEOUT_S };
	int chan[2], cgroup_fd, one = 1, err = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan)) {
		pr_perror("cannot make the restore channel");
		return -errno;
	}
	setsockopt(chan[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	setsockopt(chan[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cgroup_fd = open(rec->cgroup, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		err = -errno;
		pr_perror("cannot open %s", rec->cgroup);
		goto out;
	}
	err = rst_tree_open(a, pages_fd);
	if (err)
		goto out;
	/*
	 * An adopted tree with an IPC namespace of its own, in ours otherwise:
	 * a new one for it, entered by appshot, which makes the SysV objects
	 * there as init would, then the processes in it.
	 */
	if (!rec->own_ns && a->own_ipc) {
		char why[256];

		if (unshare(CLONE_NEWIPC)) {
			err = -errno;
			pr_perror("restore: cannot make an IPC namespace for the application");
			goto out;
		}
		if (rst_ipc_make(a, pages_fd, a->pages_off, why, sizeof(why))) {
			pr_err("restore: %s", why);
			err = -EIO;
			goto out;
		}
	}
	fflush(NULL);
	for (size_t i = 0; i < (rec->own_ns ? 1 : a->nroots); i++) {
		pid_t pid;

		if (rec->own_ns)
			pid = rst_clone(0, cgroup_fd,
					CLONE_INTO_CGROUP | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS);
		else
			pid = rst_clone(a->roots[i]->pid, cgroup_fd, CLONE_INTO_CGROUP);
		if (pid == 0) {
			close(chan[0]);
			if (rec->own_ns)
				init_main(a, pages_fd, chan[1]);
			if (rst_tree_globals(a, pages_fd, chan[1]))
				_exit(1);
			rst_tree_process(a, a->roots[i]);
		}
		if (pid < 0) {
			err = -errno;
			pr_err("restore: cannot make pid %d: %s", a->roots[i]->pid,
			       errno == EEXIST ? "it is taken" : strerror(errno));
			goto out;
		}
		if (i == 0)
			*first = pid;
	}
	close(chan[1]);
	chan[1] = -1;
	for (size_t i = 0; i < a->nprocs && !err; i++)
		err = wait_ready(a, chan[0]);
out:
	/* the processes hold what they need: the shared files are theirs now */
	rst_tree_free_fds(a);
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	/* closing our end once they are stopped under ptrace: they wait on it until then */
	if (chan[1] >= 0)
		close(chan[1]);
	a->chan = chan[0];
	return err;
}

/* Memory, threads, state: the stopped process becomes the one of the image. */
static int take_over(struct rst_proc *p)
{
	struct remote r;
	uint64_t t = now_ns(CLOCK_MONOTONIC);
	int err = ptrace_seize_stop(p->sys_pid, NULL);

	if (err) {
		pr_err("restore: cannot stop the new process %d: %s", p->sys_pid, strerror(-err));
		return err;
	}
	err = remote_open(&r, p->sys_pid);
	if (err) {
		pr_err("restore: cannot work in the new process %d: %s", p->sys_pid,
		       strerror(-err));
		return err;
	}
	err = rst_memory(p, &r);
	pr_debug("restore: pid %d: memory in %.2f ms, %lu syscalls", p->pid,
		 (now_ns(CLOCK_MONOTONIC) - t) / 1e6, r.calls);
	if (!err)
		err = rst_threads(p, &r);
	pr_debug("restore: pid %d: threads and state in %.2f ms, %lu syscalls", p->pid,
		 (now_ns(CLOCK_MONOTONIC) - t) / 1e6, r.calls);
	remote_forget(&r);
	return err;
}

/*
 * The files it was given this time (--inherit-fd), noted as run notes
 * --preserve-fds: its next snapshot knows them again. Each is noted once,
 * from the first fd that holds it.
 */
static int note_inherited(struct registry *reg, struct app_record *rec, const struct rst_app *a)
{
	size_t before = rec->nexternal;
	int err = 0;

	for (size_t k = 0; k < a->nprocs && !err; k++)
		for (size_t i = 0; i < a->procs[k].nfds && !err; i++) {
			const struct rst_fd *f = &a->procs[k].fds[i];
			int key = f->kind == &kind_inherited ? *(int *)f->state : -1, known = 0;

			for (size_t e = 0; key >= 0 && e < rec->nexternal; e++)
				known |= rec->external[e].key == key;
			if (key < 0 || known)
				continue;
			err = app_note_external(rec, a->procs[k].sys_pid, f->fd, key);
			if (err)
				pr_err("restore: cannot note pid %d's fd %d, given with --inherit-fd: %s",
				       a->procs[k].pid, f->fd, strerror(-err));
		}
	return !err && rec->nexternal != before ? registry_update(reg, rec) : err;
}

/* Make the restored tasks members of the application, as run and attach do. */
static int adopt(struct tracer *tr, struct app_record *rec, const struct rst_app *a, pid_t first)
{
	struct app_info info;
	size_t n = 0;
	pid_t *tids;
	__u32 ino;
	int err;

	for (size_t k = 0; k < a->nprocs; k++)
		n += a->procs[k].nthreads;
	tids = calloc(n, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	n = 0;
	for (size_t k = 0; k < a->nprocs; k++)
		for (size_t i = 0; i < a->procs[k].nthreads; i++)
			tids[n++] = a->procs[k].threads[i].sys_tid;
	if (bpf_map_lookup_elem(tr->fd[TMAP_APPS], &rec->aid, &info) == 0) {
		if (!proc_ns_ino(first, "pid_for_children", &ino) || !proc_ns_ino(first, "pid", &ino))
			info.pidns_ino = ino;
		if (!proc_ns_ino(first, "ipc", &ino))
			info.ipcns_ino = ino;
		info.root_tid = first;
		bpf_map_update_elem(tr->fd[TMAP_APPS], &rec->aid, &info, BPF_EXIST);
	}
	err = rec->own_ns ? app_adopt(tr, rec->aid, &first, 1, TASKF_INIT) : 0;
	if (!err)
		err = app_adopt(tr, rec->aid, tids, n, 0);
	free(tids);
	return err;
}

/* All threads of all processes go on together: frozen, let go, thawed. */
static void release(const struct app_record *rec, const struct rst_app *a)
{
	int frozen = cgroup_freeze(rec->cgroup, 1, FREEZE_TIMEOUT_MS) == 0;

	for (size_t k = 0; k < a->nprocs; k++) {
		/* a process that was stopped (SIGSTOP, job control) stops as it goes */
		if (a->procs[k].stopped)
			kill(a->procs[k].sys_pid, a->procs[k].stopped);
		for (size_t i = 0; i < a->procs[k].nthreads; i++) {
			const struct rst_thread *t = &a->procs[k].threads[i];
			int err = ptrace_detach(t->sys_tid);

			if (err)
				pr_warn("restore: pid %d thread %d: cannot let it go: %s",
					a->procs[k].pid, t->tid, strerror(-err));
		}
	}
	if (frozen)
		cgroup_freeze(rec->cgroup, 0, FREEZE_TIMEOUT_MS);
}

/* With -v: where a restore's time goes. */
static void phase(uint64_t t0, const char *what)
{
	pr_debug("restore: %s by %.2f ms", what, (now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
}

/* Every process's core record, parsed and checked; the tree planned. */
static int read_processes(struct image *im, const char *dir, struct json_object *cores,
			  uint64_t pages_off, uint64_t pages_len, struct rst_app *a)
{
	int err;

	a->nprocs = ja_len(cores);
	a->procs = calloc(a->nprocs, sizeof(*a->procs));
	if (!a->procs)
		return -ENOMEM;
	for (size_t i = 0; i < a->nprocs; i++) {
		const char *name = json_object_get_string(ja_at(cores, i));
		struct json_object *core = image_read_json(im, name);

		if (!core) {
			pr_err("image %s: its record %s cannot be read", dir, name);
			return -EBADMSG;
		}
		err = rst_parse(core, pages_len, &a->procs[i]);
		json_object_put(core);
		if (err)
			return err;
		a->procs[i].pages_off = pages_off;
	}
	a->pages_off = pages_off;
	err = rst_tree_plan(a);
	if (!err)
		err = rst_tree_zombies(a, jg_arr(im->manifest, "zombies"));
	if (!err)
		err = rst_ipc_read(im, pages_len, a);
	a->own_ipc = a->own_ns;
	if (!err && json_object_object_get_ex(im->manifest, "own_ipc", NULL) &&
	    (jg_bool(im->manifest, "own_ipc", &a->own_ipc) || (a->own_ns && !a->own_ipc))) {
		pr_err("image %s: its manifest's own_ipc is damaged", dir);
		err = -EBADMSG;
	}
	/* every SysV segment a process has attached is one the image holds */
	for (size_t k = 0; !err && k < a->nprocs; k++)
		for (size_t i = 0; !err && i < a->procs[k].nvmas; i++) {
			const struct rst_vma *v = &a->procs[k].vmas[i];
			int found = 0;

			if (strcmp(v->kind, "sysv"))
				continue;
			found = rst_ipc_has_shm(a, v->shmid);
			if (!found) {
				pr_err("image %s: pid %d has SysV segment %d attached at %llx, which the "
				       "image does not hold", dir, a->procs[k].pid, v->shmid,
				       (unsigned long long)v->start);
				err = -EBADMSG;
			}
		}
	if (!err && a->ipc && !a->own_ipc) {
		pr_err("image %s: SysV objects of an application without its own IPC namespace",
		       dir);
		err = -EBADMSG;
	}
	/* the bytes the kinds' records name: queues of sockets, pipes */
	for (size_t i = 0; !err && kinds[i]; i++)
		if (kinds[i]->load)
			err = kinds[i]->load(im, a);
	return err;
}

static void free_app(struct rst_app *a)
{
	rst_tree_free(a);
	rst_ipc_free(a);
	for (size_t i = 0; a->procs && i < a->nprocs; i++)
		rst_free(&a->procs[i]);
	free(a->procs);
	if (a->chan >= 0)
		close(a->chan);
	memset(a, 0, sizeof(*a));
	a->chan = -1;
}

int restore_plan(struct image *im, const struct rst_inherit *inherit, size_t ninherit, int say,
		 int image_only)
{
	struct rst_app a = { .chan = -1, .inherit = inherit, .ninherit = ninherit,
			     .image_only = image_only };
	char image_name[APPSHOT_NAME_LEN];
	struct json_object *cores;
	uint64_t pages_off, pages_len;
	int err, pages_fd = -1;

	err = check_image(im, im->dir, &cores, &a.own_ns, image_name, sizeof(image_name),
			  !image_only);
	if (!err && (pages_fd = image_pages_fd(im, &pages_off, &pages_len)) < 0) {
		pr_err("image %s: its pages cannot be read", im->dir);
		err = -EBADMSG;
	}
	if (!err)
		err = read_processes(im, im->dir, cores, pages_off, pages_len, &a);
	if (!err && say) {
		if (json_output) {
			struct json_object *o = json_object_new_object();

			js_str(o, "name", image_name);
			js_u64(o, "processes", a.nprocs);
			js_bool(o, "ok", 1);
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			printf("image %s (%s): verified, and its restore planned: %zu process%s\n",
			       im->dir, image_name, a.nprocs, a.nprocs == 1 ? "" : "es");
		}
	}
	if (pages_fd >= 0)
		close(pages_fd);
	free_app(&a);
	return err;
}

int restore_check(const char *dir, const struct rst_inherit *inherit, size_t ninherit, int say,
		  int image_only)
{
	struct image im;
	int err = image_open(&im, dir);

	if (err)
		return err;
	err = restore_plan(&im, inherit, ninherit, say, image_only);
	image_close(&im);
	return err;
}

int do_restore(int argc, char **argv)
{
	struct app_record rec = { .mode = APP_RESTORE };
	struct tracer tr = { .fd = { -1 } };
	struct registry reg = { .lock_fd = -1 };
	struct json_object *cores = NULL;
	struct image im = { 0 };
	struct rst_app a = { .chan = -1 };
	struct restore_opts o;
	char image_name[APPSHOT_NAME_LEN];
	uint64_t pages_off, pages_len, image_aid, t0 = now_ns(CLOCK_MONOTONIC);
	int err, pages_fd = -1, registered = 0, code;
	pid_t first = -1, self_vpid;
	__u32 level = 0;

	err = parse_restore(argc, argv, &o);
	if (err)
		return err;
	if (o.check_only)
		return restore_check(o.dir, o.inherit, o.ninherit, 1, 0);
	err = tracer_check_env();
	if (err)
		return err;

	/* Everything checked before anything is made. */
	err = image_open(&im, o.dir);
	if (err)
		return err;
	phase(t0, "image verified");
	err = check_image(&im, o.dir, &cores, &rec.own_ns, image_name, sizeof(image_name), 1);
	if (err)
		goto out;
	a.own_ns = rec.own_ns;
	pages_fd = image_pages_fd(&im, &pages_off, &pages_len);
	if (pages_fd < 0) {
		pr_err("image %s: its pages cannot be read", o.dir);
		err = -EBADMSG;
		goto out;
	}
	a.inherit = o.inherit;
	a.ninherit = o.ninherit;
	err = read_processes(&im, o.dir, cores, pages_off, pages_len, &a);
	if (err)
		goto out;
	phase(t0, "image read");
	/* the application's sockets and processes are made there; its held traffic let go there */
	if (o.netns && ((err = enter_netns(o.netns)) ||
			(jg_u64(im.manifest, "aid", &image_aid) == 0 &&
			 (err = hold_follow(image_aid)))))
		goto out;
	if (!rec.own_ns) {
		err = check_pids_free(&a);
		if (err)
			goto out;
	}
	snprintf(rec.name, sizeof(rec.name), "%s", o.name ? o.name : image_name);
	if (cgroup_of_pid(getpid(), rec.origin_cgroup, sizeof(rec.origin_cgroup)))
		rec.origin_cgroup[0] = 0;
	err = proc_nspid(getpid(), &self_vpid, &level);
	if (err) {
		pr_err("cannot read this process's pid namespace: %s", strerror(-err));
		goto out;
	}
	level += rec.own_ns;

	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		goto out;
	if (registry_get(&reg, rec.name, &(struct app_record){ 0 }) == 0) {
		pr_err("an application named '%s' exists: give the restored one another name with "
		       "--aid NAME",
		       rec.name);
		err = -EEXIST;
		goto out;
	}
	err = app_tracer_ready(&tr);
	phase(t0, "tracer ready");
	if (!err)
		err = app_register(&reg, &tr, &rec, level, 0, 0);
	if (err)
		goto out;
	registered = 1;
	phase(t0, "registered");

	if (!o.detach && !rec.own_ns)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	err = make_processes(&a, &rec, pages_fd, &first);
	phase(t0, "processes made");
	for (size_t i = 0; i < a.nprocs && !err; i++)
		err = take_over(&a.procs[i]);
	if (!err)
		err = rst_ipc_finish(&a, first);
	if (a.chan >= 0) {
		close(a.chan);
		a.chan = -1;
	}
	if (!err) {
		rec.root = first;
		err = registry_update(&reg, &rec);
	}
	phase(t0, "recorded");
	if (!err)
		err = adopt(&tr, &rec, &a, first);
	if (!err)
		err = note_inherited(&reg, &rec, &a);
	if (!err)
		err = rst_ipc_register(&a, &tr, rec.aid, first);
	if (err)
		goto out;
	phase(t0, "adopted by the tracer");
	release(&rec, &a);
	registered = 0;
	/* back: the traffic held for it since its snapshot goes through again */
	if (jg_u64(im.manifest, "aid", &image_aid) == 0)
		hold_release(image_aid);
	print_restored(&rec, &a, o.dir, now_ns(CLOCK_MONOTONIC) - t0, o.detach);
	registry_close(&reg);
	tracer_close(&tr);
	if (o.detach)
		goto out;
	free_app(&a);
	close(pages_fd);
	pages_fd = -1;
	image_close(&im);
	code = app_foreground(rec.name, first, !rec.own_ns);
	exit(code);

out:
	if (registered) {
		/* nothing of a failed restore stays */
		if (first > 0) {
			cgroup_kill(rec.cgroup);
			/* our children and tracees, all killed: reaped */
			while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
				;
		}
		rst_socks_unbind(&a);
		/* it is not coming back this time: its peers may learn so */
		if (jg_u64(im.manifest, "aid", &image_aid) == 0)
			hold_release(image_aid);
		app_unregister(&reg, &tr, &rec);
		app_tracer_release(&tr);
		pr_info("restore from %s failed: nothing of it is left", o.dir);
	}
	tracer_close(&tr);
	registry_close(&reg);
	free_app(&a);
	if (pages_fd >= 0)
		close(pages_fd);
	image_close(&im);
	return err;
}
