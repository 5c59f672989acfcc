// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot snapshot and restore on real processes: each workload sets up
 * its state, is snapshotted and restored (once or several times in a row),
 * then checks its state itself and reports (tests/workloads/rs_*.c).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "wlharness.h"

/*
 * Start the workload under appshot run [run_extra], then at each of its
 * cycles snapshot and restore it; its last report must say it found all
 * its state as it was.
 */
static void cycle_workload(struct wl *w, const char *run_extra, int cycles, const char *workload,
			   const char *arg)
{
	char n[16], image[32];

	snprintf(n, sizeof(n), "%d", cycles);
	wl_start_stdio(w, run_extra, workload, n, arg, NULL);
	for (int i = 1; i <= cycles; i++) {
		wl_wait(w, i);
		snprintf(image, sizeof(image), "image-%d", i);
		wl_snapshot(w, image, NULL);
		wl_restore(w, image, NULL);
		wl_go(w);
	}
	wl_wait(w, cycles + 1);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("%s found its state changed after restore (%lld failures)", workload,
			 (long long)jint(w->cp, "failures"));
	}
}

static void test_process_state(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 1, "rs_process", NULL);
}

static void test_process_state_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 3, "rs_process", NULL);
}

static void test_process_credentials(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 1, "rs_process", "creds");
}

static void test_process_share_ns(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, "--share-ns", 1, "rs_process", NULL);
}

static void test_syscalls_in_flight(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 1, "rs_syscalls", NULL);
}

static void test_memory(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 2, "rs_memory", NULL);
}

static void test_threads_busy(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 3, "rs_threads", NULL);
}

static void test_signals(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 2, "rs_signals", NULL);
}

static void test_files(void **state)
{
	TESTLIB_REQUIRE();
	cycle_workload(*state, NULL, 2, "rs_files", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_process_state, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_process_state_three_cycles, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_process_credentials, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_process_share_ns, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_syscalls_in_flight, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_memory, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_threads_busy, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_signals, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_files, wl_setup, wl_teardown),
	};

	return cmocka_run_group_tests_name("restore", tests, testlib_setup, testlib_teardown);
}
