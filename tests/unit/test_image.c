// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests: the image container. What is written reads back; a byte
 * flipped anywhere, a record cut short or missing, another format version
 * or a half-written image is refused with an error, never misread.
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
#include <unistd.h>
#include <cmocka.h>

#include "image.h"
#include "log.h"

static char base[PATH_MAX];
static int serial;

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/appshot-unit-image-%d-XXXXXX", getpid());
	if (!mkdtemp(base))
		return -1;
	log_init("test_image");
	log_set_level(LOG_ERR + (getenv("VERBOSE") ? 3 : -1)); /* quiet: errors are expected */
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) ? -1 : 0;
}

/* An image with a core record, a blob and 3 pages of known bytes. */
static const char *make_image(void)
{
	static char dir[PATH_MAX];
	struct image_writer w;
	struct image_pages p;
	struct json_object *core = json_object_new_object(), *meta = json_object_new_object();
	char page[3 * IMAGE_PAGE];
	uint64_t off;

	snprintf(dir, sizeof(dir), "%s/img%d", base, ++serial);
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (char)(i * 7 + 1);
	json_object_object_add(core, "pid", json_object_new_int(42));
	json_object_object_add(meta, "name", json_object_new_string("test"));
	assert_int_equal(image_create(&w, dir), 0);
	assert_int_equal(image_write_json(&w, "core-42", REC_CORE, core), 0);
	assert_int_equal(image_write_blob(&w, "file-1", "hello", 5), 0);
	assert_int_equal(image_pages_open(&w, &p), 0);
	assert_int_equal(image_pages_append(&p, page, IMAGE_PAGE, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(image_pages_append(&p, page + IMAGE_PAGE, 2 * IMAGE_PAGE, &off), 0);
	assert_int_equal(off, IMAGE_PAGE);
	assert_int_equal(image_pages_append(&p, page, 100, &off), -EINVAL); /* not whole pages */
	assert_int_equal(image_pages_close(&w, &p), 0);
	assert_int_equal(image_commit(&w, meta), 0);
	json_object_put(core);
	json_object_put(meta);
	return dir;
}

static void test_roundtrip(void **state)
{
	const char *dir = make_image();
	struct json_object *core, *v;
	struct image im;
	uint64_t off, len;
	char buf[IMAGE_PAGE];
	struct stat st;
	size_t blen;
	char *blob;
	int fd;

	(void)state;
	assert_int_equal(image_open(&im, dir), 0);
	assert_true(json_object_object_get_ex(im.manifest, "name", &v));
	assert_string_equal(json_object_get_string(v), "test");
	core = image_read_json(&im, "core-42");
	assert_non_null(core);
	assert_true(json_object_object_get_ex(core, "pid", &v));
	assert_int_equal(json_object_get_int(v), 42);
	json_object_put(core);
	blob = image_read_blob(&im, "file-1", &blen);
	assert_non_null(blob);
	assert_int_equal(blen, 5);
	assert_memory_equal(blob, "hello", 5);
	free(blob);
	fd = image_pages_fd(&im, &off, &len);
	assert_true(fd >= 0);
	assert_int_equal(off, IMAGE_PAGE); /* pages start page-aligned */
	assert_int_equal(len, 3 * IMAGE_PAGE);
	assert_int_equal(pread(fd, buf, sizeof(buf), off + IMAGE_PAGE), sizeof(buf));
	assert_int_equal(buf[0], (char)(IMAGE_PAGE * 7 + 1));
	close(fd);
	image_close(&im);
	/* private: 0700 directory, 0600 files */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

/* Flip one byte at offset of file name: the image is refused. */
static void flip(const char *dir, const char *name, off_t offset)
{
	char path[PATH_MAX + 32], c;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, offset), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, offset), 1);
	close(fd);
}

static void expect_refused(const char *dir, int err)
{
	struct image im;

	assert_int_equal(image_open(&im, dir), err);
	assert_null(im.manifest);
}

static void test_flipped_bytes(void **state)
{
	struct { const char *name; off_t off; } spots[] = {
		{ "manifest", 0 },		       /* magic */
		{ "manifest", 60 },		       /* JSON text */
		{ "core-42", 50 },		       /* payload */
		{ "core-42", 24 },		       /* payload length */
		{ "file-1", 49 },		       /* blob payload */
		{ "pages", IMAGE_PAGE + 5 },	       /* first page */
		{ "pages", 3 * IMAGE_PAGE + 4000 },    /* last page */
		{ "pages", 32 },		       /* its checksum */
		{ "pages", 40 },		       /* reserved header bytes */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		const char *dir = make_image();

		flip(dir, spots[i].name, spots[i].off);
		expect_refused(dir, -EBADMSG);
	}
}

static void test_truncated_and_missing(void **state)
{
	char path[PATH_MAX + 32];
	const char *dir;

	(void)state;
	dir = make_image();
	snprintf(path, sizeof(path), "%s/pages", dir);
	assert_int_equal(truncate(path, 2 * IMAGE_PAGE), 0);
	expect_refused(dir, -EBADMSG);

	dir = make_image();
	snprintf(path, sizeof(path), "%s/core-42", dir);
	assert_int_equal(truncate(path, 10), 0); /* shorter than a header */
	expect_refused(dir, -EBADMSG);

	dir = make_image();
	snprintf(path, sizeof(path), "%s/file-1", dir);
	assert_int_equal(unlink(path), 0);
	expect_refused(dir, -EBADMSG);

	dir = make_image();
	snprintf(path, sizeof(path), "%s/manifest", dir);
	assert_int_equal(unlink(path), 0);
	expect_refused(dir, -EBADMSG);

	expect_refused("/nonexistent/image", -ENOENT);
}

static void test_other_format(void **state)
{
	const char *dir = make_image();
	char path[PATH_MAX + 32];
	uint32_t format = IMAGE_FORMAT + 1;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/manifest", dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &format, sizeof(format), offsetof(struct image_hdr, format)),
			 sizeof(format));
	close(fd);
	expect_refused(dir, -EPROTO);
}

/* A snapshot that fails half-way leaves nothing that looks like an image. */
static void test_abort_and_nonempty(void **state)
{
	struct image_writer w;
	struct json_object *o = json_object_new_object();
	char dir[PATH_MAX], path[PATH_MAX + 32];
	const char *done;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/aborted", base);
	assert_int_equal(image_create(&w, dir), 0);
	assert_int_equal(image_write_json(&w, "core-1", REC_CORE, o), 0);
	image_abort(&w);
	assert_int_equal(access(dir, F_OK), -1);
	snprintf(path, sizeof(path), "%s.partial-%d", dir, getpid());
	assert_int_equal(access(path, F_OK), -1);
	/* an image is written only into a new or empty directory */
	done = make_image();
	assert_int_equal(image_create(&w, done), -EEXIST);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(image_create(&w, dir), 0);
	image_abort(&w);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_truncated_and_missing),
		cmocka_unit_test(test_other_format),
		cmocka_unit_test(test_abort_and_nonempty),
	};

	return cmocka_run_group_tests_name("image", tests, setup, teardown);
}
