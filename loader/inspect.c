// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot inspect DIR: what an image holds, for a person or (--json) a
 * program. The image is verified whole first (image_open), then one model
 * is built from its records and printed either way, so both forms say the
 * same: the application, and per process its threads (where each one is,
 * its blocked and pending signals), memory areas with their sizes and how
 * much of each is saved, descriptors, signal handlers and timers.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <json-c/json.h>

#include "cmd.h"
#include "commands.h"
#include "rst.h"
#include "image.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "util.h"

#define jadd json_object_object_add

static int64_t geti(struct json_object *o, const char *key)
{
	int64_t v = 0;

	jg_i64(o, key, &v);
	return v;
}

static uint64_t getu(struct json_object *o, const char *key)
{
	uint64_t v = 0;

	jg_u64(o, key, &v);
	return v;
}

static const char *gets(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int flag(struct json_object *o, const char *key)
{
	int v = 0;

	jg_bool(o, key, &v);
	return v;
}

/* "SIGUSR1", or "SIG42" for one without a name. */
static void signame(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "SIG%d", sig);
}

/* A signal set (bit sig - 1) as an array of names. */
static struct json_object *sigset_names(uint64_t set)
{
	struct json_object *a = json_object_new_array();
	char name[32];

	for (int sig = 1; sig <= 64; sig++)
		if (set & (1ull << (sig - 1))) {
			signame(sig, name, sizeof(name));
			json_object_array_add(a, json_object_new_string(name));
		}
	return a;
}

/* Pending siginfos (hex) as their signals' names. */
static struct json_object *pending_names(struct json_object *list)
{
	struct json_object *a = json_object_new_array();
	siginfo_t si;
	char name[32];

	for (size_t i = 0; list && i < ja_len(list); i++) {
		struct json_object *tmp = json_object_new_object();
		size_t n = 0;

		jadd(tmp, "h", json_object_get(ja_at(list, i)));
		memset(&si, 0, sizeof(si));
		if (jg_hex(tmp, "h", &si, sizeof(si), &n) == 0 && n >= sizeof(int)) {
			signame(si.si_signo, name, sizeof(name));
			json_object_array_add(a, json_object_new_string(name));
		}
		json_object_put(tmp);
	}
	return a;
}

static struct json_object *model_thread(struct json_object *t)
{
	struct json_object *m = json_object_new_object(), *sleep = jg_obj(t, "sleep"),
			   *rseq = jg_obj(t, "rseq");
	const char *state = gets(t, "syscall");

	js_i64(m, "tid", geti(t, "tid"));
	js_str(m, "comm", gets(t, "comm"));
	/* how it goes on: in no syscall, restarting one, or returning EINTR */
	js_str(m, "syscall", state);
	if (sleep)
		js_u64(m, "sleep_left_ns", getu(sleep, "left_ns"));
	jadd(m, "blocked", sigset_names(getu(t, "sigmask")));
	jadd(m, "pending", pending_names(jg_arr(t, "pending")));
	js_bool(m, "rseq", rseq != NULL);
	js_bool(m, "altstack", jg_obj(t, "altstack") != NULL);
	return m;
}

static void prot_string(uint64_t prot, int shared, char *buf)
{
	buf[0] = prot & 1 ? 'r' : '-';
	buf[1] = prot & 2 ? 'w' : '-';
	buf[2] = prot & 4 ? 'x' : '-';
	buf[3] = shared ? 's' : 'p';
	buf[4] = 0;
}

static struct json_object *model_vma(struct json_object *v, uint64_t *saved_total)
{
	struct json_object *m = json_object_new_object(), *runs = jg_arr(v, "pages");
	uint64_t start = getu(v, "start"), end = getu(v, "end"), saved = 0;
	int shared = 0;
	char prot[8];

	jg_bool(v, "shared", &shared);
	/* each run: [address, pages, offset in the pages record] */
	for (size_t i = 0; runs && i < ja_len(runs); i++)
		saved += 4096 * json_object_get_uint64(
					ja_at(ja_at(runs, i), 1));
	*saved_total += saved;
	prot_string(getu(v, "prot"), shared, prot);
	js_u64(m, "start", start);
	js_u64(m, "end", end);
	js_str(m, "prot", prot);
	js_str(m, "kind", gets(v, "kind"));
	if (*gets(v, "path"))
		js_str(m, "path", gets(v, "path"));
	if (*gets(v, "name"))
		js_str(m, "name", gets(v, "name"));
	js_u64(m, "size", end - start);
	js_u64(m, "saved", saved);
	return m;
}

static struct json_object *model_fd(struct json_object *f)
{
	struct json_object *m = json_object_new_object(), *same;
	const struct fd_kind *kind;
	char state[512] = "";
	uint64_t flags = getu(f, "flags");
	int acc = flags & O_ACCMODE, cloexec = 0;

	jg_bool(f, "cloexec", &cloexec);
	js_i64(m, "fd", geti(f, "fd"));
	js_str(m, "kind", gets(f, "kind"));
	js_str(m, "path", gets(f, "path"));
	js_str(m, "access", flags & O_PATH ? "path" : acc == O_RDONLY ? "r" : acc == O_WRONLY ? "w" : "rw");
	js_bool(m, "append", flags & O_APPEND);
	js_bool(m, "cloexec", cloexec);
	js_u64(m, "pos", getu(f, "pos"));
	if (json_object_object_get_ex(f, "dup_of", NULL))
		js_i64(m, "shares_with", geti(f, "dup_of"));
	if (json_object_object_get_ex(f, "same_as", &same))
		jadd(m, "shares_with_process", json_object_get(same));
	kind = kind_named(gets(f, "kind"));
	if (kind && kind->describe) {
		kind->describe(f, state, sizeof(state));
		if (*state)
			js_str(m, "state", state);
	}
	fdattr_describe(f, state, sizeof(state));
	if (*state)
		js_str(m, "held", state);
	return m;
}

static struct json_object *model_signals(struct json_object *core)
{
	struct json_object *m = json_object_new_object(), *h = json_object_new_array(),
			   *acts = jg_arr(core, "sigactions");
	char name[32];

	for (size_t i = 0; acts && i < ja_len(acts); i++) {
		struct json_object *a = ja_at(acts, i),
				   *o = json_object_new_object();
		uint64_t handler = getu(a, "handler");

		signame(geti(a, "sig"), name, sizeof(name));
		js_str(o, "signal", name);
		js_str(o, "action", handler == (uint64_t)SIG_IGN ? "ignore" : "handler");
		if (handler != (uint64_t)SIG_IGN)
			js_u64(o, "handler", handler);
		js_u64(o, "flags", getu(a, "flags"));
		jadd(o, "mask", sigset_names(getu(a, "mask")));
		json_object_array_add(h, o);
	}
	jadd(m, "actions", h);
	jadd(m, "pending", pending_names(jg_arr(core, "shared_pending")));
	return m;
}

static struct json_object *model_process(struct json_object *core)
{
	struct json_object *m = json_object_new_object(), *a, *list = jg_arr(core, "threads"),
			   *creds = jg_obj(core, "creds"), *ids;
	uint64_t saved = 0;

	js_i64(m, "pid", geti(core, "pid"));
	js_i64(m, "sys_pid", geti(core, "sys_pid"));
	js_i64(m, "ppid", geti(core, "ppid"));
	js_i64(m, "pgid", geti(core, "pgid"));
	js_i64(m, "sid", geti(core, "sid"));
	js_str(m, "comm", gets(core, "comm"));
	js_str(m, "exe", gets(core, "exe"));
	js_str(m, "cwd", gets(core, "cwd"));
	if (geti(core, "stopped"))
		js_i64(m, "stopped", geti(core, "stopped"));
	ids = creds ? jg_arr(creds, "uid") : NULL;
	js_i64(m, "uid", ids ? json_object_get_int64(ja_at(ids, 0)) : -1);
	ids = creds ? jg_arr(creds, "gid") : NULL;
	js_i64(m, "gid", ids ? json_object_get_int64(ja_at(ids, 0)) : -1);

	a = json_object_new_array();
	for (size_t i = 0; list && i < ja_len(list); i++)
		json_object_array_add(a, model_thread(ja_at(list, i)));
	jadd(m, "threads", a);

	a = json_object_new_array();
	list = jg_arr(core, "vmas");
	for (size_t i = 0; list && i < ja_len(list); i++)
		json_object_array_add(a, model_vma(ja_at(list, i), &saved));
	jadd(m, "memory", a);
	js_u64(m, "memory_saved", saved);

	a = json_object_new_array();
	list = jg_arr(core, "fds");
	for (size_t i = 0; list && i < ja_len(list); i++)
		json_object_array_add(a, model_fd(ja_at(list, i)));
	jadd(m, "files", a);

	jadd(m, "signals", model_signals(core));
	jadd(m, "itimers", json_object_get(jg_obj(core, "itimers")));
	return m;
}

/* The SysV objects: each with its id, key, mode and what it holds. */
static struct json_object *model_ipc(struct json_object *ipc)
{
	struct json_object *m = json_object_new_array();
	static const char *const kinds[] = { "shm", "sem", "msg" };

	for (size_t k = 0; k < 3; k++) {
		struct json_object *list = jg_arr(ipc, kinds[k]);

		for (size_t i = 0; list && i < ja_len(list); i++) {
			struct json_object *o = ja_at(list, i);
			struct json_object *e = json_object_new_object();
			uint64_t saved = 0;

			js_str(e, "kind", kinds[k]);
			js_i64(e, "id", geti(o, "id"));
			js_i64(e, "key", geti(o, "key"));
			js_u64(e, "mode", getu(o, "mode"));
			if (k == 0) {
				struct json_object *runs = jg_arr(o, "pages");

				for (size_t r = 0; runs && r < ja_len(runs); r++)
					saved += json_object_get_uint64(ja_at(
							 ja_at(runs, r), 1)) * 4096;
				js_u64(e, "size", getu(o, "size"));
				js_u64(e, "saved", saved);
				js_bool(e, "removed", flag(o, "removed"));
			} else if (k == 1) {
				jadd(e, "values", json_object_get(jg_arr(o, "values")));
			} else {
				js_u64(e, "messages", ja_len(jg_arr(o, "messages")));
			}
			json_object_array_add(m, e);
		}
	}
	return m;
}

static int build_model(struct image *im, const char *dir, struct json_object **out)
{
	struct json_object *man = im->manifest, *m = json_object_new_object(), *procs, *a,
			   *recs = jg_arr(man, "records");
	uint64_t size = 0;
	int own_ns = 0;

	js_str(m, "image", dir);
	js_str(m, "name", gets(man, "name"));
	js_i64(m, "aid", geti(man, "aid"));
	js_str(m, "mode", gets(man, "mode"));
	jg_bool(man, "own_namespaces", &own_ns);
	js_bool(m, "own_namespaces", own_ns);
	js_str(m, "arch", gets(man, "arch"));
	js_str(m, "kernel", gets(man, "kernel"));
	js_i64(m, "created", geti(man, "created"));
	js_i64(m, "format", geti(man, "format"));
	for (size_t i = 0; recs && i < ja_len(recs); i++)
		size += getu(ja_at(recs, i), "size");
	js_u64(m, "records", recs ? ja_len(recs) : 0);
	js_u64(m, "size", size);
	procs = jg_arr(man, "processes");
	a = json_object_new_array();
	jadd(m, "processes", a);
	for (size_t i = 0; procs && i < ja_len(procs); i++) {
		const char *rec = json_object_get_string(ja_at(procs, i));
		struct json_object *core = image_read_json(im, rec);

		if (!core) {
			json_object_put(m);
			return -EBADMSG;
		}
		json_object_array_add(a, model_process(core));
		json_object_put(core);
	}
	jadd(m, "zombies", json_object_get(jg_arr(man, "zombies")) ?: json_object_new_array());
	if (json_object_object_get_ex(man, "ipc", NULL)) {
		struct json_object *ipc = image_read_json_as(im, "ipc", REC_IPC);

		if (!ipc) {
			json_object_put(m);
			return -EBADMSG;
		}
		jadd(m, "sysv", model_ipc(ipc));
		json_object_put(ipc);
	}
	*out = m;
	return 0;
}

/* ---- text ---- */

static void print_names(const char *label, struct json_object *a)
{
	size_t n = a ? ja_len(a) : 0;

	printf("%s", label);
	if (!n)
		printf(" none");
	for (size_t i = 0; i < n; i++)
		printf(" %s", json_object_get_string(ja_at(a, i)));
}

static void print_process(struct json_object *p)
{
	struct json_object *a = jg_arr(p, "threads"), *sig = jg_obj(p, "signals"),
			   *it = jg_obj(p, "itimers");
	char sz[32], sv[32];
	uint64_t mapped = 0;

	printf("\nprocess %" PRId64 " (%s) %s\n", geti(p, "pid"), gets(p, "comm"), gets(p, "exe"));
	printf("  was system pid %" PRId64 "; parent %" PRId64 ", group %" PRId64 ", session %" PRId64
	       "; uid %" PRId64 " gid %" PRId64 "; cwd %s\n",
	       geti(p, "sys_pid"), geti(p, "ppid"), geti(p, "pgid"), geti(p, "sid"),
	       geti(p, "uid"), geti(p, "gid"), gets(p, "cwd"));
	if (geti(p, "stopped")) {
		char name[32];

		signame(geti(p, "stopped"), name, sizeof(name));
		printf("  stopped by %s (it stops again when restored)\n", name);
	}
	printf("  threads (%zu):\n", ja_len(a));
	for (size_t i = 0; i < ja_len(a); i++) {
		struct json_object *t = ja_at(a, i);
		const char *sc = gets(t, "syscall");

		printf("    tid %-7" PRId64 " %-16s ", geti(t, "tid"), gets(t, "comm"));
		if (!strcmp(sc, "none"))
			printf("running");
		else if (json_object_object_get_ex(t, "sleep_left_ns", NULL))
			printf("sleeping, %.3f s left", getu(t, "sleep_left_ns") / 1e9);
		else
			printf("in a syscall (%s on resume)", !strcmp(sc, "restart") ? "restarted" : "EINTR");
		print_names("; blocked", jg_arr(t, "blocked"));
		print_names("; pending", jg_arr(t, "pending"));
		printf("%s%s\n", flag(t, "rseq") ? "; rseq registered" : "",
		       flag(t, "altstack") ? "; alternate stack" : "");
	}
	a = jg_arr(p, "memory");
	for (size_t i = 0; i < ja_len(a); i++)
		mapped += getu(ja_at(a, i), "size");
	human_size(mapped, sz, sizeof(sz));
	human_size(getu(p, "memory_saved"), sv, sizeof(sv));
	printf("  memory (%zu areas, %s mapped, %s saved):\n", ja_len(a), sz, sv);
	for (size_t i = 0; i < ja_len(a); i++) {
		struct json_object *v = ja_at(a, i);

		human_size(getu(v, "size"), sz, sizeof(sz));
		human_size(getu(v, "saved"), sv, sizeof(sv));
		printf("    %012" PRIx64 "-%012" PRIx64 " %s %-10s %10s %10s saved  %s%s%s\n",
		       getu(v, "start"), getu(v, "end"), gets(v, "prot"), gets(v, "kind"), sz, sv,
		       gets(v, "path"), *gets(v, "name") ? " " : "", gets(v, "name"));
	}
	a = jg_arr(p, "files");
	printf("  files (%zu):\n", ja_len(a));
	for (size_t i = 0; i < ja_len(a); i++) {
		struct json_object *f = ja_at(a, i), *same;

		printf("    %4" PRId64 " %-4s %-8s %s", geti(f, "fd"), gets(f, "access"),
		       gets(f, "kind"), gets(f, "path"));
		if (getu(f, "pos"))
			printf(" at %" PRIu64, getu(f, "pos"));
		if (flag(f, "append"))
			printf(", append");
		if (flag(f, "cloexec"))
			printf(", cloexec");
		if (json_object_object_get_ex(f, "shares_with", NULL))
			printf(", shares fd %" PRId64 "'s file", geti(f, "shares_with"));
		if (json_object_object_get_ex(f, "shares_with_process", &same))
			printf(", shares the file of pid %d fd %d",
			       json_object_get_int(ja_at(same, 0)),
			       json_object_get_int(ja_at(same, 1)));
		if (*gets(f, "state"))
			printf(": %s", gets(f, "state"));
		if (*gets(f, "held"))
			printf("; %s", gets(f, "held"));
		printf("\n");
	}
	a = jg_arr(sig, "actions");
	printf("  signals:");
	if (!ja_len(a))
		printf(" all default");
	for (size_t i = 0; i < ja_len(a); i++) {
		struct json_object *s = ja_at(a, i);

		printf(" %s=%s", gets(s, "signal"),
		       !strcmp(gets(s, "action"), "ignore") ? "ignored" : "handled");
	}
	print_names("; pending to the process:", jg_arr(sig, "pending"));
	printf("\n");
	printf("  timers:");
	if (it) {
		int any = 0;

		json_object_object_foreach(it, which, v)
		{
			int64_t s = json_object_get_int64(ja_at(v, 2)),
				us = json_object_get_int64(ja_at(v, 3));

			if (s || us) {
				printf(" %s in %.3f s", which, s + us / 1e6);
				any = 1;
			}
		}
		if (!any)
			printf(" none");
	}
	printf("\n");
}

/* Zombies and SysV objects, if the image has any. */
static void print_extras(struct json_object *m)
{
	struct json_object *z = jg_arr(m, "zombies"), *ipc = jg_arr(m, "sysv");
	char sz[32], sv[32];

	for (size_t i = 0; z && i < ja_len(z); i++) {
		struct json_object *o = ja_at(z, i);
		int st = geti(o, "status");

		printf("\nzombie %" PRId64 " (%s), child of %" PRId64 ": %s %d\n", geti(o, "pid"),
		       gets(o, "comm"), geti(o, "ppid"), WIFSIGNALED(st) ? "killed by signal" : "exited",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	if (!ipc || !ja_len(ipc))
		return;
	printf("\nSysV objects (%zu):\n", ja_len(ipc));
	for (size_t i = 0; i < ja_len(ipc); i++) {
		struct json_object *o = ja_at(ipc, i);
		const char *kind = gets(o, "kind");

		printf("  %s %-6" PRId64 " key 0x%08" PRIx64 " mode %03" PRIo64, kind, geti(o, "id"),
		       (uint64_t)(uint32_t)geti(o, "key"), getu(o, "mode"));
		if (!strcmp(kind, "shm")) {
			human_size(getu(o, "size"), sz, sizeof(sz));
			human_size(getu(o, "saved"), sv, sizeof(sv));
			printf(", %s, %s saved%s", sz, sv, flag(o, "removed") ? ", removed" : "");
		} else if (!strcmp(kind, "sem")) {
			struct json_object *v = jg_arr(o, "values");

			printf(", values");
			for (size_t k = 0; v && k < ja_len(v); k++)
				printf(" %d", json_object_get_int(ja_at(v, k)));
		} else {
			printf(", %" PRIu64 " messages", getu(o, "messages"));
		}
		printf("\n");
	}
}

static void print_model(struct json_object *m)
{
	struct json_object *procs = jg_arr(m, "processes");
	time_t when = geti(m, "created");
	char date[64], sz[32];
	struct tm tm;

	if (!localtime_r(&when, &tm) || !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(date, sizeof(date), "at an impossible time (%lld)", (long long)when);
	human_size(getu(m, "size"), sz, sizeof(sz));
	printf("image %s: application %s (aid %" PRId64 ", %s), %zu process%s\n", gets(m, "image"),
	       gets(m, "name"), geti(m, "aid"), gets(m, "mode"), ja_len(procs),
	       ja_len(procs) == 1 ? "" : "es");
	printf("  made %s on %s %s; format %" PRId64 ", %" PRIu64 " records, %s, all verified\n",
	       date, gets(m, "kernel"), gets(m, "arch"), geti(m, "format"), getu(m, "records"), sz);
	printf("  %s\n", flag(m, "own_namespaces") ? "in pid, ipc and uts namespaces of its own"
				 : "in the namespaces of the machine");
	for (size_t i = 0; i < ja_len(procs); i++)
		print_process(ja_at(procs, i));
	print_extras(m);
}

int do_inspect(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, {} };
	struct json_object *model;
	struct image im;
	int c, err;

	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		err = common_opt(c, "inspect");
		if (err)
			return err;
	}
	if (optind != argc - 1)
		return usage_error("inspect", "give one image directory");
	err = image_open(&im, argv[optind]);
	if (err)
		return err;
	err = build_model(&im, argv[optind], &model);
	if (err) {
		image_close(&im);
		pr_err("image %s: a record cannot be read", argv[optind]);
		return err;
	}
	/* verified means what the restore would accept: its checks, its plan */
	err = restore_plan(&im, NULL, 0, 0, 1);
	image_close(&im);
	if (err) {
		json_object_put(model);
		return err;
	}
	if (json_output)
		printf("%s\n", json_object_to_json_string_ext(model, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_model(model);
	json_object_put(model);
	return 0;
}
