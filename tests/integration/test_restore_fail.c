// SPDX-License-Identifier: GPL-2.0-only
/*
 * Snapshot and restore when things are not as they should be: something
 * appshot cannot save, images that are missing, truncated, corrupted or of
 * another version, PIDs already taken, a file the image needs gone. Each
 * gets a clear error and a non-zero exit, and leaves nothing behind: the
 * application of a failed snapshot runs on, a failed restore leaves no
 * process, registry record, cgroup or temp file. And a restore in the
 * foreground passes on its application's exit status.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <xxhash.h>

#include "testlib.h"
#include "wlharness.h"

static void expect_clean(const char *what)
{
	char why[512];

	if (check_no_leftovers(why, sizeof(why)))
		fail_msg("%s: %s", what, why);
}

/* appshot restore -d -D dir must fail with an error saying says, leaving all as it was. */
static void restore_fails(const char *dir, const char *says, const char *what)
{
	struct run_result r;
	char *before = appshot_state(), *after;

	run_cmd(&r, bin_path("appshot"), "restore", "-d", "-D", dir, NULL);
	after = appshot_state();
	if (r.status != 1)
		fail_msg("%s: restore exited %d, not 1: %s", what, r.status, r.err);
	if (!strstr(r.err, says))
		fail_msg("%s: restore does not say \"%s\": %s", what, says, r.err);
	if (strncmp(r.err, "appshot: error: ", 16))
		fail_msg("%s: the error does not come first: %s", what, r.err);
	if (strcmp(before, after))
		fail_msg("%s left something: before [%s] after [%s]", what, before, after);
	run_free(&r);
	free(before);
	free(after);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* appshot inspect of a bad image fails the same way. */
static void inspect_fails(const char *dir, const char *says, const char *what)
{
	struct run_result r;

	run_cmd(&r, bin_path("appshot"), "inspect", dir, NULL);
	if (r.status != 1 || !strstr(r.err, says) || r.out[0])
		fail_msg("%s: inspect exited %d: %s%s", what, r.status, r.out, r.err);
	run_free(&r);
}

static void copy_image(const char *from, const char *to)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cp -a %s %s", from, to);
	assert_int_equal(system(cmd), 0);
}

/* The first file in dir whose name starts with prefix. */
static void find_record(const char *dir, const char *prefix, char *path, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	path[0] = 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(path, len, "%s/%s", dir, de->d_name);
			break;
		}
	closedir(d);
	if (!path[0])
		fail_msg("no %s record in %s", prefix, dir);
}

static void poke(const char *path, off_t at, const void *bytes, size_t n)
{
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, at), (ssize_t)n);
	close(fd);
}

/*
 * The workload (started, at its first checkpoint) holds what cannot be
 * saved yet: the snapshot fails saying expect, leaves no image, and every
 * process runs on as it was (it checks itself at its second checkpoint).
 */
static void refused_waited(struct wl *w, const char *expect);

static void refused(struct wl *w, const char *expect)
{
	wl_wait(w, 1);
	refused_waited(w, expect);
}

/* refused(), the workload at its first checkpoint already */
static void refused_waited(struct wl *w, const char *expect)
{
	char dir[PATH_MAX + 16];
	struct run_result r;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/image", w->dir);
	run_cmd(&r, bin_path("appshot"), "snapshot", w->name, "-D", dir, NULL);
	if (r.status != 1 || !strstr(r.err, expect) || !strstr(r.err, "runs on untouched"))
		fail_msg("snapshot with %s: exit %d: %s", expect, r.status, r.err);
	run_free(&r);
	if (stat(dir, &st) == 0)
		fail_msg("a failed snapshot left %s", dir);
	/* it answers: neither frozen nor stopped, and finds itself as it was */
	wl_go(w);
	wl_wait(w, 2);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("the application was changed by a failed snapshot");
	}
}

static void test_unsupported_io_uring(void **state)
{
	TESTLIB_REQUIRE();
	wl_start_stdio(*state, NULL, "rs_refused", "io_uring", NULL);
	refused(*state, "io_uring");
}

/* Things appshot cannot give back as they were, each refused by name (rs_refused MODE). */
static void refused_mode(struct wl *w, const char *mode, int attach, const char *expect)
{
	if (attach)
		wl_start_stdio_attached(w, "rs_refused", mode, NULL);
	else
		wl_start_stdio(w, NULL, "rs_refused", mode, NULL);
	wl_wait(w, 1);
	if (jbool(w->cp, "unsupported")) {
		wl_go(w);
		wl_wait(w, 2);
		skip_because("this machine has no %s to hold", mode);
	}
	refused_waited(w, expect);
}

#define REFUSED(mode, attach, expect)                                         \
	static void test_refused_##mode(void **state)                         \
	{                                                                     \
		TESTLIB_REQUIRE();                                            \
		refused_mode(*state, #mode, attach, expect);                  \
	}

REFUSED(ptmx, 0, "a character device that holds state")
REFUSED(procfile, 0, "a file of a process in /proc")
REFUSED(sem, 1, "uses SysV semaphore set")
REFUSED(msg, 1, "uses SysV message queue")
REFUSED(pkey, 0, "memory protection key")
REFUSED(sockfilter, 0, "a socket filter")
REFUSED(multicast, 0, "multicast or anycast group memberships")
REFUSED(inflight, 0, "that no process of the application holds")

/* an epoll instance in flight: its sender holds it, but it cannot be sent again yet */
static void test_refused_inflight_epoll(void **state)
{
	TESTLIB_REQUIRE();
	refused_mode(*state, "inflight-epoll", 0, "cannot send one of that kind again");
}

/* A process tree holding what cannot be saved yet. */
static void tree_refused(struct wl *w, const char *mode, const char *expect)
{
	wl_start_stdio(w, NULL, "rs_tree", "1", mode, NULL);
	refused(w, expect);
}

static void test_tree_outside_pipe_refused(void **state)
{
	TESTLIB_REQUIRE();
	tree_refused(*state, "outside", "fd 20 is a pipe");
}

static void test_tree_mqueue_refused(void **state)
{
	TESTLIB_REQUIRE();
	tree_refused(*state, "mqueue", "a POSIX message queue");
}

static void test_netlink_socket_refused(void **state)
{
	TESTLIB_REQUIRE();
	wl_start_stdio(*state, NULL, "rs_inet", "1", "netlink", NULL);
	refused(*state, "a netlink socket");
}

static void test_backlog_refused(void **state)
{
	TESTLIB_REQUIRE();
	wl_start_stdio(*state, NULL, "rs_inet", "1", "backlog", NULL);
	refused(*state, "connections not yet accepted");
}

static void test_raw_socket_refused(void **state)
{
	TESTLIB_REQUIRE();
	wl_start_stdio(*state, NULL, "rs_inet", "1", "raw", NULL);
	refused(*state, "a raw socket");
}

static void test_bad_images(void **state)
{
	struct wl *w = *state;
	char good[PATH_MAX + 16], bad[PATH_MAX + 16], rec[2 * PATH_MAX];
	uint32_t version = 99;

	TESTLIB_REQUIRE();
	wl_start_stdio(w, NULL, "rs_process", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "good", NULL);
	snprintf(good, sizeof(good), "%s/good", w->dir);

	snprintf(bad, sizeof(bad), "%s/gone", w->dir);
	restore_fails(bad, "no image at", "a missing image");
	inspect_fails(bad, "no image at", "a missing image");
	snprintf(bad, sizeof(bad), "%s/empty", w->dir);
	assert_int_equal(mkdir(bad, 0700), 0);
	restore_fails(bad, "not an appshot image", "an empty directory");
	inspect_fails(bad, "not an appshot image", "an empty directory");

	snprintf(bad, sizeof(bad), "%s/truncated", w->dir);
	copy_image(good, bad);
	find_record(bad, "pages", rec, sizeof(rec));
	assert_int_equal(truncate(rec, 8192), 0);
	restore_fails(bad, "truncated or damaged", "a truncated pages record");
	inspect_fails(bad, "truncated or damaged", "a truncated pages record");

	snprintf(bad, sizeof(bad), "%s/flipped", w->dir);
	copy_image(good, bad);
	find_record(bad, "core", rec, sizeof(rec));
	poke(rec, 200, "\xff", 1);
	restore_fails(bad, "checksum", "a flipped byte");
	inspect_fails(bad, "checksum", "a flipped byte");

	snprintf(bad, sizeof(bad), "%s/version", w->dir);
	copy_image(good, bad);
	find_record(bad, "manifest", rec, sizeof(rec));
	poke(rec, 8, &version, sizeof(version));
	restore_fails(bad, "image format 99", "another format version");
	inspect_fails(bad, "image format 99", "another format version");

	/* and the image itself is good */
	wl_restore(w, "good", NULL);
	wl_go(w);
	wl_wait(w, 2);
	assert_true(jbool(w->cp, "ok"));
}

/* The manifest's JSON, changed by edit, written back with a good header. */
static void rewrite_manifest(const char *dir, void (*edit)(struct json_object *m))
{
	char path[PATH_MAX + 16], hdr[48];
	struct json_object *m, *recs;
	const char *s;
	uint64_t len, sum;
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/manifest", dir);
	f = fopen(path, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	buf = calloc(1, size + 1);
	rewind(f);
	assert_int_equal(fread(buf, 1, size, f), (size_t)size);
	memcpy(hdr, buf, sizeof(hdr));
	m = json_tokener_parse(buf + sizeof(hdr));
	assert_non_null(m);
	assert_true(json_object_object_get_ex(m, "records", &recs));
	edit(m);
	s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	sum = XXH3_64bits(s, len);
	memcpy(hdr + 24, &len, 8); /* payload_len, then the checksum */
	memcpy(hdr + 32, &sum, 8);
	rewind(f);
	assert_int_equal(ftruncate(fileno(f), 0), 0);
	assert_int_equal(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	assert_int_equal(fwrite(s, 1, len, f), len);
	fclose(f);
	json_object_put(m);
	free(buf);
}

static struct json_object *record_named(struct json_object *recs, const char *prefix);

/*
 * The first process record of dir, changed by edit, written back with
 * good checksums in its header and the manifest: what only sense can tell.
 */
static struct json_object *edited_core;
static char edited_name[64];
static uint64_t edited_sum, edited_head, edited_size;

static void edit_core_entry(struct json_object *m)
{
	struct json_object *recs = json_object_object_get(m, "records");
	struct json_object *r = record_named(recs, edited_name);
	char hex[32];

	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)edited_sum);
	json_object_object_add(r, "xxh64", json_object_new_string(hex));
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)edited_head);
	json_object_object_add(r, "head_xxh64", json_object_new_string(hex));
	json_object_object_add(r, "size", json_object_new_uint64(edited_size));
}

static void rewrite_core(const char *dir, void (*edit)(struct json_object *core))
{
	char path[2 * PATH_MAX], hdr[48];
	const char *s;
	uint64_t len;
	FILE *f;
	char *buf;
	long size;

	find_record(dir, "core", path, sizeof(path));
	snprintf(edited_name, sizeof(edited_name), "%s", strrchr(path, '/') + 1);
	f = fopen(path, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	buf = calloc(1, size + 1);
	rewind(f);
	assert_int_equal(fread(buf, 1, size, f), (size_t)size);
	memcpy(hdr, buf, sizeof(hdr));
	edited_core = json_tokener_parse(buf + sizeof(hdr));
	assert_non_null(edited_core);
	edit(edited_core);
	s = json_object_to_json_string_ext(edited_core, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	edited_sum = XXH3_64bits(s, len);
	memcpy(hdr + 24, &len, 8);
	memcpy(hdr + 32, &edited_sum, 8);
	edited_head = XXH3_64bits(hdr, sizeof(hdr));
	edited_size = sizeof(hdr) + len;
	rewind(f);
	assert_int_equal(ftruncate(fileno(f), 0), 0);
	assert_int_equal(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	assert_int_equal(fwrite(s, 1, len, f), len);
	fclose(f);
	json_object_put(edited_core);
	free(buf);
	rewrite_manifest(dir, edit_core_entry);
}

/* The first thread goes on at address 8: nothing is there. */
static void edit_ip_nowhere(struct json_object *core)
{
	struct json_object *threads, *regs;

	assert_true(json_object_object_get_ex(core, "threads", &threads));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(threads, 0), "regs", &regs));
	json_object_object_add(regs, "rip", json_object_new_uint64(8));
}

/* Its fd limit 2 while it holds fd 2 and more. */
static void edit_nofile(struct json_object *core)
{
	struct json_object *l, *v = json_object_new_array();

	assert_true(json_object_object_get_ex(core, "rlimits", &l));
	json_object_array_add(v, json_object_new_uint64(2));
	json_object_array_add(v, json_object_new_uint64(2));
	json_object_array_put_idx(l, 7, v);
}

/* Its parent a pid the image does not hold (appshot's init is 1) */
static void edit_ppid(struct json_object *core)
{
	json_object_object_add(core, "ppid", json_object_new_int(4242));
}

/* Its memory areas a string where a list is */
static void edit_vmas_string(struct json_object *core)
{
	json_object_object_add(core, "vmas", json_object_new_string("not a list"));
}

/* A memory area that ends before it starts. */
static void edit_area_backwards(struct json_object *core)
{
	struct json_object *vmas, *v, *start;

	assert_true(json_object_object_get_ex(core, "vmas", &vmas));
	v = json_object_array_get_idx(vmas, 0);
	assert_true(json_object_object_get_ex(v, "start", &start));
	json_object_object_add(v, "end", json_object_new_uint64(json_object_get_uint64(start) - 4096));
}

static struct json_object *record_named(struct json_object *recs, const char *prefix)
{
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		struct json_object *r = json_object_array_get_idx(recs, i), *n;

		if (json_object_object_get_ex(r, "name", &n) &&
		    !strncmp(json_object_get_string(n), prefix, strlen(prefix)))
			return r;
	}
	fail_msg("the manifest lists no %s record", prefix);
	return NULL;
}

static void edit_dotdot(struct json_object *m)
{
	struct json_object *recs = json_object_object_get(m, "records");
	json_object_object_add(record_named(recs, "core"), "name",
			       json_object_new_string("../good/core-2"));
}

static void edit_twice(struct json_object *m)
{
	struct json_object *recs = json_object_object_get(m, "records");
	json_object_array_add(recs, json_object_get(record_named(recs, "core")));
}

static void edit_no_pages(struct json_object *m)
{
	struct json_object *recs = json_object_object_get(m, "records");
	for (size_t i = 0; i < json_object_array_length(recs); i++)
		if (json_object_array_get_idx(recs, i) == record_named(recs, "pages")) {
			json_object_array_del_idx(recs, i, 1);
			break;
		}
}

static void edit_null_name(struct json_object *m)
{
	struct json_object *recs = json_object_object_get(m, "records");

	json_object_object_add(record_named(recs, "core"), "name", NULL);
}

static void edit_null_type(struct json_object *m)
{
	struct json_object *recs = json_object_object_get(m, "records");

	json_object_object_add(record_named(recs, "core"), "type", NULL);
}

/* made in a year beyond what localtime can say */
static void edit_created(struct json_object *m)
{
	json_object_object_add(m, "created", json_object_new_int64(INT64_MAX / 2));
}

/* bad: a copy of good, changed by how; then restore and inspect refuse it, saying says. */
static void untrusted(const char *good, const char *bad, const char *says, const char *what,
		      const char *how)
{
	char cmd[3 * PATH_MAX + 256];

	copy_image(good, bad);
	snprintf(cmd, sizeof(cmd), "cd %s && %s", bad, how);
	assert_int_equal(system(cmd), 0);
	restore_fails(bad, says, what);
	inspect_fails(bad, says, what);
}

/*
 * A copy of good named name beside it, changed by edit through rewrite
 * (of the manifest or of a process record); restore refuses it saying
 * says, and so does inspect when it reads what is changed.
 */
static void edited(const char *good, const char *name,
		   void (*rewrite)(const char *dir, void (*edit)(struct json_object *)),
		   void (*edit)(struct json_object *), const char *says, const char *what,
		   int inspect_too)
{
	char bad[PATH_MAX + 64];

	snprintf(bad, sizeof(bad), "%.*s/%s", (int)(strrchr(good, '/') - good), good, name);
	copy_image(good, bad);
	rewrite(bad, edit);
	restore_fails(bad, says, what);
	if (inspect_too)
		inspect_fails(bad, says, what);
}

/*
 * An image root restores must be its own and nobody else's to change: a
 * directory or record others may write, or another user owns, is refused;
 * so is a record that is a symbolic link, a FIFO (no wait) or a directory,
 * and a manifest naming a path, a record twice, a record of no name, or
 * not the pages the restore would use.
 */
static void test_untrusted_images(void **state)
{
	struct wl *w = *state;
	char good[PATH_MAX + 16], bad[PATH_MAX + 16];

	TESTLIB_REQUIRE();
	wl_start_stdio(w, NULL, "rs_process", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "good", NULL);
	snprintf(good, sizeof(good), "%s/good", w->dir);
	snprintf(bad, sizeof(bad), "%s/bad", w->dir);
#define UNTRUSTED(says, what, how)                                                 \
	do {                                                                       \
		snprintf(bad, sizeof(bad), "%s/bad-%d", w->dir, __LINE__);         \
		untrusted(good, bad, says, what, how);                             \
	} while (0)
	UNTRUSTED("can be written by anyone", "a directory of mode 0777", "chmod 0777 .");
	UNTRUSTED("can be written by its group", "a record of mode 0660", "chmod 0660 pages");
	UNTRUSTED("owned by uid 65534", "a record of another user", "chown 65534 pages");
	UNTRUSTED("symbolic link", "a record that is a symbolic link",
		  "mv pages ../pages-elsewhere && ln -s ../pages-elsewhere pages");
	UNTRUSTED("not a regular file", "a record that is a FIFO", "rm pages && mkfifo -m 600 pages");
	UNTRUSTED("not a regular file", "a record that is a directory",
		  "rm pages && mkdir -m 700 pages");
#undef UNTRUSTED
	edited(good, "bad-dotdot", rewrite_manifest, edit_dotdot, "names a record '../good/core-2'",
	       "a record named by a path", 1);
	edited(good, "bad-twice", rewrite_manifest, edit_twice, "twice",
	       "a record listed twice", 1);
	edited(good, "bad-null", rewrite_manifest, edit_null_name, "incomplete",
	       "a record of no name", 1);
	edited(good, "bad-null-type", rewrite_manifest, edit_null_type, "incomplete",
	       "a record of no type", 1);
	edited(good, "bad-unlisted", rewrite_manifest, edit_no_pages, "the manifest does not list it",
	       "pages the manifest does not list", 0);

	/* good checksums over what cannot be: inspect says so as the restore does */
	edited(good, "bad-ip", rewrite_core, edit_ip_nowhere, "where it has no code",
	       "a thread going on where there is no code", 1);
	edited(good, "bad-nofile", rewrite_core, edit_nofile, "fd limit",
	       "an fd limit below the fds held", 1);
	edited(good, "bad-ppid", rewrite_core, edit_ppid, "core-2: its parent is not in the image",
	       "a parent not in the image", 1);
	edited(good, "bad-vmas", rewrite_core, edit_vmas_string, "image",
	       "memory areas that are no list", 1);
	edited(good, "bad-area", rewrite_core, edit_area_backwards, "area",
	       "an area that ends before it starts", 1);
	/* a date localtime cannot say is said as such, not a crash */
	snprintf(bad, sizeof(bad), "%s/bad-date", w->dir);
	copy_image(good, bad);
	rewrite_manifest(bad, edit_created);
	{
		struct run_result r;

		run_cmd(&r, bin_path("appshot"), "inspect", bad, NULL);
		if (r.status != 0 || !strstr(r.out, "impossible time"))
			fail_msg("inspect of an image made at an impossible time exited %d: %s%s",
				 r.status, r.out, r.err);
		run_free(&r);
	}

	/* and the image itself is good: checked and planned (making nothing), then restored */
	{
		struct run_result r;

		run_cmd(&r, bin_path("appshot"), "restore", "--check-only", "-D", good, NULL);
		if (r.status != 0 || !strstr(r.out, "verified, and its restore planned"))
			fail_msg("restore --check-only of a good image exited %d: %s%s", r.status,
				 r.out, r.err);
		run_free(&r);
	}
	wl_restore(w, "good", NULL);
	wl_go(w);
	wl_wait(w, 2);
	assert_true(jbool(w->cp, "ok"));
}

/* Restored in the PID namespace it came from, where its PID is in use again. */
static void test_pids_taken(void **state)
{
	struct wl *w = *state;
	char dir[PATH_MAX + 16];

	TESTLIB_REQUIRE();
	wl_start_stdio(w, "--share-ns", "rs_process", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", "--leave-running");
	snprintf(dir, sizeof(dir), "%s/image", w->dir);
	restore_fails(dir, "taken", "a PID in use");
	/* the original runs on as if nothing happened */
	wl_go(w);
	wl_wait(w, 2);
	assert_true(jbool(w->cp, "ok"));
}

/* A file the image needs is gone: the restore fails half-way and undoes it all. */
static void test_restore_fails_half_way(void **state)
{
	struct wl *w = *state;
	char dir[PATH_MAX + 16], file[PATH_MAX + 16];

	TESTLIB_REQUIRE();
	wl_start_stdio(w, NULL, "rs_files", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", NULL);
	snprintf(dir, sizeof(dir), "%s/image", w->dir);
	snprintf(file, sizeof(file), "%s/wo", w->dir);
	assert_int_equal(unlink(file), 0);
	restore_fails(dir, "wo", "a file gone");
	expect_clean("a restore failed half-way");
}

/* The same in a process tree: a grandchild's file is gone; every process made goes. */
static void test_tree_fails_half_way(void **state)
{
	struct wl *w = *state;
	char dir[PATH_MAX + 16], file[PATH_MAX + 16];

	TESTLIB_REQUIRE();
	wl_start_stdio(w, NULL, "rs_tree", "1", NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", NULL);
	snprintf(dir, sizeof(dir), "%s/image", w->dir);
	snprintf(file, sizeof(file), "%s/own-tree-h", w->dir);
	assert_int_equal(unlink(file), 0);
	restore_fails(dir, "own-tree-h", "a grandchild's file gone");
	expect_clean("a tree's restore failed half-way");
}

/*
 * A snapshot that leaves the application running takes nothing from it:
 * bytes in pipes and sockets, messages in queues are still there for it
 * (the workload checks them all after its cycle).
 */
static void leave_running(struct wl *w, const char *workload, const char *arg)
{
	wl_start_stdio(w, NULL, workload, "1", arg, NULL);
	wl_wait(w, 1);
	wl_snapshot(w, "image", "--leave-running");
	wl_go(w);
	wl_wait(w, 2);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("%s found its state changed by a snapshot that left it running", workload);
	}
}

static void test_leave_running_pipes(void **state)
{
	TESTLIB_REQUIRE();
	leave_running(*state, "rs_pipes", NULL);
}

static void test_leave_running_unix(void **state)
{
	TESTLIB_REQUIRE();
	leave_running(*state, "rs_unix", NULL);
}

static void test_leave_running_ipc(void **state)
{
	TESTLIB_REQUIRE();
	leave_running(*state, "rs_ipc", NULL);
}

static void test_leave_running_tcp(void **state)
{
	TESTLIB_REQUIRE();
	leave_running(*state, "rs_inet", "established");
}

static void test_leave_running_udp(void **state)
{
	TESTLIB_REQUIRE();
	leave_running(*state, "rs_udp", "inside");
}

static void test_leave_running_half_closed(void **state)
{
	TESTLIB_REQUIRE();
	leave_running(*state, "rs_inet", "closing");
}

static void test_foreground_exit_status(void **state)
{
	struct wl *w = *state;
	int code;

	TESTLIB_REQUIRE();
	setenv("WL_EXIT", "7", 1);
	wl_start_stdio(w, NULL, "rs_process", "1", NULL);
	unsetenv("WL_EXIT");
	wl_wait(w, 1);
	wl_snapshot(w, "image", NULL);
	wl_restore_fg(w, "image");
	wl_go(w);
	wl_wait(w, 2);
	assert_true(jbool(w->cp, "ok"));
	code = wl_restore_fg_wait(w);
	if (code != 7) {
		wl_dump_log(w);
		fail_msg("a foreground restore exited %d, its application 7", code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unsupported_io_uring, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_ptmx, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_procfile, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_sem, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_msg, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_pkey, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_sockfilter, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_multicast, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_inflight, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_refused_inflight_epoll, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_outside_pipe_refused, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_mqueue_refused, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_netlink_socket_refused, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_raw_socket_refused, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_backlog_refused, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_bad_images, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_images, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_pids_taken, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tree_fails_half_way, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_pipes, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_unix, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_ipc, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_tcp, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_udp, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_half_closed, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_restore_fails_half_way, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_foreground_exit_status, wl_setup,
						wl_teardown),
	};

	return cmocka_run_group_tests_name("restore failures", tests, testlib_setup,
					   testlib_teardown);
}
