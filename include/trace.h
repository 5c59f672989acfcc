/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tracer's tables and events: map keys and values shared by the BPF
 * programs (bpf/) and user space. Fixed-width types only and no libc
 * headers, so this file builds next to vmlinux.h as well as <linux/types.h>.
 */
#ifndef APPSHOT_TRACE_H
#define APPSHOT_TRACE_H

#define APPSHOT_NAME_LEN 32 /* AID name, NUL included */
#define APPSHOT_COMM_LEN 16
#define APPSHOT_PATH_LEN 256 /* paths in the fd table; longer ones keep their tail */
#define APPSHOT_ADDR_LEN 108 /* sizeof(sun_path), the longest address we keep */

#define APPSHOT_MAX_APPS 1024
#define APPSHOT_MAX_TASKS 65536
#define APPSHOT_MAX_FDS 131072 /* fd table entries, all applications */
#define APPSHOT_MAX_FILES 131072
#define APPSHOT_MAX_SOCKS 65536
#define APPSHOT_MAX_IPCS 16384
#define APPSHOT_MAX_REGION_ENTRIES 262144
#define APPSHOT_MAX_REGIONS 512 /* tracked mappings per process */
#define APPSHOT_FD_WALK_MAX 65536 /* bound on fd table walks (fork, exec, exit) */
#define APPSHOT_RING_SIZE (8u << 20)

/* Bumped whenever a map layout changes: a pinned tracer of another layout is refused. */
#define APPSHOT_TRACE_ABI 5

/* meta: one entry, written at load: which layout the pinned maps have. */
enum appshot_tracer_flags {
	TRACERF_RESIDENT = 1, /* stays loaded without applications (appshot-trace load) */
};

struct trace_meta {
	__u32 abi;
	__u32 flags; /* enum appshot_tracer_flags */
	__u64 loaded_ns; /* CLOCK_BOOTTIME */
};

/* ---- applications ---------------------------------------------------- */

enum appshot_app_flags {
	APPF_OWN_PIDNS = 1, /* started by `appshot run` in its own namespaces */
};

struct app_info {
	char name[APPSHOT_NAME_LEN];
	__u32 pidns_level; /* virtual ids are the pid numbers at this level */
	__u32 pidns_ino;
	__u32 ipcns_ino;
	__u32 flags;
	__u32 root_tid; /* system pid of the first process */
	__u32 pad;
	__u64 events; /* events delivered to a watcher */
	__u64 lost; /* events dropped because the watcher's ring was full */
};

/* ---- processes and threads ------------------------------------------- */

enum appshot_task_flags {
	TASKF_THREAD = 1, /* not a thread group leader */
	TASKF_EXITED = 2, /* exited, not yet reaped (a zombie for a leader) */
	TASKF_SEED = 4, /* fds and mappings still to be read by the seed iterators */
	TASKF_INIT = 8, /* appshot's own init (pid 1 of the namespace) */
	TASKF_RESYNC = 16, /* seeding rebuilds its mappings from scratch */
};

/* tasks: system tid -> task_info */
struct task_info {
	__u32 aid;
	__u32 tgid; /* system */
	__u32 vtid; /* as the application sees it */
	__u32 vtgid;
	__u32 creator; /* system tgid of the process that created it */
	__u32 flags;
	__u64 start_ns; /* task start time: tells a reused pid from this task */
	__s32 exit_code;
	__u32 pad;
	char comm[APPSHOT_COMM_LEN];
};

/* vtasks: (aid, virtual tid) -> system tid */
struct vtask_key {
	__u32 aid;
	__u32 vtid;
};

/* ---- file descriptors ------------------------------------------------ */

enum appshot_fd_kind {
	FDK_UNKNOWN = 0,
	FDK_FILE,
	FDK_DIR,
	FDK_CHR,
	FDK_BLK,
	FDK_FIFO,
	FDK_PIPE,
	FDK_SOCKET,
	FDK_EVENTFD,
	FDK_EPOLL,
	FDK_TIMERFD,
	FDK_SIGNALFD,
	FDK_INOTIFY,
	FDK_FANOTIFY,
	FDK_MEMFD,
	FDK_PIDFD,
	FDK_USERFAULTFD,
	FDK_IO_URING,
	FDK_PERF_EVENT,
	FDK_BPF,
	FDK_ANON, /* another anonymous-inode file; path holds its name */
	FDK_MAX,
};

enum appshot_fd_flags {
	FDF_CLOEXEC = 1,
};

enum appshot_file_flags {
	FILEF_PATH_TRUNC = 1, /* path longer than APPSHOT_PATH_LEN: its tail is kept */
	FILEF_DELETED = 2, /* the file was unlinked when it was described */
};

/*
 * fds: (system tgid, fd) -> fd_info. An fd names an open file description,
 * which fork, dup and SCM_RIGHTS share: its kind, flags and path live once
 * in `files`, so that a change through one fd shows through all of them.
 */
struct fd_key {
	__u32 tgid;
	__u32 fd;
};

struct fd_info {
	__u32 aid;
	__u32 fd_flags; /* enum appshot_fd_flags */
	__u64 file; /* the open file description: key into `files` */
};

/* files: (aid, file) -> file_info, counted by the fds that refer to it */
struct file_key {
	__u32 aid;
	__u32 pad;
	__u64 file; /* the kernel's struct file address: its identity while open */
};

struct file_info {
	enum appshot_fd_kind kind;
	__u32 flags; /* f_flags: O_ACCMODE, O_APPEND, O_NONBLOCK, ... */
	__u32 mode; /* inode mode */
	__u32 dev;
	__u64 ino;
	__u32 file_flags; /* enum appshot_file_flags */
	char path[APPSHOT_PATH_LEN]; /* file path, or the anon inode's name */
	__u32 refs; /* fds of the application that refer to it; last: changed atomically */
};

/* ---- sockets --------------------------------------------------------- */

struct sock_addr {
	__u16 family;
	__u16 port; /* host order */
	__u32 len; /* bytes used in addr: 4, 16, or the unix path length */
	__u8 addr[APPSHOT_ADDR_LEN]; /* unix: path, abstract names start with NUL */
};

/* socks: (aid, socket inode) -> sock_info, counted by the files that refer to it */
struct sock_key {
	__u32 aid;
	__u32 pad;
	__u64 ino;
};

struct sock_info {
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 state; /* sk_state: TCP_* numbering, also for unix sockets */
	__u32 backlog; /* sk_max_ack_backlog once listening */
	__u32 pad;
	__u64 peer_ino; /* unix: inode of the connected peer socket */
	__u64 sk; /* the kernel's struct sock address: its identity while open */
	struct sock_addr local;
	struct sock_addr peer;
	__u32 refs; /* entries in `files` that refer to it; last: changed atomically */
	__u32 pad2;
};

/*
 * sk_socks: kernel struct sock address -> (aid, inode) of its `socks` entry,
 * for state changes the kernel makes without a syscall (a connect
 * completing, the peer closing), seen at sock:inet_sock_set_state.
 */

/* ---- SysV IPC -------------------------------------------------------- */

enum appshot_ipc_kind {
	IPCK_SEM = 1,
	IPCK_SHM = 2,
	IPCK_MSG = 3,
};

struct ipc_key {
	__u32 aid;
	enum appshot_ipc_kind kind;
	__s32 id;
	__u32 pad;
};

enum appshot_ipc_state {
	IPCS_REMOVED = 1, /* shm: IPC_RMID done, alive until the last detach */
};

struct ipc_info {
	__s32 key;
	__u32 creator; /* system tgid that first got the id (0: seen attached) */
	__u32 vcreator;
	__u32 flags; /* semget/shmget/msgget flags: mode, IPC_CREAT, IPC_EXCL */
	__u64 size; /* shm: bytes; sem: semaphores in the set; msg: 0 */
	__u32 nattch; /* shm: mappings of it in the application, as shm_nattch counts */
	__u32 state; /* enum appshot_ipc_state */
};

/* ---- memory mappings ------------------------------------------------- */

enum appshot_region_kind {
	RGK_ANON = 0,
	RGK_FILE,
	RGK_SYSV_SHM,
	RGK_HEAP,
	RGK_STACK,
	RGK_VDSO,
	RGK_SPECIAL, /* vvar and other kernel-installed pages */
};

/* regions: (system tgid, start) -> region_info; one entry per tracked mapping */
struct region_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};

struct region_info {
	__u32 aid;
	enum appshot_region_kind kind;
	__u64 end;
	__u64 pgoff; /* file offset of start, in pages */
	__u64 ino;
	__u32 dev;
	__u32 prot; /* PROT_* */
	__u32 flags; /* MAP_SHARED / MAP_PRIVATE and friends */
	__s32 shmid; /* RGK_SYSV_SHM: the segment's id */
};

struct region_span {
	__u64 start;
	__u64 end;
};

/*
 * region_idx: system tgid -> the spans of its tracked mappings, unordered,
 * with empty slots (start == end == 0) reused. It lets the BPF side find the
 * mappings an munmap or mprotect overlaps without walking the regions map.
 */
struct region_index {
	__u32 n; /* slots in use or freed: a high-water mark */
	__u32 lost; /* mappings not tracked: the index was full */
	__u32 lock; /* taken by the program updating this process's mappings */
	__u32 busy; /* mapping syscalls of the process in flight */
	/*
	 * Changes that may have been applied out of the kernel's order: threads
	 * whose mapping syscalls overlapped, or a contended lock. Readers then
	 * rebuild the process's mappings from the kernel (tables_settle).
	 */
	__u32 unsettled;
	__u32 pad;
	__u64 heap_start;
	__u64 heap_end;
	struct region_span span[APPSHOT_MAX_REGIONS];
};

/* ---- events ---------------------------------------------------------- */

enum appshot_event_type {
	EVT_FORK = 1,
	EVT_THREAD,
	EVT_EXEC,
	EVT_EXIT,
	EVT_FD_OPEN,
	EVT_FD_CLOSE,
	EVT_SOCK,
	EVT_IPC_GET,
	EVT_IPC_RM,
	EVT_MAP,
	EVT_UNMAP,
	EVT_PROTECT,
	EVT_BRK,
};

enum appshot_sock_op {
	SOCKOP_CREATE = 1,
	SOCKOP_BIND,
	SOCKOP_CONNECT,
	SOCKOP_LISTEN,
	SOCKOP_ACCEPT,
	SOCKOP_SHUTDOWN,
};

struct appshot_event {
	__u64 ts_ns;
	enum appshot_event_type type;
	__u32 aid;
	__u32 tgid;
	__u32 tid;
	__u32 vtgid;
	__u32 vtid;
	char comm[APPSHOT_COMM_LEN];
	union {
		struct {
			__u32 tid; /* system */
			__u32 vtid;
		} fork;
		struct {
			__s32 code; /* wait status */
		} exit;
		struct {
			char filename[APPSHOT_PATH_LEN];
		} exec;
		struct {
			__s32 fd;
			__u32 fd_flags;
			__u64 file;
			struct file_info info;
		} fd;
		struct {
			__s32 fd;
			enum appshot_sock_op op;
			__u64 ino;
			struct sock_info info;
		} sock;
		struct {
			enum appshot_ipc_kind kind;
			__s32 id;
			struct ipc_info info;
		} ipc;
		struct {
			__u64 start;
			__u64 end;
			__u32 prot;
			__u32 flags;
			enum appshot_region_kind kind;
			__u32 pad;
		} mem;
	};
};

#endif /* APPSHOT_TRACE_H */
