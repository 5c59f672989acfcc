/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What an fd refers to, read from the kernel's own structures after the
 * syscall that made or changed it: kind, flags, inode, path and, for
 * sockets, addresses and state. Shared by the syscall programs and the
 * seed iterator, so both describe a file the same way.
 */
#ifndef APPSHOT_FDINFO_BPF_H
#define APPSHOT_FDINFO_BPF_H

#include "common.bpf.h"

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFIFO 0010000

#define PIPEFS_MAGIC 0x50495045
#define ANON_INODE_FS_MAGIC 0x09041934
#define PID_FS_MAGIC 0x50494446
#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

#define PATH_MAX_DEPTH 64

/* The ioctls that change an fd's or its file's flags. */
#define FIONBIO 0x5421
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451
#define FIOASYNC 0x5452

/* ---- the fd table ---------------------------------------------------- */

struct fdt_view {
	struct file **fd;
	unsigned long *open_fds;
	unsigned long *close_on_exec;
	__u32 max_fds;
};

static __always_inline int fdt_of(struct task_struct *task, struct fdt_view *v)
{
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt;

	if (!files)
		return -1;
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return -1;
	v->fd = BPF_CORE_READ(fdt, fd);
	v->open_fds = BPF_CORE_READ(fdt, open_fds);
	v->close_on_exec = BPF_CORE_READ(fdt, close_on_exec);
	v->max_fds = BPF_CORE_READ(fdt, max_fds);
	return 0;
}

static __always_inline struct file *fdt_file(const struct fdt_view *v, __u32 fd)
{
	struct file *f = NULL;

	if (fd >= v->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &v->fd[fd]);
	return f;
}

static __always_inline int fdt_bit(unsigned long *map, __u32 fd)
{
	unsigned long word = 0;

	bpf_probe_read_kernel(&word, sizeof(word), &map[fd / 64]);
	return (word >> (fd % 64)) & 1;
}

/*
 * Reference counts are shared by threads on other CPUs: entries are
 * described again in place up to their last field, refs, which only
 * atomic adds change; the one that takes it from 1 to 0 deletes.
 */
#define DESCRIBED_PART(type) offsetof(type, refs)

static __always_inline void sock_unref(__u32 aid, __u64 ino)
{
	struct sock_key k = { .aid = aid, .ino = ino };
	struct sock_info *si = bpf_map_lookup_elem(&socks, &k);
	__u64 sk;

	if (!si || __sync_fetch_and_sub(&si->refs, 1) != 1)
		return;
	sk = si->sk;
	bpf_map_delete_elem(&sk_socks, &sk);
	bpf_map_delete_elem(&socks, &k);
}

/* ---- open file descriptions ------------------------------------------ */

static __always_inline void file_ref(__u32 aid, __u64 file)
{
	struct file_key k = { .aid = aid, .file = file };
	struct file_info *fi = bpf_map_lookup_elem(&files, &k);

	if (fi)
		__sync_fetch_and_add(&fi->refs, 1);
}

static __always_inline void file_unref(__u32 aid, __u64 file)
{
	struct file_key k = { .aid = aid, .file = file };
	struct file_info *fi = bpf_map_lookup_elem(&files, &k);
	__u64 ino;

	if (!fi || __sync_fetch_and_sub(&fi->refs, 1) != 1)
		return;
	ino = fi->ino;
	if (fi->kind == FDK_SOCKET)
		sock_unref(aid, ino);
	bpf_map_delete_elem(&files, &k);
}

/*
 * Describing an open file and storing it in `files` (and a socket's in
 * `socks`): global functions of fd.bpf.c, checked once by the verifier.
 * task and f are kernel addresses as numbers (addr_of).
 */
/* Describe file f of task into scratch's fi; 0, or -1 without scratch. */
int file_describe(__u64 task, __u64 f);
/*
 * Write scratch's fi, the description of f, into its `files` entry,
 * adding a reference when ref; a missing entry is made with one reference
 * (an fd names it).
 */
int file_store(__u32 aid, __u64 f, int ref);

/* ---- the fd table entries -------------------------------------------- */

/*
 * Threads of a process run the programs of their fd syscalls at once and in
 * any order: one closed 9 while another's open got 9 again, and either may
 * be first here. Each entry names the file its fd holds; it changes from
 * one file to another by compare and swap, so the change is made, and the
 * references moved, once. A program that installs a file checks first that
 * the fd still holds it (else its news is old: a later program has newer),
 * and a close clears the entry only if it still names the file closed.
 *
 * A closed fd's entry stays, naming file 0, until the fd number is used
 * again: deleting it could delete the entry another thread has just
 * claimed for its new file (BPF deletes by key only). exec and exit, when
 * the process has one thread left, remove them.
 */

/* The file fd holds in task's fd table now, or NULL. */
static __always_inline struct file *fd_now(struct task_struct *task, __u32 fd)
{
	struct fdt_view v;

	return fdt_of(task, &v) ? NULL : fdt_file(&v, fd);
}

/* Clear (tgid, fd) if it still names file: its close has happened. */
static __always_inline void fd_clear(__u32 aid, __u32 tgid, __u32 fd, __u64 file)
{
	struct fd_key k = { .tgid = tgid, .fd = fd };
	struct fd_info *e = bpf_map_lookup_elem(&fds, &k);

	if (e && file && __sync_val_compare_and_swap(&e->file, file, 0) == file)
		file_unref(aid, file);
}

/* Clear (tgid, fd) if the fd is closed now, whatever it named. */
static __always_inline void fd_forget(struct task_struct *task, __u32 aid, __u32 tgid, __u32 fd)
{
	struct fd_key k = { .tgid = tgid, .fd = fd };
	struct fd_info *e = bpf_map_lookup_elem(&fds, &k);
	__u64 cur;

	for (int i = 0; e && i < 4; i++) {
		cur = e->file;
		if (!cur || fd_now(task, fd))
			return;
		if (__sync_val_compare_and_swap(&e->file, cur, 0) == cur) {
			file_unref(aid, cur);
			return;
		}
	}
}

/* Forget the fd and remove its entry: only where no other thread can race. */
static __always_inline void fd_drop(__u32 aid, __u32 tgid, __u32 fd)
{
	struct fd_key k = { .tgid = tgid, .fd = fd };
	struct fd_info *e = bpf_map_lookup_elem(&fds, &k);

	if (!e)
		return;
	fd_clear(aid, tgid, fd, e->file);
	bpf_map_delete_elem(&fds, &k);
}

/*
 * A record of f just made for (tgid, fd): if the fd no longer holds f, a
 * close ran between our reading the fd table and our record, and its
 * exit found nothing of ours to clear; take the record back. The closer
 * and we both clear with the same exchange, so only one drops the ref.
 */
static __always_inline struct file_info *fd_recheck(struct task_struct *task, __u32 aid,
						    struct fd_info *e, __u32 fd, __u64 want,
						    struct file_info *fi)
{
	if ((__u64)fd_now(task, fd) == want)
		return fi;
	if (__sync_val_compare_and_swap(&e->file, want, 0) == want)
		file_unref(aid, want);
	return NULL;
}

/*
 * Make (tgid, fd) name f, which the fd holds: describe f into its files
 * entry, moving a reference from the file the entry named before. Returns
 * the description (in scratch), or NULL if another program had newer news.
 * The fd may belong to another thread (the seed iterator, close_range), so
 * a close can race with us: every record is checked against the fd table
 * once it is visible.
 */
static __always_inline struct file_info *fd_record(struct task_struct *task, __u32 aid, __u32 tgid,
						 __u32 fd, struct file *f, int cloexec)
{
	struct fd_key k = { .tgid = tgid, .fd = fd };
	struct fd_info *e, nf = { .aid = aid };
	__u64 want = addr_of(f), cur;
	struct file_info *fi;
	struct scratch *s;

	if (file_describe(addr_of(task), want) || !(s = scratch_buf()))
		return NULL;
	fi = &s->fi;
	nf.fd_flags = cloexec ? FDF_CLOEXEC : 0;
	nf.file = want;
	for (int i = 0; i < 4; i++) {
		e = bpf_map_lookup_elem(&fds, &k);
		if (!e) {
			if (bpf_map_update_elem(&fds, &k, &nf, BPF_NOEXIST) == 0) {
				file_store(aid, want, 1);
				e = bpf_map_lookup_elem(&fds, &k);
				return e ? fd_recheck(task, aid, e, fd, want, fi) : fi;
			}
			continue; /* made by another program just now */
		}
		cur = e->file;
		if (cur == want) { /* the same file: describe it again (F_SETFL and such) */
			e->fd_flags = nf.fd_flags;
			file_store(aid, want, 0);
			return fi;
		}
		if ((__u64)fd_now(task, fd) != want)
			return NULL; /* the fd holds another file by now */
		if (__sync_val_compare_and_swap(&e->file, cur, want) == cur) {
			e->fd_flags = nf.fd_flags;
			file_store(aid, want, 1);
			if (cur)
				file_unref(aid, cur);
			return fd_recheck(task, aid, e, fd, want, fi);
		}
	}
	return NULL;
}

/* Make the entry of (tgid, fd) say what the fd table holds now. */
static __always_inline struct file_info *fd_sync_file(struct task_struct *task, __u32 aid,
						       __u32 tgid, __u32 fd, struct file *f,
						       int cloexec)
{
	if (!f) {
		fd_forget(task, aid, tgid, fd);
		return NULL;
	}
	return fd_record(task, aid, tgid, fd, f, cloexec);
}

static __always_inline struct file_info *fd_sync(struct task_struct *task, __u32 aid,
						  __u32 tgid, int fd)
{
	struct fdt_view v;

	if (fd < 0 || fdt_of(task, &v))
		return NULL;
	return fd_sync_file(task, aid, tgid, fd, fdt_file(&v, fd),
			    fd < v.max_fds ? fdt_bit(v.close_on_exec, fd) : 0);
}

/*
 * fd_sync for the current task, as one global function (fd.bpf.c): 1 when
 * the fd holds a file, described in scratch.
 */
int fd_update(__u32 aid, __u32 tgid, int fd);

/* Refresh (t's process, fd); its description (in scratch), or NULL. */
static __always_inline struct file_info *fd_refresh(struct task_info *t, int fd)
{
	struct scratch *s;

	if (!fd_update(t->aid, t->tgid, fd))
		return NULL;
	s = scratch_buf();
	return s ? &s->fi : NULL;
}

#endif /* APPSHOT_FDINFO_BPF_H */
