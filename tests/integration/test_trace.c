// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracer on a real workload (tests/workloads/trace_workload.c) started
 * with appshot run: at each of its checkpoints, appshot-trace status must
 * say exactly what the kernel says the application holds (cgroup, /proc,
 * its IPC namespace), what the workload says it made, and what bpftool
 * reads from the pinned maps.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appcheck.h"
#include "testlib.h"
#include "wlharness.h"

/* ---- the checks, retried while the kernel settles (reaped tasks leave
 * the tables after an RCU grace period) ---- */

struct check_ctx {
	struct wl *w;
	char why[1024];
	int (*extra)(struct check_ctx *c, struct json_object *app);
	const char *step;
};

static int all_checks(void *arg)
{
	struct check_ctx *c = arg;
	struct json_object *app = status_app(c->w->name);
	int ret = -1;

	if (!app) {
		snprintf(c->why, sizeof(c->why), "status has no application %s", c->w->name);
		return -1;
	}
	if (!(c->step = "tasks", check_tasks(app, c->why, sizeof(c->why))) &&
	    !(c->step = "fds", check_fds(app, c->why, sizeof(c->why))) &&
	    !(c->step = "maps", check_maps(app, c->why, sizeof(c->why))) &&
	    !(c->step = "ipc", check_ipc_ns(app, c->why, sizeof(c->why))) &&
	    !(c->step = "bpftool", check_bpftool(app, c->why, sizeof(c->why))) &&
	    !(c->step = "workload", c->extra ? c->extra(c, app) : 0))
		ret = 0;
	json_object_put(app);
	return ret;
}

static void check_all(struct wl *w, int (*extra)(struct check_ctx *, struct json_object *))
{
	struct check_ctx c = { .w = w, .extra = extra };

	if (retry_until(all_checks, &c, SETTLE_MS)) {
		wl_dump_log(w);
		fail_msg("%s: %s", c.step, c.why);
	}
}

#define EXPECT(cond, ...)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			snprintf(c->why, sizeof(c->why), __VA_ARGS__);        \
			return -1;                                            \
		}                                                             \
	} while (0)

static struct json_object *wl_fd(struct check_ctx *c, struct json_object *proc, const char *which)
{
	return process_fd(proc, jint(jkey(c->w->cp, "fds"), which));
}

static struct json_object *fd_sock(struct json_object *fd)
{
	struct json_object *s = NULL;

	json_object_object_get_ex(fd, "socket", &s);
	return s;
}

/* What the workload made at checkpoint 1 is in status, described right. */
static int check_cp1(struct check_ctx *c, struct json_object *app)
{
	struct json_object *cp = c->w->cp, *main_p = app_process(app, jint(cp, "pid"));
	struct json_object *f, *s, *s2, *ipc = jkey(app, "ipc"), *want;
	char buf[PATH_MAX + 64];
	const char *simple[][2] = { { "eventfd", "eventfd" }, { "epoll", "epoll" },
				    { "timerfd", "timerfd" }, { "signalfd", "signalfd" },
				    { "inotify", "inotify" }, { "pidfd", "pidfd" },
				    { "memfd", "memfd" },     { "fifo", "fifo" },
				    { "dir", "dir" },	      { "passed", "chr" } };

	EXPECT(main_p, "no process with the workload's pid %ld", jint(cp, "pid"));
	EXPECT(json_object_array_length(jkey(main_p, "threads")) == 3,
	       "the workload has 3 threads, status lists %zu",
	       json_object_array_length(jkey(main_p, "threads")));
	EXPECT(app_process(app, jint(cp, "c1")), "child c1 is not listed");
	EXPECT(app_process(app, jint(cp, "daemon")), "the double-forked daemon is not listed");
	EXPECT(jint(app_process(app, jint(cp, "daemon")), "ppid") == 1,
	       "the daemon's parent is not the application's init");

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		f = wl_fd(c, main_p, simple[i][0]);
		EXPECT(f && !strcmp(jstr(f, "kind"), simple[i][1]), "fd '%s' is not a %s",
		       simple[i][0], simple[i][1]);
	}
	f = wl_fd(c, main_p, "append");
	snprintf(buf, sizeof(buf), "%s/log", c->w->dir);
	EXPECT(f && !strcmp(jstr(f, "path"), buf) && (jint(f, "f_flags") & O_APPEND) &&
		       (jint(f, "f_flags") & O_ACCMODE) == O_WRONLY,
	       "the O_APPEND file is not %s, write-only, append", buf);
	f = wl_fd(c, main_p, "gone");
	EXPECT(f && jbool(f, "deleted"), "the unlinked file is not marked deleted");
	EXPECT(!strcmp(jstr(wl_fd(c, main_p, "memfd"), "path"), "memfd:wl-memfd"),
	       "the memfd is not named memfd:wl-memfd");
	EXPECT(jbool(wl_fd(c, main_p, "epoll"), "cloexec"), "the epoll fd is not close-on-exec");

	s = fd_sock(wl_fd(c, main_p, "tcp"));
	snprintf(buf, sizeof(buf), "127.0.0.1:%ld", jint(cp, "tcp_port"));
	EXPECT(s && !strcmp(jstr(s, "local"), buf) && jbool(s, "listening") &&
		       jint(s, "backlog") == 8,
	       "the TCP listener is not %s LISTEN backlog 8", buf);
	s = fd_sock(wl_fd(c, main_p, "cli"));
	EXPECT(s && !strcmp(jstr(s, "peer"), buf) && !strcmp(jstr(s, "state"), "ESTABLISHED"),
	       "the TCP client is not connected to %s", buf);
	s2 = fd_sock(wl_fd(c, main_p, "srv"));
	EXPECT(s2 && !strcmp(jstr(s2, "local"), buf) && !strcmp(jstr(s2, "peer"), jstr(s, "local")),
	       "the accepted TCP socket does not pair with the client");
	s = fd_sock(wl_fd(c, main_p, "udp"));
	snprintf(buf, sizeof(buf), "127.0.0.1:%ld", jint(cp, "udp_port"));
	EXPECT(s && !strcmp(jstr(s, "local"), buf) && !strcmp(jstr(s, "type"), "dgram"),
	       "the UDP socket is not bound to %s", buf);
	if (jint(cp, "tcp6_port")) {
		s = fd_sock(wl_fd(c, main_p, "tcp6"));
		snprintf(buf, sizeof(buf), "[::1]:%ld", jint(cp, "tcp6_port"));
		EXPECT(s && !strcmp(jstr(s, "local"), buf) && jbool(s, "listening"),
		       "the TCP6 listener is not %s", buf);
	} else {
		print_message("note: no IPv6 loopback here, the TCP6 listener is not checked\n");
	}
	f = wl_fd(c, main_p, "sp0");
	s = fd_sock(f);
	s2 = fd_sock(wl_fd(c, main_p, "sp1"));
	EXPECT(s && s2 && jint(s, "peer_ino") == jint(wl_fd(c, main_p, "sp1"), "ino") &&
		       jint(s2, "peer_ino") == jint(f, "ino"),
	       "the socketpair's ends do not name each other");
	s = fd_sock(wl_fd(c, main_p, "ulisten"));
	snprintf(buf, sizeof(buf), "@%s", jstr(cp, "abstract"));
	EXPECT(s && !strcmp(jstr(s, "local"), buf) && jbool(s, "listening"),
	       "the abstract unix listener is not %s", buf);
	s = fd_sock(wl_fd(c, main_p, "udgram"));
	snprintf(buf, sizeof(buf), "%s/sock", c->w->dir);
	EXPECT(s && !strcmp(jstr(s, "local"), buf), "the unix datagram socket is not bound to %s",
	       buf);

	want = jkey(cp, "ipc");
	EXPECT(json_object_array_length(ipc) == json_object_array_length(want),
	       "status lists %zu IPC objects, the workload made %zu",
	       json_object_array_length(ipc), json_object_array_length(want));
	for (size_t i = 0; i < json_object_array_length(want); i++) {
		struct json_object *wi = json_object_array_get_idx(want, i);
		int found = 0;

		for (size_t j = 0; j < json_object_array_length(ipc); j++) {
			struct json_object *e = json_object_array_get_idx(ipc, j);

			found |= !strcmp(jstr(e, "kind"), jstr(wi, "kind")) &&
				 jint(e, "id") == jint(wi, "id") &&
				 jint(e, "creator") == jint(cp, "pid");
		}
		EXPECT(found, "IPC %s id %ld is not listed as made by the workload", jstr(wi, "kind"),
		       jint(wi, "id"));
	}
	return 0;
}

/* Each mapping the workload declared is one tracked mapping, exactly. */
static int check_declared_maps(struct check_ctx *c, struct json_object *app)
{
	struct json_object *p = app_process(app, jint(c->w->cp, "pid"));
	struct json_object *want = jkey(c->w->cp, "maps"), *maps = jkey(p, "mappings");

	for (size_t i = 0; i < json_object_array_length(want); i++) {
		struct json_object *wm = json_object_array_get_idx(want, i), *v;
		int found = 0;

		for (size_t j = 0; j < json_object_array_length(maps) && !found; j++) {
			struct json_object *m = json_object_array_get_idx(maps, j);

			if (jint(m, "start") != jint(wm, "start") || jint(m, "end") != jint(wm, "end") ||
			    strcmp(jstr(m, "prot"), jstr(wm, "prot")))
				continue;
			found = 1;
			if (json_object_object_get_ex(wm, "pgoff", &v))
				found = jint(m, "pgoff") == json_object_get_int64(v);
			if (json_object_object_get_ex(wm, "kind", &v))
				found &= !strcmp(jstr(m, "kind"), json_object_get_string(v));
			if (json_object_object_get_ex(wm, "shmid", &v))
				found &= jint(m, "shmid") == json_object_get_int64(v);
		}
		EXPECT(found, "mapping %lx-%lx %s is not tracked as the workload made it",
		       (unsigned long)jint(wm, "start"), (unsigned long)jint(wm, "end"),
		       jstr(wm, "prot"));
	}
	return 0;
}

static int check_cp1_all(struct check_ctx *c, struct json_object *app)
{
	return check_cp1(c, app) ?: check_declared_maps(c, app);
}

static int check_cp2(struct check_ctx *c, struct json_object *app)
{
	struct json_object *cp = c->w->cp, *main_p = app_process(app, jint(cp, "pid"));
	struct json_object *c2 = app_process(app, jint(cp, "c2"));
	struct json_object *z = app_process(app, jint(cp, "zombie")), *f, *g, *ipc;

	EXPECT(main_p, "no process with the workload's pid");
	EXPECT(json_object_array_length(jkey(main_p, "threads")) == 2,
	       "one thread was joined: 2 should be left, status lists %zu",
	       json_object_array_length(jkey(main_p, "threads")));
	EXPECT(c2 && !strcmp(jstr(c2, "comm"), "sleep"), "the child that exec'ed sleep is not listed as sleep");
	EXPECT(z && !strcmp(jstr(z, "state"), "zombie"), "the zombie child is not listed as a zombie");
	EXPECT(app_process(app, jint(cp, "daemon")), "the daemon is gone from status");
	f = wl_fd(c, main_p, "devnull");
	g = wl_fd(c, main_p, "dup");
	EXPECT(f && g && (jint(f, "f_flags") & O_NONBLOCK) && (jint(g, "f_flags") & O_NONBLOCK),
	       "O_NONBLOCK set through one fd does not show on both fds of the file");
	EXPECT(jbool(wl_fd(c, main_p, "dir"), "cloexec"), "F_SETFD FD_CLOEXEC does not show");
	f = fd_sock(wl_fd(c, main_p, "srv"));
	EXPECT(f && !strcmp(jstr(f, "state"), "CLOSE_WAIT"),
	       "the peer closed: the accepted socket is %s, not CLOSE_WAIT",
	       f ? jstr(f, "state") : "(none)");
	ipc = jkey(app, "ipc");
	EXPECT(json_object_array_length(ipc) == 1,
	       "one IPC object should be left (the daemon's segment), status lists %zu",
	       json_object_array_length(ipc));
	f = json_object_array_get_idx(ipc, 0);
	EXPECT(!strcmp(jstr(f, "kind"), "shm") && jint(f, "id") == jint(cp, "shm") &&
		       jbool(f, "removed") && jint(f, "attached") == 1,
	       "the removed segment %ld is not listed as removed, attached once",
	       jint(cp, "shm"));
	return check_declared_maps(c, app);
}

static int app_ended(void *arg)
{
	struct check_ctx *c = arg;
	struct json_object *app;
	int ret = -1;

	/* The init of an application run with -d comes to us, the subreaper. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	app = status_app(c->w->name);
	if (app && !strcmp(jstr(app, "state"), "ended") && jint(app, "process_count") == 0)
		ret = 0;
	else
		snprintf(c->why, sizeof(c->why), "the application did not end: state %s",
			 app ? jstr(app, "state") : "(none)");
	json_object_put(app);
	return ret;
}

static void test_workload_checkpoints(void **state)
{
	struct wl *w = *state;
	struct check_ctx c = { .w = w };
	struct run_result r;
	char why[512];

	TESTLIB_REQUIRE();
	wl_start_run(w, NULL, "trace_workload", w->dir, NULL);
	wl_wait(w, 1);
	check_all(w, check_cp1_all);
	wl_go(w);
	wl_wait(w, 2);
	check_all(w, check_cp2);
	wl_go(w);
	if (retry_until(app_ended, &c, SETTLE_MS))
		fail_msg("%s", c.why);

	run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", w->name, NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	if (check_no_leftovers(why, sizeof(why)))
		fail_msg("after detach: %s", why);
}

/* Threads racing on fds and mappings leave exact tables and reference counts. */
static void test_threads_racing(void **state)
{
	struct wl *w = *state;

	const char *rounds = getenv("APPSHOT_CHURN_ROUNDS");

	TESTLIB_REQUIRE();
	wl_start_run(w, NULL, "thread_churn", "4", rounds ? rounds : "20000", NULL);
	wl_wait(w, 1);
	wl_go(w);
	wl_wait(w, 2);
	check_all(w, NULL);
	wl_go(w);
}

/* ---- the tracer's life: on demand, or resident ---- */

static int pinned(void)
{
	return access("/sys/fs/bpf/appshot/links", F_OK) == 0;
}

/* The tracer's part of appshot-trace status: loaded, resident. */
static void expect_tracer(int loaded, int resident, const char *when)
{
	struct json_object *st = run_json(bin_path("appshot-trace"), "status", "--json", NULL);
	struct json_object *t = jkey(st, "tracer");

	if (!t)
		fail_msg("%s: status --json has no tracer", when);
	if (jbool(t, "loaded") != loaded || (loaded && jbool(t, "resident") != resident))
		fail_msg("%s: status says loaded %d resident %d, not %d %d", when, jbool(t, "loaded"),
			 jbool(t, "resident"), loaded, resident);
	if (pinned() != loaded)
		fail_msg("%s: the pins say loaded %d", when, pinned());
	json_object_put(st);
}

static void trace_cmd(int want, const char *expect, const char *cmd)
{
	struct run_result r;

	run_cmd(&r, bin_path("appshot-trace"), cmd, NULL);
	if (r.status != want || (expect && !strstr(r.err, expect) && !strstr(r.out, expect)))
		fail_msg("appshot-trace %s exited %d (not %d): %s%s", cmd, r.status, want, r.out,
			 r.err);
	run_free(&r);
}

/* Start a sleeping application in the background; its name. */
static const char *start_sleeper(void)
{
	const char *name = unique_name("res");
	struct run_result r;

	testlib_track(name);
	run_cmd(&r, bin_path("appshot"), "run", "-d", "--aid", name, "--", "/bin/sleep", "600",
		NULL);
	if (r.status != 0)
		fail_msg("appshot run -d exited %d: %s", r.status, r.err);
	run_free(&r);
	return name;
}

static void detach(const char *name)
{
	struct run_result r;

	run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", name, "--kill", NULL);
	if (r.status != 0)
		fail_msg("detach %s exited %d: %s", name, r.status, r.err);
	run_free(&r);
}

/*
 * Loaded on demand, the tracer goes with its last application; made
 * resident (appshot-trace load), it stays until appshot-trace unload,
 * which is refused while an application is traced.
 */
/*
 * The tables are root's alone: the pin directory 0700, each map 0600, and
 * a user without privilege can neither list them, nor read them with
 * bpftool, nor stop the tracer.
 */
static void pins_private(void)
{
	static const char *const as_nobody[][8] = {
		{ "ls", "/sys/fs/bpf/appshot", NULL },
		{ "bpftool", "map", "dump", "pinned", "/sys/fs/bpf/appshot/tasks", NULL },
		{ NULL, "unload", NULL },
	};
	struct dirent *de;
	struct stat st;
	DIR *d;

	assert_int_equal(stat("/sys/fs/bpf/appshot", &st), 0);
	if ((st.st_mode & 0777) != 0700 || st.st_uid != 0)
		fail_msg("/sys/fs/bpf/appshot is mode %o, uid %u", st.st_mode & 0777, st.st_uid);
	d = opendir("/sys/fs/bpf/appshot");
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/appshot/%s", de->d_name);
		assert_int_equal(stat(path, &st), 0);
		if ((st.st_mode & 0077) != 0)
			fail_msg("%s is mode %o: others may use it", path, st.st_mode & 0777);
	}
	closedir(d);
	for (size_t i = 0; i < sizeof(as_nobody) / sizeof(as_nobody[0]); i++) {
		const char *argv[16] = { "setpriv", "--reuid=65534", "--regid=65534",
					 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all" };
		struct run_result r;
		int n = 6;

		argv[n++] = as_nobody[i][0] ? as_nobody[i][0] : bin_path("appshot-trace");
		for (int k = 1; as_nobody[i][k]; k++)
			argv[n++] = as_nobody[i][k];
		argv[n] = NULL;
		run_argv(&r, TEST_TIMEOUT_MS, (char *const *)argv);
		if (r.status == 0)
			fail_msg("a user without privilege could run %s %s", argv[6], argv[7]);
		run_free(&r);
	}
	expect_tracer(1, 1, "after users without privilege tried it");
}

static void test_tracer_resident(void **state)
{
	int was_resident = pinned();
	struct json_object *st;
	const char *name;
	size_t others;

	(void)state;
	TESTLIB_REQUIRE();
	st = run_json(bin_path("appshot-trace"), "status", "--json", NULL);
	others = json_object_array_length(jkey(st, "applications"));
	json_object_put(st);
	if (others)
		skip_because("%zu applications of others are traced: the tracer cannot be unloaded",
			     others);
	if (was_resident)
		trace_cmd(0, "tracer unloaded", "unload");
	expect_tracer(0, 0, "unloaded");
	trace_cmd(0, "not loaded", "unload");

	name = start_sleeper();
	expect_tracer(1, 0, "loaded on demand");
	detach(name);
	expect_tracer(0, 0, "after the last application of an on-demand tracer");

	trace_cmd(0, "tracer loaded in", "load");
	expect_tracer(1, 1, "after load");
	pins_private();
	trace_cmd(0, "stays loaded", "load");
	name = start_sleeper();
	trace_cmd(1, "1 application is traced", "unload");
	expect_tracer(1, 1, "after a refused unload");
	detach(name);
	expect_tracer(1, 1, "after the last application of a resident tracer");
	trace_cmd(0, "tracer unloaded", "unload");
	expect_tracer(0, 0, "after unload");

	if (was_resident)
		trace_cmd(0, "tracer loaded in", "load");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_workload_checkpoints, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_threads_racing, wl_setup, wl_teardown),
		cmocka_unit_test(test_tracer_resident),
	};

	return cmocka_run_group_tests_name("trace", tests, testlib_setup, testlib_teardown);
}
