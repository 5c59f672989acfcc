/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Restoring a process from its image. The core record is parsed and
 * checked whole first (rst_image.c); then the process is made with its
 * pid and, still running appshot's code, sets up what it can itself
 * (rst_child.c: session, limits, memory objects, fds, cwd); then appshot
 * replaces its address space and state with injected syscalls
 * (rst_mem.c, rst_threads.c).
 */
#ifndef APPSHOT_RST_H
#define APPSHOT_RST_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/user.h>
#include <time.h>

#include "image.h"
#include "progress.h"
#include "remote.h"

#define RST_RLIMITS 16
#define RST_AUXV 128

struct rst_run {
	uint64_t start; /* vmas: an address; objects: a page offset */
	uint64_t npages;
	uint64_t off; /* in the pages payload */
};

struct rst_object {
	int id;
	char kind[16]; /* shmem, memfd, deleted */
	char name[PATH_MAX];
	uint64_t size, mode;
	int has_owner; /* memfds and deleted files: owner, times and seals too */
	int64_t uid, gid, atime_ns, mtime_ns;
	int seals;
	struct rst_run *runs;
	size_t nruns;
	int fd; /* in the restored process, while it is being restored */
	pid_t of; /* an earlier process has it too (its contents are there), or 0 */
	int global; /* shared by processes: its index among the global objects, or -1 */
};

struct rst_vma {
	uint64_t start, end, offset; /* offset: in the file, object or SysV segment, bytes */
	int shmid; /* sysv: the segment attached here */
	uint64_t shm_size;
	int prot, shared, growsdown;
	char kind[16]; /* anon heap stack file shmem memfd deleted sysv vdso vvar vvar_vclock vsyscall */
	char path[PATH_MAX];
	char name[80]; /* an anonymous area's name */
	char madvise[160]; /* words: what madvise, mlock and mmap flags gave it */
	int object;
	struct rst_run *runs;
	size_t nruns;
};

/* A message of a unix socket's queue with files in flight, each of an fd of the application. */
struct rst_right {
	size_t message;
	size_t nfiles;
	struct {
		pid_t pid;
		int fd;
		struct rst_fd *holder; /* the first fd of its open file (a slot of appshot's) */
	} *files;
};

/* A unix socket (on its first fd, the one that carries its state and queue). */
struct rst_unix {
	uint64_t ino, peer;
	int type, listen, shutdown, backlog, passcred, primary;
	unsigned char name[108]; /* raw: a path, or a 0 then an abstract name */
	int namelen;
	uint64_t *queue; /* the lengths of the messages waiting */
	size_t nqueue;
	size_t len; /* their bytes, all together */
	char data[64]; /* the blob record with them */
	void *bytes;
	int bound; /* the restore bound it to a path: gone again if the restore fails */
	int connected; /* a connection, maybe to a peer gone since (peer 0) */
	int unlinked; /* its path no longer named its socket file: unlinked once made */
	int temp; /* a peer gone since: the end made for the while (fills its queue), or -1 */
	struct json_object *opts; /* kinds/sockopt.c (checked), the image's */
	struct rst_right *rights; /* messages with files in flight */
	size_t nrights;
};

/* A TCP listener or bound socket, or a UDP socket. */
struct rst_dgram {
	char from[64], to[64];
	int from_port;
	uint32_t len;
};

enum { RST_FIN_UNSENT = 1, RST_FIN_SENT, RST_FIN_ACKED };

struct rst_inet {
	int family, type, listen, connected, backlog;
	char addr[64], peer[64];
	int port, peer_port;
	int reuseaddr, reuseport, keepalive, v6only, nodelay, broadcast;
	int ended; /* a TCP connection that had ended: a socket shut down both ways */
	int established; /* a TCP connection, made again under TCP_REPAIR: */
	uint32_t rcv_nxt, write_seq, inq, outq, unsent, mss, options, snd_wscale, rcv_wscale;
	uint32_t timestamp, snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	int our_fin; /* half-closed: 0, or our FIN was RST_FIN_UNSENT, _SENT or _ACKED */
	int peer_fin, peer_fin_first; /* the peer's FIN came (before ours) */
	char recv_data[64], send_data[64]; /* the blobs with its queues */
	void *recv, *send;
	struct rst_dgram *dgrams; /* UDP: the datagrams waiting, their bytes in recv (inq) */
	size_t ndgrams;
	int shutdown; /* how the application shut it down: RCV 1 | SEND 2 */
	struct json_object *opts; /* kinds/sockopt.c (checked), the image's */
};

struct fd_kind;

/* A lock held through an fd (kinds/fdattr.c). */
enum { RST_LOCK_POSIX, RST_LOCK_OFD, RST_LOCK_FLOCK };
struct rst_lock {
	int kind, write;
	int64_t start, end; /* bytes, end included; -1: to the end of the file */
};

/* What any open file carries besides its kind: who gets its signals, and its locks. */
struct rst_fdattr {
	int owner_type, owner, signal; /* F_SETOWN_EX (owner 0: none), F_SETSIG */
	struct rst_lock *locks;
	size_t nlocks;
};

struct rst_fd {
	int fd, cloexec, dup_of, object;
	pid_t same_pid; /* another process holds its open file too: [same_pid, same_fd] */
	int same_fd;
	int shared; /* the slot of that open file among the shared ones, or -1 */
	int gobj; /* a shared slot of a shared memory object's file: the object's global index */
	const struct fd_kind *kind; /* kinds/: what it is, how it is made again */
	void *state; /* its kind's, from the image */
	struct rst_fdattr attr;
	struct rst_unix un; /* unix */
	struct rst_inet in; /* inet */
	int sock; /* a unix or inet socket made by appshot, till a process's slot takes it */
	uint64_t flags, pos, mode;
	char path[PATH_MAX];
};

struct rst_sigaction {
	int sig;
	uint64_t handler, flags, restorer, mask;
};

struct rst_thread {
	pid_t tid; /* as the application sees it */
	pid_t sys_tid; /* this time, once made */
	char comm[16];
	struct user_regs_struct regs;
	void *xstate;
	size_t xlen;
	uint64_t sigmask;
	siginfo_t *pending;
	size_t npending;
	int has_rseq;
	uint64_t rseq_addr, rseq_len, rseq_sig, rseq_flags;
	char syscall[16]; /* none, restart, interrupt */
	uint64_t clear_tid; /* set_tid_address */
	uint64_t robust_list, robust_list_len;
	int has_altstack;
	uint64_t altstack_sp, altstack_size;
	int altstack_flags;
	int has_sleep; /* stopped in a sleep: its clock and the time it had left */
	int sleep_clockid;
	int64_t sleep_left_ns;
	uint64_t sleep_rmtp; /* where it writes the time left, or 0 */
	struct json_object *attrs; /* kinds/task.c: scheduling, prctl settings... (checked) */
};

struct rst_proc {
	pid_t pid, ppid, pgid, sid;
	pid_t sys_pid; /* this time, once made */
	pid_t helper; /* its session's leader is gone: a stand-in with that pid makes it */
	struct rst_proc *parent; /* in the image, or NULL: made by init or appshot */
	struct rst_proc **children;
	size_t nchildren;
	char comm[16];
	char exe[PATH_MAX], cwd[PATH_MAX], root[PATH_MAX];
	int cwd_deleted; /* its cwd was removed: made again for the while (kind_ghost_dir) */
	int umask;
	uint64_t personality;
	int64_t uid[4], gid[4];
	int64_t *groups;
	size_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int securebits; /* PR_SET_SECUREBITS: keep-caps, no-root... and their locks */
	int dumpable;
	int stopped; /* the signal that had stopped it (SIGSTOP, job control), or 0 */
	struct json_object *attrs; /* kinds/task.c: OOM score, subreaper... (checked) */
	struct json_object *timers; /* kinds/posix_timer.c (checked), or NULL */
	struct rlimit rlimits[RST_RLIMITS];
	struct {
		uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
		uint64_t arg_start, arg_end, env_start, env_end;
		uint64_t auxv[RST_AUXV];
		size_t nauxv;
	} mm;
	struct rst_sigaction *sigactions;
	size_t nsigactions;
	int64_t itimers[3][4]; /* interval sec, usec, value sec, usec */
	siginfo_t *shared_pending;
	size_t nshared_pending;
	struct rst_thread *threads;
	size_t nthreads;
	struct rst_object *objects;
	size_t nobjects;
	struct rst_vma *vmas;
	size_t nvmas;
	struct rst_fd *fds;
	size_t nfds;

	/* service fds in the restored process while it is being restored */
	int service_base; /* above every fd of the image's: pages, channel, stdio, objects */
	uint64_t pages_off; /* where the pages payload starts in the pages record */
	struct progress progress; /* memory filled, on a terminal */
};

/*
 * The whole application. While the processes are made, every one of them
 * holds the same "global" fds at gbase: the image's pages, the channel to
 * appshot, appshot's stdio, then the open files several processes share
 * (made once by appshot, inherited by all).
 */
#define RST_G_PAGES 0
#define RST_G_CHAN 1
#define RST_G_STDIO 2
#define RST_G_SHARED 5

/* A pipe of the application, made by appshot with the bytes it held. */
struct rst_pipe {
	uint64_t ino;
	const char *fifo; /* a named FIFO: its path (then ino is its inode there) */
	int ghost; /* the FIFO was removed while open: made there for the while */
	int size;
	char data_name[64];
	void *data;
	size_t len;
	int rd, wr, rd_taken, wr_taken; /* in appshot */
};

/* A child that had ended, not yet reaped by its parent: made again, dead. */
struct rst_zombie {
	pid_t pid, ppid, pgid, sid;
	char comm[16];
	int status; /* as wait() gives it */
};

/* A file the restore was given for one the application had been given (--inherit-fd). */
struct rst_inherit {
	int key; /* the fd the application was given it as */
	int fd; /* appshot's */
};

struct rst_app {
	struct rst_proc *procs;
	size_t nprocs;
	struct rst_proc **roots; /* made by init (own namespaces) or by appshot */
	size_t nroots;
	struct rst_zombie *zombies;
	size_t nzombies;
	struct rst_fd **shared; /* the first holder's fd of each shared open file */
	size_t nshared;
	int *shared_fd; /* in appshot, while the processes are made */
	struct rst_pipe *pipes;
	size_t npipes;
	struct rst_object **gobjs; /* memory objects several processes share: the first's */
	size_t ngobjs;
	int *gobj_fd; /* in appshot, while the processes are made */
	struct rst_ipc *ipc; /* SysV objects, if the image has them */
	uint64_t pages_off; /* where the pages payload starts in the pages record */
	int own_ns;
	int own_ipc; /* an IPC namespace of its own (own_ns, or an adopted tree's) */
	int gbase;
	int chan; /* appshot's end of the channel, while the processes are restored */
	const struct rst_inherit *inherit; /* --inherit-fd */
	size_t ninherit;
	int image_only; /* planned to check the image, not to be made here */
};

/* How many global fds the processes hold while they are made: the shared files, then objects. */
static inline int rst_nglobals(const struct rst_app *a)
{
	return RST_G_SHARED + a->nshared + a->ngobjs;
}

static inline int rst_gobj_fd(const struct rst_app *a, int global)
{
	return a->gbase + RST_G_SHARED + a->nshared + global;
}

/*
 * restore.c: verify the image at dir and plan its restore, making nothing
 * (appshot restore --check-only; the fuzzer's way in); with say, tell so.
 * image_only: whether the image holds together, not whether this machine
 * can run it (its kernel, the files given for it), as inspect asks.
 */
int restore_check(const char *dir, const struct rst_inherit *inherit, size_t ninherit, int say,
		  int image_only);
/* The same, of an image opened already. */
struct image;
int restore_plan(struct image *im, const struct rst_inherit *inherit, size_t ninherit, int say,
		 int image_only);

/* rst_tree.c: the tree, its sessions and shared files, checked; -errno (said). */
int rst_tree_plan(struct rst_app *a);
/* Give f a slot among the open files appshot makes for the processes (once). */
int rst_add_slot(struct rst_app *a, struct rst_fd *f);
/* The first fd of the open file pid's fd holds (its first holder's, its first dup), or NULL. */
struct rst_fd *rst_holder(struct rst_app *a, pid_t pid, int fd);
/* The zombies of the image's manifest; -EBADMSG (said) if damaged. */
int rst_tree_zombies(struct rst_app *a, struct json_object *list);
/* In init: make the processes without a parent in the image (and their stand-in leaders). */
int rst_tree_roots(const struct rst_app *a, char *why, size_t len);
/* In appshot: open the shared files, make the shared objects; gbase put above all fds. */
int rst_tree_open(struct rst_app *a, int pages_fd);
/* Close appshot's copies of the shared files; rst_tree_free: all of the plan. */
void rst_tree_free_fds(struct rst_app *a);
void rst_tree_free(struct rst_app *a);
/*
 * In a process appshot made: the global fds from appshot's numbers to
 * gbase, nothing else open. -errno.
 */
int rst_tree_globals(const struct rst_app *a, int pages_fd, int chan);
/*
 * In the new process of p: set itself up, make its children (each of which
 * does the same), say it is ready (or why not) and wait for appshot.
 */
void __attribute__((noreturn)) rst_tree_process(const struct rst_app *a, struct rst_proc *p);
/* Make a process with this pid (0: any) as our child, or its sibling with CLONE_PARENT. */
pid_t rst_clone(pid_t pid, int cgroup_fd, uint64_t flags);

/* What a new process tells appshot: 0, or why it could not set itself up. */
struct rst_ready {
	int err;
	pid_t vpid;
	char why[512];
};

/* kinds/: a slot's socket, made by its kind's prepare step (f->sock): its fd, its flags set. */
int rst_take_sock(const struct rst_app *a, struct rst_fd *f, char *why, size_t len);

/* rst_raw.c: packets sent to a restored socket as from its peer */
int rst_raw_open(int family);
int rst_raw_udp(int raw, int family, const char *from, int from_port, const char *to, int port,
		const void *bytes, size_t len);
int rst_raw_tcp_fin(int raw, const struct rst_inet *in, uint32_t seq, uint32_t ack);
int rst_raw_wait(int (*arrived)(int fd, const struct rst_inet *in), int fd,
		 const struct rst_inet *in);
/* kinds/unix.c: after a failed restore, the socket files it made are removed. */
void rst_socks_unbind(struct rst_app *a);

/* rst_ipc.c: SysV objects. Read and checked with the image (none: a->ipc stays NULL). */
struct rst_ipc;
int rst_ipc_read(struct image *im, uint64_t pages_len, struct rst_app *a);
void rst_ipc_free(struct rst_app *a);
size_t rst_ipc_count(const struct rst_app *a);
/* Does the image hold SysV segment id? */
int rst_ipc_has_shm(const struct rst_app *a, int id);
/* In the init of the new IPC namespace, before any process: -1 with a message in why. */
int rst_ipc_make(const struct rst_app *a, int pages_fd, uint64_t pages_off, char *why, size_t len);
struct tracer;
/* Into the tracer's tables of application aid, made by init (its pid as we see it). */
int rst_ipc_register(const struct rst_app *a, struct tracer *tr, uint32_t aid, pid_t init);
/* Once every process is restored: remove again the segments that were removed. */
int rst_ipc_finish(const struct rst_app *a, pid_t in_ns);

/* Page runs [start, pages, offset] of a record, checked against the pages' length. */
int rst_parse_runs(struct json_object *a, uint64_t pages_len, struct rst_run **out, size_t *n);

/* rst_image.c: parse and check a core record; -EBADMSG (said) if it is not right. */
int rst_parse(struct json_object *core, uint64_t pages_len, struct rst_proc *p);
void rst_free(struct rst_proc *p);
struct rst_object *rst_object(struct rst_proc *p, int id);

/*
 * rst_child.c: in the new process, running appshot's code: its service
 * fds from the global ones, objects, session. -1 with a message in why.
 */
int rst_child_setup(const struct rst_app *a, struct rst_proc *p, char *why, size_t len);
/* The rest, once its children are made: fds, umask, personality, root, cwd. */
int rst_child_files(const struct rst_app *a, struct rst_proc *p, char *why, size_t len);
/* A memory object made again from the image, open read-write: its fd, or -1 (why says). */
int rst_object_create(const struct rst_object *ob, int pages_fd, uint64_t pages_off, char *why,
		      size_t len);
/* Raise the fd limit so that fd top fits; -1 if it cannot. */
int rst_fit_fds(int top);

/* rst_mem.c: the address space of the stopped process r works in. */
/* Are the words of an area's "madvise" all ones the restore gives back? */
int rst_area_words_known(const char *words);
int rst_memory(struct rst_proc *p, struct remote *r);

/* rst_threads.c: threads, registers, signals, timers, rseq, credentials. */
int rst_threads(struct rst_proc *p, struct remote *r);

#endif /* APPSHOT_RST_H */
