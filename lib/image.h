/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The on-disk image: a directory (0700) of record files (0600). Each record
 * starts with a header (magic, format version, type, where its payload is
 * and how long, the payload's checksum); `manifest` lists every record with
 * its size and checksum. Metadata records hold JSON, `pages` holds memory,
 * page-aligned. Images are written in a temporary directory renamed into
 * place last, and nothing in one is used before all of it is verified.
 */
#ifndef APPSHOT_IMAGE_H
#define APPSHOT_IMAGE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define IMAGE_MAGIC "APSHIMG\n"
#define IMAGE_FORMAT 2 /* 2: the manifest checksums each record's header too */
#define IMAGE_PAGE 4096

enum image_rec_type {
	REC_MANIFEST = 1,
	REC_CORE = 2, /* one process: JSON */
	REC_PAGES = 3, /* memory: page-aligned payload */
	REC_BLOB = 4, /* contents of a file that no longer has a name */
	REC_IPC = 5, /* the application's SysV IPC objects: JSON */
};

struct image_hdr {
	char magic[8];
	uint32_t format;
	uint32_t type;
	uint64_t payload_off;
	uint64_t payload_len;
	uint64_t checksum; /* XXH3-64 of the payload */
	uint64_t reserved;
};

/* ---- writing ---- */

struct image_writer {
	char dir[PATH_MAX - 64]; /* where the image will be */
	char tmp[PATH_MAX]; /* where it is written meanwhile */
	struct json_object *records;
	int sync; /* fsync everything before the image takes its name (the default) */
};

/*
 * Start an image at dir, which must not exist or be empty. It is synced to
 * disk unless w->sync is cleared after this: then it is as atomic (never
 * used unless whole and verified) but may not survive a power failure.
 */
int image_create(struct image_writer *w, const char *dir);
int image_write_json(struct image_writer *w, const char *name, enum image_rec_type type,
		     struct json_object *o);
int image_write_blob(struct image_writer *w, const char *name, const void *data, size_t len);

/* The pages record, written in order; offsets are from the payload's start. */
struct image_pages {
	int fd;
	uint64_t len;
	void *state; /* XXH3 streaming state */
	int sync;
};

int image_pages_open(struct image_writer *w, struct image_pages *p);
/* Append len bytes (a multiple of IMAGE_PAGE); *off gets where they start. */
int image_pages_append(struct image_pages *p, const void *buf, size_t len, uint64_t *off);
int image_pages_close(struct image_writer *w, struct image_pages *p);

/* Write the manifest (meta merged in), sync everything, move into place. */
int image_commit(struct image_writer *w, struct json_object *meta);
/* Remove what was written: nothing of a failed snapshot stays. */
void image_abort(struct image_writer *w);

/* ---- reading ---- */

#define IMAGE_NAME_MAX 64 /* a record's name, its NUL included */

/* A record the manifest lists, verified. */
struct image_rec {
	char name[IMAGE_NAME_MAX];
	uint32_t type;
	size_t index; /* in the manifest's list */
	struct image_hdr h;
	char *data; /* JSON and blobs: the payload, as verified (NUL-terminated) */
	int fd; /* pages: the fd it was verified through, or -1 */
};

struct image {
	char dir[PATH_MAX - 64];
	int dirfd;
	struct json_object *manifest;
	struct image_rec *recs; /* sorted by name */
	size_t nrecs;
};

/*
 * Open and verify an image: the directory and every record its reader's
 * or root's and nobody else's to write, the manifest, then every record it
 * lists (header, size, checksums), pages included, each from one open fd;
 * what is read later is what was verified. Errors say what is wrong.
 */
int image_open(struct image *im, const char *dir);
void image_close(struct image *im);
/* A JSON record the manifest lists, parsed; json_object_put() it. NULL (said) if not. */
struct json_object *image_read_json(struct image *im, const char *name);
/* The same, for a JSON record of another type than a process's core. */
struct json_object *image_read_json_as(struct image *im, const char *name,
				       enum image_rec_type type);
/* The pages record: an open fd and where the payload starts in it. */
int image_pages_fd(struct image *im, uint64_t *payload_off, uint64_t *len);
/* A blob record's bytes, handed over (once): free() them. NULL (said) if not there. */
void *image_read_blob(struct image *im, const char *name, size_t *len);

/* XXH3-64 of a buffer, as images use it. */
uint64_t image_checksum(const void *buf, size_t len);

#endif /* APPSHOT_IMAGE_H */
