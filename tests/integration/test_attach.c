// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot-trace attach on a process tree started outside appshot: every
 * process and thread is adopted and described as it is, forks after the
 * attach are followed, a second attach is refused, and detach leaves the
 * processes running where they were, with nothing of appshot left.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appcheck.h"
#include "testlib.h"
#include "wlharness.h"

struct ctx {
	struct wl *w;
	char why[1024];
};

/* What status says matches the kernel; the IPC namespace is the host's here. */
static int matches_kernel(void *arg)
{
	struct ctx *c = arg;
	struct json_object *app = status_app(c->w->name);
	int ret = -1;

	if (app && !check_tasks(app, c->why, sizeof(c->why)) &&
	    !check_fds(app, c->why, sizeof(c->why)) && !check_maps(app, c->why, sizeof(c->why)) &&
	    !check_bpftool(app, c->why, sizeof(c->why)))
		ret = 0;
	if (!app)
		snprintf(c->why, sizeof(c->why), "status has no application %s", c->w->name);
	json_object_put(app);
	return ret;
}

static int late_child_seen(void *arg)
{
	struct ctx *c = arg;
	struct json_object *app = status_app(c->w->name), *p;
	char want[PATH_MAX + 16];
	int ret = -1;

	snprintf(want, sizeof(want), "%s/late.txt", c->w->dir);
	p = app ? app_process(app, jint(c->w->cp, "late")) : NULL;
	for (size_t i = 0; p && i < json_object_array_length(jkey(p, "fds")); i++)
		if (!strcmp(jstr(json_object_array_get_idx(jkey(p, "fds"), i), "path"), want))
			ret = 0;
	if (ret)
		snprintf(c->why, sizeof(c->why), "the child forked after attach (pid %ld) with %s "
			 "is not in status", jint(c->w->cp, "late"), want);
	json_object_put(app);
	return ret;
}

static void cgroup_line(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	buf[0] = 0;
	while (fgets(buf, len, f))
		if (!strncmp(buf, "0::", 3))
			break;
	fclose(f);
}

static void test_attach_tree(void **state)
{
	struct wl *w = *state;
	struct ctx c = { .w = w };
	char pid[16], kid[16], before[PATH_MAX], after[PATH_MAX], other[64];
	struct json_object *o;
	struct run_result r;

	TESTLIB_REQUIRE();
	wl_start_plain(w, "tree_workload", w->dir, NULL);
	wl_wait(w, 1);
	snprintf(pid, sizeof(pid), "%ld", jint(w->cp, "pid"));
	snprintf(kid, sizeof(kid), "%ld",
		 json_object_get_int64(json_object_array_get_idx(jkey(w->cp, "kids"), 0)));
	cgroup_line(jint(w->cp, "pid"), before, sizeof(before));

	run_cmd(&r, bin_path("appshot-trace"), "attach", "--aid", w->name, "--pid", pid, "--json",
		NULL);
	if (r.status)
		fail_msg("attach exited %d: %s", r.status, r.err);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	/* the parent, two children, a grandchild; the three below have a thread each */
	assert_int_equal(jint(o, "processes"), 4);
	assert_int_equal(jint(o, "threads"), 7);
	json_object_put(o);
	run_free(&r);
	if (retry_until(matches_kernel, &c, SETTLE_MS))
		fail_msg("after attach: %s", c.why);

	/* Adopting a tree, or part of it, twice is refused, naming the owner. */
	snprintf(other, sizeof(other), "%s-again", w->name);
	run_cmd(&r, bin_path("appshot-trace"), "attach", "--aid", other, "--pid", kid, NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "already traced"));
	assert_non_null(strstr(r.err, w->name));
	assert_null(strchr(strchr(r.err, '\n') + 1, '\n')); /* one line */
	run_free(&r);

	/* A child forked after the attach is followed, with its file. */
	wl_go(w);
	wl_wait(w, 2);
	if (retry_until(late_child_seen, &c, SETTLE_MS))
		fail_msg("%s", c.why);
	if (retry_until(matches_kernel, &c, SETTLE_MS))
		fail_msg("after the late fork: %s", c.why);

	/* Detach: the tree runs on, back in its cgroup, and nothing of appshot is left. */
	run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", w->name, NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(kill(jint(w->cp, "late"), 0), 0);
	cgroup_line(w->pid, after, sizeof(after));
	assert_string_equal(before, after);
	{
		char why[512];

		if (check_no_leftovers(why, sizeof(why)))
			fail_msg("after detach: %s", why);
	}
	w->name[0] = 0; /* detached: nothing for the teardown to detach */
	wl_go(w);
	assert_int_equal(wait_status(w->pid, SETTLE_MS), 0);
	w->pid = 0;
}

/* The first child of pid (from /proc), or 0. */
static pid_t first_child(pid_t pid)
{
	char path[64], buf[64] = "";

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	return read_file_line(path, buf, sizeof(buf)) ? 0 : atoi(buf);
}

/*
 * A tree in a PID namespace of its own (unshare --pid): status gives each
 * process the pid it sees (its root is 1) and the system's, and says what
 * the kernel says (NSpid).
 */
static void test_attach_in_pid_namespace(void **state)
{
	struct wl *w = *state;
	struct ctx c = { .w = w };
	struct json_object *app, *root;
	char pid[16];
	struct run_result r;
	pid_t un, sh = 0;

	TESTLIB_REQUIRE();
	snprintf(w->name, sizeof(w->name), "%s", unique_name("pidns"));
	un = fork();
	assert_true(un >= 0);
	if (un == 0) {
		setpgid(0, 0);
		execlp("unshare", "unshare", "--pid", "--fork", "sh", "-c",
		       "sleep 600 & sleep 600; wait", (char *)NULL);
		_exit(127);
	}
	w->pid = un; /* the teardown ends it, whatever happens */
	for (int i = 0; i < 200 && (!(sh = first_child(un)) || !first_child(sh)); i++)
		usleep(10000);
	assert_true(sh > 0 && first_child(sh) > 0);
	snprintf(pid, sizeof(pid), "%d", sh);
	run_cmd(&r, bin_path("appshot-trace"), "attach", "--aid", w->name, "--pid", pid, NULL);
	if (r.status)
		fail_msg("attach exited %d: %s", r.status, r.err);
	run_free(&r);
	if (retry_until(matches_kernel, &c, SETTLE_MS))
		fail_msg("after attach: %s", c.why);
	app = status_app(w->name);
	assert_non_null(app);
	root = app_process(app, 1);
	if (!root || jint(root, "sys_pid") != sh)
		fail_msg("status does not show pid 1 of the namespace as system pid %d", sh);
	json_object_put(app);
}

static void test_attach_refuses(void **state)
{
	struct run_result r;
	char why[512];

	(void)state;
	TESTLIB_REQUIRE();
	run_cmd(&r, bin_path("appshot-trace"), "attach", "--aid", unique_name("one"), "--pid", "1",
		NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "refusing to adopt pid 1"));
	run_free(&r);
	run_cmd(&r, bin_path("appshot-trace"), "attach", "--aid", unique_name("kthread"), "--pid",
		"2", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "kernel thread"));
	run_free(&r);
	if (check_no_leftovers(why, sizeof(why)))
		fail_msg("after refused attaches: %s", why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_tree, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_attach_in_pid_namespace, wl_setup, wl_teardown),
		cmocka_unit_test(test_attach_refuses),
	};

	return cmocka_run_group_tests_name("attach", tests, testlib_setup, testlib_teardown);
}
