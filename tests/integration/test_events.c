// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot-trace events: in a window where the workload makes exactly 2N
 * events (N opens and N closes), every one is streamed, in order, or
 * counted as lost: delivered + lost == 2N, and nothing is lost when the
 * watcher keeps up.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "wlharness.h"

struct watch_result {
	long opens, closes, other, events, lost;
	int in_order;
};

/*
 * Watch the workload's window: start the watcher, wait for its first line
 * (the watch is on), let the workload run, wait for it to finish, stop the
 * watcher and read what it streamed.
 */
static void watch_window(struct wl *w, const char *ring_size, int stop_watcher,
			 struct watch_result *res)
{
	char line[8192], path[PATH_MAX + 16];
	int out, expect_close = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->in_order = 1;
	snprintf(path, sizeof(path), "%s/ev.txt", w->dir);
	pid = spawn_cmd(&out, bin_path("appshot-trace"), "events", "--aid", w->name, "--json",
			"--ring-size", ring_size, NULL);
	assert_true(pid > 0);
	assert_int_equal(read_line(out, line, sizeof(line), SETTLE_MS), 0);
	assert_non_null(strstr(line, "\"watching\""));
	if (stop_watcher)
		kill(pid, SIGSTOP); /* it reads nothing: the ring fills */
	wl_go(w);
	wl_wait(w, 2);
	if (stop_watcher)
		kill(pid, SIGCONT);
	kill(pid, SIGINT);
	while (read_line(out, line, sizeof(line), SETTLE_MS) == 0) {
		struct json_object *o = json_tokener_parse(line), *s, *fd;
		const char *type;

		assert_non_null(o);
		if (json_object_object_get_ex(o, "summary", &s)) {
			res->events = jint(s, "events");
			res->lost = jint(s, "lost");
			json_object_put(o);
			break;
		}
		type = jstr(o, "type");
		if (!strcmp(type, "fd-open") && json_object_object_get_ex(o, "fd", &fd) &&
		    !strcmp(jstr(fd, "path"), path)) {
			res->in_order &= !expect_close;
			expect_close = 1;
			res->opens++;
		} else if (!strcmp(type, "fd-close")) {
			res->in_order &= expect_close;
			expect_close = 0;
			res->closes++;
		} else {
			res->other++;
		}
		json_object_put(o);
	}
	close(out);
	assert_int_equal(wait_status(pid, SETTLE_MS), 0);
}

static void test_every_event_streamed(void **state)
{
	struct wl *w = *state;
	struct watch_result res;

	TESTLIB_REQUIRE();
	wl_start_run(w, NULL, "events_workload", w->dir, "5000", NULL);
	wl_wait(w, 1);
	watch_window(w, "8388608", 0, &res);
	assert_int_equal(jint(w->cp, "events"), 10000);
	assert_int_equal(res.opens, 5000);
	assert_int_equal(res.closes, 5000);
	assert_int_equal(res.other, 0);
	assert_true(res.in_order);
	assert_int_equal(res.events, 10000);
	assert_int_equal(res.lost, 0);
	wl_go(w);
}

static void test_losses_counted(void **state)
{
	struct wl *w = *state;
	struct watch_result res;

	TESTLIB_REQUIRE();
	wl_start_run(w, NULL, "events_workload", w->dir, "5000", NULL);
	wl_wait(w, 1);
	watch_window(w, "4096", 1, &res);
	print_message("a stopped watcher with a 4 KiB ring: %ld delivered, %ld lost\n", res.events,
		      res.lost);
	assert_true(res.lost > 0);
	assert_int_equal(res.events + res.lost, 10000);
	assert_int_equal(res.opens + res.closes, res.events);
	wl_go(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_event_streamed, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_losses_counted, wl_setup, wl_teardown),
	};

	return cmocka_run_group_tests_name("events", tests, testlib_setup, testlib_teardown);
}
