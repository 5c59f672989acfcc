// SPDX-License-Identifier: GPL-2.0-only
/* Writing and verifying image directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "image.h"
#include "log.h"
#include "util.h"

#define MANIFEST "manifest"
#define PAGES "pages"
/*
 * Reads and checksums go through a buffer this big: small, as every page
 * of a new buffer costs a fault, and faults are dear on some machines.
 */
#define CHUNK (256u << 10)

static const char *const type_names[] = {
	[REC_MANIFEST] = "manifest", [REC_CORE] = "core", [REC_PAGES] = "pages", [REC_BLOB] = "blob",
	[REC_IPC] = "ipc",
};

static const char *type_name(uint32_t t)
{
	return t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t] ? type_names[t]
									     : "unknown";
}

uint64_t image_checksum(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}

static int full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int full_pread(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

static int dir_is_empty(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int empty = 1;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int image_create(struct image_writer *w, const char *dir)
{
	struct stat st;
	int err;

	memset(w, 0, sizeof(*w));
	if (snprintf(w->dir, sizeof(w->dir), "%s", dir) >= (int)sizeof(w->dir))
		return -ENAMETOOLONG;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			pr_err("%s exists and is not a directory", dir);
			return -ENOTDIR;
		}
		err = dir_is_empty(dir);
		if (err <= 0) {
			pr_err("%s is not empty: an image goes into a new or empty directory", dir);
			return err ?: -EEXIST;
		}
	} else if (errno != ENOENT) {
		err = -errno;
		pr_perror("cannot look at %s", dir);
		return err;
	}
	snprintf(w->tmp, sizeof(w->tmp), "%s.partial-%d", dir, getpid());
	if (mkdir(w->tmp, 0700)) {
		err = -errno;
		pr_perror("cannot create %s", w->tmp);
		return err;
	}
	w->records = json_object_new_array();
	w->sync = 1;
	return 0;
}

static int add_record(struct image_writer *w, const char *name, enum image_rec_type type,
		      uint64_t size, uint64_t checksum)
{
	struct json_object *r = json_object_new_object();
	char sum[32];

	snprintf(sum, sizeof(sum), "%016" PRIx64, checksum);
	json_object_object_add(r, "name", json_object_new_string(name));
	json_object_object_add(r, "type", json_object_new_string(type_name(type)));
	json_object_object_add(r, "size", json_object_new_uint64(size));
	json_object_object_add(r, "xxh64", json_object_new_string(sum));
	json_object_array_add(w->records, r);
	return 0;
}

/* One record file: header then payload, fsynced if sync. */
static int write_record(const char *dir, const char *name, enum image_rec_type type,
			const void *payload, size_t len, uint64_t *checksum, int sync)
{
	struct image_hdr h = { .format = IMAGE_FORMAT, .type = type,
			       .payload_off = sizeof(h), .payload_len = len };
	char path[PATH_MAX + 64];
	int fd, err;

	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	h.checksum = image_checksum(payload, len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = full_write(fd, &h, sizeof(h));
	if (!err)
		err = full_write(fd, payload, len);
	if (!err && sync && fsync(fd))
		err = -errno;
	close(fd);
	if (checksum)
		*checksum = h.checksum;
	return err;
}

int image_write_json(struct image_writer *w, const char *name, enum image_rec_type type,
		     struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	uint64_t sum;
	int err;

	err = write_record(w->tmp, name, type, s, len, &sum, w->sync);
	if (err) {
		pr_err("cannot write %s/%s: %s", w->tmp, name, strerror(-err));
		return err;
	}
	return add_record(w, name, type, sizeof(struct image_hdr) + len, sum);
}

int image_write_blob(struct image_writer *w, const char *name, const void *data, size_t len)
{
	uint64_t sum;
	int err = write_record(w->tmp, name, REC_BLOB, data, len, &sum, w->sync);

	if (err) {
		pr_err("cannot write %s/%s: %s", w->tmp, name, strerror(-err));
		return err;
	}
	return add_record(w, name, REC_BLOB, sizeof(struct image_hdr) + len, sum);
}

int image_pages_open(struct image_writer *w, struct image_pages *p)
{
	char path[PATH_MAX + 64];
	XXH3_state_t *st = XXH3_createState();

	memset(p, 0, sizeof(*p));
	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	snprintf(path, sizeof(path), "%s/" PAGES, w->tmp);
	p->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		int err = -errno;

		XXH3_freeState(st);
		pr_perror("cannot create %s", path);
		return err;
	}
	p->state = st;
	p->sync = w->sync;
	return 0;
}

int image_pages_append(struct image_pages *p, const void *buf, size_t len, uint64_t *off)
{
	int err;

	ssize_t n;

	if (len % IMAGE_PAGE)
		return -EINVAL;
	errno = 0;
	n = pwrite(p->fd, buf, len, IMAGE_PAGE + p->len);
	if (n != (ssize_t)len) {
		err = n < 0 ? -errno : -ENOSPC;
		return err;
	}
	XXH3_64bits_update(p->state, buf, len);
	*off = p->len;
	p->len += len;
	return 0;
}

int image_pages_close(struct image_writer *w, struct image_pages *p)
{
	struct image_hdr h = { .format = IMAGE_FORMAT, .type = REC_PAGES,
			       .payload_off = IMAGE_PAGE, .payload_len = p->len };
	char first[IMAGE_PAGE] = { 0 };
	int err = 0;

	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	h.checksum = XXH3_64bits_digest(p->state);
	memcpy(first, &h, sizeof(h));
	/* The header page last: a pages file cut short has a bad one. */
	if (pwrite(p->fd, first, sizeof(first), 0) != sizeof(first) || (p->sync && fsync(p->fd)))
		err = errno ? -errno : -EIO;
	close(p->fd);
	p->fd = -1;
	XXH3_freeState(p->state);
	p->state = NULL;
	if (err) {
		pr_err("cannot write the pages of %s: %s", w->dir, strerror(-err));
		return err;
	}
	return add_record(w, PAGES, REC_PAGES, IMAGE_PAGE + p->len, h.checksum);
}

static void remove_tree(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void sync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int image_commit(struct image_writer *w, struct json_object *meta)
{
	struct json_object *m = json_object_new_object();
	const char *s;
	int fd, err;

	json_object_object_foreach(meta, key, val)
		json_object_object_add(m, key, json_object_get(val));
	json_object_object_add(m, "format", json_object_new_int(IMAGE_FORMAT));
	json_object_object_add(m, "records", w->records);
	w->records = NULL;
	/* The manifest lists the others; its own header holds its checksum. */
	s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
	err = write_record(w->tmp, MANIFEST, REC_MANIFEST, s, strlen(s), NULL, w->sync);
	json_object_put(m);
	if (err) {
		pr_err("cannot write the manifest of %s: %s", w->dir, strerror(-err));
		goto fail;
	}
	/* The directory's entries are on disk before it takes its name. */
	fd = w->sync ? open(w->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rmdir(w->dir); /* an empty one given by the user */
	if (rename(w->tmp, w->dir)) {
		err = -errno;
		pr_perror("cannot move the image into %s", w->dir);
		goto fail;
	}
	if (w->sync)
		sync_parent(w->dir); /* and its name too */
	return 0;
fail:
	image_abort(w);
	return err;
}

void image_abort(struct image_writer *w)
{
	json_object_put(w->records);
	w->records = NULL;
	if (w->tmp[0])
		remove_tree(w->tmp);
	w->tmp[0] = 0;
}

/* ---- reading ---------------------------------------------------------- */

/* Check a record's header against its file; fills h. */
static int check_header(const char *dir, const char *name, int fd, uint32_t type,
			struct image_hdr *h)
{
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return -errno;
	err = full_pread(fd, h, sizeof(*h), 0);
	if (err == -ENODATA || (!err && (uint64_t)st.st_size < sizeof(*h))) {
		pr_err("image %s: %s is truncated (%lld bytes)", dir, name, (long long)st.st_size);
		return -EBADMSG;
	}
	if (err)
		return err;
	if (memcmp(h->magic, IMAGE_MAGIC, sizeof(h->magic))) {
		pr_err("image %s: %s is not an appshot image record", dir, name);
		return -EBADMSG;
	}
	if (h->format != IMAGE_FORMAT) {
		pr_err("image %s: %s has image format %u, this appshot reads format %u", dir, name,
		       h->format, IMAGE_FORMAT);
		return -EPROTO;
	}
	if (h->reserved) {
		pr_err("image %s: %s has a damaged header", dir, name);
		return -EBADMSG;
	}
	if (h->type != type) {
		pr_err("image %s: %s is a %s record, expected %s", dir, name, type_name(h->type),
		       type_name(type));
		return -EBADMSG;
	}
	if (h->payload_off < sizeof(*h) || h->payload_off > (uint64_t)st.st_size ||
	    h->payload_len != (uint64_t)st.st_size - h->payload_off) {
		pr_err("image %s: %s is %lld bytes, its header says %llu: truncated or damaged", dir,
		       name, (long long)st.st_size,
		       (unsigned long long)(h->payload_off + h->payload_len));
		return -EBADMSG;
	}
	return 0;
}

/* The checksum of a file's payload, read in chunks. */
static int payload_checksum(int fd, const struct image_hdr *h, uint64_t *sum)
{
	static char buf[CHUNK]; /* faulted in once, by the first record */
	XXH3_state_t *st = XXH3_createState();
	uint64_t done = 0;
	int err = 0;

	if (!st) {
		err = -ENOMEM;
		goto out;
	}
	XXH3_64bits_reset(st);
	while (done < h->payload_len) {
		size_t n = h->payload_len - done < CHUNK ? h->payload_len - done : CHUNK;

		err = full_pread(fd, buf, n, h->payload_off + done);
		if (err)
			goto out;
		XXH3_64bits_update(st, buf, n);
		done += n;
	}
	*sum = XXH3_64bits_digest(st);
out:
	XXH3_freeState(st);
	return err;
}

static uint32_t type_of(const char *s)
{
	for (uint32_t t = 1; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (type_names[t] && !strcmp(s, type_names[t]))
			return t;
	return 0;
}

/* Open one record and verify it whole. */
static int verify_record(struct image *im, const char *name, uint32_t type, uint64_t size,
			 uint64_t want)
{
	char path[PATH_MAX + 64];
	struct image_hdr h;
	uint64_t sum;
	int fd, err;

	if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
		pr_err("image %s: the manifest names a record '%s'", im->dir, name);
		return -EBADMSG;
	}
	snprintf(path, sizeof(path), "%s/%s", im->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("image %s: record %s: %s", im->dir, name, strerror(errno));
		return err == -ENOENT ? -EBADMSG : err;
	}
	err = check_header(im->dir, name, fd, type, &h);
	if (!err && h.payload_off + h.payload_len != size) {
		pr_err("image %s: %s is %llu bytes, the manifest says %llu", im->dir, name,
		       (unsigned long long)(h.payload_off + h.payload_len),
		       (unsigned long long)size);
		err = -EBADMSG;
	}
	if (!err)
		err = payload_checksum(fd, &h, &sum);
	if (!err && (sum != h.checksum || sum != want)) {
		pr_err("image %s: %s is damaged: its checksum does not match", im->dir, name);
		err = -EBADMSG;
	}
	close(fd);
	return err;
}

/* Read a JSON record after checking its header and checksum; *errp says why not. */
static struct json_object *read_json(const char *dir, const char *name, uint32_t type, int *errp)
{
	struct json_object *o = NULL;
	char path[PATH_MAX + 64], *buf = NULL;
	struct image_hdr h;
	int fd, err;

	*errp = -EBADMSG;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			pr_err("%s is not an appshot image: it has no %s", dir, name);
		else
			pr_perror("cannot open %s", path);
		return NULL;
	}
	err = check_header(dir, name, fd, type, &h);
	if (err) {
		*errp = err;
		goto out;
	}
	if (h.payload_len > (64u << 20)) {
		pr_err("image %s: %s is too large for a metadata record", dir, name);
		goto out;
	}
	buf = malloc(h.payload_len + 1);
	if (!buf || full_pread(fd, buf, h.payload_len, h.payload_off))
		goto out;
	buf[h.payload_len] = 0;
	if (image_checksum(buf, h.payload_len) != h.checksum) {
		pr_err("image %s: %s is damaged: its checksum does not match", dir, name);
		goto out;
	}
	o = json_tokener_parse(buf);
	if (!o)
		pr_err("image %s: %s does not parse", dir, name);
	else
		*errp = 0;
out:
	free(buf);
	close(fd);
	return o;
}

int image_open(struct image *im, const char *dir)
{
	struct json_object *recs, *fmt;
	int err = -EBADMSG;
	struct stat st;

	memset(im, 0, sizeof(*im));
	if (snprintf(im->dir, sizeof(im->dir), "%s", dir) >= (int)sizeof(im->dir))
		return -ENAMETOOLONG;
	if (stat(dir, &st)) {
		err = -errno;
		pr_err("no image at %s: %s", dir, strerror(errno));
		return err;
	}
	im->manifest = read_json(dir, MANIFEST, REC_MANIFEST, &err);
	if (!im->manifest)
		return err;
	if (!json_object_object_get_ex(im->manifest, "format", &fmt) ||
	    json_object_get_int(fmt) != IMAGE_FORMAT ||
	    !json_object_object_get_ex(im->manifest, "records", &recs) ||
	    !json_object_is_type(recs, json_type_array)) {
		pr_err("image %s: the manifest is not one this appshot reads", dir);
		goto fail;
	}
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		struct json_object *r = json_object_array_get_idx(recs, i), *n, *t, *s, *x;
		uint64_t want;
		char *end;

		if (!json_object_object_get_ex(r, "name", &n) ||
		    !json_object_object_get_ex(r, "type", &t) ||
		    !json_object_object_get_ex(r, "size", &s) ||
		    !json_object_object_get_ex(r, "xxh64", &x)) {
			pr_err("image %s: the manifest's record %zu is incomplete", dir, i);
			goto fail;
		}
		if (!strcmp(json_object_get_string(n), MANIFEST))
			continue; /* it cannot hold its own checksum: its header does */
		want = strtoull(json_object_get_string(x), &end, 16);
		if (*end || !type_of(json_object_get_string(t))) {
			pr_err("image %s: the manifest's record %zu is damaged", dir, i);
			goto fail;
		}
		err = verify_record(im, json_object_get_string(n),
				    type_of(json_object_get_string(t)),
				    json_object_get_uint64(s), want);
		if (err)
			goto fail;
	}
	return 0;
fail:
	image_close(im);
	return err ?: -EBADMSG;
}

void image_close(struct image *im)
{
	json_object_put(im->manifest);
	im->manifest = NULL;
}

struct json_object *image_read_json(struct image *im, const char *name)
{
	int err;

	return read_json(im->dir, name, REC_CORE, &err);
}

struct json_object *image_read_json_as(struct image *im, const char *name,
				       enum image_rec_type type)
{
	int err;

	return read_json(im->dir, name, type, &err);
}

int image_pages_fd(struct image *im, uint64_t *payload_off, uint64_t *len)
{
	char path[PATH_MAX + 64];
	struct image_hdr h;
	int fd, err;

	snprintf(path, sizeof(path), "%s/" PAGES, im->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = check_header(im->dir, PAGES, fd, REC_PAGES, &h);
	if (err) {
		close(fd);
		return err;
	}
	*payload_off = h.payload_off;
	*len = h.payload_len;
	return fd;
}

void *image_read_blob(struct image *im, const char *name, size_t *len)
{
	char path[PATH_MAX + 64], *buf = NULL;
	struct image_hdr h;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", im->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (check_header(im->dir, name, fd, REC_BLOB, &h) == 0) {
		buf = malloc(h.payload_len ? h.payload_len : 1);
		if (buf && (full_pread(fd, buf, h.payload_len, h.payload_off) ||
			    image_checksum(buf, h.payload_len) != h.checksum)) {
			pr_err("image %s: %s is damaged", im->dir, name);
			free(buf);
			buf = NULL;
		}
		*len = h.payload_len;
	}
	close(fd);
	return buf;
}
