// SPDX-License-Identifier: GPL-2.0-only
/*
 * The application's SysV IPC objects: everything in its own IPC namespace,
 * read from inside it (appshot joins it for the while, then goes back).
 *
 *   shm: id, key, mode, owner, size, removed (IPC_RMID done, still
 *        attached), and its contents as page runs (read through a mapping
 *        of our own: holes stay holes);
 *   sem: id, key, mode, owner, and every semaphore's value;
 *   msg: id, key, mode, owner, queue size, and its messages in order
 *        (copied with MSG_COPY, so they stay): type, offset and length in
 *        the blob record "ipc-messages".
 *
 * Not saved: semaphore undo values (SEM_UNDO), the times and last pids.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"
#include "js.h"
#include "log.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#define MSG_MAX (1 << 20) /* above any msgmax a queue can have here */

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* The ids listed in /proc/sysvipc/NAME (in our IPC namespace): second column. */
static int list_ids(const char *name, int **ids, size_t *n)
{
	char path[64], line[512];
	FILE *f;
	int id;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*ids = NULL;
	*n = 0;
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		int *m;

		if (sscanf(line, "%*d %d", &id) != 1)
			continue;
		m = realloc(*ids, (*n + 1) * sizeof(*m));
		if (!m) {
			fclose(f);
			return -ENOMEM;
		}
		*ids = m;
		m[(*n)++] = id;
	}
	fclose(f);
	return 0;
}

static struct json_object *perm_json(int id, const struct ipc_perm *p)
{
	struct json_object *o = json_object_new_object();

	js_i64(o, "id", id);
	js_i64(o, "key", p->__key);
	js_u64(o, "mode", p->mode & 0777);
	js_u64(o, "uid", p->uid);
	js_u64(o, "gid", p->gid);
	return o;
}

static int dump_shm(struct dump *d, int id, struct json_object *list)
{
	struct shmid_ds ds;
	struct json_object *o, *runs;
	char path[128];
	void *at;
	int fd, err;

	if (shmctl(id, IPC_STAT, &ds))
		return -errno;
	o = perm_json(id, &ds.shm_perm);
	json_object_array_add(list, o);
	js_u64(o, "size", ds.shm_segsz);
	js_bool(o, "removed", ds.shm_perm.mode & SHM_DEST);
	runs = json_object_new_array();
	json_object_object_add(o, "pages", runs);
	at = shmat(id, NULL, SHM_RDONLY);
	if (at == (void *)-1)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)at,
		 (unsigned long)at + ((ds.shm_segsz + 4095) & ~4095UL));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : dump_file_contents(d, fd, ds.shm_segsz, runs);
	if (fd >= 0)
		close(fd);
	shmdt(at);
	return err;
}

static int dump_sem(int id, struct json_object *list)
{
	struct semid_ds ds;
	struct json_object *o, *vals;
	unsigned short *v;

	if (semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) < 0)
		return -errno;
	v = calloc(ds.sem_nsems, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (semctl(id, 0, GETALL, (union semun){ .array = v }) < 0) {
		free(v);
		return -errno;
	}
	o = perm_json(id, &ds.sem_perm);
	json_object_array_add(list, o);
	vals = json_object_new_array();
	for (size_t i = 0; i < ds.sem_nsems; i++)
		json_object_array_add(vals, json_object_new_int(v[i]));
	json_object_object_add(o, "values", vals);
	free(v);
	return 0;
}

struct msgbuf_big {
	long mtype;
	char mtext[MSG_MAX];
};

static int dump_msg(int id, struct json_object *list, char **blob, size_t *blob_len)
{
	static struct msgbuf_big m;
	struct json_object *o, *msgs;
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds))
		return -errno;
	o = perm_json(id, &ds.msg_perm);
	json_object_array_add(list, o);
	js_u64(o, "qbytes", ds.msg_qbytes);
	msgs = json_object_new_array();
	json_object_object_add(o, "messages", msgs);
	for (size_t i = 0; i < ds.msg_qnum; i++) {
		struct json_object *e = json_object_new_array();
		ssize_t n = msgrcv(id, &m, sizeof(m.mtext), i, IPC_NOWAIT | MSG_COPY);
		char *nb;

		if (n < 0) {
			json_object_put(e);
			return -errno;
		}
		nb = realloc(*blob, *blob_len + n + 1);
		if (!nb) {
			json_object_put(e);
			return -ENOMEM;
		}
		*blob = nb;
		memcpy(nb + *blob_len, m.mtext, n);
		json_object_array_add(e, json_object_new_int64(m.mtype));
		json_object_array_add(e, json_object_new_uint64(*blob_len));
		json_object_array_add(e, json_object_new_uint64(n));
		json_object_array_add(msgs, e);
		*blob_len += n;
	}
	return 0;
}

/* Every object of one kind, in the namespace we are in now. */
static int dump_kind(struct dump *d, const char *kind, struct json_object *ipc, char **blob,
		     size_t *blob_len)
{
	struct json_object *list = json_object_new_array();
	int *ids = NULL, err;
	size_t n = 0;

	json_object_object_add(ipc, kind, list);
	err = list_ids(kind, &ids, &n);
	for (size_t i = 0; i < n && !err; i++) {
		if (!strcmp(kind, "shm"))
			err = dump_shm(d, ids[i], list);
		else if (!strcmp(kind, "sem"))
			err = dump_sem(ids[i], list);
		else
			err = dump_msg(ids[i], list, blob, blob_len);
		if (err)
			pr_err("cannot save SysV %s %d: %s", kind, ids[i], strerror(-err));
	}
	free(ids);
	return err;
}

int dump_ipc(struct dump *d, pid_t pid, struct json_object **out)
{
	struct json_object *ipc = json_object_new_object();
	char path[64], *blob = NULL;
	size_t blob_len = 0;
	int ours, theirs, err;

	*out = ipc;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	ours = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (ours < 0 || theirs < 0 || setns(theirs, CLONE_NEWIPC)) {
		err = -errno;
		pr_err("cannot enter the IPC namespace of pid %d: %s", pid, strerror(errno));
		goto out;
	}
	err = dump_kind(d, "shm", ipc, &blob, &blob_len);
	if (!err)
		err = dump_kind(d, "sem", ipc, &blob, &blob_len);
	if (!err)
		err = dump_kind(d, "msg", ipc, &blob, &blob_len);
	if (setns(ours, CLONE_NEWIPC)) {
		pr_perror("cannot go back to appshot's IPC namespace");
		err = err ?: -errno;
	}
	if (!err)
		err = image_write_blob(&d->w, "ipc-messages", blob ? blob : "", blob_len);
out:
	free(blob);
	if (ours >= 0)
		close(ours);
	if (theirs >= 0)
		close(theirs);
	return err;
}

static int is_app_pid(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; pid > 0 && i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/*
 * SysV objects of the machine's IPC namespace the application uses, as
 * the kernel names them: a segment it made or last attached, a queue it
 * last sent to or read from (/proc/sysvipc), a semaphore it last changed
 * (GETPID). One is named and refused.
 */
static int shared_objects_used(const pid_t *pids, size_t n, const char *app)
{
	char line[512];
	int id, a, b;
	FILE *f;

	f = fopen("/proc/sysvipc/shm", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %d %*o %*u %d %d", &id, &a, &b) == 3 &&
		    (is_app_pid(pids, n, a) || is_app_pid(pids, n, b))) {
			fclose(f);
			pr_err("'%s' uses SysV shared memory segment %d of the machine's IPC "
			       "namespace (pid %d made or last attached it)", app, id,
			       is_app_pid(pids, n, a) ? a : b);
			return -ENOTSUP;
		}
	if (f)
		fclose(f);
	f = fopen("/proc/sysvipc/msg", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %d %*o %*u %*u %d %d", &id, &a, &b) == 3 &&
		    (is_app_pid(pids, n, a) || is_app_pid(pids, n, b))) {
			fclose(f);
			pr_err("'%s' uses SysV message queue %d of the machine's IPC namespace (pid %d "
			       "last sent or received on it)", app, id,
			       is_app_pid(pids, n, a) ? a : b);
			return -ENOTSUP;
		}
	if (f)
		fclose(f);
	f = fopen("/proc/sysvipc/sem", "re");
	while (f && fgets(line, sizeof(line), f)) {
		int nsems;

		if (sscanf(line, "%*d %d %*o %d", &id, &nsems) != 2)
			continue;
		for (int k = 0; k < nsems; k++) {
			int pid = semctl(id, k, GETPID);

			if (!is_app_pid(pids, n, pid))
				continue;
			fclose(f);
			pr_err("'%s' uses SysV semaphore set %d of the machine's IPC namespace (pid %d "
			       "last changed its semaphore %d)", app, id, pid, k);
			return -ENOTSUP;
		}
	}
	if (f)
		fclose(f);
	return 0;
}

int dump_ipc_private(const pid_t *pids, size_t n, const char *app)
{
	struct stat ours, first, theirs;
	char path[64];

	if (stat("/proc/self/ns/ipc", &ours))
		return -errno;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pids[i]);
		if (stat(path, &theirs))
			return -errno;
		if (i && theirs.st_ino != first.st_ino) {
			pr_err("'%s' has processes in several IPC namespaces (pids %d and %d): appshot "
			       "saves an application in one", app, pids[0], pids[i]);
			return -ENOTSUP;
		}
		first = theirs;
	}
	return n && first.st_ino != ours.st_ino;
}

int dump_ipc_check_shared(const pid_t *pids, size_t n, const char *app)
{
	return shared_objects_used(pids, n, app);
}
