// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot snapshot and restore on real processes: each workload sets up
 * its state, is snapshotted and restored (once or several times in a row),
 * then checks its state itself and reports (tests/workloads/rs_*.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "appcheck.h"
#include "testlib.h"
#include "wlharness.h"

static void test_process_state(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 1, "rs_process", NULL);
}

static void test_process_state_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 3, "rs_process", NULL);
}

static void test_process_credentials(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 1, "rs_process", "creds");
}

static void test_process_share_ns(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, "--share-ns", 1, "rs_process", NULL);
}

static void test_tree_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_tree", NULL, 1);
}

static void test_tree_zombies(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_tree", "zombie", 1);
}

static void test_tree_daemon(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_tree", "daemon", 1);
}

static void test_tree_share_ns(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, "--share-ns", 1, "rs_tree", NULL);
}

static void test_pipes_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_pipes", NULL, 1);
}

static void test_ipc_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_ipc", NULL, 1);
}

static void test_events_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_events", NULL, 1);
}

/* Locks (POSIX, OFD, flock) and a pipe's signal owner: held and delivered as they were. */
static void test_locks_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_locks", NULL, 1);
}

/* Scheduling, priorities, prctl settings, locked and advised memory: kept. */
static void test_attrs_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_attrs", NULL, 1);
}

/* POSIX timers: their ids, clocks, notifications, time left and interval. */
static void test_timers_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_timers", NULL, 1);
}

/* Unix sockets as servers leave them: lone, bound, unlinked, half-dead, both ways. */
static void test_unix_shapes_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_unix_shapes", NULL, 1);
}

/* A removed cwd, directory fd and unlinked FIFO: made again as ghosts. */
static void test_ghosts_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_ghosts", NULL, 1);
}

static void test_unix_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_unix", NULL, 1);
}

/* inspect shows rs_ipc's SysV objects: two segments, a semaphore set of 3, 6 messages. */
static void inspect_sysv(struct wl *w, const char *image)
{
	char dir[PATH_MAX + 64], kinds[64] = "";
	struct json_object *m, *sysv;
	long values = 0, messages = 0;

	snprintf(dir, sizeof(dir), "%s/%s", w->dir, image);
	m = run_json(bin_path("appshot"), "inspect", "--json", dir, NULL);
	sysv = m ? jkey(m, "sysv") : NULL;
	for (size_t i = 0; sysv && i < json_object_array_length(sysv); i++) {
		struct json_object *o = json_object_array_get_idx(sysv, i), *v;

		strncat(kinds, jstr(o, "kind"), sizeof(kinds) - strlen(kinds) - 1);
		if (json_object_object_get_ex(o, "values", &v))
			values += json_object_array_length(v);
		if (json_object_object_get_ex(o, "messages", &v))
			messages += json_object_get_int64(v);
	}
	json_object_put(m);
	if (strcmp(kinds, "shmshmsemmsg") || values != 3 || messages != 6)
		fail_msg("inspect shows SysV objects '%s' with %ld values and %ld messages", kinds,
			 values, messages);
}

/* The second instance of test_two_instances, ended by its teardown. */
static void *second;

static int two_teardown(void **state)
{
	if (second)
		wl_teardown(&second);
	second = NULL;
	return wl_teardown(state);
}

/*
 * One image restored twice at once, each instance in its namespaces: the
 * SysV team of rs_ipc counts in its own segment under its own semaphore,
 * so neither disturbs the other's counts.
 */
static void test_two_instances(void **state)
{
	struct wl *w = *state, *w2;

	TESTLIB_REQUIRE();
	wl_start_stdio(w, NULL, "rs_ipc", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", NULL);
	inspect_sysv(w, "image");
	wl_restore(w, "image", NULL);
	assert_int_equal(wl_setup(&second), 0);
	w2 = second;
	wl_restore_as(w2, w, "image");
	wl_go(w);
	wl_go(w2);
	wl_wait(w, 2);
	wl_wait(w2, 2);
	if (!jbool(w->cp, "ok") || !jbool(w2->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("an instance found its state changed (%lld and %lld failures)",
			 (long long)jint(w->cp, "failures"), (long long)jint(w2->cp, "failures"));
	}
}

static void test_syscalls_in_flight(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 1, "rs_syscalls", NULL);
}

static void test_memory(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 2, "rs_memory", NULL);
}

/* Files in flight in unix sockets, held by their sender too (rs_rights). */
static void test_files_in_flight(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 3, "rs_rights", NULL);
}

/* A process that unmapped its vdso: the restore lends it one while it works. */
static void test_memory_without_vdso(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 2, "rs_memory", "novdso");
}

static void test_threads_busy(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 3, "rs_threads", NULL);
}

static void test_signals(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 2, "rs_signals", NULL);
}

static void test_files(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 2, "rs_files", NULL);
}

/*
 * An application adopted with appshot-trace attach (a multi-threaded
 * process busy in its loops, started by us), snapshotted with --no-sync and
 * restored, twice: it needs its own PIDs back in our PID namespace.
 */
static void test_attached_no_sync(void **state)
{
	struct wl *w = *state;
	char image[32];

	TESTLIB_REQUIRE();
	wl_start_stdio_attached(w, "rs_threads", "2", NULL);
	for (int i = 1; i <= 2; i++) {
		wl_wait(w, i);
		snprintf(image, sizeof(image), "image-%d", i);
		wl_snapshot(w, image, "--no-sync");
		wl_restore(w, image, NULL);
		wl_go(w);
	}
	wl_wait(w, 3);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("rs_threads found its state changed after an attached restore");
	}
}

/*
 * A SysV team adopted with appshot-trace attach, living in an IPC
 * namespace of its own: its objects are saved as appshot run's, and the
 * restore makes them again, with their ids, in a new IPC namespace of the
 * application's (its PIDs back in ours), twice.
 */
static void test_attached_own_ipc(void **state)
{
	struct wl *w = *state;
	char image[32];

	TESTLIB_REQUIRE();
	wl_start_stdio_attached(w, "rs_ipc", "2", "own-ipc", NULL);
	for (int i = 1; i <= 2; i++) {
		wl_wait(w, i);
		snprintf(image, sizeof(image), "image-%d", i);
		wl_snapshot(w, image, NULL);
		wl_restore(w, image, NULL);
		wl_go(w);
	}
	wl_wait(w, 3);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("rs_ipc found its SysV objects changed after an attached restore");
	}
}

/* Whether array a (of strings) holds s. */
static int holds(struct json_object *a, const char *s)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s))
			return 1;
	return 0;
}

/* An object in array a whose key has the string value v. */
static struct json_object *find_by(struct json_object *a, const char *key, const char *v)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (!strcmp(jstr(json_object_array_get_idx(a, i), key), v))
			return json_object_array_get_idx(a, i);
	return NULL;
}

/* appshot inspect says what rs_signals left in its image; the image restores after. */
static void test_inspect(void **state)
{
	struct wl *w = *state;
	struct json_object *m, *p, *t, *act, *mem;
	struct run_result r;
	char dir[PATH_MAX + 16], pid[32];
	uint64_t saved = 0;

	TESTLIB_REQUIRE();
	wl_start_stdio(w, NULL, "rs_signals", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", NULL);
	snprintf(dir, sizeof(dir), "%s/image", w->dir);
	m = run_json(bin_path("appshot"), "inspect", "--json", dir, NULL);
	assert_non_null(m);
	assert_string_equal(jstr(m, "name"), w->name);
	assert_int_equal(json_object_array_length(jkey(m, "processes")), 1);
	p = json_object_array_get_idx(jkey(m, "processes"), 0);
	assert_int_equal(jint(p, "pid"), jint(w->cp, "pid"));
	assert_string_equal(jstr(p, "comm"), "rs_signals");
	t = json_object_array_get_idx(jkey(p, "threads"), 0);
	assert_non_null(t);
	if (!holds(jkey(t, "blocked"), "SIGUSR1") || !holds(jkey(t, "pending"), "SIGRTMIN+2") ||
	    !holds(jkey(jkey(p, "signals"), "pending"), "SIGUSR1"))
		fail_msg("inspect does not show the blocked and pending signals: %s",
			 json_object_to_json_string(p));
	act = find_by(jkey(jkey(p, "signals"), "actions"), "signal", "SIGPIPE");
	assert_non_null(act);
	assert_string_equal(jstr(act, "action"), "ignore");
	assert_non_null(find_by(jkey(jkey(p, "signals"), "actions"), "signal", "SIGWINCH"));
	assert_string_equal(jstr(find_by(jkey(p, "files"), "kind", "external"), "access"), "r");
	mem = jkey(p, "memory");
	assert_non_null(find_by(mem, "kind", "stack"));
	for (size_t i = 0; i < json_object_array_length(mem); i++)
		saved += jint(json_object_array_get_idx(mem, i), "saved");
	assert_int_equal(saved, jint(p, "memory_saved"));
	assert_true(saved > 0);
	json_object_put(m);
	/* the same, for a person */
	run_cmd(&r, bin_path("appshot"), "inspect", dir, NULL);
	assert_int_equal(r.status, 0);
	snprintf(pid, sizeof(pid), "process %lld (rs_signals)", (long long)jint(w->cp, "pid"));
	if (!strstr(r.out, pid) || !strstr(r.out, "all verified") || !strstr(r.out, "SIGRTMIN+2"))
		fail_msg("inspect's text says too little:\n%s", r.out);
	run_free(&r);
	wl_restore(w, "image", NULL);
	wl_go(w);
	wl_wait(w, 2);
	assert_true(jbool(w->cp, "ok"));
}

/*
 * A tree adopted with appshot-trace attach while it holds two zombies and
 * a stopped child (attach gathered no zombie before: it never settled),
 * snapshotted and restored in our PID namespace.
 */
static void test_attached_jobs(void **state)
{
	struct wl *w = *state;

	TESTLIB_REQUIRE();
	wl_start_stdio_attached(w, "rs_tree", "1", "zombie", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", NULL);
	wl_restore(w, "image", NULL);
	wl_go(w);
	wl_wait(w, 2);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("rs_tree found its state changed after an attached restore");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_process_state, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_zombies, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_daemon, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_share_ns, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_pipes_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_ipc_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_two_instances, wl_setup, two_teardown),
		cmocka_unit_test_setup_teardown(test_events_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_locks_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_attrs_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_timers_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_unix_shapes_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_ghosts_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_unix_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_process_state_three_cycles, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_process_credentials, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_process_share_ns, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_syscalls_in_flight, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_memory_without_vdso, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_files_in_flight, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_memory, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_threads_busy, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_signals, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_files, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_inspect, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_attached_own_ipc, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_attached_no_sync, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_attached_jobs, wl_setup, wl_teardown),
	};

	return cmocka_run_group_tests_name("restore", tests, testlib_setup, testlib_teardown);
}
