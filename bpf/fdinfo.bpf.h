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

/* ---- names ----------------------------------------------------------- */

/* Is buf the literal lit, or does it start with it? (at most 16 bytes compared) */
#define NAME_IS(buf, lit) name_eq(buf, lit, sizeof(lit))
#define NAME_PREFIX(buf, lit) name_eq(buf, lit, sizeof(lit) - 1)
static __always_inline int name_eq(const char *buf, const char *lit, int n)
{
	for (int i = 0; i < n && i < 16; i++)
		if (buf[i] != lit[i])
			return 0;
	return 1;
}

static __always_inline enum appshot_fd_kind anon_kind(const char *name)
{
	if (NAME_IS(name, "[eventfd]"))
		return FDK_EVENTFD;
	if (NAME_IS(name, "[eventpoll]"))
		return FDK_EPOLL;
	if (NAME_IS(name, "[timerfd]"))
		return FDK_TIMERFD;
	if (NAME_IS(name, "[signalfd]"))
		return FDK_SIGNALFD;
	if (NAME_IS(name, "inotify"))
		return FDK_INOTIFY;
	if (NAME_IS(name, "[fanotify]"))
		return FDK_FANOTIFY;
	if (NAME_IS(name, "[pidfd]"))
		return FDK_PIDFD;
	if (NAME_IS(name, "[userfaultfd]"))
		return FDK_USERFAULTFD;
	if (NAME_IS(name, "[io_uring]"))
		return FDK_IO_URING;
	if (NAME_IS(name, "[perf_event]"))
		return FDK_PERF_EVENT;
	if (name[0] == 'b' && name[1] == 'p' && name[2] == 'f')
		return FDK_BPF;
	return FDK_ANON;
}

/* ---- paths ----------------------------------------------------------- */

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	char *buf;
	__u32 pos; /* the path is buf[pos, APPSHOT_PATH_BUF) */
	int truncated;
};

static __always_inline struct mount *real_mount(struct vfsmount *m)
{
	return (void *)m - bpf_core_field_offset(struct mount, mnt);
}

/* One step up the tree: prepend "/name", or cross to the parent mount. */
static long path_step(__u32 i, struct path_walk *w)
{
	struct dentry *d = w->dentry, *parent;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt, *parent_mnt;
	const unsigned char *name;
	__u32 len;

	if (d == w->root_dentry && w->vfsmnt == w->root_mnt)
		return 1;
	if (d == BPF_CORE_READ(vfsmnt, mnt_root)) {
		parent_mnt = BPF_CORE_READ(mnt, mnt_parent);
		if (parent_mnt == mnt)
			return 1; /* the root of the mount tree */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = parent_mnt;
		w->vfsmnt = (void *)parent_mnt + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d)
		return 1;
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > 255 || len + 1 > w->pos) {
		w->truncated = 1;
		return 1;
	}
	w->pos -= len;
	bpf_probe_read_kernel(w->buf + (w->pos & (APPSHOT_PATH_BUF - 1)), len & 255, name);
	w->pos -= 1;
	w->buf[w->pos & (APPSHOT_PATH_BUF - 1)] = '/';
	w->dentry = parent;
	return 0;
}

/*
 * The absolute path of f as its task sees it (relative to the task's root).
 * Stores the tail if it does not fit in out (APPSHOT_PATH_LEN).
 */
static __always_inline void file_path(struct task_struct *task, struct file *f,
				      char *buf, char *out, __u32 *file_flags)
{
	struct path_walk w = {};
	__u32 len, off;

	w.dentry = BPF_CORE_READ(f, f_path.dentry);
	w.vfsmnt = BPF_CORE_READ(f, f_path.mnt);
	w.mnt = real_mount(w.vfsmnt);
	w.root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	w.buf = buf;
	w.pos = APPSHOT_PATH_BUF;
	bpf_loop(PATH_MAX_DEPTH, path_step, &w, 0);
	if (w.pos == APPSHOT_PATH_BUF) {
		w.pos--;
		buf[w.pos & (APPSHOT_PATH_BUF - 1)] = '/';
	}
	len = APPSHOT_PATH_BUF - w.pos;
	off = w.pos;
	if (len > APPSHOT_PATH_LEN - 1) {
		off += len - (APPSHOT_PATH_LEN - 1);
		len = APPSHOT_PATH_LEN - 1;
		w.truncated = 1;
	}
	bpf_probe_read_kernel(out, len & (APPSHOT_PATH_LEN - 1),
			      buf + (off & (APPSHOT_PATH_BUF - 1)));
	out[len & (APPSHOT_PATH_LEN - 1)] = 0;
	if (w.truncated)
		*file_flags |= FILEF_PATH_TRUNC;
}

/* ---- describing a file ----------------------------------------------- */

static __always_inline void describe_file(struct task_struct *task, struct file *f,
					  struct file_info *fi, struct scratch *s)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
	__u32 mode = BPF_CORE_READ(inode, i_mode);
	const unsigned char *dname = BPF_CORE_READ(d, d_name.name);

	fi->flags = BPF_CORE_READ(f, f_flags);
	fi->mode = mode;
	fi->ino = BPF_CORE_READ(inode, i_ino);
	fi->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	fi->path[0] = 0;

	if (magic == PID_FS_MAGIC) { /* pidfds have a filesystem of their own since 6.9 */
		__builtin_memcpy(fi->path, "[pidfd]", 8);
		fi->kind = FDK_PIDFD;
		return;
	}
	if (magic == ANON_INODE_FS_MAGIC) {
		bpf_probe_read_kernel_str(fi->path, sizeof(fi->path), dname);
		fi->kind = anon_kind(fi->path);
		return;
	}
	switch (mode & S_IFMT) {
	case S_IFREG:
		bpf_probe_read_kernel_str(fi->path, sizeof(fi->path), dname);
		if ((magic == TMPFS_MAGIC || magic == HUGETLBFS_MAGIC) &&
		    NAME_PREFIX(fi->path, "memfd:")) {
			fi->kind = FDK_MEMFD;
			return;
		}
		fi->kind = FDK_FILE;
		break;
	case S_IFDIR:
		fi->kind = FDK_DIR;
		break;
	case S_IFCHR:
		fi->kind = FDK_CHR;
		break;
	case S_IFBLK:
		fi->kind = FDK_BLK;
		break;
	case S_IFIFO:
		fi->kind = magic == PIPEFS_MAGIC ? FDK_PIPE : FDK_FIFO;
		if (fi->kind == FDK_PIPE)
			return;
		break;
	case S_IFSOCK:
		fi->kind = FDK_SOCKET;
		return;
	default:
		fi->kind = FDK_UNKNOWN;
		return;
	}
	file_path(task, f, s->path, fi->path, &fi->file_flags);
	/* An unlinked file's dentry is no longer hashed. */
	if (!BPF_CORE_READ(d, d_hash.pprev))
		fi->file_flags |= FILEF_DELETED;
}

/* ---- sockets --------------------------------------------------------- */

static __always_inline void unix_addr(struct sock *sk, struct sock_addr *a)
{
	struct unix_sock *u = (void *)sk;
	struct unix_address *ua = BPF_CORE_READ(u, addr);
	int len;

	a->family = AF_UNIX;
	if (!ua)
		return;
	len = BPF_CORE_READ(ua, len) - 2; /* without sun_family */
	if (len <= 0)
		return;
	if (len > APPSHOT_ADDR_LEN)
		len = APPSHOT_ADDR_LEN;
	a->len = len;
	bpf_probe_read_kernel(a->addr, len & 127,
			      (void *)ua + bpf_core_field_offset(struct unix_address, name) + 2);
}

static __always_inline void describe_sock(struct file *f, struct sock_info *si)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct sock *peer;
	__u16 family;

	__builtin_memset(si, 0, sizeof(*si));
	if (!sk)
		return;
	si->sk = (__u64)sk;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	si->family = family;
	si->type = BPF_CORE_READ(sock, type);
	si->protocol = BPF_CORE_READ(sk, sk_protocol);
	si->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	si->backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	si->local.family = family;
	si->peer.family = family;
	if (family == AF_INET) {
		__u32 l4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 p4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(si->local.addr, &l4, 4);
		__builtin_memcpy(si->peer.addr, &p4, 4);
		si->local.len = si->peer.len = 4;
		si->local.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		si->peer.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	} else if (family == AF_INET6) {
		struct in6_addr l6, p6;

		BPF_CORE_READ_INTO(&l6, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&p6, sk, __sk_common.skc_v6_daddr);
		__builtin_memcpy(si->local.addr, &l6, 16);
		__builtin_memcpy(si->peer.addr, &p6, 16);
		si->local.len = si->peer.len = 16;
		si->local.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		si->peer.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	} else if (family == AF_UNIX) {
		unix_addr(sk, &si->local);
		peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		if (peer) {
			unix_addr(peer, &si->peer);
			si->peer_ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
		}
	}
}

/*
 * Reference counts are shared by threads on other CPUs: entries are
 * described again in place up to their last field, refs, which only
 * atomic adds change; the one that takes it from 1 to 0 deletes.
 */
#define DESCRIBED_PART(type) offsetof(type, refs)

/* Refresh the socket entry of file f, taking a reference when ref != 0. */
static __always_inline void sock_sync(__u32 aid, struct file *f, __u64 ino, int ref,
				      struct scratch *s)
{
	struct sock_key k = { .aid = aid, .ino = ino };
	struct sock_info *old;

	describe_sock(f, &s->si);
	old = bpf_map_lookup_elem(&socks, &k);
	if (!old) {
		s->si.refs = 1;
		if (bpf_map_update_elem(&socks, &k, &s->si, BPF_NOEXIST) == 0)
			goto known;
		old = bpf_map_lookup_elem(&socks, &k); /* another CPU made it just now */
		if (!old)
			return;
	}
	__builtin_memcpy(old, &s->si, DESCRIBED_PART(struct sock_info));
	if (ref)
		__sync_fetch_and_add(&old->refs, 1);
known:
	if (s->si.sk)
		bpf_map_update_elem(&sk_socks, &s->si.sk, &k, BPF_ANY);
}

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

/* Describe f into scratch. */
static __always_inline struct file_info *file_describe(struct task_struct *task, struct file *f)
{
	struct scratch *s = scratch_buf();

	if (!s)
		return NULL;
	__builtin_memset(&s->fi, 0, sizeof(s->fi));
	describe_file(task, f, &s->fi, s);
	return &s->fi;
}

/*
 * Write the description fi of f into its `files` entry, adding one
 * reference when ref; an entry that is missing is made with one reference
 * (an fd names it).
 */
static __always_inline void file_store(__u32 aid, struct file *f, struct file_info *fi, int ref)
{
	struct file_key k = { .aid = aid, .file = (__u64)f };
	struct scratch *s = scratch_buf();
	struct file_info *old;

	if (!s)
		return;
	old = bpf_map_lookup_elem(&files, &k);
	if (!old) {
		fi->refs = 1;
		if (bpf_map_update_elem(&files, &k, fi, BPF_NOEXIST) == 0) {
			if (fi->kind == FDK_SOCKET)
				sock_sync(aid, f, fi->ino, 1, s);
			return;
		}
		old = bpf_map_lookup_elem(&files, &k); /* another CPU made it just now */
		if (!old)
			return;
	}
	__builtin_memcpy(old, fi, DESCRIBED_PART(struct file_info));
	if (ref && __sync_fetch_and_add(&old->refs, 1) == 0) {
		/*
		 * Its last fd went a moment ago and the entry is being deleted:
		 * our reference goes into a fresh one, once the old is gone.
		 */
		for (int i = 0; i < 64 && bpf_map_lookup_elem(&files, &k); i++)
			;
		fi->refs = 1;
		if (bpf_map_update_elem(&files, &k, fi, BPF_NOEXIST) == 0) {
			if (fi->kind == FDK_SOCKET)
				sock_sync(aid, f, fi->ino, 1, s);
			return;
		}
		old = bpf_map_lookup_elem(&files, &k);
		if (old)
			__sync_fetch_and_add(&old->refs, 1);
	}
	if (fi->kind == FDK_SOCKET)
		sock_sync(aid, f, fi->ino, 0, s);
}

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
	struct file_info *fi;
	__u64 want = (__u64)f, cur;

	fi = file_describe(task, f);
	if (!fi)
		return NULL;
	nf.fd_flags = cloexec ? FDF_CLOEXEC : 0;
	nf.file = want;
	for (int i = 0; i < 4; i++) {
		e = bpf_map_lookup_elem(&fds, &k);
		if (!e) {
			if (bpf_map_update_elem(&fds, &k, &nf, BPF_NOEXIST) == 0) {
				file_store(aid, f, fi, 1);
				e = bpf_map_lookup_elem(&fds, &k);
				return e ? fd_recheck(task, aid, e, fd, want, fi) : fi;
			}
			continue; /* made by another program just now */
		}
		cur = e->file;
		if (cur == want) { /* the same file: describe it again (F_SETFL and such) */
			e->fd_flags = nf.fd_flags;
			file_store(aid, f, fi, 0);
			return fi;
		}
		if ((__u64)fd_now(task, fd) != want)
			return NULL; /* the fd holds another file by now */
		if (__sync_val_compare_and_swap(&e->file, cur, want) == cur) {
			e->fd_flags = nf.fd_flags;
			file_store(aid, f, fi, 1);
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

#endif /* APPSHOT_FDINFO_BPF_H */
