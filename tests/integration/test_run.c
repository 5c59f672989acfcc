// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot run: the exit status passes through, signals reach the
 * application, inherited fds stay open for it, --share-ns keeps the
 * caller's namespaces, and membership follows a thread that calls exec.
 * A foreground run leaves nothing behind when its application ends.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appcheck.h"
#include "testlib.h"
#include "wlharness.h"

static void no_leftovers(const char *when)
{
	char why[512];

	if (check_no_leftovers(why, sizeof(why)))
		fail_msg("%s: %s", when, why);
}

static void test_exit_status_passes(void **state)
{
	struct run_result r;

	(void)state;
	TESTLIB_REQUIRE();
	run_cmd(&r, bin_path("appshot"), "run", "--aid", unique_name("exit"), "--", "/bin/sh", "-c",
		"exit 7", NULL);
	assert_int_equal(r.status, 7);
	run_free(&r);
	no_leftovers("after an application that exited 7");
	run_cmd(&r, bin_path("appshot"), "run", "--aid", unique_name("sig"), "--", "/bin/sh", "-c",
		"kill -TERM $$", NULL);
	assert_int_equal(r.status, 128 + SIGTERM);
	run_free(&r);
	no_leftovers("after an application killed by SIGTERM");
}

/* Wait until the application's shell is traced and past its start. */
static int shell_running(void *arg)
{
	struct json_object *app = status_app(arg);
	int ret = -1;

	if (app) {
		struct json_object *procs = jkey(app, "processes");

		for (size_t i = 0; i < json_object_array_length(procs); i++)
			if (!strcmp(jstr(json_object_array_get_idx(procs, i), "comm"), "sh"))
				ret = 0;
	}
	json_object_put(app);
	return ret;
}

static int file_exists(void *path)
{
	return access(path, F_OK);
}

static void test_signal_forwarded(void **state)
{
	const char *name = unique_name("fwd");
	char ready[64], script[256];
	pid_t pid;

	(void)state;
	TESTLIB_REQUIRE();
	testlib_track(name);
	snprintf(ready, sizeof(ready), "/tmp/appshot-%s.ready", name);
	snprintf(script, sizeof(script), "trap 'exit 42' TERM; : > %s; while :; do sleep 0.05; done",
		 ready);
	pid = spawn_cmd(NULL, bin_path("appshot"), "run", "--aid", name, "--", "/bin/sh", "-c",
			script, NULL);
	assert_true(pid > 0);
	assert_int_equal(retry_until(shell_running, (void *)name, SETTLE_MS), 0);
	assert_int_equal(retry_until(file_exists, ready, SETTLE_MS), 0); /* the trap is set */
	unlink(ready);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid, SETTLE_MS), 42);
	no_leftovers("after a forwarded SIGTERM");
}

static void test_fds_inherited(void **state)
{
	char path[] = "/tmp/appshot-fd5-XXXXXX", buf[16] = "";
	struct run_result r;
	int fd;

	(void)state;
	TESTLIB_REQUIRE();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 5), 5);
	run_cmd(&r, bin_path("appshot"), "run", "--aid", unique_name("fd"), "--", "/bin/sh", "-c",
		"echo passed >&5", NULL);
	close(5);
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 7);
	assert_string_equal(buf, "passed\n");
	close(fd);
	unlink(path);
}

static void test_share_ns_and_json(void **state)
{
	const char *name = unique_name("share");
	struct json_object *o, *app, *p;
	struct run_result r;
	char why[1024];

	(void)state;
	TESTLIB_REQUIRE();
	testlib_track(name);
	run_cmd(&r, bin_path("appshot"), "run", "-d", "--share-ns", "--json", "--aid", name, "--",
		"/bin/sleep", "100", NULL);
	assert_int_equal(r.status, 0);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_string_equal(jstr(o, "name"), name);
	assert_false(jbool(o, "own_ns"));
	run_free(&r);
	app = status_app(name);
	assert_non_null(app);
	assert_false(jbool(app, "own_namespaces"));
	p = json_object_array_get_idx(jkey(app, "processes"), 0);
	/* in the caller's namespace the application sees the system's pids */
	assert_int_equal(jint(p, "pid"), jint(o, "sys_pid"));
	assert_int_equal(jint(p, "sys_pid"), jint(o, "sys_pid"));
	if (check_tasks(app, why, sizeof(why)))
		fail_msg("%s", why);
	json_object_put(app);
	json_object_put(o);
	run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", name, "--kill", NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	no_leftovers("after detach --kill");
}

struct exec_ctx {
	struct wl *w;
	char why[1024];
};

/* After the exec: one process, the old leader's pid, running sleep, one thread. */
static int thread_exec_done(void *arg)
{
	struct exec_ctx *c = arg;
	struct json_object *app = status_app(c->w->name), *p;
	int ret = -1;

	p = app ? app_process(app, jint(c->w->cp, "pid")) : NULL;
	if (!p || strcmp(jstr(p, "comm"), "sleep") ||
	    json_object_array_length(jkey(p, "threads")) != 1) {
		snprintf(c->why, sizeof(c->why), "pid %ld is not sleep with one thread yet",
			 jint(c->w->cp, "pid"));
	} else if (jint(json_object_array_get_idx(jkey(p, "threads"), 0), "tid") !=
		   jint(c->w->cp, "pid")) {
		snprintf(c->why, sizeof(c->why), "the thread that exec'ed did not take the pid");
	} else if (!check_tasks(app, c->why, sizeof(c->why)) &&
		   !check_fds(app, c->why, sizeof(c->why)) &&
		   !check_maps(app, c->why, sizeof(c->why)) &&
		   !check_bpftool(app, c->why, sizeof(c->why))) {
		ret = 0;
	}
	json_object_put(app);
	return ret;
}

static void test_thread_exec(void **state)
{
	struct wl *w = *state;
	struct exec_ctx c = { .w = w };
	struct json_object *app, *p;

	TESTLIB_REQUIRE();
	wl_start_run(w, NULL, "thread_exec", NULL);
	wl_wait(w, 1);
	app = status_app(w->name);
	p = app ? app_process(app, jint(w->cp, "pid")) : NULL;
	assert_non_null(p);
	assert_int_equal(json_object_array_length(jkey(p, "threads")), 2);
	json_object_put(app);
	wl_go(w);
	if (retry_until(thread_exec_done, &c, SETTLE_MS))
		fail_msg("%s", c.why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_passes),
		cmocka_unit_test(test_signal_forwarded),
		cmocka_unit_test(test_fds_inherited),
		cmocka_unit_test(test_share_ns_and_json),
		cmocka_unit_test_setup_teardown(test_thread_exec, wl_setup, wl_teardown),
	};

	return cmocka_run_group_tests_name("run", tests, testlib_setup, testlib_teardown);
}
