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

/* head: the bytes before the record's payload (its header, padded), checksummed too. */
static int add_record(struct image_writer *w, const char *name, enum image_rec_type type,
		      uint64_t size, uint64_t checksum, const void *head, size_t head_len)
{
	struct json_object *r = json_object_new_object();
	char sum[32];

	snprintf(sum, sizeof(sum), "%016" PRIx64, checksum);
	json_object_object_add(r, "name", json_object_new_string(name));
	json_object_object_add(r, "type", json_object_new_string(type_name(type)));
	json_object_object_add(r, "size", json_object_new_uint64(size));
	json_object_object_add(r, "xxh64", json_object_new_string(sum));
	snprintf(sum, sizeof(sum), "%016" PRIx64, image_checksum(head, head_len));
	json_object_object_add(r, "head_xxh64", json_object_new_string(sum));
	json_object_array_add(w->records, r);
	return 0;
}

/* One record file: header (into *hdr) then payload, fsynced if sync. */
static int write_record(const char *dir, const char *name, enum image_rec_type type,
			const void *payload, size_t len, struct image_hdr *hdr, int sync)
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
	if (hdr)
		*hdr = h;
	return err;
}

int image_write_json(struct image_writer *w, const char *name, enum image_rec_type type,
		     struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	struct image_hdr h;
	int err;

	err = write_record(w->tmp, name, type, s, len, &h, w->sync);
	if (err) {
		pr_err("cannot write %s/%s: %s", w->tmp, name, strerror(-err));
		return err;
	}
	return add_record(w, name, type, sizeof(h) + len, h.checksum, &h, sizeof(h));
}

int image_write_blob(struct image_writer *w, const char *name, const void *data, size_t len)
{
	struct image_hdr h;
	int err = write_record(w->tmp, name, REC_BLOB, data, len, &h, w->sync);

	if (err) {
		pr_err("cannot write %s/%s: %s", w->tmp, name, strerror(-err));
		return err;
	}
	return add_record(w, name, REC_BLOB, sizeof(h) + len, h.checksum, &h, sizeof(h));
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
	return add_record(w, PAGES, REC_PAGES, IMAGE_PAGE + p->len, h.checksum, first,
			  sizeof(first));
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

/*
 * An image is read by root and makes processes of what it holds: it must be
 * its reader's, or root's, and nobody else's to change (as sshd's
 * StrictModes): the directory and every record owned by the reader or root,
 * not writable by group or others. Records are opened in the directory
 * (its fd) by the plain names the manifest lists, never following a
 * symbolic link nor waiting on a FIFO, and must be regular files. Each is
 * verified whole once; JSON records and blobs are read into memory as they
 * are verified and used from there, the pages from the fd they were
 * verified through: what is used is what was checked, with no window.
 */

static int trusted(const char *dir, const char *what, const struct stat *st)
{
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		pr_err("image %s: refusing it: %s is owned by uid %u, not by you or root", dir,
		       what, (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_mode & 022) {
		pr_err("image %s: refusing it: %s can be written by %s (mode %03o)", dir, what,
		       st->st_mode & 002 ? "anyone" : "its group", (unsigned)(st->st_mode & 0777));
		return -EPERM;
	}
	return 0;
}

/* A plain name, as the writer makes them: no path, no surprise. */
static int plain_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IMAGE_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Check a record's header against its file (st); fills h. */
static int check_header(const char *dir, const char *name, int fd, const struct stat *st,
			uint32_t type, struct image_hdr *h)
{
	int err = full_pread(fd, h, sizeof(*h), 0);

	if (err == -ENODATA || (!err && (uint64_t)st->st_size < sizeof(*h))) {
		pr_err("image %s: %s is truncated (%lld bytes)", dir, name, (long long)st->st_size);
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
	if (h->payload_off < sizeof(*h) || h->payload_off > IMAGE_PAGE ||
	    h->payload_off > (uint64_t)st->st_size ||
	    h->payload_len != (uint64_t)st->st_size - h->payload_off) {
		pr_err("image %s: %s is %lld bytes, its header says %llu: truncated or damaged", dir,
		       name, (long long)st->st_size,
		       (unsigned long long)(h->payload_off + h->payload_len));
		return -EBADMSG;
	}
	return 0;
}

/* Open record name of the image (trusted, regular, its header right); fd or -errno. */
static int open_record(struct image *im, const char *name, uint32_t type, struct image_hdr *h)
{
	struct stat st;
	int fd, err;

	fd = openat(im->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (errno == ENOENT && type == REC_MANIFEST)
			pr_err("%s is not an appshot image: it has no %s", im->dir, name);
		else if (errno == ENOENT)
			pr_err("image %s: record %s is missing", im->dir, name);
		else if (errno == ELOOP)
			pr_err("image %s: %s is a symbolic link", im->dir, name);
		else
			pr_err("image %s: record %s: %s", im->dir, name, strerror(errno));
		return err == -ENOENT || err == -ELOOP ? -EBADMSG : err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("image %s: %s is not a regular file", im->dir, name);
		close(fd);
		return -EBADMSG;
	}
	err = trusted(im->dir, name, &st) ?: check_header(im->dir, name, fd, &st, type, h);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The checksum of [off, off + len) of fd, read in chunks. */
static int file_checksum(int fd, uint64_t off, uint64_t len, uint64_t *sum)
{
	static char buf[CHUNK]; /* faulted in once, by the first record */
	XXH3_state_t *st = XXH3_createState();
	uint64_t done = 0;
	int err = 0;

	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	while (done < len) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		err = full_pread(fd, buf, n, off + done);
		if (err)
			break;
		XXH3_64bits_update(st, buf, n);
		done += n;
	}
	*sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return err;
}

/* A record's payload read into memory and checked against the header's checksum. */
static int read_payload(struct image *im, const char *name, int fd, const struct image_hdr *h,
			uint64_t max, char **out)
{
	char *buf;

	if (h->payload_len > max) {
		pr_err("image %s: %s is too large (%llu bytes) for its kind", im->dir, name,
		       (unsigned long long)h->payload_len);
		return -EBADMSG;
	}
	buf = malloc(h->payload_len + 1);
	if (!buf)
		return -ENOMEM;
	if (full_pread(fd, buf, h->payload_len, h->payload_off)) {
		pr_err("image %s: cannot read %s", im->dir, name);
		free(buf);
		return -EIO;
	}
	buf[h->payload_len] = 0;
	if (image_checksum(buf, h->payload_len) != h->checksum) {
		pr_err("image %s: %s is damaged: its checksum does not match", im->dir, name);
		free(buf);
		return -EBADMSG;
	}
	*out = buf;
	return 0;
}

static uint32_t type_of(const char *s)
{
	for (uint32_t t = 1; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (type_names[t] && !strcmp(s, type_names[t]))
			return t;
	return 0;
}

#define JSON_MAX (64ull << 20) /* a metadata record */
#define BLOB_MAX (1ull << 32)

/*
 * Verify one record the manifest lists, whole: its header (and the rest of
 * the space before its payload) against the manifest's head_xxh64, its
 * size and its payload's checksum; keep what it holds.
 */
static int verify_record(struct image *im, struct image_rec *r, uint64_t size, uint64_t want,
			 uint64_t want_head)
{
	char head[IMAGE_PAGE];
	uint64_t sum;
	int fd, err;

	fd = open_record(im, r->name, r->type, &r->h);
	if (fd < 0)
		return fd;
	err = full_pread(fd, head, r->h.payload_off, 0);
	if (!err && image_checksum(head, r->h.payload_off) != want_head) {
		pr_err("image %s: %s is damaged: its header's checksum does not match", im->dir,
		       r->name);
		err = -EBADMSG;
	}
	if (!err && r->h.payload_off + r->h.payload_len != size) {
		pr_err("image %s: %s is %llu bytes, the manifest says %llu", im->dir, r->name,
		       (unsigned long long)(r->h.payload_off + r->h.payload_len),
		       (unsigned long long)size);
		err = -EBADMSG;
	}
	if (!err && r->h.checksum != want) {
		pr_err("image %s: %s is damaged: its checksum is not the manifest's", im->dir,
		       r->name);
		err = -EBADMSG;
	}
	if (!err && r->type == REC_PAGES) {
		err = file_checksum(fd, r->h.payload_off, r->h.payload_len, &sum);
		if (!err && sum != want) {
			pr_err("image %s: %s is damaged: its checksum does not match", im->dir,
			       r->name);
			err = -EBADMSG;
		}
		if (!err) {
			r->fd = fd; /* what is used is read through this fd */
			return 0;
		}
	} else if (!err) {
		err = read_payload(im, r->name, fd, &r->h, r->type == REC_BLOB ? BLOB_MAX : JSON_MAX,
				   &r->data);
	}
	close(fd);
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct image_rec *)a)->name, ((const struct image_rec *)b)->name);
}

static struct image_rec *find_rec(struct image *im, const char *name, uint32_t type)
{
	struct image_rec key = { 0 }, *r;

	if (snprintf(key.name, sizeof(key.name), "%s", name) >= (int)sizeof(key.name))
		return NULL;
	r = im->nrecs ? bsearch(&key, im->recs, im->nrecs, sizeof(*r), by_name) : NULL;
	if (!r)
		pr_err("image %s: it has no record %s (the manifest does not list it)", im->dir, name);
	else if (r->type != type) {
		pr_err("image %s: %s is a %s record, expected %s", im->dir, name, type_name(r->type),
		       type_name(type));
		r = NULL;
	}
	return r;
}

static const char *field(struct json_object *r, const char *key, enum json_type t)
{
	struct json_object *v;

	return json_object_object_get_ex(r, key, &v) && json_object_is_type(v, t) ?
		       json_object_get_string(v) :
		       NULL;
}

/* The manifest's list of records, checked (names, types, no name twice) into im->recs. */
static int list_records(struct image *im, struct json_object *recs, uint64_t **sums)
{
	size_t n = json_object_array_length(recs);

	im->recs = calloc(n + 1, sizeof(*im->recs));
	*sums = calloc(3 * n + 1, sizeof(**sums));
	if (!im->recs || !*sums)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(recs, i), *sz;
		const char *name = field(r, "name", json_type_string);
		const char *type = field(r, "type", json_type_string);
		const char *x = field(r, "xxh64", json_type_string);
		const char *hx = field(r, "head_xxh64", json_type_string);
		struct image_rec *rec = &im->recs[im->nrecs];
		char *end, *hend;

		if (!name || !type || !x || !hx || !json_object_object_get_ex(r, "size", &sz) ||
		    !json_object_is_type(sz, json_type_int)) {
			pr_err("image %s: the manifest's record %zu is incomplete", im->dir, i);
			return -EBADMSG;
		}
		if (!plain_name(name) || !strcmp(name, MANIFEST)) {
			pr_err("image %s: the manifest names a record '%.80s'", im->dir, name);
			return -EBADMSG;
		}
		errno = 0;
		(*sums)[3 * im->nrecs] = strtoull(x, &end, 16);
		(*sums)[3 * im->nrecs + 1] = strtoull(hx, &hend, 16);
		(*sums)[3 * im->nrecs + 2] = json_object_get_uint64(sz);
		if (errno || *end || end == x || *hend || hend == hx || !type_of(type) ||
		    type_of(type) == REC_MANIFEST) {
			pr_err("image %s: the manifest's record %s is damaged", im->dir, name);
			return -EBADMSG;
		}
		snprintf(rec->name, sizeof(rec->name), "%s", name);
		rec->type = type_of(type);
		rec->fd = -1;
		rec->index = im->nrecs++;
	}
	return 0;
}

int image_open(struct image *im, const char *dir)
{
	struct json_object *recs, *fmt;
	struct image_rec man = { .fd = -1 };
	uint64_t *sums = NULL;
	struct stat st;
	int fd, err = -EBADMSG;

	memset(im, 0, sizeof(*im));
	im->dirfd = -1;
	if (snprintf(im->dir, sizeof(im->dir), "%s", dir) >= (int)sizeof(im->dir))
		return -ENAMETOOLONG;
	im->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	if (im->dirfd < 0) {
		err = -errno;
		pr_err("no image at %s: %s", dir, strerror(errno));
		return err;
	}
	if (fstat(im->dirfd, &st) || (err = trusted(dir, "its directory", &st)))
		goto fail;
	fd = open_record(im, MANIFEST, REC_MANIFEST, &man.h);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	err = read_payload(im, MANIFEST, fd, &man.h, JSON_MAX, &man.data);
	close(fd);
	if (err)
		goto fail;
	im->manifest = json_tokener_parse(man.data);
	free(man.data);
	err = -EBADMSG;
	if (!json_object_is_type(im->manifest, json_type_object) ||
	    !json_object_object_get_ex(im->manifest, "format", &fmt) ||
	    json_object_get_int(fmt) != IMAGE_FORMAT ||
	    !json_object_object_get_ex(im->manifest, "records", &recs) ||
	    !json_object_is_type(recs, json_type_array)) {
		pr_err("image %s: the manifest is not one this appshot reads", dir);
		goto fail;
	}
	err = list_records(im, recs, &sums);
	if (err)
		goto fail;
	/* sorted by name: a name listed twice is found next to itself */
	qsort(im->recs, im->nrecs, sizeof(*im->recs), by_name);
	for (size_t i = 1; i < im->nrecs; i++)
		if (!strcmp(im->recs[i].name, im->recs[i - 1].name)) {
			pr_err("image %s: the manifest lists %s twice", dir, im->recs[i].name);
			err = -EBADMSG;
			goto fail;
		}
	for (size_t i = 0; i < im->nrecs; i++) {
		struct image_rec *r = &im->recs[i];

		err = verify_record(im, r, sums[3 * r->index + 2], sums[3 * r->index],
				    sums[3 * r->index + 1]);
		if (err)
			goto fail;
	}
	free(sums);
	return 0;
fail:
	free(sums);
	image_close(im);
	return err ?: -EBADMSG;
}

void image_close(struct image *im)
{
	for (size_t i = 0; i < im->nrecs; i++) {
		free(im->recs[i].data);
		if (im->recs[i].fd >= 0)
			close(im->recs[i].fd);
	}
	free(im->recs);
	im->recs = NULL;
	im->nrecs = 0;
	json_object_put(im->manifest);
	im->manifest = NULL;
	if (im->dirfd >= 0)
		close(im->dirfd);
	im->dirfd = -1;
}

struct json_object *image_read_json_as(struct image *im, const char *name,
				       enum image_rec_type type)
{
	struct image_rec *r = find_rec(im, name, type);
	struct json_object *o = r ? json_tokener_parse(r->data) : NULL;

	if (r && !o)
		pr_err("image %s: %s does not parse", im->dir, name);
	return o;
}

struct json_object *image_read_json(struct image *im, const char *name)
{
	return image_read_json_as(im, name, REC_CORE);
}

int image_pages_fd(struct image *im, uint64_t *payload_off, uint64_t *len)
{
	struct image_rec *r = find_rec(im, PAGES, REC_PAGES);
	int fd;

	if (!r)
		return -EBADMSG;
	fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	*payload_off = r->h.payload_off;
	*len = r->h.payload_len;
	return fd;
}

void *image_read_blob(struct image *im, const char *name, size_t *len)
{
	struct image_rec *r = find_rec(im, name, REC_BLOB);
	void *buf;

	if (!r)
		return NULL;
	if (!r->data) {
		pr_err("image %s: %s is used twice", im->dir, name);
		return NULL;
	}
	buf = r->data; /* handed over: verified, and read once */
	r->data = NULL;
	*len = r->h.payload_len;
	return buf;
}
