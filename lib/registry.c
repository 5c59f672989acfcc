// SPDX-License-Identifier: GPL-2.0-only
/*
 * The AID registry on disk:
 *   DIR/lock             flock()ed by every command that changes applications
 *   DIR/next-aid         the next number to hand out
 *   DIR/apps/NAME.json   one record per application
 * Files are replaced atomically (temp, rename), without fsync: they describe
 * running applications, which a power failure ends anyway; next-aid only
 * has to grow while the machine is up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <json-c/json.h>

#include "log.h"
#include "names.h"
#include "registry.h"
#include "util.h"

static const char *const mode_names[] = { [APP_RUN] = "run", [APP_ATTACH] = "attach",
					       [APP_RESTORE] = "restore" };

const char *app_mode_name(enum app_mode mode)
{
	return mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

const char *registry_default_dir(void)
{
	const char *d = getenv("APPSHOT_STATE_DIR");

	return d && *d ? d : APPSHOT_STATE_DIR;
}

int registry_open(struct registry *r, const char *dir, int lock)
{
	char path[PATH_MAX];
	int err;

	r->lock_fd = -1;
	if (snprintf(r->dir, sizeof(r->dir), "%s", dir) >= (int)sizeof(r->dir))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/apps", dir);
	err = mkdir_p(path, 0700);
	if (err) {
		pr_err("cannot create the registry %s: %s", path, strerror(-err));
		return err;
	}
	if (!lock)
		return 0;
	snprintf(path, sizeof(path), "%s/lock", dir);
	r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lock_fd < 0) {
		err = -errno;
		pr_perror("cannot open the registry lock %s", path);
		return err;
	}
	if (flock(r->lock_fd, LOCK_EX)) {
		err = -errno;
		pr_perror("cannot lock the registry %s", path);
		close(r->lock_fd);
		r->lock_fd = -1;
		return err;
	}
	return 0;
}

void registry_close(struct registry *r)
{
	if (r->lock_fd >= 0)
		close(r->lock_fd); /* drops the flock */
	r->lock_fd = -1;
}

static int app_path(const struct registry *r, const char *name, char *buf, size_t len)
{
	const char *why;

	if (aid_name_check(name, &why))
		return -EINVAL;
	if (snprintf(buf, len, "%s/apps/%s.json", r->dir, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int read_next_aid(const struct registry *r, uint32_t *next)
{
	char path[PATH_MAX], buf[32], *end;
	unsigned long v;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/next-aid", r->dir);
	n = read_file(path, buf, sizeof(buf));
	if (n == -ENOENT) {
		*next = 1;
		return 0;
	}
	if (n < 0) {
		pr_err("cannot read %s: %s", path, strerror(-n));
		return n;
	}
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v == 0 || v > UINT32_MAX) {
		pr_err("%s is damaged (\"%.20s\"): not handing out application numbers", path, buf);
		return -EBADMSG;
	}
	*next = v;
	return 0;
}

static struct json_object *record_to_json(const struct app_record *rec)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(rec->name));
	json_object_object_add(o, "aid", json_object_new_int64(rec->aid));
	json_object_object_add(o, "mode", json_object_new_string(app_mode_name(rec->mode)));
	json_object_object_add(o, "root", json_object_new_int(rec->root));
	json_object_object_add(o, "own_ns", json_object_new_boolean(rec->own_ns));
	json_object_object_add(o, "created", json_object_new_int64(rec->created));
	json_object_object_add(o, "cgroup", json_object_new_string(rec->cgroup));
	json_object_object_add(o, "origin_cgroup", json_object_new_string(rec->origin_cgroup));
	if (rec->nexternal) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < rec->nexternal; i++) {
			struct json_object *e = json_object_new_object();
			char file[32];

			snprintf(file, sizeof(file), "%llx", (unsigned long long)rec->external[i].file);
			json_object_object_add(e, "key", json_object_new_int(rec->external[i].key));
			json_object_object_add(e, "file", json_object_new_string(file));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "external", a);
	}
	return o;
}

static int str_field(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	if (snprintf(buf, len, "%s", json_object_get_string(v)) >= (int)len)
		return -EBADMSG;
	return 0;
}

static int int_field(struct json_object *o, const char *key, int64_t min, int64_t max,
		     int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_int64(v);
	return *out < min || *out > max ? -EBADMSG : 0;
}

static int record_from_json(struct json_object *o, struct app_record *rec)
{
	char mode[16];
	int64_t v;
	struct json_object *b;

	memset(rec, 0, sizeof(*rec));
	if (str_field(o, "name", rec->name, sizeof(rec->name)) ||
	    str_field(o, "mode", mode, sizeof(mode)) ||
	    str_field(o, "cgroup", rec->cgroup, sizeof(rec->cgroup)) ||
	    str_field(o, "origin_cgroup", rec->origin_cgroup, sizeof(rec->origin_cgroup)))
		return -EBADMSG;
	if (int_field(o, "aid", 1, UINT32_MAX, &v))
		return -EBADMSG;
	rec->aid = v;
	if (int_field(o, "root", 0, INT32_MAX, &v))
		return -EBADMSG;
	rec->root = v;
	if (int_field(o, "created", 0, INT64_MAX, &v))
		return -EBADMSG;
	rec->created = v;
	if (!json_object_object_get_ex(o, "own_ns", &b) || !json_object_is_type(b, json_type_boolean))
		return -EBADMSG;
	rec->own_ns = json_object_get_boolean(b);
	if (json_object_object_get_ex(o, "external", &b)) {
		size_t n = json_object_is_type(b, json_type_array) ? json_object_array_length(b) : 0;

		if (!json_object_is_type(b, json_type_array) || n > APP_MAX_EXTERNAL)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(b, i);
			char file[32], *end;

			if (int_field(e, "key", 0, INT32_MAX, &v) ||
			    str_field(e, "file", file, sizeof(file)))
				return -EBADMSG;
			rec->external[i].key = v;
			errno = 0;
			rec->external[i].file = strtoull(file, &end, 16);
			if (errno || *end || end == file)
				return -EBADMSG;
		}
		rec->nexternal = n;
	}
	if (!strcmp(mode, "run"))
		rec->mode = APP_RUN;
	else if (!strcmp(mode, "attach"))
		rec->mode = APP_ATTACH;
	else if (!strcmp(mode, "restore"))
		rec->mode = APP_RESTORE;
	else
		return -EBADMSG;
	return 0;
}

static int write_record(const struct registry *r, const struct app_record *rec)
{
	struct json_object *o = record_to_json(rec);
	char path[PATH_MAX];
	const char *s;
	int err;

	err = app_path(r, rec->name, path, sizeof(path));
	if (!err) {
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
		err = write_file_replace(path, s, strlen(s), 0600);
		if (err)
			pr_err("cannot write %s: %s", path, strerror(-err));
	}
	json_object_put(o);
	return err;
}

int registry_get(struct registry *r, const char *name, struct app_record *rec)
{
	char path[PATH_MAX], buf[8192];
	struct json_object *o;
	ssize_t n;
	int err;

	err = app_path(r, name, path, sizeof(path));
	if (err)
		return err;
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	o = json_tokener_parse(buf);
	err = o ? record_from_json(o, rec) : -EBADMSG;
	json_object_put(o);
	if (!err && strcmp(rec->name, name))
		err = -EBADMSG;
	if (err)
		pr_err("the registry record %s is damaged", path);
	return err;
}

int registry_add(struct registry *r, struct app_record *rec,
		 int (*in_use)(uint32_t aid, void *ctx), void *ctx)
{
	char path[PATH_MAX], buf[32];
	uint32_t next = 0;
	int err;

	err = app_path(r, rec->name, path, sizeof(path));
	if (err)
		return err;
	if (access(path, F_OK) == 0)
		return -EEXIST;
	err = read_next_aid(r, &next);
	if (err)
		return err;
	while (in_use && next < UINT32_MAX && in_use(next, ctx))
		next++;
	if (next == UINT32_MAX) {
		pr_err("the registry has handed out every application number");
		return -ENOSPC;
	}
	/* The counter is on disk before its number is used anywhere. */
	snprintf(buf, sizeof(buf), "%u\n", next + 1);
	snprintf(path, sizeof(path), "%s/next-aid", r->dir);
	err = write_file_replace(path, buf, strlen(buf), 0600);
	if (err) {
		pr_err("cannot write %s: %s", path, strerror(-err));
		return err;
	}
	rec->aid = next;
	return write_record(r, rec);
}

int registry_update(struct registry *r, const struct app_record *rec)
{
	return write_record(r, rec);
}

int registry_remove(struct registry *r, const char *name)
{
	char path[PATH_MAX];
	int err = app_path(r, name, path, sizeof(path));

	if (err)
		return err;
	return unlink(path) ? -errno : 0;
}

static int cmp_aid(const void *a, const void *b)
{
	const struct app_record *x = a, *y = b;

	return x->aid < y->aid ? -1 : x->aid > y->aid;
}

int registry_list(struct registry *r, struct app_record **recs, size_t *n)
{
	struct app_record *v = NULL, *nv;
	char path[PATH_MAX], name[APPSHOT_NAME_LEN];
	size_t count = 0, cap = 0, len;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/apps", r->dir);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") || len - 5 >= sizeof(name))
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = 0;
		if (count == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		if (registry_get(r, name, &v[count]) == 0)
			count++;
	}
	closedir(d);
	qsort(v, count, sizeof(*v), cmp_aid);
	*recs = v;
	*n = count;
	return 0;
}

int registry_get_aid(struct registry *r, uint32_t aid, struct app_record *rec)
{
	struct app_record *recs;
	size_t n;
	int err = registry_list(r, &recs, &n);

	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].aid == aid) {
			*rec = recs[i];
			err = 0;
			break;
		}
	}
	free(recs);
	return err;
}
