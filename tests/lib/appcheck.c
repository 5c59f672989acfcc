// SPDX-License-Identifier: GPL-2.0-only
/* Comparing appshot-trace status with the kernel's own views and bpftool's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appcheck.h"
#include "testlib.h"

#define FAIL(...)                                                             \
	do {                                                                  \
		snprintf(why, len, __VA_ARGS__);                              \
		return -1;                                                    \
	} while (0)

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

static long gint(struct json_object *o, const char *k)
{
	return json_object_get_int64(get(o, k));
}

/* Ids above 2^63 (kernel addresses) need the unsigned getter. */
static unsigned long long guint(struct json_object *o, const char *k)
{
	return json_object_get_uint64(get(o, k));
}

static const char *gstr(struct json_object *o, const char *k)
{
	const char *s = json_object_get_string(get(o, k));

	return s ? s : "";
}

static size_t alen(struct json_object *a)
{
	return a ? json_object_array_length(a) : 0;
}

#define AT(a, i) json_object_array_get_idx(a, i)

struct json_object *app_process(struct json_object *app, long vpid)
{
	struct json_object *procs = get(app, "processes");

	for (size_t i = 0; i < alen(procs); i++)
		if (gint(AT(procs, i), "pid") == vpid)
			return AT(procs, i);
	return NULL;
}

struct json_object *process_fd(struct json_object *proc, int fd)
{
	struct json_object *fds = get(proc, "fds");

	for (size_t i = 0; i < alen(fds); i++)
		if (gint(AT(fds, i), "fd") == fd)
			return AT(fds, i);
	return NULL;
}

static int has_id(const pid_t *ids, size_t n, long id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static int is_zombie(struct json_object *p)
{
	return !strcmp(gstr(p, "state"), "zombie");
}

/* The innermost NSpid of a task. */
static long nspid(pid_t pid)
{
	char path[64], buf[4096], *line, *last = NULL, *tok, *save;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	line = strstr(buf, "\nNSpid:");
	if (!line)
		return -1;
	line += 7;
	line[strcspn(line, "\n")] = 0;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		last = tok;
	return last ? atol(last) : -1;
}

int check_tasks(struct json_object *app, char *why, size_t len)
{
	struct json_object *procs = get(app, "processes");
	char path[PATH_MAX], comm[64];
	pid_t *pids = NULL, *tids = NULL;
	size_t npids = 0, ntids = 0, live = 0, threads = 0;
	int ret = -1;

	snprintf(path, sizeof(path), "%s/cgroup.procs", gstr(app, "cgroup"));
	if (read_ids(path, &pids, &npids))
		FAIL("cannot read %s", path);
	snprintf(path, sizeof(path), "%s/cgroup.threads", gstr(app, "cgroup"));
	if (read_ids(path, &tids, &ntids)) {
		free(pids);
		FAIL("cannot read %s", path);
	}
	for (size_t i = 0; i < alen(procs); i++) {
		struct json_object *p = AT(procs, i), *th = get(p, "threads");
		long sys = gint(p, "sys_pid");

		if (is_zombie(p)) {
			if (proc_state(sys) != 'Z') {
				snprintf(why, len, "status says pid %ld (sys %ld) is a zombie, /proc says state %c",
					 gint(p, "pid"), sys, proc_state(sys) ?: '-');
				goto out;
			}
			continue;
		}
		live++;
		if (!has_id(pids, npids, sys)) {
			snprintf(why, len, "status lists pid %ld (sys %ld), the cgroup does not hold it",
				 gint(p, "pid"), sys);
			goto out;
		}
		if (nspid(sys) != gint(p, "pid")) {
			snprintf(why, len, "sys pid %ld: status says virtual pid %ld, NSpid says %ld", sys,
				 gint(p, "pid"), nspid(sys));
			goto out;
		}
		snprintf(path, sizeof(path), "/proc/%ld/comm", sys);
		if (read_file_line(path, comm, sizeof(comm)) == 0 && strcmp(comm, gstr(p, "comm"))) {
			snprintf(why, len, "sys pid %ld: status says comm %s, /proc says %s", sys,
				 gstr(p, "comm"), comm);
			goto out;
		}
		for (size_t j = 0; j < alen(th); j++) {
			long tid = gint(AT(th, j), "sys_tid");

			if (json_object_get_boolean(get(AT(th, j), "exited")))
				continue;
			threads++;
			if (!has_id(tids, ntids, tid)) {
				snprintf(why, len, "status lists thread %ld of pid %ld, the cgroup does not",
					 tid, sys);
				goto out;
			}
			if (nspid(tid) != gint(AT(th, j), "tid")) {
				snprintf(why, len, "sys tid %ld: status says virtual tid %ld, NSpid %ld",
					 tid, gint(AT(th, j), "tid"), nspid(tid));
				goto out;
			}
		}
	}
	if (live != npids || threads != ntids) {
		snprintf(why, len, "status has %zu processes and %zu threads, the cgroup %zu and %zu",
			 live, threads, npids, ntids);
		goto out;
	}
	ret = 0;
out:
	free(pids);
	free(tids);
	return ret;
}

/* What kind and path /proc says an fd has, in status's words. */
static void expected_fd(pid_t pid, int fd, const char *link, const char **kind, char *path,
			size_t plen, int *deleted)
{
	static const struct {
		const char *name, *kind;
	} anon[] = {
		{ "[eventfd]", "eventfd" },	    { "[eventpoll]", "epoll" },
		{ "[timerfd]", "timerfd" },	    { "[signalfd]", "signalfd" },
		{ "inotify", "inotify" },	    { "[fanotify]", "fanotify" },
		{ "[pidfd]", "pidfd" },		    { "[userfaultfd]", "userfaultfd" },
		{ "[io_uring]", "io_uring" },	    { "[perf_event]", "perf_event" },
	};
	char p[64];
	struct stat st;
	size_t n;

	*deleted = 0;
	path[0] = 0;
	if (!strncmp(link, "pipe:[", 6)) {
		*kind = "pipe";
		return;
	}
	if (!strncmp(link, "socket:[", 8)) {
		*kind = "socket";
		return;
	}
	if (!strncmp(link, "anon_inode:", 11)) {
		snprintf(path, plen, "%s", link + 11);
		*kind = !strncmp(path, "bpf", 3) ? "bpf" : "anon";
		for (size_t i = 0; i < sizeof(anon) / sizeof(anon[0]); i++)
			if (!strcmp(path, anon[i].name))
				*kind = anon[i].kind;
		return;
	}
	snprintf(path, plen, "%s", link);
	n = strlen(path);
	if (n > 10 && !strcmp(path + n - 10, " (deleted)")) {
		path[n - 10] = 0;
		*deleted = 1;
	}
	if (!strncmp(path, "/memfd:", 7)) {
		memmove(path, path + 1, strlen(path));
		*kind = "memfd";
		*deleted = 0;
		return;
	}
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, fd);
	if (stat(p, &st)) {
		*kind = "?";
		return;
	}
	*kind = S_ISREG(st.st_mode)  ? "file" :
		S_ISDIR(st.st_mode)  ? "dir" :
		S_ISCHR(st.st_mode)  ? "chr" :
		S_ISBLK(st.st_mode)  ? "blk" :
		S_ISFIFO(st.st_mode) ? "fifo" :
				       "?";
}

static int check_process_fds(struct json_object *p, char *why, size_t len)
{
	struct json_object *fds = get(p, "fds");
	long sys = gint(p, "sys_pid");
	int *real = NULL, ret = -1;
	size_t nreal;

	if (proc_list_fds(sys, &real, &nreal))
		FAIL("cannot list the fds of pid %ld", sys);
	if (nreal != alen(fds)) {
		snprintf(why, len, "pid %ld (sys %ld): status has %zu fds, /proc %zu", gint(p, "pid"),
			 sys, alen(fds), nreal);
		goto out;
	}
	for (size_t i = 0; i < nreal; i++) {
		struct json_object *f = process_fd(p, real[i]);
		char link[PATH_MAX], path[PATH_MAX];
		unsigned int flags, want;
		const char *kind;
		int deleted;

		if (!f) {
			snprintf(why, len, "sys pid %ld: fd %d is open, status does not have it", sys,
				 real[i]);
			goto out;
		}
		if (proc_fd_link(sys, real[i], link, sizeof(link)))
			continue; /* closed meanwhile: the retry will tell */
		expected_fd(sys, real[i], link, &kind, path, sizeof(path), &deleted);
		if (strcmp(kind, gstr(f, "kind"))) {
			snprintf(why, len, "sys pid %ld fd %d (%s): status says kind %s, expected %s",
				 sys, real[i], link, gstr(f, "kind"), kind);
			goto out;
		}
		if (path[0] && strcmp(path, gstr(f, "path"))) {
			snprintf(why, len, "sys pid %ld fd %d: status says path '%s', /proc '%s'", sys,
				 real[i], gstr(f, "path"), path);
			goto out;
		}
		if (deleted != json_object_get_boolean(get(f, "deleted"))) {
			snprintf(why, len, "sys pid %ld fd %d (%s): deleted is %d in status", sys,
				 real[i], link, !deleted);
			goto out;
		}
		if ((!strcmp(kind, "pipe") || !strcmp(kind, "socket")) &&
		    strtoull(strchr(link, '[') + 1, NULL, 10) != (unsigned long long)gint(f, "ino")) {
			snprintf(why, len, "sys pid %ld fd %d (%s): status says inode %ld", sys,
				 real[i], link, gint(f, "ino"));
			goto out;
		}
		if (proc_fd_flags(sys, real[i], &flags) == 0) {
			want = gint(f, "f_flags") | (json_object_get_boolean(get(f, "cloexec")) ? O_CLOEXEC : 0);
			if (flags != want) {
				snprintf(why, len, "sys pid %ld fd %d (%s): fdinfo flags 0%o, status 0%o",
					 sys, real[i], link, flags, want);
				goto out;
			}
		}
	}
	ret = 0;
out:
	free(real);
	return ret;
}

int check_fds(struct json_object *app, char *why, size_t len)
{
	struct json_object *procs = get(app, "processes");

	for (size_t i = 0; i < alen(procs); i++) {
		struct json_object *p = AT(procs, i);

		if (is_zombie(p)) {
			if (alen(get(p, "fds")))
				FAIL("zombie pid %ld still has fds in status", gint(p, "pid"));
			continue;
		}
		if (check_process_fds(p, why, len))
			return -1;
	}
	return 0;
}

struct run {
	unsigned long start, end;
	char perms[8];
};

/* Append [s, e) perms, merging with the previous run when contiguous and alike. */
static void run_add(struct run *v, size_t *n, unsigned long s, unsigned long e, const char *perms)
{
	if (*n && v[*n - 1].end == s && !strcmp(v[*n - 1].perms, perms)) {
		v[*n - 1].end = e;
		return;
	}
	v[*n].start = s;
	v[*n].end = e;
	snprintf(v[*n].perms, sizeof(v[*n].perms), "%s", perms);
	(*n)++;
}

static int cmp_start(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static int check_process_maps(struct json_object *p, char *why, size_t len)
{
	struct json_object *maps = get(p, "mappings");
	size_t nm = alen(maps), nreal = 0, ntr = 0, cap = 4096;
	struct run *real = calloc(cap, sizeof(*real)), *tr = calloc(cap, sizeof(*tr));
	struct { unsigned long start, end; char perms[8]; int stack; } *t = calloc(nm + 1, sizeof(*t));
	unsigned long s, e, stack_lo = 0, stack_hi = 0;
	long sys = gint(p, "sys_pid");
	char path[64], line[1024], perms[8], name[512];
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/maps", sys);
	f = fopen(path, "re");
	if (!f || !real || !tr || !t) {
		snprintf(why, len, "cannot read %s", path);
		goto out;
	}
	while (fgets(line, sizeof(line), f) && nreal < cap) {
		name[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511s", &s, &e, perms, name) < 3)
			continue;
		if (!strcmp(name, "[vsyscall]"))
			continue;
		if (!strcmp(name, "[stack]")) {
			stack_lo = s;
			stack_hi = e;
		}
		run_add(real, &nreal, s, e, perms);
	}
	fclose(f);
	for (size_t i = 0; i < nm; i++) {
		struct json_object *m = AT(maps, i);

		t[i].start = gint(m, "start");
		t[i].end = gint(m, "end");
		snprintf(t[i].perms, sizeof(t[i].perms), "%s", gstr(m, "prot"));
		/* The stack grows down by faults, which no syscall reports. */
		if (!strcmp(gstr(m, "kind"), "stack") && t[i].end == stack_hi && t[i].start > stack_lo)
			t[i].start = stack_lo;
	}
	qsort(t, nm, sizeof(*t), cmp_start);
	for (size_t i = 0; i < nm && ntr < cap; i++) {
		if (i && t[i].start < t[i - 1].end) {
			snprintf(why, len, "sys pid %ld: tracked mappings overlap at %lx", sys, t[i].start);
			goto out;
		}
		run_add(tr, &ntr, t[i].start, t[i].end, t[i].perms);
	}
	for (size_t i = 0; i < nreal || i < ntr; i++) {
		if (i >= nreal || i >= ntr || real[i].start != tr[i].start || real[i].end != tr[i].end ||
		    strcmp(real[i].perms, tr[i].perms)) {
			if (i < nreal && i < ntr)
				snprintf(why, len,
					 "sys pid %ld: /proc maps %lx-%lx %s, tracked %lx-%lx %s", sys,
					 real[i].start, real[i].end, real[i].perms, tr[i].start, tr[i].end,
					 tr[i].perms);
			else if (i < nreal)
				snprintf(why, len, "sys pid %ld: /proc maps %lx-%lx %s, not tracked", sys,
					 real[i].start, real[i].end, real[i].perms);
			else
				snprintf(why, len, "sys pid %ld: tracked %lx-%lx %s, not in /proc maps",
					 sys, tr[i].start, tr[i].end, tr[i].perms);
			goto out;
		}
	}
	if (gint(p, "mappings_untracked")) {
		snprintf(why, len, "sys pid %ld: %ld mapping changes were not tracked", sys,
			 gint(p, "mappings_untracked"));
		goto out;
	}
	ret = 0;
out:
	free(real);
	free(tr);
	free(t);
	return ret;
}

int check_maps(struct json_object *app, char *why, size_t len)
{
	struct json_object *procs = get(app, "processes");

	for (size_t i = 0; i < alen(procs); i++) {
		struct json_object *p = AT(procs, i);

		if (is_zombie(p)) {
			if (alen(get(p, "mappings")))
				FAIL("zombie pid %ld still has mappings in status", gint(p, "pid"));
			continue;
		}
		if (check_process_maps(p, why, len))
			return -1;
	}
	return 0;
}

/* The ids in /proc/sysvipc/{sem,shm,msg} of the namespace of pid, as "sem:ID ..." */
static int sysvipc_ids(long pid, char *out, size_t len)
{
	static const char *const kinds[] = { "sem", "shm", "msg" };
	int pfd[2], status;
	char path[64];
	ssize_t n;
	pid_t child;

	if (pipe(pfd))
		return -1;
	child = fork();
	if (child == 0) {
		char line[512];
		FILE *f;
		int id, ns;

		close(pfd[0]);
		snprintf(path, sizeof(path), "/proc/%ld/ns/ipc", pid);
		ns = open(path, O_RDONLY);
		if (ns < 0 || setns(ns, CLONE_NEWIPC)) {
			dprintf(2, "setns into %s: %s\n", path, strerror(errno));
			_exit(1);
		}
		for (int k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "/proc/sysvipc/%s", kinds[k]);
			f = fopen(path, "r");
			if (!f) {
				dprintf(2, "%s: %s\n", path, strerror(errno));
				_exit(1);
			}
			if (!fgets(line, sizeof(line), f)) /* the header */
				line[0] = 0;
			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "%*d %d", &id) == 1)
					dprintf(pfd[1], "%s:%d ", kinds[k], id);
			fclose(f);
		}
		_exit(0);
	}
	close(pfd[1]);
	for (size_t got = 0;; got += n) {
		n = got < len - 1 ? read(pfd[0], out + got, len - 1 - got) : 0;
		if (n <= 0) {
			n = got;
			break;
		}
	}
	close(pfd[0]);
	if (waitpid(child, &status, 0) != child) {
		print_message("waitpid %d: %s\n", child, strerror(errno));
		return -1;
	}
	out[n > 0 ? n : 0] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		print_message("sysvipc reader: status 0x%x\n", status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int check_ipc_ns(struct json_object *app, char *why, size_t len)
{
	struct json_object *ipc = get(app, "ipc"), *procs = get(app, "processes");
	char ids[4096], one[64];
	size_t count = 0;
	long pid = 0;

	for (size_t i = 0; i < alen(procs) && !pid; i++)
		if (!is_zombie(AT(procs, i)))
			pid = gint(AT(procs, i), "sys_pid");
	if (!pid)
		FAIL("no live process to find the IPC namespace by");
	if (sysvipc_ids(pid, ids, sizeof(ids)))
		FAIL("cannot read /proc/sysvipc in the namespace of pid %ld", pid);
	for (size_t i = 0; i < alen(ipc); i++) {
		snprintf(one, sizeof(one), "%s:%ld ", gstr(AT(ipc, i), "kind"), gint(AT(ipc, i), "id"));
		if (!strstr(ids, one))
			FAIL("status lists %s, the IPC namespace has only: %s", one, ids);
	}
	for (char *p = ids; *p; p++)
		count += *p == ' ';
	if (count != alen(ipc))
		FAIL("the IPC namespace holds %s, status lists %zu objects", ids, alen(ipc));
	return 0;
}

static struct json_object *bpftool_dump(const char *map)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/fs/bpf/appshot/%s", map);
	return run_json("bpftool", "-j", "map", "dump", "pinned", path, NULL);
}

static struct json_object *fmt(struct json_object *e, const char *which)
{
	return get(get(e, "formatted"), which);
}

int check_bpftool(struct json_object *app, char *why, size_t len)
{
	struct json_object *tasks = bpftool_dump("tasks"), *fds = bpftool_dump("fds");
	struct json_object *files = bpftool_dump("files");
	struct json_object *ipcs = bpftool_dump("ipcs"), *regions = bpftool_dump("regions");
	struct json_object *procs = get(app, "processes");
	long aid = gint(app, "aid");
	size_t ntasks = 0, nthreads = 0, nfds = 0, nst_fds = 0, nipc = 0, nregions = 0, nst_maps = 0;
	size_t nfiles = 0;
	int ret = -1;

	if (!tasks || !fds || !files || !ipcs || !regions) {
		snprintf(why, len, "bpftool could not dump the pinned maps");
		goto out;
	}
	for (size_t i = 0; i < alen(procs); i++) {
		nthreads += alen(get(AT(procs, i), "threads"));
		nst_fds += alen(get(AT(procs, i), "fds"));
		nst_maps += alen(get(AT(procs, i), "mappings"));
	}
	for (size_t i = 0; i < alen(tasks); i++) {
		struct json_object *v = fmt(AT(tasks, i), "value");
		long tid = json_object_get_int64(fmt(AT(tasks, i), "key"));
		struct json_object *p;

		if (gint(v, "aid") != aid)
			continue;
		ntasks++;
		p = app_process(app, gint(v, "vtgid"));
		if (!p || gint(p, "sys_pid") != gint(v, "tgid")) {
			snprintf(why, len, "bpftool: task %ld (tgid %ld, vtgid %ld) is not in status", tid,
				 gint(v, "tgid"), gint(v, "vtgid"));
			goto out;
		}
	}
	for (size_t i = 0; i < alen(fds); i++) {
		struct json_object *k = fmt(AT(fds, i), "key"), *v = fmt(AT(fds, i), "value");
		struct json_object *p = NULL, *procs_ = procs;

		if (gint(v, "aid") != aid || !guint(v, "file")) /* file 0: a closed fd's slot */
			continue;
		nfds++;
		for (size_t j = 0; j < alen(procs_); j++)
			if (gint(AT(procs_, j), "sys_pid") == gint(k, "tgid"))
				p = AT(procs_, j);
		if (!p || !process_fd(p, gint(k, "fd")) ||
		    guint(process_fd(p, gint(k, "fd")), "file") != guint(v, "file")) {
			snprintf(why, len, "bpftool: fd %ld of tgid %ld (file %llx) differs from status",
				 gint(k, "fd"), gint(k, "tgid"), guint(v, "file"));
			goto out;
		}
	}
	/* Each open file once, with as many references as fds in status name it. */
	for (size_t i = 0; i < alen(files); i++) {
		struct json_object *k = fmt(AT(files, i), "key"), *v = fmt(AT(files, i), "value");
		long refs = 0;

		if (gint(k, "aid") != aid)
			continue;
		nfiles++;
		for (size_t j = 0; j < alen(procs); j++) {
			struct json_object *pf = get(AT(procs, j), "fds");

			for (size_t n = 0; n < alen(pf); n++)
				if (guint(AT(pf, n), "file") == guint(k, "file")) {
					refs++;
					if (strcmp(gstr(AT(pf, n), "path"), gstr(v, "path"))) {
						snprintf(why, len, "bpftool: file %llx is '%s', status '%s'",
							 guint(k, "file"), gstr(v, "path"),
							 gstr(AT(pf, n), "path"));
						goto out;
					}
				}
		}
		if (refs != gint(v, "refs")) {
			snprintf(why, len, "bpftool: file %llx (%s) has %ld references, status %ld fds",
				 guint(k, "file"), gstr(v, "path"), gint(v, "refs"), refs);
			goto out;
		}
	}
	if (!nfiles && nst_fds) {
		snprintf(why, len, "bpftool: no files entries for %zu fds", nst_fds);
		goto out;
	}
	for (size_t i = 0; i < alen(ipcs); i++)
		nipc += gint(fmt(AT(ipcs, i), "key"), "aid") == aid;
	for (size_t i = 0; i < alen(regions); i++)
		nregions += gint(fmt(AT(regions, i), "value"), "aid") == aid;
	if (ntasks != nthreads || nfds != nst_fds || nipc != alen(get(app, "ipc")) ||
	    nregions != nst_maps) {
		snprintf(why, len,
			 "bpftool has %zu tasks, %zu fds, %zu ipc, %zu mappings; status %zu, %zu, %zu, %zu",
			 ntasks, nfds, nipc, nregions, nthreads, nst_fds, alen(get(app, "ipc")), nst_maps);
		goto out;
	}
	ret = 0;
out:
	json_object_put(tasks);
	json_object_put(fds);
	json_object_put(files);
	json_object_put(ipcs);
	json_object_put(regions);
	return ret;
}
