// SPDX-License-Identifier: GPL-2.0-only
/* Registering, adopting and unregistering applications. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "app.h"
#include "appinit.h"
#include "cgroup.h"
#include "log.h"
#include "proc.h"
#include "tables.h"
#include "util.h"

int app_note_external(struct app_record *rec, pid_t tgid, int fd, int key)
{
	unsigned long long file = 0;
	unsigned int t, n;
	char line[128];
	int err;
	FILE *f;

	if (rec->nexternal >= APP_MAX_EXTERNAL)
		return -ENOSPC;
	f = tracer_iter_fopen("open_files", &err);
	if (!f)
		return err;
	while (!file && fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %llx", &t, &n, &file) != 3 || (pid_t)t != tgid ||
		    (int)n != fd)
			file = 0;
	fclose(f);
	if (!file)
		return -EBADF;
	rec->external[rec->nexternal++] = (struct app_external){ .key = key, .file = file };
	return 0;
}

/*
 * A tracer of another table layout (an older appshot's) that holds no
 * application can go: nothing of it is in use. Its apps map is counted by
 * keys, whose layout has not changed.
 */
static void replace_idle_tracer(void)
{
	struct trace_meta m = { 0 };
	__u32 key = 0;
	int meta = bpf_obj_get(APPSHOT_PIN_ROOT "/meta"), apps = bpf_obj_get(APPSHOT_PIN_ROOT "/apps");

	/* the layout number leads the meta record in every layout */
	if (meta >= 0 && apps >= 0 && bpf_map_lookup_elem(meta, &key, &m) == 0 &&
	    m.abi != APPSHOT_TRACE_ABI && bpf_map_get_next_key(apps, NULL, &key) &&
	    errno == ENOENT) {
		pr_info("replacing the idle tracer of an older appshot (table layout %u)", m.abi);
		tracer_unload();
	}
	if (meta >= 0)
		close(meta);
	if (apps >= 0)
		close(apps);
}

int app_tracer_ready(struct tracer *tr)
{
	int err = tracer_check_env();

	if (err)
		return err;
	if (tracer_is_loaded())
		replace_idle_tracer();
	if (!tracer_is_loaded()) {
		err = tracer_load();
		if (err)
			return err;
	}
	return tracer_open(tr);
}

void app_tracer_release(struct tracer *tr)
{
	if (tr->fd[TMAP_APPS] < 0 || tables_count_apps(tr) > 0 || tracer_is_resident(tr))
		return;
	tracer_close(tr);
	tracer_unload();
}

int app_find_traced(struct tracer *tr, const char *name, __u32 *aid)
{
	struct app_info info;
	__u32 key, next;
	int first = 1;

	if (tr->fd[TMAP_APPS] < 0)
		return -ENOENT;
	while (bpf_map_get_next_key(tr->fd[TMAP_APPS], first ? NULL : &key, &next) == 0) {
		first = 0;
		key = next;
		if (bpf_map_lookup_elem(tr->fd[TMAP_APPS], &key, &info) == 0 &&
		    !strncmp(info.name, name, sizeof(info.name))) {
			*aid = key;
			return 0;
		}
	}
	return -ENOENT;
}

int app_lookup(struct registry *reg, const char *name, struct app_record *rec)
{
	int err = registry_get(reg, name, rec);

	if (err == -ENOENT)
		pr_err("no application named '%s' (see appshot-trace status)", name);
	return err;
}

/* Does the tracer hold an application numbered aid? */
static int traced_number(uint32_t aid, void *ctx)
{
	struct tracer *tr = ctx;
	struct app_info info;

	return bpf_map_lookup_elem(tr->fd[TMAP_APPS], &aid, &info) == 0;
}

int app_register(struct registry *reg, struct tracer *tr, struct app_record *rec,
		 __u32 pidns_level, __u32 pidns_ino, __u32 ipcns_ino)
{
	struct app_info info = {
		.pidns_level = pidns_level,
		.pidns_ino = pidns_ino,
		.ipcns_ino = ipcns_ino,
		.flags = rec->own_ns ? APPF_OWN_PIDNS : 0,
		.root_tid = rec->root,
	};
	pid_t *pids;
	size_t n;
	int err;

	err = cgroup_app_path(rec->name, rec->cgroup, sizeof(rec->cgroup));
	if (err) {
		pr_err("no cgroup v2 hierarchy is mounted: appshot needs one for its applications");
		return err;
	}
	rec->created = time(NULL);
	err = registry_add(reg, rec, traced_number, tr);
	if (err == -EEXIST)
		pr_err("an application named '%s' exists already", rec->name);
	if (err)
		return err;

	err = cgroup_create(rec->cgroup);
	if (err == -EEXIST && cgroup_read_ids(rec->cgroup, "cgroup.procs", &pids, &n) == 0) {
		/* Left by an application that ended without its detach: reuse it if empty. */
		free(pids);
		err = n ? -EEXIST : 0;
		if (n)
			pr_err("the cgroup %s exists and holds %zu processes", rec->cgroup, n);
	} else if (err) {
		pr_err("cannot create the cgroup %s: %s", rec->cgroup, strerror(-err));
	}
	if (err)
		goto undo_registry;

	snprintf(info.name, sizeof(info.name), "%s", rec->name);
	if (bpf_map_update_elem(tr->fd[TMAP_APPS], &rec->aid, &info, BPF_NOEXIST)) {
		err = -errno;
		if (err == -EEXIST)
			pr_err("the tracer already has an application numbered %u that the registry "
			       "%s does not know (another APPSHOT_STATE_DIR?): detach it by name first",
			       rec->aid, reg->dir);
		else
			pr_perror("cannot add application %u to the tracer", rec->aid);
		goto undo_cgroup;
	}
	err = registry_update(reg, rec);
	if (!err)
		return 0;
	bpf_map_delete_elem(tr->fd[TMAP_APPS], &rec->aid);
undo_cgroup:
	cgroup_remove(rec->cgroup, NULL);
undo_registry:
	registry_remove(reg, rec->name);
	return err;
}

int app_adopt(struct tracer *tr, __u32 aid, const pid_t *tids, size_t n, __u32 extra)
{
	struct task_info ti;
	size_t i;
	int err = 0;

	for (i = 0; i < n; i++) {
		__u32 tid = tids[i];

		pid_t tgid;

		/*
		 * The task runs on while it is seeded, and the syscall programs
		 * key its fds by tgid from the moment it is a member.
		 */
		err = proc_tgid(tid, &tgid);
		if (err) {
			pr_err("cannot read the process of task %u: %s", tid, strerror(-err));
			break;
		}
		memset(&ti, 0, sizeof(ti));
		ti.aid = aid;
		ti.tgid = tgid;
		ti.flags = TASKF_SEED | extra;
		if (bpf_map_update_elem(tr->fd[TMAP_TASKS], &tid, &ti, BPF_NOEXIST)) {
			err = -errno;
			if (err == -EEXIST && !tables_task(tr, tid, &ti))
				pr_err("task %u is already traced, as part of application %u", tid,
				       ti.aid);
			else
				pr_perror("cannot add task %u to the tracer", tid);
			break;
		}
	}
	if (!err)
		err = tracer_seed();
	/* Clear the seed marks, or on failure take back what was added. */
	for (size_t j = 0; j < i; j++) {
		__u32 tid = tids[j];

		if (bpf_map_lookup_elem(tr->fd[TMAP_TASKS], &tid, &ti))
			continue; /* gone meanwhile */
		if (err) {
			bpf_map_delete_elem(tr->fd[TMAP_TASKS], &tid);
			continue;
		}
		ti.flags &= ~TASKF_SEED;
		bpf_map_update_elem(tr->fd[TMAP_TASKS], &tid, &ti, BPF_EXIST);
	}
	return err;
}

int app_unregister(struct registry *reg, struct tracer *tr, const struct app_record *rec)
{
	int err, ret = 0;

	err = tables_drop(tr, rec->aid);
	if (err) {
		pr_err("cannot remove the tables of '%s': %s", rec->name, strerror(-err));
		ret = err;
	}
	err = cgroup_remove(rec->cgroup, rec->origin_cgroup[0] ? rec->origin_cgroup : NULL);
	if (err) {
		pr_err("cannot remove the cgroup %s: %s", rec->cgroup, strerror(-err));
		ret = ret ?: err;
	}
	err = registry_remove(reg, rec->name);
	if (err && err != -ENOENT) {
		pr_err("cannot remove '%s' from the registry: %s", rec->name, strerror(-err));
		ret = ret ?: err;
	}
	if (tables_count_apps(tr) == 0 && !tracer_is_resident(tr)) {
		tracer_close(tr);
		err = tracer_unload();
		if (err) {
			pr_err("cannot remove the tracer's pins under %s", APPSHOT_PIN_ROOT);
			ret = ret ?: err;
		}
	}
	return ret;
}

/* Signals a foreground appshot passes on to the application. */
static const int forwarded[] = { SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
static pid_t forward_pid = -1;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

int app_foreground(const char *name, pid_t first, int share_ns)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	struct app_record rec;
	int status, code = 0;
	pid_t pid;

	forward_pid = first;
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
	/* Ctrl-C reaches the application through the terminal; we wait on. */
	signal(SIGINT, SIG_IGN);
	for (;;) {
		pid = waitpid(share_ns ? -1 : first, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pid == first) {
			code = wait_status_code(status);
			forward_pid = -1;
			if (!share_ns)
				break;
		}
	}
	/*
	 * The application has ended: remove what appshot made for it, unless it
	 * was detached or snapshotted meanwhile (then its record is gone). The
	 * tracer may have been reloaded since: its maps are opened again.
	 */
	if (registry_open(&reg, registry_default_dir(), 1) == 0 &&
	    registry_get(&reg, name, &rec) == 0 && rec.root == first && tracer_open(&tr) == 0)
		app_unregister(&reg, &tr, &rec);
	registry_close(&reg);
	tracer_close(&tr);
	return code;
}
