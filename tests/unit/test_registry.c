// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests: the AID registry hands each number out once, ever, across
 * restarts and concurrent commands, and refuses damaged state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "registry.h"
#include "util.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/appshot-unit-registry-%d-XXXXXX", getpid());
	if (!mkdtemp(dir))
		return -1;
	log_init("test_registry");
	log_set_level(LOG_ERR);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static struct app_record rec_named(const char *name)
{
	struct app_record r = { .mode = APP_ATTACH, .root = 42 };

	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.cgroup, sizeof(r.cgroup), "/sys/fs/cgroup/appshot/%s", name);
	return r;
}

static void test_add_get_remove(void **state)
{
	struct registry reg;
	struct app_record a = rec_named("alpha"), b = rec_named("beta"), got;

	(void)state;
	assert_int_equal(registry_open(&reg, dir, 1), 0);
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), 0);
	assert_int_equal(registry_add(&reg, &b, NULL, NULL), 0);
	assert_true(b.aid > a.aid);
	assert_int_equal(registry_get(&reg, "alpha", &got), 0);
	assert_int_equal(got.aid, a.aid);
	assert_int_equal(got.root, 42);
	assert_int_equal(got.mode, APP_ATTACH);
	assert_string_equal(got.cgroup, a.cgroup);
	/* A name is one application at a time. */
	assert_int_equal(registry_add(&reg, &got, NULL, NULL), -EEXIST);
	assert_int_equal(registry_remove(&reg, "alpha"), 0);
	assert_int_equal(registry_get(&reg, "alpha", &got), -ENOENT);
	/* ...and its number is never handed out again. */
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), 0);
	assert_true(a.aid > b.aid);
	registry_close(&reg);
}

static void test_survives_restart(void **state)
{
	struct registry reg;
	struct app_record a = rec_named("restart-a"), b = rec_named("restart-b"), got;

	(void)state;
	assert_int_equal(registry_open(&reg, dir, 1), 0);
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), 0);
	registry_close(&reg);
	/* A new process opening the same directory sees the record and counter. */
	assert_int_equal(registry_open(&reg, dir, 1), 0);
	assert_int_equal(registry_get(&reg, "restart-a", &got), 0);
	assert_int_equal(got.aid, a.aid);
	assert_int_equal(registry_add(&reg, &b, NULL, NULL), 0);
	assert_int_equal(b.aid, a.aid + 1);
	registry_close(&reg);
}

static void test_files_are_private(void **state)
{
	char path[PATH_MAX + 32];
	struct stat st;

	(void)state;
	assert_int_equal(stat(dir, &st), 0);
	snprintf(path, sizeof(path), "%s/apps", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/next-aid", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

#define WORKERS 8
#define PER_WORKER 25

/* Processes adding at once, each under the lock, never get the same number. */
static void test_concurrent_numbers_unique(void **state)
{
	struct app_record *recs;
	struct registry reg;
	size_t n, before;
	int status;

	(void)state;
	assert_int_equal(registry_open(&reg, dir, 0), 0);
	assert_int_equal(registry_list(&reg, &recs, &n), 0);
	free(recs);
	before = n;
	for (int w = 0; w < WORKERS; w++) {
		if (fork() == 0) {
			for (int i = 0; i < PER_WORKER; i++) {
				struct registry r;
				struct app_record rec;
				char name[32];

				snprintf(name, sizeof(name), "w%d-%d", w, i);
				rec = rec_named(name);
				if (registry_open(&r, dir, 1) || registry_add(&r, &rec, NULL, NULL))
					_exit(1);
				registry_close(&r);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WORKERS; w++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(registry_list(&reg, &recs, &n), 0);
	assert_int_equal(n, before + WORKERS * PER_WORKER);
	for (size_t i = 1; i < n; i++)
		assert_true(recs[i].aid > recs[i - 1].aid); /* sorted and unique */
	free(recs);
	registry_close(&reg);
}

static void test_damaged_counter_refused(void **state)
{
	char path[PATH_MAX + 32], saved[64];
	struct app_record a = rec_named("after-damage");
	struct registry reg;

	(void)state;
	snprintf(path, sizeof(path), "%s/next-aid", dir);
	assert_true(read_file(path, saved, sizeof(saved)) > 0);
	assert_int_equal(write_file_atomic(path, "12x\n", 4, 0600), 0);
	assert_int_equal(registry_open(&reg, dir, 1), 0);
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), -EBADMSG);
	assert_int_equal(write_file_atomic(path, "0\n", 2, 0600), 0);
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), -EBADMSG);
	assert_int_equal(write_file_atomic(path, saved, strlen(saved), 0600), 0);
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), 0);
	registry_close(&reg);
}

static void test_damaged_record_refused(void **state)
{
	const char *bad[] = { "{", "[]", "{\"name\":\"damaged\"}",
			      "{\"name\":\"other\",\"aid\":5,\"mode\":\"run\",\"root\":1,\"own_ns\":true,"
			      "\"created\":1,\"cgroup\":\"x\",\"origin_cgroup\":\"\"}",
			      "{\"name\":\"damaged\",\"aid\":-5,\"mode\":\"run\",\"root\":1,\"own_ns\":true,"
			      "\"created\":1,\"cgroup\":\"x\",\"origin_cgroup\":\"\"}",
			      "{\"name\":\"damaged\",\"aid\":5,\"mode\":\"fly\",\"root\":1,\"own_ns\":true,"
			      "\"created\":1,\"cgroup\":\"x\",\"origin_cgroup\":\"\"}" };
	char path[PATH_MAX + 32];
	struct app_record got;
	struct registry reg;

	(void)state;
	snprintf(path, sizeof(path), "%s/apps/damaged.json", dir);
	assert_int_equal(registry_open(&reg, dir, 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(write_file_atomic(path, bad[i], strlen(bad[i]), 0600), 0);
		assert_int_equal(registry_get(&reg, "damaged", &got), -EBADMSG);
	}
	unlink(path);
	registry_close(&reg);
}

static int odd_in_use(uint32_t aid, void *ctx)
{
	(void)ctx;
	return aid % 2;
}

/* Numbers the shared tracer holds are skipped, and the counter moves past them. */
static void test_numbers_in_use_skipped(void **state)
{
	struct app_record a = rec_named("skip-a"), b = rec_named("skip-b");
	struct registry reg;

	(void)state;
	assert_int_equal(registry_open(&reg, dir, 1), 0);
	assert_int_equal(registry_add(&reg, &a, odd_in_use, NULL), 0);
	assert_int_equal(a.aid % 2, 0);
	assert_int_equal(registry_add(&reg, &b, odd_in_use, NULL), 0);
	assert_int_equal(b.aid, a.aid + 2);
	registry_close(&reg);
}

static void test_bad_names_refused(void **state)
{
	struct app_record a = rec_named("../escape"), got;
	struct registry reg;

	(void)state;
	assert_int_equal(registry_open(&reg, dir, 1), 0);
	assert_int_equal(registry_add(&reg, &a, NULL, NULL), -EINVAL);
	assert_int_equal(registry_get(&reg, "../escape", &got), -EINVAL);
	registry_close(&reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_remove),
		cmocka_unit_test(test_survives_restart),
		cmocka_unit_test(test_files_are_private),
		cmocka_unit_test(test_concurrent_numbers_unique),
		cmocka_unit_test(test_damaged_counter_refused),
		cmocka_unit_test(test_damaged_record_refused),
		cmocka_unit_test(test_numbers_in_use_skipped),
		cmocka_unit_test(test_bad_names_refused),
	};

	return cmocka_run_group_tests_name("registry", tests, setup, teardown);
}
