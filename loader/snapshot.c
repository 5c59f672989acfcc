// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot snapshot: freeze an application, write its image, then stop it
 * or let it run on. The application's cgroup is frozen and every thread
 * ptrace-stopped before anything is read; if anything fails, everything is
 * put back and the application goes on as if nothing had happened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "app.h"
#include "cgroup.h"
#include "cmd.h"
#include "commands.h"
#include "dump.h"
#include "js.h"
#include "kinfo.h"
#include "log.h"
#include "proc.h"
#include "remote.h"
#include "tables.h"
#include "util.h"

#define FREEZE_TIMEOUT_MS 2000

/* The application's processes, appshot's own init left out. */
static int app_processes(struct tracer *tr, const struct app_record *rec, pid_t **out, size_t *n)
{
	pid_t *pids;
	size_t count, keep = 0;
	int err = cgroup_read_ids(rec->cgroup, "cgroup.procs", &pids, &count);

	if (err) {
		pr_err("cannot list the processes of '%s' (%s): %s", rec->name, rec->cgroup,
		       strerror(-err));
		return err;
	}
	for (size_t i = 0; i < count; i++) {
		struct task_info ti;

		if (tables_task(tr, pids[i], &ti) == 0 && (ti.flags & TASKF_INIT))
			continue;
		pids[keep++] = pids[i];
	}
	*out = pids;
	*n = keep;
	return 0;
}

/* A process of the application and its threads, stopped under ptrace. */
struct snap_proc {
	pid_t pid;
	pid_t *tids;
	size_t ntids, seized;
	int stopped; /* the signal that had stopped it (SIGSTOP, job control), or 0 */
	struct json_object *core;
	char record[32];
};

/* Let them go; a process that was stopped is stopped again, as it was. */
static void detach_all(struct snap_proc *procs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (procs[i].stopped && procs[i].seized)
			kill(procs[i].pid, procs[i].stopped);
		for (size_t k = 0; k < procs[i].seized; k++)
			ptrace_detach(procs[i].tids[k]);
	}
}

static void free_procs(struct snap_proc *procs, size_t n)
{
	for (size_t i = 0; procs && i < n; i++) {
		free(procs[i].tids);
		json_object_put(procs[i].core);
	}
	free(procs);
}

static int is_member(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* The wait status a zombie leaves (the last field of /proc/PID/stat), or -1. */
static int exit_status(pid_t pid)
{
	char path[64], buf[1024], *last;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	last = strrchr(buf, ' ');
	return last ? atoi(last + 1) : -1;
}

/* A field of /proc/PID/status like NSsid: its innermost value (the last). */
static long innermost_of(pid_t pid, const char *key)
{
	char v[512], *last;

	if (proc_status_field(pid, key, v, sizeof(v)))
		return -1;
	last = strrchr(v, '\t');
	return atol(last ? last + 1 : v);
}

/*
 * The zombies of the application's processes, not yet reaped: a dead task
 * has left the cgroup's list, so every process of the machine is looked at
 * for them. Each is made again, dead, with its pid and wait status.
 */
static int find_zombies(const pid_t *pids, size_t n, struct json_object **out)
{
	struct json_object *list = json_object_new_array();
	DIR *d = opendir("/proc");
	struct proc_stat st;
	struct dirent *de;

	*out = list;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid = atoi(de->d_name), vpid, vppid;
		struct json_object *z;
		uint32_t level;

		if (pid <= 0 || proc_stat_read(pid, &st) || st.state != 'Z' ||
		    !is_member(pids, n, st.ppid) || proc_nspid(pid, &vpid, &level) ||
		    proc_nspid(st.ppid, &vppid, &level))
			continue;
		z = json_object_new_object();
		js_i64(z, "pid", vpid);
		js_i64(z, "ppid", vppid);
		js_i64(z, "pgid", innermost_of(pid, "NSpgid"));
		js_i64(z, "sid", innermost_of(pid, "NSsid"));
		js_str(z, "comm", st.comm);
		js_i64(z, "status", exit_status(pid));
		json_object_array_add(list, z);
	}
	closedir(d);
	return 0;
}

/*
 * SysV objects are saved from the application's own IPC namespace; in the
 * machine's, those the tracer saw it make are refused.
 */
static int check_no_ipc(struct tracer *tr, const struct app_record *rec)
{
	static const char *const kinds[] = { [IPCK_SEM] = "semaphore set",
					     [IPCK_SHM] = "shared memory segment",
					     [IPCK_MSG] = "message queue" };
	struct app_tables at;
	int err = 0;

	if (tables_read(tr, rec->aid, &at))
		return 0;
	if (at.nipcs) {
		pr_err("'%s' holds SysV %s %d in the machine's IPC namespace: appshot saves SysV "
		       "objects of applications in their own (appshot run without --share-ns)",
		       rec->name, at.ipcs[0].k.kind <= IPCK_MSG ? kinds[at.ipcs[0].k.kind] : "object",
		       at.ipcs[0].k.id);
		err = -ENOTSUP;
	}
	tables_free(&at);
	return err;
}

/*
 * When a TCP connection goes to a peer outside the application, or a UDP
 * socket is bound (its peers may be anywhere), every endpoint of the
 * application is held until its restore (lib/hold.c).
 */
static int hold_traffic(const struct app_record *rec, struct snap_proc *procs, size_t n)
{
	struct hold_key *keys = NULL;
	size_t nkeys = 0;
	int outside = 0, err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = dump_hold_keys(procs[i].core, &keys, &nkeys, &outside);
	if (!err && outside)
		err = hold_add(rec->aid, keys, nkeys);
	if (err)
		pr_err("cannot hold the traffic of '%s' while it is away: %s", rec->name,
		       strerror(-err));
	free(keys);
	return err;
}

/*
 * The application's sockets are seen (sock_diag) and its traffic held in
 * its own network namespace: entered if it is not ours. One for all of it.
 */
static int enter_netns(const char *name, const pid_t *pids, size_t n)
{
	uint32_t ours = 0, first = 0, ino;
	char path[64];
	int fd;

	if (proc_ns_ino(getpid(), "net", &ours))
		return 0; /* no network namespaces here */
	for (size_t i = 0; i < n; i++) {
		if (proc_ns_ino(pids[i], "net", &ino)) {
			pr_err("cannot read the network namespace of pid %d of '%s'", pids[i], name);
			return -ESRCH;
		}
		if (i && ino != first) {
			pr_err("'%s' has processes in several network namespaces: appshot saves an "
			       "application in one", name);
			return -ENOTSUP;
		}
		first = ino;
	}
	if (first == ours)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pids[0]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		pr_perror("cannot enter the network namespace of '%s'", name);
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	close(fd);
	return 0;
}

/* Every thread of every process stopped, the cgroup frozen meanwhile. */
static int stop_all(const char *name, struct snap_proc *procs, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++) {
		struct snap_proc *sp = &procs[i];

		err = proc_threads(sp->pid, &sp->tids, &sp->ntids);
		if (err) {
			pr_err("cannot list the threads of pid %d of '%s': %s", sp->pid, name,
			       strerror(-err));
			return err;
		}
		for (sp->seized = 0; sp->seized < sp->ntids; sp->seized++) {
			err = ptrace_seize_stop(sp->tids[sp->seized], &sp->stopped);
			if (err) {
				pr_err("cannot stop thread %d of pid %d: %s", sp->tids[sp->seized],
				       sp->pid, strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

static struct json_object *manifest_meta(const struct app_record *rec, const struct snap_proc *procs,
					  size_t n, size_t nthreads, uint64_t mem, int ipc)
{
	struct json_object *m = json_object_new_object(), *list = json_object_new_array();
	char release[128];
	uint64_t vdso = 0;
	size_t vdso_len = 0;

	kernel_release(release, sizeof(release));
	vdso_fingerprint(&vdso, &vdso_len);
	js_str(m, "name", rec->name);
	js_u64(m, "aid", rec->aid);
	js_str(m, "mode", app_mode_name(rec->mode));
	js_bool(m, "own_namespaces", rec->own_ns);
	js_bool(m, "own_ipc", rec->own_ns || ipc);
	js_str(m, "arch", "x86_64");
	js_str(m, "kernel", release);
	js_u64(m, "vdso_xxh64", vdso);
	js_u64(m, "vdso_size", vdso_len);
	js_u64(m, "created", time(NULL));
	js_u64(m, "memory_bytes", mem);
	js_u64(m, "threads", nthreads);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_string(procs[i].record));
	json_object_object_add(m, "processes", list);
	if (ipc)
		js_str(m, "ipc", "ipc");
	return m;
}

/*
 * One attempt. Something that goes away once the application runs a little
 * (connections a listener has not accepted yet) fails it with -EAGAIN,
 * quietly unless last: the application runs on, and the caller tries again.
 */
static int snapshot_once(const char *name, const char *dir, int leave, int sync, int last)
{
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	struct dump d = { .pages = { .fd = -1 } };
	struct json_object *meta = NULL, *ipc = NULL, *zombies = NULL, *v;
	struct snap_proc *procs = NULL;
	struct app_record rec;
	pid_t *pids = NULL;
	size_t npids = 0, nthreads = 0;
	int err, frozen = 0, image_started = 0, vpid, own_ipc = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);

	d.last_try = last;
	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		return err;
	err = app_lookup(&reg, name, &rec);
	if (!err && (err = tracer_open(&tr)) == -ENOENT)
		pr_err("application '%s' is not traced: the tracer is not loaded", name);
	if (err)
		goto out;
	err = app_processes(&tr, &rec, &pids, &npids);
	if (err)
		goto out;
	if (!npids) {
		pr_err("'%s' has no process left to snapshot", name);
		err = -ESRCH;
		goto out;
	}
	if (!rec.own_ns) {
		own_ipc = dump_ipc_private(pids, npids, name);
		err = own_ipc < 0 ? own_ipc :
		      own_ipc	  ? 0 :
				    check_no_ipc(&tr, &rec) ?: dump_ipc_check_shared(pids, npids, name);
	}
	if (err) {
		pr_info("snapshot of '%s' failed: the application runs on untouched", name);
		goto out;
	}
	err = enter_netns(name, pids, npids);
	if (err) {
		pr_info("snapshot of '%s' failed: the application runs on untouched", name);
		goto out;
	}
	procs = calloc(npids, sizeof(*procs));
	if (!procs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < npids; i++)
		procs[i].pid = pids[i];
	err = image_create(&d.w, dir);
	if (err)
		goto out;
	d.w.sync = sync;
	d.own_ipc = rec.own_ns || own_ipc > 0;
	d.leave_running = leave;
	image_started = 1;

	/* Quiesce: frozen, then every thread of every process stopped under ptrace. */
	err = cgroup_freeze(rec.cgroup, 1, FREEZE_TIMEOUT_MS);
	if (err) {
		pr_err("cannot freeze '%s': %s", name, strerror(-err));
		goto undo;
	}
	frozen = 1;
	err = stop_all(name, procs, npids);
	if (!err) /* none can make or reap one now */
		err = find_zombies(pids, npids, &zombies);
	if (err)
		goto undo;
	/*
	 * Every thread is ptrace-stopped: thaw, so that they can run the
	 * syscalls we inject (a frozen task goes back to the freezer at once).
	 * Stopped, none runs anything else, nor forks.
	 */
	cgroup_freeze(rec.cgroup, 0, FREEZE_TIMEOUT_MS);
	frozen = 0;

	d.pids = pids;
	d.npids = npids;
	err = dump_scan_given(&d, &rec, pids, npids);
	if (!err)
		err = dump_scan_pipes(&d, pids, npids);
	if (!err)
		err = dump_scan_socks(&d, pids, npids);
	if (err)
		goto undo;
	progress_start(&d.progress, "snapshot", 0);
	err = image_pages_open(&d.w, &d.pages);
	for (size_t i = 0; i < npids && !err; i++) {
		struct snap_proc *sp = &procs[i];

		err = dump_process(&d, sp->pid, sp->tids, sp->ntids, &sp->core);
		if (!err && sp->stopped) /* stopped again once restored */
			js_i64(sp->core, "stopped", sp->stopped);
		nthreads += sp->ntids;
	}
	if (!err && d.nflights) {
		struct json_object **cores = calloc(npids, sizeof(*cores));

		for (size_t i = 0; cores && i < npids; i++)
			cores[i] = procs[i].core;
		err = cores ? dump_check_flights(&d, cores, npids) : -ENOMEM;
		free(cores);
	}
	if (!err && d.own_ipc)
		err = dump_ipc(&d, pids[0], &ipc);
	if (!err && ipc)
		err = image_write_json(&d.w, "ipc", REC_IPC, ipc);
	if (!err)
		err = image_pages_close(&d.w, &d.pages);
	progress_end(&d.progress);
	for (size_t i = 0; i < npids && !err; i++) {
		struct snap_proc *sp = &procs[i];

		vpid = json_object_object_get_ex(sp->core, "pid", &v) ? json_object_get_int(v)
								      : sp->pid;
		snprintf(sp->record, sizeof(sp->record), "core-%d", vpid);
		err = image_write_json(&d.w, sp->record, REC_CORE, sp->core);
	}
	if (err)
		goto undo;
	meta = manifest_meta(&rec, procs, npids, nthreads, d.mem_bytes, ipc != NULL);
	json_object_object_add(meta, "zombies", json_object_get(zombies));
	err = image_commit(&d.w, meta);
	image_started = 0;
	if (err)
		goto undo;

	if (leave) {
		detach_all(procs, npids);
	} else {
		/*
		 * It lives in the image now. Gone when we return: its pids are
		 * free for a restore once its parent has reaped it. Its peers
		 * outside see nothing meanwhile: its traffic is held.
		 */
		err = hold_traffic(&rec, procs, npids);
		if (err)
			goto undo_held;
		cgroup_kill(rec.cgroup);
		detach_all(procs, npids);
		if (cgroup_wait_empty(rec.cgroup, FREEZE_TIMEOUT_MS))
			pr_warn("some processes of '%s' are slow to end", name);
		app_unregister(&reg, &tr, &rec);
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		js_str(o, "name", name);
		js_str(o, "dir", dir);
		js_u64(o, "processes", npids);
		js_u64(o, "threads", nthreads);
		js_u64(o, "memory_bytes", d.mem_bytes);
		js_u64(o, "us", (now_ns(CLOCK_MONOTONIC) - t0) / 1000);
		js_bool(o, "left_running", leave);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		char size[32];

		human_size(d.mem_bytes, size, sizeof(size));
		printf("snapshot of %s written to %s: %zu process%s, %zu thread%s, %s of memory, "
		       "%.1f ms; %s\n",
		       name, dir, npids, npids == 1 ? "" : "es", nthreads, nthreads == 1 ? "" : "s",
		       size, (now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
		       leave ? "it runs on" : "it is stopped");
	}
	goto out;

undo_held:
	/* the image is whole, but the application could not be held: it runs on, the image stays */
	if (err)
		pr_warn("the image in %s is whole; the application was not stopped", dir);
undo:
	dump_tcp_release(&d, 1);
	if (d.pages.fd >= 0) {
		close(d.pages.fd);
		d.pages.fd = -1;
	}
	detach_all(procs, npids);
	if (frozen)
		cgroup_freeze(rec.cgroup, 0, FREEZE_TIMEOUT_MS);
	if (image_started)
		image_abort(&d.w);
	if (err != -EAGAIN || last)
		pr_info("snapshot of '%s' failed: the application runs on untouched", name);
out:
	json_object_put(meta);
	json_object_put(ipc);
	json_object_put(zombies);
	free_procs(procs, npids);
	dump_free(&d);
	free(pids);
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}

#define SNAPSHOT_WAIT_MS 2000 /* for connections to be accepted, at most */
#define SNAPSHOT_RETRY_MS 50

int do_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'l' },
		{ "no-sync", no_argument, NULL, 'S' },
		COMMON_LONG_OPTS,
		{},
	};
	const char *dir = NULL;
	int c, r, err, leave = 0, sync = 1;
	uint64_t deadline;

	while ((c = getopt_long(argc, argv, "D:l" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			dir = optarg;
			break;
		case 'l':
			leave = 1;
			break;
		case 'S':
			sync = 0;
			break;
		default:
			r = common_opt(c, "snapshot");
			if (r)
				return r;
		}
	}
	if (optind != argc - 1 || !dir)
		return usage_error("snapshot", "give the application's name and -D DIR");
	err = tracer_check_env();
	if (err)
		return err;
	/* a busy server may have connections waiting: it runs a little, then we try again */
	deadline = now_ns(CLOCK_MONOTONIC) + SNAPSHOT_WAIT_MS * 1000000ull;
	for (int i = 1;; i++) {
		int last = now_ns(CLOCK_MONOTONIC) + SNAPSHOT_RETRY_MS * 1000000ull >= deadline;

		err = snapshot_once(argv[optind], dir, leave, sync, last);
		if (err != -EAGAIN || last)
			break;
		pr_debug("snapshot: try %d found connections not yet accepted", i);
		usleep(SNAPSHOT_RETRY_MS * 1000);
	}
	return err;
}
