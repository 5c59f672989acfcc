// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot-trace attach and detach.
 *
 * attach gathers a running tree into the application's cgroup, freezes it,
 * makes every thread a member and seeds the tables, then thaws it: frozen,
 * no process can fork or change an fd while it is being described.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "app.h"
#include "cgroup.h"
#include "cmd.h"
#include "commands.h"
#include "log.h"
#include "names.h"
#include "proc.h"
#include "tables.h"
#include "util.h"

#define GATHER_ROUNDS 16
#define FREEZE_TIMEOUT_MS 2000

/* Move root and its descendants into cgroup until a round finds none new. */
static int gather(const char *cgroup, pid_t root)
{
	pid_t *pids;
	size_t n, moved;
	int err;

	for (int round = 0; round < GATHER_ROUNDS; round++) {
		err = proc_descendants(root, &pids, &n);
		if (err)
			return err;
		moved = 0;
		for (size_t i = 0; i < n; i++) {
			struct proc_stat st;
			char cg[4096];

			/* a zombie is in no cgroup, and stays as it is (the snapshot finds it) */
			if (proc_stat_read(pids[i], &st) || st.state == 'Z' ||
			    (cgroup_of_pid(pids[i], cg, sizeof(cg)) == 0 && !strcmp(cg, cgroup)))
				continue;
			err = cgroup_move(cgroup, pids[i]);
			if (err == -ESRCH)
				continue; /* gone meanwhile */
			if (err) {
				pr_err("cannot move pid %d into %s: %s", pids[i], cgroup, strerror(-err));
				free(pids);
				return err;
			}
			moved++;
		}
		free(pids);
		if (!moved)
			return 0;
	}
	pr_err("pid %d keeps forking: its tree did not settle in %d rounds", root, GATHER_ROUNDS);
	return -EAGAIN;
}

static int check_target(pid_t pid)
{
	char path[64], buf[8];

	if (pid == 1) {
		pr_err("refusing to adopt pid 1, the machine's init");
		return -EPERM;
	}
	if (pid == getpid()) {
		pr_err("refusing to adopt appshot-trace itself");
		return -EPERM;
	}
	if (kill(pid, 0) && errno == ESRCH) {
		pr_err("no process with pid %d", pid);
		return -ESRCH;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (readlink(path, buf, sizeof(buf)) < 0 && errno == ENOENT) {
		pr_err("pid %d is a kernel thread or has exited: nothing to adopt", pid);
		return -EPERM;
	}
	return 0;
}

int do_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "aid", required_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'p' },
		{ "external-fd", required_argument, NULL, 'e' },
		COMMON_LONG_OPTS,
		{},
	};
	struct app_record rec = { .mode = APP_ATTACH };
	int external[APP_MAX_EXTERNAL];
	size_t nexternal = 0;
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	const char *name = NULL, *pid_arg = NULL, *why;
	struct app_tables at;
	struct task_info ti;
	__u32 level, pidns_ino = 0, ipcns_ino = 0;
	pid_t pid, vpid, *tids = NULL;
	size_t ntids = 0, nprocs = 0;
	int c, r, err, frozen = 0;

	while ((c = getopt_long(argc, argv, "a:p:" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			name = optarg;
			break;
		case 'p':
			pid_arg = optarg;
			break;
		case 'e': {
			char *end;
			long fd = strtol(optarg, &end, 10);

			if (*end || end == optarg || fd < 0 || fd > INT32_MAX ||
			    nexternal == APP_MAX_EXTERNAL)
				return usage_error("attach", "--external-fd takes an fd number (%d at most)",
						   APP_MAX_EXTERNAL);
			external[nexternal++] = fd;
			break;
		}
		default:
			r = common_opt(c, "attach");
			if (r)
				return r;
		}
	}
	if (!name || !pid_arg)
		return usage_error("attach", "--aid NAME and --pid PID are required");
	if (aid_name_check(name, &why))
		return usage_error("attach", "invalid application name '%s': %s", name, why);
	if (parse_pid(pid_arg, &pid))
		return usage_error("attach", "invalid pid '%s'", pid_arg);

	err = tracer_check_env();
	if (!err)
		err = check_target(pid);
	if (err)
		return err;
	err = proc_nspid(pid, &vpid, &level);
	if (!err) {
		proc_ns_ino(pid, "pid", &pidns_ino);
		proc_ns_ino(pid, "ipc", &ipcns_ino);
		err = cgroup_of_pid(pid, rec.origin_cgroup, sizeof(rec.origin_cgroup));
	}
	if (err) {
		pr_err("cannot read pid %d: %s", pid, strerror(-err));
		return err;
	}

	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		return err;
	err = app_tracer_ready(&tr);
	if (err)
		goto out;
	if (tables_task(&tr, pid, &ti) == 0) {
		struct app_record other;

		err = -EALREADY;
		if (registry_get_aid(&reg, ti.aid, &other) == 0)
			pr_err("pid %d is already traced, as part of application '%s'", pid, other.name);
		else
			pr_err("pid %d is already traced, as part of application %u", pid, ti.aid);
		goto out;
	}
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	rec.root = pid;
	err = app_register(&reg, &tr, &rec, level, pidns_ino, ipcns_ino);
	if (err)
		goto out;

	err = gather(rec.cgroup, pid);
	if (err)
		goto fail;
	err = cgroup_freeze(rec.cgroup, 1, FREEZE_TIMEOUT_MS);
	if (err) {
		pr_err("cannot freeze %s: %s", rec.cgroup, strerror(-err));
		goto fail;
	}
	frozen = 1;
	err = cgroup_read_ids(rec.cgroup, "cgroup.threads", &tids, &ntids);
	if (err) {
		pr_err("cannot list the threads in %s: %s", rec.cgroup, strerror(-err));
		goto fail;
	}
	err = app_adopt(&tr, rec.aid, tids, ntids, 0);
	/* what the user says the root was given from outside, knowingly */
	for (size_t i = 0; !err && i < nexternal; i++)
		if ((err = app_note_external(&rec, pid, external[i], external[i])))
			pr_err("--external-fd %d: pid %d has no fd %d", external[i], pid,
			       external[i]);
	if (!err && nexternal)
		err = registry_update(&reg, &rec);
	if (err)
		goto fail;
	cgroup_freeze(rec.cgroup, 0, FREEZE_TIMEOUT_MS);
	frozen = 0;

	if (tables_read(&tr, rec.aid, &at) == 0) {
		for (size_t i = 0; i < at.ntasks; i++)
			nprocs += at.tasks[i].tid == at.tasks[i].ti.tgid;
		tables_free(&at);
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(rec.name));
		json_object_object_add(o, "aid", json_object_new_int64(rec.aid));
		json_object_object_add(o, "processes", json_object_new_int64(nprocs));
		json_object_object_add(o, "threads", json_object_new_int64(ntids));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("application %s (aid %u) attached: %zu processes, %zu threads\n", rec.name,
		       rec.aid, nprocs, ntids);
	}
	goto out;

fail:
	if (frozen)
		cgroup_freeze(rec.cgroup, 0, FREEZE_TIMEOUT_MS);
	app_unregister(&reg, &tr, &rec);
out:
	if (err)
		app_tracer_release(&tr);
	free(tids);
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}

/* Detach one application; with kill, end its processes first. */
static int detach_one(struct registry *reg, struct tracer *tr, struct app_record *rec, int kill_it)
{
	int err;

	if (kill_it && access(rec->cgroup, F_OK) == 0) {
		err = cgroup_kill(rec->cgroup);
		if (err)
			pr_warn("cannot kill the processes of '%s': %s", rec->name, strerror(-err));
	}
	if (tr->fd[TMAP_APPS] < 0) {
		/* The tracer is gone (a reboot): only the record and cgroup are left. */
		cgroup_remove(rec->cgroup, rec->origin_cgroup[0] ? rec->origin_cgroup : NULL);
		return registry_remove(reg, rec->name);
	}
	return app_unregister(reg, tr, rec);
}

/*
 * An application the tracer follows but the registry has lost (its state
 * directory was removed): a record rebuilt from the tracer, so that detach
 * can still remove it.
 */
static int orphan_record(struct tracer *tr, const char *name, struct app_record *rec)
{
	__u32 aid;

	if (app_find_traced(tr, name, &aid))
		return -ENOENT;
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	rec->aid = aid;
	if (cgroup_app_path(name, rec->cgroup, sizeof(rec->cgroup)))
		return -ENOENT;
	pr_warn("'%s' is traced but not in the registry: removing what the tracer has of it", name);
	return 0;
}

int do_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "aid", required_argument, NULL, 'a' },
		{ "all", no_argument, NULL, 'A' },
		{ "kill", no_argument, NULL, 'k' },
		COMMON_LONG_OPTS,
		{},
	};
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	struct app_record rec, *recs = NULL;
	const char *name = NULL;
	int c, r, err, all = 0, kill_it = 0;
	size_t n = 0, done = 0;

	while ((c = getopt_long(argc, argv, "a:" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			name = optarg;
			break;
		case 'A':
			all = 1;
			break;
		case 'k':
			kill_it = 1;
			break;
		default:
			r = common_opt(c, "detach");
			if (r)
				return r;
		}
	}
	if (!!name == all)
		return usage_error("detach", "give either --aid NAME or --all");
	err = tracer_check_env();
	if (err)
		return err;
	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		return err;
	if (tracer_is_loaded() && (err = tracer_open(&tr)))
		goto out;
	if (name) {
		err = registry_get(&reg, name, &rec);
		if (err == -ENOENT)
			err = orphan_record(&tr, name, &rec);
		if (err == -ENOENT)
			pr_err("no application named '%s' (see appshot-trace status)", name);
		if (!err)
			err = detach_one(&reg, &tr, &rec, kill_it);
		done = !err;
	} else {
		err = registry_list(&reg, &recs, &n);
		for (size_t i = 0; !err && i < n; i++) {
			err = detach_one(&reg, &tr, &recs[i], kill_it);
			done += !err;
		}
		/* Pins left without applications (a crash) go too, unless resident. */
		if (!err && tracer_is_loaded() && tr.fd[TMAP_APPS] >= 0 &&
		    tables_count_apps(&tr) == 0 && !tracer_is_resident(&tr)) {
			tracer_close(&tr);
			err = tracer_unload();
		}
	}
	if (!err) {
		if (json_output)
			printf("{\"detached\":%zu}\n", done);
		else if (name)
			printf("application %s detached\n", name);
		else
			printf("%zu applications detached\n", done);
	}
out:
	free(recs);
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}
