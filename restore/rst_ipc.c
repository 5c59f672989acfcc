// SPDX-License-Identifier: GPL-2.0-only
/*
 * The application's SysV objects, made first (DESIGN.md, restore step 3)
 * by the init of its new IPC namespace, before any of its processes: each
 * with its id (the namespace's {shm,sem,msg}_next_id set just before it is
 * made, and the id the kernel gave checked), key, mode, owner and contents.
 * Segments removed while still attached are made, attached by the
 * processes that had them, and removed again once they have.
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
#include <unistd.h>
#include <json-c/json.h>

#include "js.h"
#include "log.h"
#include "rst.h"
#include "tables.h"

#define PAGE 4096ULL

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

struct rst_ipc_obj {
	int id, key;
	unsigned int mode, uid, gid;
	int removed;
	uint64_t size; /* shm */
	struct rst_run *runs;
	size_t nruns;
	unsigned short *values; /* sem */
	size_t nvalues;
	uint64_t qbytes; /* msg */
	struct {
		long type;
		uint64_t off, len;
	} *msgs;
	size_t nmsgs;
};

struct rst_ipc {
	struct rst_ipc_obj *shm, *sem, *msg;
	size_t nshm, nsem, nmsg;
	char *blob;
	size_t blob_len;
};

#define BAD(...)                                                              \
	do {                                                                  \
		pr_err("image: SysV objects: " __VA_ARGS__);                  \
		return -EBADMSG;                                              \
	} while (0)

static int parse_perm(struct json_object *o, struct rst_ipc_obj *ob)
{
	uint64_t mode, uid, gid;

	if (jg_int(o, "id", &ob->id) || ob->id < 0 || jg_int(o, "key", &ob->key) ||
	    jg_u64(o, "mode", &mode) || jg_u64(o, "uid", &uid) || jg_u64(o, "gid", &gid) ||
	    mode > 0777)
		return -1;
	ob->mode = mode;
	ob->uid = uid;
	ob->gid = gid;
	return 0;
}

static int parse_kind(struct json_object *ipc, const char *kind, struct rst_ipc_obj **out,
		      size_t *n, uint64_t pages_len, uint64_t blob_len)
{
	struct json_object *a = jg_arr(ipc, kind);

	if (!a)
		BAD("the %s list is missing", kind);
	*n = ja_len(a);
	*out = calloc(*n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++) {
		struct json_object *o = ja_at(a, i), *l;
		struct rst_ipc_obj *ob = &(*out)[i];

		if (parse_perm(o, ob))
			BAD("%s %zu is damaged", kind, i);
		if (!strcmp(kind, "shm")) {
			if (jg_u64(o, "size", &ob->size) || jg_bool(o, "removed", &ob->removed) ||
			    rst_parse_runs(jg_arr(o, "pages"), pages_len, &ob->runs, &ob->nruns))
				BAD("shm %d is damaged", ob->id);
			for (size_t k = 0; k < ob->nruns; k++)
				if ((ob->runs[k].start + ob->runs[k].npages) * PAGE >
				    ob->size + PAGE - 1)
					BAD("shm %d: a page run lies past its end", ob->id);
		} else if (!strcmp(kind, "sem")) {
			l = jg_arr(o, "values");
			if (!l || !ja_len(l) || ja_len(l) > 65536)
				BAD("sem %d has no values", ob->id);
			ob->nvalues = ja_len(l);
			ob->values = calloc(ob->nvalues, sizeof(*ob->values));
			if (!ob->values)
				return -ENOMEM;
			for (size_t k = 0; k < ob->nvalues; k++) {
				int v = json_object_get_int(ja_at(l, k));

				if (v < 0 || v > 32767)
					BAD("sem %d: value %d is out of range", ob->id, v);
				ob->values[k] = v;
			}
		} else {
			l = jg_arr(o, "messages");
			if (!l || jg_u64(o, "qbytes", &ob->qbytes))
				BAD("msg %d is damaged", ob->id);
			ob->nmsgs = ja_len(l);
			ob->msgs = calloc(ob->nmsgs + 1, sizeof(*ob->msgs));
			if (!ob->msgs)
				return -ENOMEM;
			for (size_t k = 0; k < ob->nmsgs; k++) {
				struct json_object *m = ja_at(l, k);

				if (!json_object_is_type(m, json_type_array) ||
				    ja_len(m) != 3)
					BAD("msg %d: message %zu is damaged", ob->id, k);
				ob->msgs[k].type = json_object_get_int64(ja_at(m, 0));
				ob->msgs[k].off = json_object_get_uint64(ja_at(m, 1));
				ob->msgs[k].len = json_object_get_uint64(ja_at(m, 2));
				if (ob->msgs[k].type <= 0 || ob->msgs[k].off > blob_len ||
				    ob->msgs[k].len > blob_len - ob->msgs[k].off)
					BAD("msg %d: message %zu lies outside its bytes", ob->id, k);
			}
		}
	}
	return 0;
}

int rst_ipc_read(struct image *im, uint64_t pages_len, struct rst_app *a)
{
	struct json_object *ipc;
	struct rst_ipc *r;
	int err;

	if (!json_object_object_get_ex(im->manifest, "ipc", NULL))
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	a->ipc = r;
	ipc = image_read_json_as(im, "ipc", REC_IPC);
	r->blob = image_read_blob(im, "ipc-messages", &r->blob_len);
	if (!ipc || !r->blob) {
		json_object_put(ipc);
		BAD("the record or its messages cannot be read");
	}
	err = parse_kind(ipc, "shm", &r->shm, &r->nshm, pages_len, r->blob_len);
	if (!err)
		err = parse_kind(ipc, "sem", &r->sem, &r->nsem, pages_len, r->blob_len);
	if (!err)
		err = parse_kind(ipc, "msg", &r->msg, &r->nmsg, pages_len, r->blob_len);
	json_object_put(ipc);
	return err;
}

static void free_objs(struct rst_ipc_obj *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		free(o[i].runs);
		free(o[i].values);
		free(o[i].msgs);
	}
	free(o);
}

void rst_ipc_free(struct rst_app *a)
{
	struct rst_ipc *r = a->ipc;

	if (!r)
		return;
	free_objs(r->shm, r->nshm);
	free_objs(r->sem, r->nsem);
	free_objs(r->msg, r->nmsg);
	free(r->blob);
	free(r);
	a->ipc = NULL;
}

/* The next object of this kind made in our IPC namespace gets id. */
static int next_id(const char *kind, int id)
{
	char path[64], num[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(num, sizeof(num), "%d", id);
	if (write(fd, num, n) != n)
		err = -errno;
	close(fd);
	return err;
}

#define FAIL(...)                                                             \
	do {                                                                  \
		snprintf(why, len, __VA_ARGS__);                              \
		return -1;                                                    \
	} while (0)

static int got_id(const char *kind, const struct rst_ipc_obj *o, int id, char *why, size_t len)
{
	if (id < 0)
		FAIL("cannot make SysV %s %d: %s", kind, o->id, strerror(errno));
	if (id != o->id)
		FAIL("SysV %s %d came back as %d: the namespace gave another id than asked", kind,
		     o->id, id);
	return 0;
}

/* The object's owner and mode, as IPC_SET takes them. */
static void own(struct ipc_perm *p, const struct rst_ipc_obj *o)
{
	p->uid = o->uid;
	p->gid = o->gid;
	p->mode = o->mode;
}

static int make_shm(const struct rst_ipc_obj *o, int pages_fd, uint64_t pages_off, char *why,
		    size_t len)
{
	struct shmid_ds ds;
	char *at;
	int id;

	if (next_id("shm", o->id))
		FAIL("cannot ask for SysV shm id %d: %s", o->id, strerror(errno));
	id = shmget(o->key, o->size, IPC_CREAT | IPC_EXCL | 0600);
	if (got_id("shm", o, id, why, len))
		return -1;
	at = shmat(id, NULL, 0);
	if (at == (void *)-1)
		FAIL("cannot fill SysV shm %d: %s", id, strerror(errno));
	for (size_t i = 0; i < o->nruns; i++) {
		size_t n = o->runs[i].npages * PAGE, done = 0;
		uint64_t dst = o->runs[i].start * PAGE;

		if (dst + n > o->size)
			n = o->size - dst; /* the last page is only partly the segment's */
		while (done < n) {
			ssize_t k = pread(pages_fd, at + dst + done, n - done,
					  pages_off + o->runs[i].off + done);

			if (k <= 0) {
				shmdt(at);
				FAIL("cannot fill SysV shm %d from the image: %s", id,
				     k < 0 ? strerror(errno) : "it ends early");
			}
			done += k;
		}
	}
	shmdt(at);
	if (shmctl(id, IPC_STAT, &ds))
		FAIL("SysV shm %d: %s", id, strerror(errno));
	own(&ds.shm_perm, o);
	if (shmctl(id, IPC_SET, &ds))
		FAIL("cannot give SysV shm %d its owner and mode: %s", id, strerror(errno));
	return 0;
}

static int make_sem(const struct rst_ipc_obj *o, char *why, size_t len)
{
	struct semid_ds ds;
	int id;

	if (next_id("sem", o->id))
		FAIL("cannot ask for SysV sem id %d: %s", o->id, strerror(errno));
	id = semget(o->key, o->nvalues, IPC_CREAT | IPC_EXCL | 0600);
	if (got_id("sem", o, id, why, len))
		return -1;
	if (semctl(id, 0, SETALL, (union semun){ .array = o->values }) < 0)
		FAIL("cannot set the values of SysV sem %d: %s", id, strerror(errno));
	if (semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) < 0)
		FAIL("SysV sem %d: %s", id, strerror(errno));
	own(&ds.sem_perm, o);
	if (semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }) < 0)
		FAIL("cannot give SysV sem %d its owner and mode: %s", id, strerror(errno));
	return 0;
}

static int make_msg(const struct rst_ipc_obj *o, const char *blob, char *why, size_t len)
{
	struct msqid_ds ds;
	struct {
		long type;
		char text[];
	} *m;
	int id;

	if (next_id("msg", o->id))
		FAIL("cannot ask for SysV msg id %d: %s", o->id, strerror(errno));
	id = msgget(o->key, IPC_CREAT | IPC_EXCL | 0600);
	if (got_id("msg", o, id, why, len))
		return -1;
	if (msgctl(id, IPC_STAT, &ds))
		FAIL("SysV msg %d: %s", id, strerror(errno));
	ds.msg_qbytes = o->qbytes; /* first: its messages must fit */
	if (msgctl(id, IPC_SET, &ds))
		FAIL("cannot give SysV msg %d its size %llu: %s", id,
		     (unsigned long long)o->qbytes, strerror(errno));
	for (size_t k = 0; k < o->nmsgs; k++) {
		m = malloc(sizeof(*m) + o->msgs[k].len);
		if (!m)
			FAIL("out of memory");
		m->type = o->msgs[k].type;
		memcpy(m->text, blob + o->msgs[k].off, o->msgs[k].len);
		if (msgsnd(id, m, o->msgs[k].len, IPC_NOWAIT)) {
			free(m);
			FAIL("cannot put message %zu back into SysV msg %d: %s", k, id,
			     strerror(errno));
		}
		free(m);
	}
	own(&ds.msg_perm, o);
	if (msgctl(id, IPC_SET, &ds))
		FAIL("cannot give SysV msg %d its owner and mode: %s", id, strerror(errno));
	return 0;
}

int rst_ipc_has_shm(const struct rst_app *a, int id)
{
	for (size_t i = 0; a->ipc && i < a->ipc->nshm; i++)
		if (a->ipc->shm[i].id == id)
			return 1;
	return 0;
}

int rst_ipc_make(const struct rst_app *a, int pages_fd, uint64_t pages_off, char *why, size_t len)
{
	const struct rst_ipc *r = a->ipc;

	if (!r)
		return 0;
	for (size_t i = 0; i < r->nshm; i++)
		if (make_shm(&r->shm[i], pages_fd, pages_off, why, len))
			return -1;
	for (size_t i = 0; i < r->nsem; i++)
		if (make_sem(&r->sem[i], why, len))
			return -1;
	for (size_t i = 0; i < r->nmsg; i++)
		if (make_msg(&r->msg[i], r->blob, why, len))
			return -1;
	return 0;
}

int rst_ipc_finish(const struct rst_app *a, pid_t in_ns)
{
	const struct rst_ipc *r = a->ipc;
	int ours, theirs, err = 0, any = 0;
	char path[64];

	for (size_t i = 0; r && i < r->nshm; i++)
		any |= r->shm[i].removed;
	if (!any)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", in_ns);
	ours = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (ours < 0 || theirs < 0 || setns(theirs, CLONE_NEWIPC)) {
		err = -errno;
		pr_perror("restore: cannot enter the application's IPC namespace");
		goto out;
	}
	for (size_t i = 0; i < r->nshm && !err; i++)
		if (r->shm[i].removed && shmctl(r->shm[i].id, IPC_RMID, NULL)) {
			err = -errno;
			pr_perror("restore: cannot remove SysV shm %d again", r->shm[i].id);
		}
	if (setns(ours, CLONE_NEWIPC)) {
		pr_perror("restore: cannot go back to appshot's IPC namespace");
		err = err ?: -errno;
	}
out:
	if (ours >= 0)
		close(ours);
	if (theirs >= 0)
		close(theirs);
	return err;
}

size_t rst_ipc_count(const struct rst_app *a)
{
	return a->ipc ? a->ipc->nshm + a->ipc->nsem + a->ipc->nmsg : 0;
}

int rst_ipc_register(const struct rst_app *a, struct tracer *tr, __u32 aid, pid_t init)
{
	const struct rst_ipc *r = a->ipc;
	const struct {
		enum appshot_ipc_kind kind;
		const struct rst_ipc_obj *objs;
		size_t n;
	} all[] = { { IPCK_SHM, r ? r->shm : NULL, r ? r->nshm : 0 },
		    { IPCK_SEM, r ? r->sem : NULL, r ? r->nsem : 0 },
		    { IPCK_MSG, r ? r->msg : NULL, r ? r->nmsg : 0 } };
	int err = 0;

	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		for (size_t i = 0; i < all[k].n && !err; i++) {
			const struct rst_ipc_obj *o = &all[k].objs[i];
			struct ipc_info ii = {
				.key = o->key,
				.creator = init,
				.vcreator = 1,
				.flags = o->mode | IPC_CREAT,
				.size = all[k].kind == IPCK_SHM ? o->size : o->nvalues,
				.state = o->removed ? IPCS_REMOVED : 0,
			};

			err = tables_add_ipc(tr, aid, all[k].kind, o->id, &ii);
		}
	if (err)
		pr_err("restore: cannot tell the tracer the SysV objects: %s", strerror(-err));
	return err;
}
