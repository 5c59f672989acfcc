// SPDX-License-Identifier: GPL-2.0-only
/*
 * File descriptors: every syscall that makes, changes or closes an fd makes
 * the fd table entry say what the kernel's fd table holds once it returns.
 * The sys_exit handlers of include/syscalls.h's fd syscalls.
 */
#include "fdinfo.bpf.h"
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define F_DUPFD 0
#define F_SETFD 2
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define SOL_SOCKET 1
#define SCM_RIGHTS 1

/* ---- describing open files (fdinfo.bpf.h) ---------------------------- */

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

static __always_inline struct mount *real_mount(struct vfsmount *m)
{
	return (void *)m - bpf_core_field_offset(struct mount, mnt);
}

/*
 * The walk's state is in scratch (maps.bpf.h), where the verifier does not
 * follow its values from one step to the next: kept on the stack, every
 * step's position made the loop a new state to verify.
 */
struct path_ctx {
	struct scratch *s;
};

/* One step up the tree: prepend "/name", or cross to the parent mount. */
static long path_step(__u32 i, struct path_ctx *c)
{
	struct path_walk *w = &c->s->walk;
	struct dentry *d = (void *)w->dentry, *parent;
	struct vfsmount *vfsmnt = (void *)w->vfsmnt;
	struct mount *mnt = (void *)w->mnt, *parent_mnt;
	const unsigned char *name;
	__u32 len, pos = w->pos;

	if (w->dentry == w->root_dentry && w->vfsmnt == w->root_mnt)
		return 1;
	if (d == BPF_CORE_READ(vfsmnt, mnt_root)) {
		parent_mnt = BPF_CORE_READ(mnt, mnt_parent);
		if (parent_mnt == mnt)
			return 1; /* the root of the mount tree */
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (__u64)parent_mnt;
		w->vfsmnt = (__u64)parent_mnt + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d)
		return 1;
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > 255 || len + 1 > pos) {
		w->truncated = 1;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(c->s->path + (pos & (APPSHOT_PATH_BUF - 1)), len & 255, name);
	pos -= 1;
	c->s->path[pos & (APPSHOT_PATH_BUF - 1)] = '/';
	w->pos = pos;
	w->dentry = (__u64)parent;
	return 0;
}

/*
 * The absolute path of f as its task sees it (relative to the task's root),
 * built in s->path. Stores the tail if it does not fit in out
 * (APPSHOT_PATH_LEN).
 */
static __always_inline void file_path(struct task_struct *task, struct file *f,
				      struct scratch *s, char *out, __u32 *file_flags)
{
	struct path_walk *w = &s->walk;
	struct path_ctx c = { .s = s };
	__u32 len, off, pos;

	w->dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
	w->vfsmnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
	w->mnt = (__u64)real_mount((void *)w->vfsmnt);
	w->root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry);
	w->root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt);
	w->pos = APPSHOT_PATH_BUF;
	w->truncated = 0;
	bpf_loop(PATH_MAX_DEPTH, path_step, &c, 0);
	pos = w->pos;
	if (pos >= APPSHOT_PATH_BUF) {
		pos = APPSHOT_PATH_BUF - 1;
		s->path[pos] = '/';
	}
	len = APPSHOT_PATH_BUF - pos;
	off = pos;
	if (len > APPSHOT_PATH_LEN - 1) {
		off += len - (APPSHOT_PATH_LEN - 1);
		len = APPSHOT_PATH_LEN - 1;
		w->truncated = 1;
	}
	bpf_probe_read_kernel(out, len & (APPSHOT_PATH_LEN - 1),
			      s->path + (off & (APPSHOT_PATH_BUF - 1)));
	out[len & (APPSHOT_PATH_LEN - 1)] = 0;
	if (w->truncated)
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
	file_path(task, f, s, fi->path, &fi->file_flags);
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


/* Refresh the socket entry of file f, taking a reference when ref != 0. */
__noinline int sock_sync(__u32 aid, __u64 f, __u64 ino, int ref)
{
	struct sock_key k = { .aid = aid, .ino = ino };
	struct scratch *s = scratch_buf();
	struct sock_info *old;

	if (!s)
		return 0;
	describe_sock((struct file *)f, &s->si);
	old = bpf_map_lookup_elem(&socks, &k);
	if (!old) {
		s->si.refs = 1;
		if (bpf_map_update_elem(&socks, &k, &s->si, BPF_NOEXIST) == 0)
			goto known;
		old = bpf_map_lookup_elem(&socks, &k); /* another CPU made it just now */
		if (!old)
			return 0;
	}
	__builtin_memcpy(old, &s->si, DESCRIBED_PART(struct sock_info));
	if (ref)
		__sync_fetch_and_add(&old->refs, 1);
known:
	if (s->si.sk)
		bpf_map_update_elem(&sk_socks, &s->si.sk, &k, BPF_ANY);
	return 0;
}

__noinline int file_describe(__u64 task, __u64 f)
{
	struct scratch *s = scratch_buf();

	if (!s)
		return -1;
	__builtin_memset(&s->fi, 0, sizeof(s->fi));
	describe_file((struct task_struct *)task, (struct file *)f, &s->fi, s);
	return 0;
}

__noinline int file_store(__u32 aid, __u64 f, int ref)
{
	struct file_key k = { .aid = aid, .file = f };
	struct scratch *s = scratch_buf();
	struct file_info *old, *fi;

	if (!s)
		return 0;
	fi = &s->fi;
	old = bpf_map_lookup_elem(&files, &k);
	if (!old) {
		fi->refs = 1;
		if (bpf_map_update_elem(&files, &k, fi, BPF_NOEXIST) == 0) {
			if (fi->kind == FDK_SOCKET)
				sock_sync(aid, f, fi->ino, 1);
			return 0;
		}
		old = bpf_map_lookup_elem(&files, &k); /* another CPU made it just now */
		if (!old)
			return 0;
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
				sock_sync(aid, f, fi->ino, 1);
			return 0;
		}
		old = bpf_map_lookup_elem(&files, &k);
		if (old)
			__sync_fetch_and_add(&old->refs, 1);
	}
	if (fi->kind == FDK_SOCKET)
		sock_sync(aid, f, fi->ino, 0);
	return 0;
}

/* ---- the syscalls ---------------------------------------------------- */

/*
 * Every fd change of a syscall comes here: one global function, checked
 * once by the verifier, however many syscalls and loops call it.
 */
__noinline int fd_update(__u32 aid, __u32 tgid, int fd)
{
	return fd_sync(bpf_get_current_task_btf(), aid, tgid, fd) != NULL;
}

static __always_inline void emit_fd(struct task_info *t, enum appshot_event_type type,
				    int fd, const struct file_info *fi)
{
	struct appshot_event *e = ev_reserve(t, type);

	if (!e)
		return;
	e->fd.fd = fd;
	if (fi)
		__builtin_memcpy(&e->fd.info, fi, sizeof(*fi));
	ev_submit(e);
}

/* The fd is new (or holds another file): its entry, and the event. */
static __always_inline void fd_opened(struct task_info *t, int fd)
{
	emit_fd(t, EVT_FD_OPEN, fd, fd_refresh(t, fd));
}

SC_HANDLER(fd_new)
{
	if (ret >= 0)
		fd_opened(t, ret);
	return 0;
}

/* ---- close ----------------------------------------------------------- */

/* close kept, besides its fd, the file it was closing: a->a[5]. */
SC_HANDLER(fd_close)
{
	if (ret == -EBADF)
		return 0;
	/* close() frees the fd even when it reports an error other than EBADF. */
	fd_clear(t->aid, t->tgid, a->a[0], a->a[5]);
	emit_fd(t, EVT_FD_CLOSE, a->a[0], NULL);
	return 0;
}

struct range_ctx {
	__u32 aid, tgid, first;
};

static long range_cb(__u32 i, struct range_ctx *c)
{
	struct fd_key k = { .tgid = c->tgid, .fd = c->first + i };

	if (bpf_map_lookup_elem(&fds, &k))
		fd_update(c->aid, c->tgid, c->first + i);
	return 0;
}

SC_HANDLER(fd_close_range)
{
	struct range_ctx c = { .aid = t->aid, .tgid = t->tgid };
	__u64 first = (__u32)a->a[0], last = (__u32)a->a[1];
	struct fdt_view v;

	if (ret != 0 || fdt_of(bpf_get_current_task_btf(), &v))
		return 0;
	/* Entries exist only for fds that were inside the table. */
	if (last >= v.max_fds)
		last = v.max_fds - 1;
	if (first > last)
		return 0;
	c.first = first;
	bpf_loop(last - first + 1 < APPSHOT_FD_WALK_MAX ? last - first + 1 : APPSHOT_FD_WALK_MAX,
		 range_cb, &c, 0);
	return 0;
}

/* ---- flags: fcntl and ioctl ------------------------------------------ */

/*
 * File status flags (F_SETFL, FIONBIO) belong to the open file, shared by
 * every fd that refers to it: describing the file again updates them all.
 */
SC_HANDLER(fd_fcntl)
{
	if (ret < 0)
		return 0;
	switch ((__u32)a->a[1]) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		fd_opened(t, ret);
		break;
	case F_SETFD:
	case F_SETFL:
		fd_update(t->aid, t->tgid, a->a[0]);
		break;
	}
	return 0;
}

/* Only FIONBIO, FIOASYNC, FIOCLEX and FIONCLEX are kept at entry. */
SC_HANDLER(fd_ioctl)
{
	if (ret >= 0)
		fd_update(t->aid, t->tgid, a->a[0]);
	return 0;
}

/* ---- pipes ----------------------------------------------------------- */

/* A syscall that wrote two new fds into the int[2] at uptr. */
static __always_inline int fd_pair(struct task_info *t, long ret, __u64 uptr)
{
	int pair[2] = { -1, -1 };

	if (ret != 0 || !uptr || bpf_probe_read_user(pair, sizeof(pair), (void *)uptr))
		return 0;
	fd_opened(t, pair[0]);
	fd_opened(t, pair[1]);
	return 0;
}

SC_HANDLER(fd_pipe)
{
	return fd_pair(t, ret, a->a[0]);
}

SC_HANDLER(fd_socketpair)
{
	return fd_pair(t, ret, a->a[3]);
}

/* ---- fds received over unix sockets (SCM_RIGHTS) --------------------- */

/*
 * The fds a received message installed, into scratch's scm_fd: the first
 * SCM_RIGHTS control message of a msghdr in user memory (the kernel has set
 * msg_controllen to what it wrote). At most APPSHOT_SCM_FDS of them; how
 * many, or 0.
 */
__noinline int scm_rights(__u64 umsg)
{
	struct scratch *s = scratch_buf();
	struct {
		__u64 len;
		__s32 level;
		__s32 type;
	} h;
	__u64 ctl = 0, ctllen = 0, off = 0;
	__u32 n;

	if (!s)
		return 0;
	/* struct user_msghdr: msg_control at 32, msg_controllen at 40 */
	bpf_probe_read_user(&ctl, sizeof(ctl), (void *)umsg + 32);
	bpf_probe_read_user(&ctllen, sizeof(ctllen), (void *)umsg + 40);
	if (!ctl)
		return 0;
	for (int i = 0; i < 4; i++) {
		if (off + sizeof(h) > ctllen || bpf_probe_read_user(&h, sizeof(h), (void *)ctl + off))
			return 0;
		if (h.len < sizeof(h))
			return 0;
		if (h.level == SOL_SOCKET && h.type == SCM_RIGHTS) {
			n = (h.len - sizeof(h)) / sizeof(int);
			if (n > APPSHOT_SCM_FDS)
				n = APPSHOT_SCM_FDS;
			if (bpf_probe_read_user(s->scm_fd, sizeof(s->scm_fd), (void *)ctl + off + sizeof(h)))
				return 0;
			return n;
		}
		off += (h.len + 7) & ~7ULL;
	}
	return 0;
}

/*
 * One loop over the messages and their fds, step i being fd i % SCM_FDS of
 * message i / SCM_FDS: a loop inside a loop took more stack than the
 * verifier of 6.1 allows on this call chain.
 */
struct scm_walk {
	struct task_info *t;
	__u64 vec; /* the first msghdr */
	__u32 stride; /* from one msghdr to the next (struct mmsghdr) */
	__u32 n; /* fds of the current message */
};

static long scm_cb(__u32 i, struct scm_walk *w)
{
	__u32 j = i % APPSHOT_SCM_FDS;
	struct scratch *s;

	if (j == 0)
		w->n = scm_rights(w->vec + (__u64)(i / APPSHOT_SCM_FDS) * w->stride);
	s = scratch_buf();
	if (j < w->n && s)
		fd_opened(w->t, s->scm_fd[j & (APPSHOT_SCM_FDS - 1)]);
	return 0;
}

SC_HANDLER(fd_recvmsg)
{
	struct scm_walk w = { .t = t, .vec = a->a[1] };

	if (ret >= 0)
		bpf_loop(APPSHOT_SCM_FDS, scm_cb, &w, 0);
	return 0;
}

SC_HANDLER(fd_recvmmsg)
{
	struct scm_walk w = { .t = t, .vec = a->a[1], .stride = 64 /* sizeof(struct mmsghdr) */ };

	if (ret > 0)
		bpf_loop((ret < 64 ? ret : 64) * APPSHOT_SCM_FDS, scm_cb, &w, 0);
	return 0;
}
