// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot run: the exit status passes through, signals reach the
 * application, it gets stdio and the fds --preserve-fds gives it (no other
 * fd of its caller), what it was given is saved as such and restored from
 * what --inherit-fd gives, --share-ns keeps the
 * caller's namespaces, and membership follows a thread that calls exec.
 * A foreground run leaves nothing behind when its application ends.
 */
#include <fcntl.h>
#include <poll.h>
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

/*
 * CMD gets fds 0-2 and those --preserve-fds gives (3 on), none other of
 * its caller's: a stray fd 5 stays with the caller.
 */
static void test_fds_given(void **state)
{
	char path[] = "/tmp/appshot-fd3-XXXXXX", buf[16] = "";
	struct run_result r;
	int fd, tmp;

	(void)state;
	TESTLIB_REQUIRE();
	tmp = mkstemp(path);
	fd = fcntl(tmp, F_DUPFD_CLOEXEC, 50); /* not at 3 or 5 itself */
	assert_true(tmp >= 0 && fd >= 0);
	close(tmp);
	assert_int_equal(dup2(fd, 3), 3);
	assert_int_equal(dup2(fd, 5), 5);
	run_cmd(&r, bin_path("appshot"), "run", "--aid", unique_name("fd"), "--preserve-fds", "1",
		"--", "/bin/sh", "-c", "echo passed >&3", NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	run_cmd(&r, bin_path("appshot"), "run", "--aid", unique_name("fd"), "--", "/bin/sh", "-c",
		"echo stray >&5", NULL);
	assert_int_not_equal(r.status, 0);
	run_free(&r);
	run_cmd(&r, bin_path("appshot"), "run", "--aid", unique_name("fd"), "--preserve-fds", "4",
		"--", "/bin/true", NULL);
	assert_int_not_equal(r.status, 0); /* fd 6 is not open */
	assert_non_null(strstr(r.err, "is not open"));
	run_free(&r);
	close(3);
	close(5);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 7);
	assert_string_equal(buf, "passed\n");
	close(fd);
	unlink(path);
	no_leftovers("after applications given fds");
}

/* Read what the workload wrote on the pipe it was given: its checkpoint's number. */
static void given_says(int rd, int cp)
{
	struct pollfd p = { .fd = rd, .events = POLLIN };
	char buf[16] = "", want[16];

	snprintf(want, sizeof(want), "cp %d\n", cp);
	assert_int_equal(poll(&p, 1, TEST_TIMEOUT_MS), 1);
	assert_true(read(rd, buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, want);
}

/*
 * A pipe given with --preserve-fds (a stray fd given too, unasked), or
 * named by attach --external-fd, is the application's to write on, not to
 * own: the snapshot records it as given; a restore without its replacement
 * is refused, naming --inherit-fd, and leaves nothing; with it, the
 * workload writes on the new pipe, and its next snapshot and restore know
 * the new one as given.
 */
static void given_fd_restored(struct wl *w, int attach)
{
	int given[2], stray[2], again[2];
	char dir[PATH_MAX + 64];
	struct run_result r;

	assert_int_equal(pipe2(given, O_CLOEXEC), 0);
	assert_int_equal(pipe2(stray, O_CLOEXEC), 0);
	w->pass_fd = given[1];
	if (attach) {
		w->attach_extra = "--external-fd=3";
		wl_start_stdio_attached(w, "rs_given", "3", NULL);
	} else {
		w->stray_fd = stray[1];
		wl_start_stdio(w, "--preserve-fds=1", "rs_given", "3", NULL);
	}
	w->stray_fd = -1;
	close(stray[1]);
	close(given[1]);
	wl_wait(w, 1);
	given_says(given[0], 1);
	wl_snapshot(w, "image-1", NULL);
	snprintf(dir, sizeof(dir), "%s/image-1", w->dir);
	run_cmd(&r, bin_path("appshot"), "restore", "-d", "-D", dir, NULL);
	assert_int_not_equal(r.status, 0);
	if (!strstr(r.err, "--inherit-fd 3"))
		fail_msg("a restore without the given file's replacement: %s", r.err);
	run_free(&r);
	no_leftovers("after a restore refused for a missing --inherit-fd");
	for (int cp = 2; cp <= 3; cp++) {
		char image[16];

		snprintf(image, sizeof(image), "image-%d", cp - 1);
		assert_int_equal(pipe2(again, O_CLOEXEC), 0);
		w->pass_fd = again[1];
		wl_restore(w, image, "--inherit-fd=3");
		close(again[1]);
		w->pass_fd = -1;
		wl_go(w);
		wl_wait(w, cp);
		given_says(again[0], cp);
		close(given[0]);
		given[0] = again[0];
		if (cp < 3)
			wl_snapshot(w, "image-2", NULL);
	}
	wl_go(w);
	wl_wait(w, 4);
	close(given[0]);
	close(stray[0]);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("the workload found its state changed");
	}
}

static void test_preserved_fd_restored(void **state)
{
	TESTLIB_REQUIRE();
	given_fd_restored(*state, 0);
}

static void test_external_fd_of_attached(void **state)
{
	TESTLIB_REQUIRE();
	given_fd_restored(*state, 1);
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
		cmocka_unit_test(test_fds_given),
		cmocka_unit_test_setup_teardown(test_preserved_fd_restored, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_external_fd_of_attached, wl_setup, wl_teardown),
		cmocka_unit_test(test_share_ns_and_json),
		cmocka_unit_test_setup_teardown(test_thread_exec, wl_setup, wl_teardown),
	};

	return cmocka_run_group_tests_name("run", tests, testlib_setup, testlib_teardown);
}
