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
#include "kinfo.h"
#include "log.h"
#include "names.h"
#include "proc.h"
#include "rst.h"
#include "util.h"

#define FREEZE_TIMEOUT_MS 2000

struct restore_opts {
	const char *dir;
	const char *name;
	int detach;
};

/* What the new process tells appshot: 0, or why it could not set itself up. */
struct ready_msg {
	int err;
	char why[512];
};

/* ---- in the new processes -------------------------------------------- */

static void __attribute__((noreturn)) child_main(struct rst_proc *p, int pages_fd, int chan)
{
	struct ready_msg m = { 0 };
	char c;

	reset_signals();
	if (rst_child_setup(p, pages_fd, chan, m.why, sizeof(m.why)))
		m.err = 1;
	if (fcntl(p->service_base + 1, F_GETFD) >= 0)
		chan = p->service_base + 1; /* moved there */
	/* SO_PASSCRED on appshot's end: the kernel adds our pid, as appshot sees it */
	if (send(chan, &m, sizeof(m), MSG_NOSIGNAL) < 0 || m.err)
		_exit(1);
	/* appshot takes over from here; this read never returns unless it is gone */
	while (read(chan, &c, 1) < 0)
		;
	_exit(1);
}

static pid_t clone_with_pid(pid_t pid, int cgroup_fd, uint64_t flags)
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

/* pid 1 of the new namespace: the process with its pid, then the reaper. */
static void __attribute__((noreturn)) init_main(struct rst_proc *p, int pages_fd, int chan)
{
	struct ready_msg m = { 1 };
	pid_t child;

	appinit_block_signals();
	appinit_close_own_fds(pages_fd, chan);
	child = clone_with_pid(p->pid, -1, 0);
	if (child == 0)
		child_main(p, pages_fd, chan);
	if (child < 0) {
		snprintf(m.why, sizeof(m.why), "cannot make pid %d in the new namespace: %s",
			 p->pid, strerror(errno));
		send(chan, &m, sizeof(m), MSG_NOSIGNAL);
		_exit(1);
	}
	close(chan);
	close(pages_fd);
	appinit_loop(child);
}

/* ---- in appshot ------------------------------------------------------- */

/* The new process's word, and its pid as we see it. */
static int wait_ready(int chan, pid_t *pid)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct ready_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(chan, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(m)) {
		pr_err("restore: the new process died before it was ready");
		return -ECHILD;
	}
	m.why[sizeof(m.why) - 1] = 0;
	if (m.err) {
		pr_err("restore: %s", m.why);
		return -EINVAL;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			*pid = uc.pid;
			return 0;
		}
	pr_err("restore: the new process did not say who it is");
	return -EPROTO;
}

static int check_image(struct image *im, const char *dir, char *core_name, size_t len,
		       int *own_ns, char *name, size_t name_len)
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
	if (json_object_array_length(procs) != 1 ||
	    !json_object_is_type(json_object_array_get_idx(procs, 0), json_type_string)) {
		pr_err("image %s holds %zu processes: appshot restores one-process applications "
		       "for now",
		       dir, json_object_array_length(procs));
		return -ENOTSUP;
	}
	snprintf(core_name, len, "%s", json_object_get_string(json_object_array_get_idx(procs, 0)));
	return 0;
}

/* Sharing our pid namespace, the process's pid and tids must be free here. */
static int check_pids_free(const struct rst_proc *p)
{
	char path[64], comm[64];

	for (size_t i = 0; i < p->nthreads; i++) {
		pid_t id = p->threads[i].tid;

		snprintf(path, sizeof(path), "/proc/%d/comm", id);
		if (access(path, F_OK) && errno == ENOENT)
			continue;
		if (read_file(path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = 0;
		else
			snprintf(comm, sizeof(comm), "?");
		pr_err("restore: pid %d is taken here (by %s): the application needs it back",
		       id, comm);
		return -EEXIST;
	}
	return 0;
}

static int parse_restore(int argc, char **argv, struct restore_opts *o)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "aid", required_argument, NULL, 'a' },
		{ "detach", no_argument, NULL, 'd' },
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

static void print_restored(const struct app_record *rec, const struct rst_proc *p, pid_t sys_pid,
			   const char *dir, uint64_t ns, int detach)
{
	uint64_t mem = 0;
	char size[32];

	for (size_t i = 0; i < p->nvmas; i++)
		for (size_t k = 0; k < p->vmas[i].nruns; k++)
			mem += p->vmas[i].runs[k].npages * 4096;
	if (json_output) {
		struct json_object *o = json_object_new_object();

		js_str(o, "name", rec->name);
		js_u64(o, "aid", rec->aid);
		js_i64(o, "pid", p->pid);
		js_i64(o, "sys_pid", sys_pid);
		js_u64(o, "threads", p->nthreads);
		js_u64(o, "memory_bytes", mem);
		js_u64(o, "us", ns / 1000);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		human_size(mem, size, sizeof(size));
		fprintf(detach ? stdout : stderr,
			"application %s (aid %u) restored from %s: pid %d (system pid %d), %zu "
			"thread%s, %s of memory, %.1f ms\n",
			rec->name, rec->aid, dir, p->pid, sys_pid, p->nthreads,
			p->nthreads == 1 ? "" : "s", size, ns / 1e6);
	}
	fflush(stdout);
}

/*
 * Make the processes; *first: the one we wait for, *sys_pid: the
 * application's, waiting on *chan_out (it leaves if that closes early).
 */
static int make_processes(struct rst_proc *p, const struct app_record *rec, int pages_fd,
			  pid_t *first, pid_t *sys_pid, int *chan_out)
{
	int chan[2], cgroup_fd, one = 1, err;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan)) {
		pr_perror("cannot make the restore channel");
		return -errno;
	}
	setsockopt(chan[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	cgroup_fd = open(rec->cgroup, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		err = -errno;
		pr_perror("cannot open %s", rec->cgroup);
		goto out;
	}
	fflush(NULL);
	if (rec->own_ns)
		*first = clone_with_pid(0, cgroup_fd,
					CLONE_INTO_CGROUP | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS);
	else
		*first = clone_with_pid(p->pid, cgroup_fd, CLONE_INTO_CGROUP);
	if (*first == 0) {
		close(chan[0]);
		if (rec->own_ns)
			init_main(p, pages_fd, chan[1]);
		child_main(p, pages_fd, chan[1]);
	}
	if (*first < 0) {
		err = -errno;
		pr_err("restore: cannot make pid %d: %s", p->pid,
		       errno == EEXIST ? "it is taken" : strerror(errno));
		goto out;
	}
	close(chan[1]);
	chan[1] = -1;
	err = wait_ready(chan[0], sys_pid);
	*chan_out = chan[0];
	chan[0] = -1;
out:
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	if (chan[0] >= 0)
		close(chan[0]);
	if (chan[1] >= 0)
		close(chan[1]);
	return err;
}

/* Memory, threads, state: the stopped process becomes the one of the image. */
static int take_over(struct rst_proc *p, pid_t sys_pid)
{
	struct remote r;
	uint64_t t = now_ns(CLOCK_MONOTONIC);
	int err = ptrace_seize_stop(sys_pid);

	if (err) {
		pr_err("restore: cannot stop the new process %d: %s", sys_pid, strerror(-err));
		return err;
	}
	err = remote_open(&r, sys_pid);
	if (err) {
		pr_err("restore: cannot work in the new process %d: %s", sys_pid, strerror(-err));
		return err;
	}
	err = rst_memory(p, &r);
	pr_debug("restore: memory in %.2f ms, %lu syscalls", (now_ns(CLOCK_MONOTONIC) - t) / 1e6,
		 r.calls);
	if (!err)
		err = rst_threads(p, &r);
	pr_debug("restore: threads and state in %.2f ms, %lu syscalls",
		 (now_ns(CLOCK_MONOTONIC) - t) / 1e6, r.calls);
	remote_forget(&r);
	return err;
}

/* Make the restored tasks members of the application, as run and attach do. */
static int adopt(struct tracer *tr, struct app_record *rec, struct rst_proc *p, pid_t first)
{
	struct app_info info;
	pid_t *tids = calloc(p->nthreads, sizeof(*tids));
	__u32 ino;
	int err;

	if (!tids)
		return -ENOMEM;
	for (size_t i = 0; i < p->nthreads; i++)
		tids[i] = p->threads[i].sys_tid;
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
		err = app_adopt(tr, rec->aid, tids, p->nthreads, 0);
	free(tids);
	return err;
}

/* All threads go on together: frozen, let go, thawed. */
static void release(const struct app_record *rec, const struct rst_proc *p)
{
	int frozen = cgroup_freeze(rec->cgroup, 1, FREEZE_TIMEOUT_MS) == 0;

	for (size_t i = 0; i < p->nthreads; i++) {
		int err = ptrace_detach(p->threads[i].sys_tid);

		if (err)
			pr_warn("restore: thread %d: cannot let it go: %s", p->threads[i].tid,
				strerror(-err));
	}
	if (frozen)
		cgroup_freeze(rec->cgroup, 0, FREEZE_TIMEOUT_MS);
}

/* With -v: where a restore's time goes. */
static void phase(uint64_t t0, const char *what)
{
	pr_debug("restore: %s by %.2f ms", what, (now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
}

int do_restore(int argc, char **argv)
{
	struct app_record rec = { .mode = APP_RESTORE };
	struct tracer tr = { .fd = { -1 } };
	struct registry reg = { .lock_fd = -1 };
	struct json_object *core = NULL;
	struct image im = { 0 };
	struct rst_proc p = { 0 };
	struct restore_opts o;
	char core_name[64], image_name[APPSHOT_NAME_LEN];
	uint64_t pages_off, pages_len, t0 = now_ns(CLOCK_MONOTONIC);
	int err, pages_fd = -1, registered = 0, code, chan = -1;
	pid_t first = -1, sys_pid = -1, self_vpid;
	__u32 level = 0;

	err = parse_restore(argc, argv, &o);
	if (err)
		return err;
	err = tracer_check_env();
	if (err)
		return err;

	/* Everything checked before anything is made. */
	err = image_open(&im, o.dir);
	if (err)
		return err;
	phase(t0, "image verified");
	err = check_image(&im, o.dir, core_name, sizeof(core_name), &rec.own_ns, image_name,
			  sizeof(image_name));
	if (err)
		goto out;
	core = image_read_json(&im, core_name);
	pages_fd = image_pages_fd(&im, &pages_off, &pages_len);
	if (!core || pages_fd < 0) {
		pr_err("image %s: its records %s and pages cannot be read", o.dir, core_name);
		err = -EBADMSG;
		goto out;
	}
	err = rst_parse(core, pages_len, &p);
	if (err)
		goto out;
	phase(t0, "image read");
	p.pages_off = pages_off;
	if (!rec.own_ns) {
		err = check_pids_free(&p);
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
	err = make_processes(&p, &rec, pages_fd, &first, &sys_pid, &chan);
	phase(t0, "processes made");
	if (!err)
		err = take_over(&p, sys_pid);
	if (chan >= 0)
		close(chan);
	if (!err) {
		rec.root = first;
		err = registry_update(&reg, &rec);
	}
	phase(t0, "recorded");
	if (!err)
		err = adopt(&tr, &rec, &p, first);
	if (err)
		goto out;
	phase(t0, "adopted by the tracer");
	release(&rec, &p);
	registered = 0;
	print_restored(&rec, &p, sys_pid, o.dir, now_ns(CLOCK_MONOTONIC) - t0, o.detach);
	registry_close(&reg);
	tracer_close(&tr);
	if (o.detach)
		goto out;
	rst_free(&p);
	json_object_put(core);
	core = NULL;
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
		app_unregister(&reg, &tr, &rec);
		app_tracer_release(&tr);
		pr_info("restore from %s failed: nothing of it is left", o.dir);
	}
	tracer_close(&tr);
	registry_close(&reg);
	rst_free(&p);
	json_object_put(core);
	if (pages_fd >= 0)
		close(pages_fd);
	image_close(&im);
	return err;
}
