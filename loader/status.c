// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot-trace status: the applications, their processes and threads
 * (virtual pid <-> system pid) and what each holds, from the tracer's
 * tables. One model is built (json-c objects) and printed as JSON or text,
 * so both forms always say the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cmd.h"
#include "commands.h"
#include "describe.h"
#include "log.h"
#include "proc.h"
#include "registry.h"
#include "tables.h"
#include "tracer.h"
#include "util.h"

#define jadd json_object_object_add
#define jint(v) json_object_new_int64(v)
#define jstr(v) json_object_new_string(v)

static int64_t jget_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *jget_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/*
 * Was the fd's file unlinked after it was described? No fd syscall says so:
 * ask the kernel, whose link for the fd ends in " (deleted)" exactly then.
 */
static int unlinked_since(__u32 pid, __u32 fd, const struct file_info *fi)
{
	char path[64], link[APPSHOT_PATH_LEN + 64];
	ssize_t n;

	if (fi->file_flags & FILEF_DELETED)
		return 0;
	if (fi->kind != FDK_FILE && fi->kind != FDK_DIR && fi->kind != FDK_FIFO &&
	    fi->kind != FDK_CHR && fi->kind != FDK_BLK)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/fd/%u", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 10)
		return 0;
	link[n] = 0;
	return !strcmp(link + n - 10, " (deleted)");
}

/* The virtual pid of a system pid, if it is one of the application's tasks. */
static __u32 vpid_of(const struct app_tables *at, __u32 sys)
{
	for (size_t i = 0; i < at->ntasks; i++)
		if (at->tasks[i].tid == sys)
			return at->tasks[i].ti.vtid;
	return 0;
}

static struct json_object *region_json(const struct region_entry *r)
{
	struct json_object *o = json_object_new_object();
	char prot[8];

	prot_str(r->ri.prot, r->ri.flags, prot, sizeof(prot));
	jadd(o, "start", json_object_new_uint64(r->k.start));
	jadd(o, "end", json_object_new_uint64(r->ri.end));
	jadd(o, "prot", jstr(prot));
	jadd(o, "kind", jstr(region_kind_name(r->ri.kind)));
	jadd(o, "flags", jint(r->ri.flags));
	jadd(o, "pgoff", json_object_new_uint64(r->ri.pgoff));
	jadd(o, "ino", json_object_new_uint64(r->ri.ino));
	jadd(o, "dev", jint(r->ri.dev));
	if (r->ri.kind == RGK_SYSV_SHM)
		jadd(o, "shmid", jint(r->ri.shmid));
	return o;
}

static struct json_object *process_json(const struct app_tables *at, size_t leader)
{
	const struct task_entry *t = &at->tasks[leader];
	struct json_object *o = json_object_new_object(), *threads, *fds, *maps;
	struct proc_stat st = {};
	__u32 tgid = t->ti.tgid, lost = 0;
	int live = proc_stat_read(tgid, &st) == 0;

	jadd(o, "pid", jint(t->ti.vtgid));
	jadd(o, "sys_pid", jint(tgid));
	jadd(o, "ppid", jint(live ? vpid_of(at, st.ppid) : 0));
	jadd(o, "sys_ppid", jint(live ? st.ppid : 0));
	jadd(o, "pgid", jint(live ? vpid_of(at, st.pgrp) : 0));
	jadd(o, "sid", jint(live ? vpid_of(at, st.sid) : 0));
	jadd(o, "comm", jstr(t->ti.comm));
	jadd(o, "state", jstr(t->ti.flags & TASKF_EXITED ? "zombie" : "alive"));
	jadd(o, "init", json_object_new_boolean(t->ti.flags & TASKF_INIT));

	threads = json_object_new_array();
	for (size_t i = 0; i < at->ntasks; i++) {
		struct json_object *th;

		if (at->tasks[i].ti.tgid != tgid)
			continue;
		th = json_object_new_object();
		jadd(th, "tid", jint(at->tasks[i].ti.vtid));
		jadd(th, "sys_tid", jint(at->tasks[i].tid));
		jadd(th, "exited", json_object_new_boolean(at->tasks[i].ti.flags & TASKF_EXITED));
		json_object_array_add(threads, th);
	}
	jadd(o, "threads", threads);

	fds = json_object_new_array();
	for (size_t i = 0; i < at->nfds; i++) {
		const struct fd_entry *f = &at->fds[i];
		const struct file_entry *fe;
		const struct sock_entry *se;
		struct file_info fi;

		if (f->k.tgid != tgid)
			continue;
		fe = tables_file(at, f->fi.file);
		if (!fe) /* the fd is being closed or made right now */
			continue;
		fi = fe->fi;
		if (live && unlinked_since(tgid, f->k.fd, &fi))
			fi.file_flags |= FILEF_DELETED;
		se = fi.kind == FDK_SOCKET ? tables_sock(at, fi.ino) : NULL;
		json_object_array_add(fds, fd_json(f->k.fd, &f->fi, &fi, se ? &se->si : NULL));
	}
	jadd(o, "fds", fds);

	maps = json_object_new_array();
	for (size_t i = 0; i < at->nregions; i++)
		if (at->regions[i].k.tgid == tgid)
			json_object_array_add(maps, region_json(&at->regions[i]));
	jadd(o, "mappings", maps);
	for (size_t i = 0; i < at->nlost; i++)
		if (at->lost[i].tgid == tgid)
			lost = at->lost[i].lost + at->lost[i].unsettled;
	jadd(o, "mappings_untracked", jint(lost));
	return o;
}

static struct json_object *ipc_json(const struct app_tables *at, const struct ipc_entry *e)
{
	struct json_object *o = json_object_new_object();
	char mode[8];

	(void)at;
	snprintf(mode, sizeof(mode), "%04o", e->ii.flags & 0777);
	jadd(o, "kind", jstr(ipc_kind_name(e->k.kind)));
	jadd(o, "id", jint(e->k.id));
	jadd(o, "key", jint(e->ii.key));
	jadd(o, "mode", jstr(mode));
	jadd(o, "size", json_object_new_uint64(e->ii.size));
	jadd(o, "creator", jint(e->ii.vcreator));
	jadd(o, "sys_creator", jint(e->ii.creator));
	if (e->k.kind == IPCK_SHM) {
		jadd(o, "attached", jint(e->ii.nattch));
		jadd(o, "removed", json_object_new_boolean(e->ii.state & IPCS_REMOVED));
	}
	return o;
}

static struct json_object *app_json(const struct app_record *rec, struct tracer *tr)
{
	struct json_object *o = json_object_new_object(), *procs, *ipc;
	struct app_tables at;
	size_t nprocs = 0, nthreads = 0, alive = 0;
	int traced;

	/* Mappings changed by threads at once are rebuilt from the kernel first. */
	if (tr->fd[TMAP_APPS] >= 0)
		tables_settle(tr, rec->aid);
	traced = tr->fd[TMAP_APPS] >= 0 && tables_read(tr, rec->aid, &at) == 0;

	jadd(o, "name", jstr(rec->name));
	jadd(o, "aid", jint(rec->aid));
	jadd(o, "mode", jstr(app_mode_name(rec->mode)));
	jadd(o, "cgroup", jstr(rec->cgroup));
	jadd(o, "own_namespaces", json_object_new_boolean(rec->own_ns));
	jadd(o, "created", jint(rec->created));
	procs = json_object_new_array();
	ipc = json_object_new_array();
	if (traced) {
		for (size_t i = 0; i < at.ntasks; i++) {
			nthreads++;
			alive += !(at.tasks[i].ti.flags & TASKF_EXITED);
			if (at.tasks[i].tid != at.tasks[i].ti.tgid)
				continue;
			nprocs++;
			json_object_array_add(procs, process_json(&at, i));
		}
		for (size_t i = 0; i < at.nipcs; i++)
			json_object_array_add(ipc, ipc_json(&at, &at.ipcs[i]));
		jadd(o, "pidns_level", jint(at.info.pidns_level));
		jadd(o, "pidns_ino", jint(at.info.pidns_ino));
		jadd(o, "ipcns_ino", jint(at.info.ipcns_ino));
		jadd(o, "events", json_object_new_uint64(at.info.events));
		jadd(o, "events_lost", json_object_new_uint64(at.info.lost));
		tables_free(&at);
	}
	jadd(o, "state", jstr(!traced ? "not traced" : alive ? "running" : "ended"));
	jadd(o, "process_count", jint(nprocs));
	jadd(o, "thread_count", jint(nthreads));
	jadd(o, "processes", procs);
	jadd(o, "ipc", ipc);
	return o;
}

/* ---- the plain form ----------------------------------------------------- */

static void print_process(struct json_object *p, int show_maps)
{
	struct json_object *threads = jget(p, "threads"), *fds = jget(p, "fds");
	struct json_object *maps = jget(p, "mappings");
	uint64_t total = 0;
	char size[32];
	size_t i, n;

	printf("  pid %-6" PRId64 " sys %-7" PRId64 " ppid %-6" PRId64 " %-16s %s%s\n",
	       jget_int(p, "pid"), jget_int(p, "sys_pid"), jget_int(p, "ppid"),
	       jget_str(p, "comm"), jget_str(p, "state"),
	       json_object_get_boolean(jget(p, "init")) ? " [appshot init]" : "");
	n = json_object_array_length(threads);
	if (n > 1) {
		printf("    threads:");
		for (i = 0; i < n; i++) {
			struct json_object *t = json_object_array_get_idx(threads, i);

			printf(" %" PRId64 " (sys %" PRId64 ")", jget_int(t, "tid"), jget_int(t, "sys_tid"));
		}
		printf("\n");
	}
	for (i = 0; i < json_object_array_length(fds); i++) {
		struct json_object *f = json_object_array_get_idx(fds, i);

		printf("    fd %-4" PRId64 " %-9s %-28s %s\n", jget_int(f, "fd"), jget_str(f, "kind"),
		       jget_str(f, "flags"), jget_str(f, "target"));
	}
	n = json_object_array_length(maps);
	for (i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(maps, i);
		uint64_t start = jget_int(m, "start"), end = jget_int(m, "end");

		total += end - start;
		if (show_maps)
			printf("    map %012" PRIx64 "-%012" PRIx64 " %s %-8s %8" PRIx64 " %" PRId64 "\n",
			       start, end, jget_str(m, "prot"), jget_str(m, "kind"),
			       jget_int(m, "pgoff") * 4096, jget_int(m, "ino"));
	}
	human_size(total, size, sizeof(size));
	printf("    memory: %zu mappings, %s%s\n", n, size,
	       show_maps || !n ? "" : " (--maps lists them)");
	if (jget_int(p, "mappings_untracked"))
		printf("    warning: %" PRId64 " mapping changes were not tracked\n",
		       jget_int(p, "mappings_untracked"));
}

static void print_app(struct json_object *a, int show_maps)
{
	struct json_object *procs = jget(a, "processes"), *ipc = jget(a, "ipc");
	size_t i;

	printf("%s (aid %" PRId64 ", %s, %s): %" PRId64 " process%s, %" PRId64 " thread%s\n",
	       jget_str(a, "name"), jget_int(a, "aid"), jget_str(a, "mode"), jget_str(a, "state"),
	       jget_int(a, "process_count"), jget_int(a, "process_count") == 1 ? "" : "es",
	       jget_int(a, "thread_count"), jget_int(a, "thread_count") == 1 ? "" : "s");
	printf("  cgroup %s\n", jget_str(a, "cgroup"));
	if (jget_int(a, "events_lost"))
		printf("  %" PRId64 " events lost\n", jget_int(a, "events_lost"));
	for (i = 0; i < json_object_array_length(procs); i++)
		print_process(json_object_array_get_idx(procs, i), show_maps);
	for (i = 0; i < json_object_array_length(ipc); i++) {
		struct json_object *e = json_object_array_get_idx(ipc, i);

		printf("  ipc %-3s id %-6" PRId64 " key 0x%08x mode %s size %" PRId64
		       " creator pid %" PRId64 "\n",
		       jget_str(e, "kind"), jget_int(e, "id"), (unsigned int)jget_int(e, "key"),
		       jget_str(e, "mode"), jget_int(e, "size"), jget_int(e, "creator"));
	}
}

/* Is the tracer loaded, since when, and does it stay without applications? */
static struct json_object *tracer_json(const struct tracer *tr)
{
	struct json_object *o = json_object_new_object();
	struct trace_meta m;
	int loaded = tr->fd[TMAP_META] >= 0 && tracer_meta(tr, &m) == 0;

	jadd(o, "loaded", json_object_new_boolean(loaded));
	if (loaded) {
		jadd(o, "resident", json_object_new_boolean(m.flags & TRACERF_RESIDENT));
		jadd(o, "loaded_s_ago",
		     jint((int64_t)(now_ns(CLOCK_BOOTTIME) - m.loaded_ns) / 1000000000));
	}
	return o;
}

static void print_tracer(struct json_object *t)
{
	if (!json_object_get_boolean(jget(t, "loaded"))) {
		printf("tracer: not loaded\n");
		return;
	}
	printf("tracer: loaded %" PRId64 " s ago, %s\n", jget_int(t, "loaded_s_ago"),
	       json_object_get_boolean(jget(t, "resident")) ?
		       "resident (stays without applications)" :
		       "goes with its last application");
}

int do_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "aid", required_argument, NULL, 'a' },
		{ "maps", no_argument, NULL, 'm' },
		COMMON_LONG_OPTS,
		{},
	};
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	struct json_object *root, *apps;
	struct app_record *recs = NULL, one;
	const char *name = NULL;
	int c, r, err, show_maps = 0;
	size_t n = 0;

	while ((c = getopt_long(argc, argv, "a:m" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			name = optarg;
			break;
		case 'm':
			show_maps = 1;
			break;
		default:
			r = common_opt(c, "status");
			if (r)
				return r;
		}
	}
	err = tracer_check_env();
	if (err)
		return err;
	err = registry_open(&reg, registry_default_dir(), 0);
	if (err)
		return err;
	if (tracer_is_loaded()) {
		err = tracer_open(&tr);
		if (err)
			goto out;
	}
	if (name) {
		err = registry_get(&reg, name, &one);
		if (err == -ENOENT)
			pr_err("no application named '%s'", name);
		if (err)
			goto out;
		recs = malloc(sizeof(*recs));
		if (!recs) {
			err = -ENOMEM;
			goto out;
		}
		recs[0] = one;
		n = 1;
	} else {
		err = registry_list(&reg, &recs, &n);
		if (err)
			goto out;
	}

	root = json_object_new_object();
	jadd(root, "tracer", tracer_json(&tr));
	apps = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(apps, app_json(&recs[i], &tr));
	jadd(root, "applications", apps);
	if (json_output) {
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
		goto done;
	}
	if (!name)
		print_tracer(jget(root, "tracer"));
	if (!n) {
		printf("no applications are traced\n");
	} else {
		for (size_t i = 0; i < n; i++)
			print_app(json_object_array_get_idx(apps, i), show_maps);
	}
done:
	json_object_put(root);
out:
	free(recs);
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}
