// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests: reading and dropping one application's entries, on real BPF
 * maps of the tracer's layout (made here, not pinned) holding entries of two
 * applications. Needs CAP_BPF: skipped, loudly, without it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cmocka.h>

#include "tables.h"

static struct tracer tr;
static const char *missing; /* why the maps could not be made */

#define REQUIRE_MAPS()                                                        \
	do {                                                                  \
		if (missing) {                                                \
			print_message("SKIP: %s\n", missing);                \
			skip();                                               \
		}                                                             \
	} while (0)

static int make_map(enum bpf_map_type type, size_t ks, size_t vs, const char *name)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(type, name, ks, vs, 1024, &opts);
}

static int setup(void **state)
{
	static const size_t sizes[TMAP_COUNT][2] = {
		[TMAP_META] = { 4, sizeof(struct trace_meta) },
		[TMAP_APPS] = { 4, sizeof(struct app_info) },
		[TMAP_TASKS] = { 4, sizeof(struct task_info) },
		[TMAP_VTASKS] = { sizeof(struct vtask_key), 4 },
		[TMAP_FDS] = { sizeof(struct fd_key), sizeof(struct fd_info) },
		[TMAP_FILES] = { sizeof(struct file_key), sizeof(struct file_info) },
		[TMAP_SOCKS] = { sizeof(struct sock_key), sizeof(struct sock_info) },
		[TMAP_SK_SOCKS] = { sizeof(__u64), sizeof(struct sock_key) },
		[TMAP_IPCS] = { sizeof(struct ipc_key), sizeof(struct ipc_info) },
		[TMAP_REGIONS] = { sizeof(struct region_key), sizeof(struct region_info) },
		[TMAP_REGION_IDX] = { 4, sizeof(struct region_index) },
		[TMAP_RINGS] = { 4, 4 },
	};

	(void)state;
	for (int i = 0; i < TMAP_COUNT; i++) {
		tr.fd[i] = make_map(BPF_MAP_TYPE_HASH, sizes[i][0], sizes[i][1], tracer_map_names[i]);
		if (tr.fd[i] < 0) {
			missing = "cannot create BPF maps: these tests need CAP_BPF";
			return 0;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tracer_close(&tr);
	return 0;
}

/* Two applications: 1 with two processes (one with a thread), 2 with one. */
static void fill(void)
{
	struct app_info app = {};
	struct task_info ti = {};
	struct fd_info fdi = {};
	struct file_info fi = {};
	struct region_info ri = {};
	struct ipc_info ii = {};
	struct sock_info si = {};
	const struct {
		__u32 tid, tgid, aid;
	} tasks[] = { { 300, 300, 1 }, { 301, 300, 1 }, { 200, 200, 1 }, { 500, 500, 2 } };

	for (__u32 aid = 1; aid <= 2; aid++) {
		snprintf(app.name, sizeof(app.name), "app%u", aid);
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_APPS], &aid, &app, 0), 0);
	}
	for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++) {
		struct vtask_key vk = { tasks[i].aid, tasks[i].tid };

		ti.aid = tasks[i].aid;
		ti.tgid = tasks[i].tgid;
		ti.vtid = tasks[i].tid;
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_TASKS], &tasks[i].tid, &ti, 0), 0);
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_VTASKS], &vk, &tasks[i].tid, 0), 0);
	}
	for (__u32 fd = 0; fd < 5; fd++) {
		struct fd_key k = { fd % 2 ? 300 : 500, fd };
		struct file_key fk = { fd % 2 ? 1 : 2, 0, 0xffff000000000000ull + fd };

		fdi.aid = fk.aid;
		fdi.file = fk.file;
		fi.kind = fd == 3 ? FDK_SOCKET : FDK_FILE;
		fi.ino = 77 + fd;
		fi.refs = 1;
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_FDS], &k, &fdi, 0), 0);
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_FILES], &fk, &fi, 0), 0);
	}
	{
		struct sock_key sk = { .aid = 1, .ino = 80 };
		struct ipc_key ik = { .aid = 1, .kind = IPCK_SEM, .id = 4 };
		struct ipc_key ik2 = { .aid = 2, .kind = IPCK_SHM, .id = 0 };
		struct region_key rk = { .tgid = 300, .start = 0x2000 };
		struct region_key rk2 = { .tgid = 300, .start = 0x1000 };
		struct region_key rk3 = { .tgid = 500, .start = 0x1000 };

		si.refs = 1;
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_SOCKS], &sk, &si, 0), 0);
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_IPCS], &ik, &ii, 0), 0);
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_IPCS], &ik2, &ii, 0), 0);
		ri.aid = 1;
		ri.end = 0x3000;
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_REGIONS], &rk, &ri, 0), 0);
		ri.end = 0x2000;
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_REGIONS], &rk2, &ri, 0), 0);
		ri.aid = 2;
		assert_int_equal(bpf_map_update_elem(tr.fd[TMAP_REGIONS], &rk3, &ri, 0), 0);
	}
}

static void test_read_one_application(void **state)
{
	struct app_tables at;

	(void)state;
	REQUIRE_MAPS();
	fill();
	assert_int_equal(tables_read(&tr, 1, &at), 0);
	assert_string_equal(at.info.name, "app1");
	/* tasks by tgid, the leader before its threads */
	assert_int_equal(at.ntasks, 3);
	assert_int_equal(at.tasks[0].tid, 200);
	assert_int_equal(at.tasks[1].tid, 300);
	assert_int_equal(at.tasks[2].tid, 301);
	assert_int_equal(at.nfds, 2); /* fds 1 and 3 of tgid 300 */
	assert_int_equal(at.fds[0].k.fd, 1);
	assert_int_equal(at.fds[1].k.fd, 3);
	assert_int_equal(at.nfiles, 2);
	assert_non_null(tables_file(&at, at.fds[1].fi.file));
	assert_int_equal(tables_file(&at, at.fds[1].fi.file)->fi.kind, FDK_SOCKET);
	assert_null(tables_file(&at, 0xffff000000000000ull)); /* app 2's */
	assert_int_equal(at.nsocks, 1);
	assert_non_null(tables_sock(&at, 80));
	assert_null(tables_sock(&at, 81));
	assert_int_equal(at.nipcs, 1);
	assert_int_equal(at.ipcs[0].k.id, 4);
	assert_int_equal(at.nregions, 2);
	assert_true(at.regions[0].k.start < at.regions[1].k.start);
	tables_free(&at);
	assert_int_equal(tables_count_apps(&tr), 2);
	assert_int_equal(tables_read(&tr, 9, &at), -ENOENT);
}

static void test_drop_one_application(void **state)
{
	struct app_tables at;
	struct task_info ti;
	__u32 one = 1;
	struct app_info v;

	(void)state;
	REQUIRE_MAPS();
	fill();
	assert_int_equal(tables_drop(&tr, 1), 0);
	assert_int_equal(tables_count_apps(&tr), 1);
	assert_int_equal(tables_task(&tr, 300, &ti), -ENOENT);
	assert_int_not_equal(bpf_map_lookup_elem(tr.fd[TMAP_APPS], &one, &v), 0);
	/* the other application is untouched */
	assert_int_equal(tables_read(&tr, 2, &at), 0);
	assert_int_equal(at.ntasks, 1);
	assert_int_equal(at.nfds, 3);
	assert_int_equal(at.nfiles, 3);
	assert_int_equal(at.nipcs, 1);
	assert_int_equal(at.nregions, 1);
	tables_free(&at);
	assert_int_equal(tables_drop(&tr, 2), 0);
	assert_int_equal(tables_count_apps(&tr), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_one_application),
		cmocka_unit_test(test_drop_one_application),
	};

	return cmocka_run_group_tests_name("tables", tests, setup, teardown);
}
