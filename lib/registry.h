/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The AID registry: application names and their numbers, kept on disk
 * (survives restarts) under one lock. A number is handed out once, ever:
 * the counter only grows and is on disk before the number is used.
 */
#ifndef APPSHOT_REGISTRY_H
#define APPSHOT_REGISTRY_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "trace.h"

#define APPSHOT_STATE_DIR "/var/lib/appshot"

enum app_mode {
	APP_RUN, /* started by appshot run */
	APP_ATTACH, /* adopted by appshot-trace attach */
	APP_RESTORE, /* brought back from an image by appshot restore */
};

/*
 * An open file the application was given knowingly (appshot run
 * --preserve-fds, appshot-trace attach --external-fd): not its own, so a
 * snapshot records where it goes and a restore is given its replacement.
 * key: the fd it was given as; file: its open file (the kernel's address,
 * its identity while open).
 */
#define APP_MAX_EXTERNAL 64
struct app_external {
	int key;
	uint64_t file;
};

struct app_record {
	char name[APPSHOT_NAME_LEN];
	uint32_t aid;
	enum app_mode mode;
	pid_t root; /* system pid of the first process (run: appshot's init) */
	int own_ns; /* in its own pid, ipc and uts namespaces */
	uint64_t created; /* seconds since the epoch */
	char cgroup[PATH_MAX]; /* the application's cgroup */
	char origin_cgroup[PATH_MAX]; /* where its processes go back on detach */
	struct app_external external[APP_MAX_EXTERNAL];
	size_t nexternal;
};

struct registry {
	char dir[PATH_MAX - 256]; /* room left for the file names under it */
	int lock_fd;
};

/* The state directory: $APPSHOT_STATE_DIR or /var/lib/appshot. */
const char *registry_default_dir(void);
/*
 * Open the registry, creating it 0700. With lock, hold its lock until
 * registry_close (waiting for it if needed): every command that changes
 * applications does. Readers need no lock: records are replaced atomically.
 */
int registry_open(struct registry *r, const char *dir, int lock);
void registry_close(struct registry *r);
/*
 * A new application: -EEXIST if the name is taken. Fills rec->aid with the
 * next number for which in_use (if given) says no: the tracer is shared by
 * whatever registries there are, and a number it holds is never reused.
 */
int registry_add(struct registry *r, struct app_record *rec,
		 int (*in_use)(uint32_t aid, void *ctx), void *ctx);
int registry_get(struct registry *r, const char *name, struct app_record *rec);
int registry_get_aid(struct registry *r, uint32_t aid, struct app_record *rec);
int registry_update(struct registry *r, const struct app_record *rec);
int registry_remove(struct registry *r, const char *name);
/* Every application, sorted by number; free(*recs) after. */
int registry_list(struct registry *r, struct app_record **recs, size_t *n);

const char *app_mode_name(enum app_mode mode);

#endif /* APPSHOT_REGISTRY_H */
