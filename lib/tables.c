// SPDX-License-Identifier: GPL-2.0-only
/* Reading and removing one application's entries in the pinned maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "log.h"
#include "tables.h"

/*
 * Walk every entry of a map, calling fn(key, value, ctx). Keys are fetched
 * one by one (get_next_key), so entries that come or go meanwhile may or
 * may not be seen, as with any reader of a live map.
 */
typedef int (*walk_fn)(const void *key, const void *value, void *ctx);

static int map_walk(int fd, size_t key_size, size_t value_size, walk_fn fn, void *ctx)
{
	void *key = calloc(1, key_size), *next = calloc(1, key_size);
	void *value = calloc(1, value_size);
	int err = 0, first = 1;

	if (!key || !next || !value) {
		err = -ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		first = 0;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(fd, key, value))
			continue; /* deleted since */
		err = fn(key, value, ctx);
		if (err)
			break;
	}
out:
	free(key);
	free(next);
	free(value);
	return err;
}

/* A growing array of fixed-size elements. */
struct vec {
	void *data;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	void *nd;

	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 16;
		nd = realloc(v->data, v->cap * v->size);
		if (!nd)
			return NULL;
		v->data = nd;
	}
	return (char *)v->data + v->n++ * v->size;
}

struct collect {
	__u32 aid;
	struct vec v;
};

static int collect_task(const void *key, const void *value, void *ctx)
{
	const struct task_info *ti = value;
	struct collect *c = ctx;
	struct task_entry *e;

	if (ti->aid != c->aid)
		return 0;
	e = vec_push(&c->v);
	if (!e)
		return -ENOMEM;
	e->tid = *(const __u32 *)key;
	e->ti = *ti;
	return 0;
}

static int collect_fd(const void *key, const void *value, void *ctx)
{
	const struct fd_info *fi = value;
	struct collect *c = ctx;
	struct fd_entry *e;

	if (fi->aid != c->aid || !fi->file) /* file 0: being forgotten right now */
		return 0;
	e = vec_push(&c->v);
	if (!e)
		return -ENOMEM;
	e->k = *(const struct fd_key *)key;
	e->fi = *fi;
	return 0;
}

static int collect_file(const void *key, const void *value, void *ctx)
{
	const struct file_key *k = key;
	struct collect *c = ctx;
	struct file_entry *e;

	if (k->aid != c->aid)
		return 0;
	e = vec_push(&c->v);
	if (!e)
		return -ENOMEM;
	e->file = k->file;
	e->fi = *(const struct file_info *)value;
	return 0;
}

static int collect_sock(const void *key, const void *value, void *ctx)
{
	const struct sock_key *k = key;
	struct collect *c = ctx;
	struct sock_entry *e;

	if (k->aid != c->aid)
		return 0;
	e = vec_push(&c->v);
	if (!e)
		return -ENOMEM;
	e->ino = k->ino;
	e->si = *(const struct sock_info *)value;
	return 0;
}

static int collect_ipc(const void *key, const void *value, void *ctx)
{
	const struct ipc_key *k = key;
	struct collect *c = ctx;
	struct ipc_entry *e;

	if (k->aid != c->aid)
		return 0;
	e = vec_push(&c->v);
	if (!e)
		return -ENOMEM;
	e->k = *k;
	e->ii = *(const struct ipc_info *)value;
	return 0;
}

static int collect_region(const void *key, const void *value, void *ctx)
{
	const struct region_info *ri = value;
	struct collect *c = ctx;
	struct region_entry *e;

	if (ri->aid != c->aid)
		return 0;
	e = vec_push(&c->v);
	if (!e)
		return -ENOMEM;
	e->k = *(const struct region_key *)key;
	e->ri = *ri;
	return 0;
}

static int cmp_task(const void *a, const void *b)
{
	const struct task_entry *x = a, *y = b;
	int xl = x->tid == x->ti.tgid, yl = y->tid == y->ti.tgid;

	if (x->ti.tgid != y->ti.tgid)
		return x->ti.tgid < y->ti.tgid ? -1 : 1;
	if (xl != yl)
		return xl ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_fd(const void *a, const void *b)
{
	const struct fd_entry *x = a, *y = b;

	if (x->k.tgid != y->k.tgid)
		return x->k.tgid < y->k.tgid ? -1 : 1;
	return x->k.fd < y->k.fd ? -1 : x->k.fd > y->k.fd;
}

static int cmp_file(const void *a, const void *b)
{
	const struct file_entry *x = a, *y = b;

	return x->file < y->file ? -1 : x->file > y->file;
}

static int cmp_sock(const void *a, const void *b)
{
	const struct sock_entry *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int cmp_ipc(const void *a, const void *b)
{
	const struct ipc_entry *x = a, *y = b;

	if (x->k.kind != y->k.kind)
		return x->k.kind < y->k.kind ? -1 : 1;
	return x->k.id < y->k.id ? -1 : x->k.id > y->k.id;
}

static int cmp_region(const void *a, const void *b)
{
	const struct region_entry *x = a, *y = b;

	if (x->k.tgid != y->k.tgid)
		return x->k.tgid < y->k.tgid ? -1 : 1;
	return x->k.start < y->k.start ? -1 : x->k.start > y->k.start;
}

static int collect(int fd, size_t ks, size_t vs, walk_fn fn, __u32 aid, size_t esize,
		   int (*cmp)(const void *, const void *), void **out, size_t *n)
{
	struct collect c = { .aid = aid, .v = { .size = esize } };
	int err = map_walk(fd, ks, vs, fn, &c);

	if (err) {
		free(c.v.data);
		return err;
	}
	qsort(c.v.data, c.v.n, esize, cmp);
	*out = c.v.data;
	*n = c.v.n;
	return 0;
}

static int collect_lost(struct tracer *t, struct app_tables *at)
{
	struct region_index *idx = malloc(sizeof(*idx));
	struct vec v = { .size = sizeof(struct region_lost) };
	struct region_lost *l;
	__u32 last = 0;

	if (!idx)
		return -ENOMEM;
	/* The index of every process of the application: its leader's tgid. */
	for (size_t i = 0; i < at->ntasks; i++) {
		__u32 tgid = at->tasks[i].ti.tgid;

		if (tgid == last || bpf_map_lookup_elem(t->fd[TMAP_REGION_IDX], &tgid, idx))
			continue;
		last = tgid;
		if (!idx->lost && !idx->unsettled)
			continue;
		l = vec_push(&v);
		if (!l)
			break;
		l->tgid = tgid;
		l->lost = idx->lost;
		l->unsettled = idx->unsettled;
	}
	free(idx);
	at->lost = v.data;
	at->nlost = v.n;
	return 0;
}

int tables_read(struct tracer *t, __u32 aid, struct app_tables *at)
{
	int err;

	memset(at, 0, sizeof(*at));
	at->aid = aid;
	if (bpf_map_lookup_elem(t->fd[TMAP_APPS], &aid, &at->info))
		return -ENOENT;
	err = collect(t->fd[TMAP_TASKS], sizeof(__u32), sizeof(struct task_info), collect_task,
		      aid, sizeof(struct task_entry), cmp_task, (void **)&at->tasks, &at->ntasks);
	if (!err)
		err = collect(t->fd[TMAP_FDS], sizeof(struct fd_key), sizeof(struct fd_info),
			      collect_fd, aid, sizeof(struct fd_entry), cmp_fd, (void **)&at->fds,
			      &at->nfds);
	if (!err)
		err = collect(t->fd[TMAP_FILES], sizeof(struct file_key), sizeof(struct file_info),
			      collect_file, aid, sizeof(struct file_entry), cmp_file,
			      (void **)&at->files, &at->nfiles);
	if (!err)
		err = collect(t->fd[TMAP_SOCKS], sizeof(struct sock_key), sizeof(struct sock_info),
			      collect_sock, aid, sizeof(struct sock_entry), cmp_sock,
			      (void **)&at->socks, &at->nsocks);
	if (!err)
		err = collect(t->fd[TMAP_IPCS], sizeof(struct ipc_key), sizeof(struct ipc_info),
			      collect_ipc, aid, sizeof(struct ipc_entry), cmp_ipc,
			      (void **)&at->ipcs, &at->nipcs);
	if (!err)
		err = collect(t->fd[TMAP_REGIONS], sizeof(struct region_key),
			      sizeof(struct region_info), collect_region, aid,
			      sizeof(struct region_entry), cmp_region, (void **)&at->regions,
			      &at->nregions);
	if (!err)
		err = collect_lost(t, at);
	if (err)
		tables_free(at);
	return err;
}

void tables_free(struct app_tables *at)
{
	free(at->tasks);
	free(at->fds);
	free(at->files);
	free(at->socks);
	free(at->ipcs);
	free(at->regions);
	free(at->lost);
	memset(at, 0, sizeof(*at));
}

const struct sock_entry *tables_sock(const struct app_tables *at, __u64 ino)
{
	struct sock_entry key = { .ino = ino };

	return bsearch(&key, at->socks, at->nsocks, sizeof(key), cmp_sock);
}

const struct file_entry *tables_file(const struct app_tables *at, __u64 file)
{
	struct file_entry key = { .file = file };

	return bsearch(&key, at->files, at->nfiles, sizeof(key), cmp_file);
}

/* Delete the keys of one map whose entries match; keys are gathered first. */
struct drop {
	__u32 aid;
	size_t key_size;
	int (*match)(const void *key, const void *value, __u32 aid);
	struct vec keys;
};

static int drop_collect(const void *key, const void *value, void *ctx)
{
	struct drop *d = ctx;
	void *k;

	if (!d->match(key, value, d->aid))
		return 0;
	k = vec_push(&d->keys);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, d->key_size);
	return 0;
}

static int drop_map(int fd, size_t ks, size_t vs,
		    int (*match)(const void *, const void *, __u32), __u32 aid)
{
	struct drop d = { .aid = aid, .key_size = ks, .match = match, .keys = { .size = ks } };
	int err = map_walk(fd, ks, vs, drop_collect, &d);

	for (size_t i = 0; i < d.keys.n; i++)
		bpf_map_delete_elem(fd, (char *)d.keys.data + i * ks);
	free(d.keys.data);
	return err;
}

static int match_task(const void *k, const void *v, __u32 aid)
{
	(void)k;
	return ((const struct task_info *)v)->aid == aid;
}

static int match_vtask(const void *k, const void *v, __u32 aid)
{
	(void)v;
	return ((const struct vtask_key *)k)->aid == aid;
}

static int match_fd(const void *k, const void *v, __u32 aid)
{
	(void)k;
	return ((const struct fd_info *)v)->aid == aid;
}

static int match_file(const void *k, const void *v, __u32 aid)
{
	(void)v;
	return ((const struct file_key *)k)->aid == aid;
}

static int match_sock(const void *k, const void *v, __u32 aid)
{
	(void)v;
	return ((const struct sock_key *)k)->aid == aid;
}

static int match_sk(const void *k, const void *v, __u32 aid)
{
	(void)k;
	return ((const struct sock_key *)v)->aid == aid;
}

static int match_ipc(const void *k, const void *v, __u32 aid)
{
	(void)v;
	return ((const struct ipc_key *)k)->aid == aid;
}

static int match_region(const void *k, const void *v, __u32 aid)
{
	(void)k;
	return ((const struct region_info *)v)->aid == aid;
}

int tables_drop(struct tracer *t, __u32 aid)
{
	struct task_entry *tasks = NULL;
	size_t ntasks = 0;
	int err;

	/* Membership first, so that the programs stop adding entries. */
	err = collect(t->fd[TMAP_TASKS], sizeof(__u32), sizeof(struct task_info), collect_task,
		      aid, sizeof(struct task_entry), cmp_task, (void **)&tasks, &ntasks);
	if (err)
		return err;
	err = drop_map(t->fd[TMAP_TASKS], sizeof(__u32), sizeof(struct task_info), match_task, aid);
	err = err ?: drop_map(t->fd[TMAP_VTASKS], sizeof(struct vtask_key), sizeof(__u32),
			      match_vtask, aid);
	err = err ?: drop_map(t->fd[TMAP_FDS], sizeof(struct fd_key), sizeof(struct fd_info),
			      match_fd, aid);
	err = err ?: drop_map(t->fd[TMAP_FILES], sizeof(struct file_key), sizeof(struct file_info),
			      match_file, aid);
	err = err ?: drop_map(t->fd[TMAP_SOCKS], sizeof(struct sock_key), sizeof(struct sock_info),
			      match_sock, aid);
	err = err ?: drop_map(t->fd[TMAP_SK_SOCKS], sizeof(__u64), sizeof(struct sock_key),
			      match_sk, aid);
	err = err ?: drop_map(t->fd[TMAP_IPCS], sizeof(struct ipc_key), sizeof(struct ipc_info),
			      match_ipc, aid);
	err = err ?: drop_map(t->fd[TMAP_REGIONS], sizeof(struct region_key),
			      sizeof(struct region_info), match_region, aid);
	for (size_t i = 0; i < ntasks; i++)
		bpf_map_delete_elem(t->fd[TMAP_REGION_IDX], &tasks[i].ti.tgid);
	bpf_map_delete_elem(t->fd[TMAP_RINGS], &aid);
	bpf_map_delete_elem(t->fd[TMAP_APPS], &aid);
	free(tasks);
	return err;
}

static int set_task_flags(struct tracer *t, __u32 tid, __u32 set, __u32 clear)
{
	struct task_info ti;

	if (bpf_map_lookup_elem(t->fd[TMAP_TASKS], &tid, &ti))
		return -ENOENT;
	ti.flags = (ti.flags | set) & ~clear;
	return bpf_map_update_elem(t->fd[TMAP_TASKS], &tid, &ti, BPF_EXIST) ? -errno : 0;
}

/*
 * Do the fd tables of the application hold together: every fd names a file
 * entry, and every file entry counts the fds that name it? Programs racing
 * on one fd (see fd_sync_file) can leave them apart, rarely.
 */
static int fds_consistent(struct tracer *t, __u32 aid)
{
	struct fd_entry *fds = NULL;
	struct file_entry *files = NULL;
	size_t nfds = 0, nfiles = 0;
	int ok = 1;

	if (collect(t->fd[TMAP_FDS], sizeof(struct fd_key), sizeof(struct fd_info), collect_fd, aid,
		    sizeof(struct fd_entry), cmp_fd, (void **)&fds, &nfds) ||
	    collect(t->fd[TMAP_FILES], sizeof(struct file_key), sizeof(struct file_info),
		    collect_file, aid, sizeof(struct file_entry), cmp_file, (void **)&files,
		    &nfiles)) {
		ok = 1; /* cannot tell: leave them */
		goto out;
	}
	for (size_t i = 0; i < nfiles && ok; i++) {
		__u32 refs = 0;

		for (size_t j = 0; j < nfds; j++)
			refs += fds[j].fi.file == files[i].file;
		ok = refs == files[i].fi.refs;
		if (!ok)
			pr_debug("file %llx (%s) counts %u references, %u fds name it",
				 (unsigned long long)files[i].file, files[i].fi.path, files[i].fi.refs,
				 refs);
	}
	for (size_t j = 0; j < nfds && ok; j++) {
		struct file_entry key = { .file = fds[j].fi.file };

		ok = bsearch(&key, files, nfiles, sizeof(key), cmp_file) != NULL;
		if (!ok)
			pr_debug("fd %u of pid %u names file %llx, which has no entry", fds[j].k.fd,
				 fds[j].k.tgid, (unsigned long long)fds[j].fi.file);
	}
out:
	free(fds);
	free(files);
	return ok;
}

static int match_fd(const void *k, const void *v, __u32 aid);
static int match_file(const void *k, const void *v, __u32 aid);
static int match_sock(const void *k, const void *v, __u32 aid);
static int match_sk(const void *k, const void *v, __u32 aid);
static int drop_map(int fd, size_t ks, size_t vs, int (*match)(const void *, const void *, __u32),
		    __u32 aid);

int tables_add_ipc(struct tracer *t, __u32 aid, enum appshot_ipc_kind kind, __s32 id,
		   const struct ipc_info *ii)
{
	struct ipc_key k = { .aid = aid, .kind = kind, .id = id };
	struct ipc_info cur, v = *ii;

	if (bpf_map_lookup_elem(t->fd[TMAP_IPCS], &k, &cur) == 0)
		v.nattch = cur.nattch;
	return bpf_map_update_elem(t->fd[TMAP_IPCS], &k, &v, BPF_ANY) ? -errno : 0;
}

int tables_settle(struct tracer *t, __u32 aid)
{
	struct region_index *idx = malloc(sizeof(*idx));
	struct task_entry *tasks = NULL;
	__u32 *todo = NULL, all_fds;
	size_t ntasks = 0, n = 0;
	int err;

	if (!idx)
		return -ENOMEM;
	err = collect(t->fd[TMAP_TASKS], sizeof(__u32), sizeof(struct task_info), collect_task,
		      aid, sizeof(struct task_entry), cmp_task, (void **)&tasks, &ntasks);
	if (err)
		goto out;
	todo = calloc(ntasks + 1, sizeof(*todo));
	if (!todo) {
		err = -ENOMEM;
		goto out;
	}
	/* fd tables that do not hold together are made again, all of them. */
	all_fds = !fds_consistent(t, aid);
	if (all_fds) {
		pr_debug("application %u: fd tables out of step (threads raced on one fd): rebuilding",
			 aid);
		drop_map(t->fd[TMAP_FDS], sizeof(struct fd_key), sizeof(struct fd_info), match_fd, aid);
		drop_map(t->fd[TMAP_FILES], sizeof(struct file_key), sizeof(struct file_info),
			 match_file, aid);
		drop_map(t->fd[TMAP_SOCKS], sizeof(struct sock_key), sizeof(struct sock_info),
			 match_sock, aid);
		drop_map(t->fd[TMAP_SK_SOCKS], sizeof(__u64), sizeof(struct sock_key), match_sk, aid);
	}
	for (size_t i = 0; i < ntasks; i++) {
		__u32 tgid = tasks[i].tid, set = TASKF_SEED;
		int maps;

		if (tasks[i].tid != tasks[i].ti.tgid || (tasks[i].ti.flags & TASKF_EXITED))
			continue;
		maps = bpf_map_lookup_elem(t->fd[TMAP_REGION_IDX], &tgid, idx) == 0 && idx->unsettled;
		if (maps) {
			set |= TASKF_RESYNC;
			pr_debug("application %u: pid %u changed mappings from several threads at once "
				 "(%u changes): rebuilding them", aid, tgid, idx->unsettled);
		}
		if ((maps || all_fds) && set_task_flags(t, tgid, set, 0) == 0)
			todo[n++] = tgid;
	}
	if (n)
		err = tracer_seed();
	for (size_t i = 0; i < n; i++)
		set_task_flags(t, todo[i], 0, TASKF_SEED | TASKF_RESYNC);
	if (!err)
		err = n;
out:
	free(idx);
	free(tasks);
	free(todo);
	return err;
}

int tables_task(struct tracer *t, __u32 tid, struct task_info *ti)
{
	return bpf_map_lookup_elem(t->fd[TMAP_TASKS], &tid, ti) ? -ENOENT : 0;
}

static int count_one(const void *k, const void *v, void *ctx)
{
	(void)k;
	(void)v;
	(*(int *)ctx)++;
	return 0;
}

int tables_count_apps(struct tracer *t)
{
	int n = 0;

	map_walk(t->fd[TMAP_APPS], sizeof(__u32), sizeof(struct app_info), count_one, &n);
	return n;
}
