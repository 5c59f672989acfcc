/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tracer's maps, described once. maps.bpf.c defines them; every other
 * BPF object includes this header and sees them as extern, and
 * `bpftool gen object` links them into one. Pinned maps live under
 * /sys/fs/bpf/appshot/<name> (the loader sets the pin root).
 */
#ifndef APPSHOT_MAPS_BPF_H
#define APPSHOT_MAPS_BPF_H

#include "trace.h"

/* Arguments of a traced syscall, kept from sys_enter to sys_exit. */
struct syscall_args {
	__u64 a[6];
};

/* A file path's walk up the dentry tree (fd.bpf.c): kernel addresses and where it is. */
struct path_walk {
	__u64 dentry, vfsmnt, mnt;
	__u64 root_dentry, root_mnt;
	__u32 pos; /* the path is path[pos, APPSHOT_PATH_BUF) */
	__u32 truncated;
};

/* Per-CPU room for values too large for the 512-byte BPF stack. */
#define APPSHOT_PATH_BUF 4096
#define APPSHOT_SCM_FDS 16 /* fds followed of one SCM_RIGHTS message */
struct scratch {
	struct file_info fi;
	struct sock_info si;
	struct appshot_event ev;
	struct path_walk walk;
	int scm_fd[APPSHOT_SCM_FDS]; /* fds a received message installed */
	char path[APPSHOT_PATH_BUF + APPSHOT_PATH_LEN];
};

struct ring_inner {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, APPSHOT_RING_SIZE);
};

#define MAP_HASH(K, V, N, F)                                                  \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_HASH);                              \
		__uint(max_entries, N);                                       \
		__type(key, K);                                               \
		__type(value, V);                                             \
		__uint(map_flags, F);                                         \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                          \
	}

#define APPS_MAP MAP_HASH(__u32, struct app_info, APPSHOT_MAX_APPS, 0)
#define TASKS_MAP MAP_HASH(__u32, struct task_info, APPSHOT_MAX_TASKS, 0)
#define VTASKS_MAP MAP_HASH(struct vtask_key, __u32, APPSHOT_MAX_TASKS, 0)
#define FDS_MAP                                                               \
	MAP_HASH(struct fd_key, struct fd_info, APPSHOT_MAX_FDS,              \
		 BPF_F_NO_PREALLOC)
#define FILES_MAP                                                             \
	MAP_HASH(struct file_key, struct file_info, APPSHOT_MAX_FILES,        \
		 BPF_F_NO_PREALLOC)
#define SOCKS_MAP                                                             \
	MAP_HASH(struct sock_key, struct sock_info, APPSHOT_MAX_SOCKS,        \
		 BPF_F_NO_PREALLOC)
#define SK_SOCKS_MAP                                                          \
	MAP_HASH(__u64, struct sock_key, APPSHOT_MAX_SOCKS, BPF_F_NO_PREALLOC)
#define IPCS_MAP                                                              \
	MAP_HASH(struct ipc_key, struct ipc_info, APPSHOT_MAX_IPCS,           \
		 BPF_F_NO_PREALLOC)
#define REGIONS_MAP                                                           \
	MAP_HASH(struct region_key, struct region_info,                       \
		 APPSHOT_MAX_REGION_ENTRIES, BPF_F_NO_PREALLOC)
#define REGION_IDX_MAP                                                        \
	MAP_HASH(__u32, struct region_index, APPSHOT_MAX_TASKS,               \
		 BPF_F_NO_PREALLOC)
/* In flight syscalls of traced threads; not pinned, nothing to inspect. */
#define ARGS_MAP                                                              \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_HASH);                              \
		__uint(max_entries, APPSHOT_MAX_TASKS);                       \
		__type(key, __u32);                                           \
		__type(value, struct syscall_args);                           \
	}
#define SCRATCH_MAP                                                           \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                      \
		__uint(max_entries, 1);                                       \
		__type(key, __u32);                                           \
		__type(value, struct scratch);                                \
	}
/* One entry of zeroes, the source for new region indexes. */
#define ZERO_IDX_MAP                                                          \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_ARRAY);                             \
		__uint(max_entries, 1);                                       \
		__type(key, __u32);                                           \
		__type(value, struct region_index);                           \
	}
#define META_MAP                                                              \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_ARRAY);                             \
		__uint(max_entries, 1);                                       \
		__type(key, __u32);                                           \
		__type(value, struct trace_meta);                             \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                          \
	}
/* aid -> the ring buffer of the one `appshot-trace events` watching it. */
#define RINGS_MAP                                                             \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);                      \
		__uint(max_entries, APPSHOT_MAX_APPS);                        \
		__type(key, __u32);                                           \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                          \
		__array(values, struct ring_inner);                           \
	}

#ifdef APPSHOT_DEFINE_MAPS
#define APPSHOT_MAP(def, name) def name SEC(".maps")
#else
#define APPSHOT_MAP(def, name) extern def name SEC(".maps")
#endif

APPSHOT_MAP(META_MAP, meta);
APPSHOT_MAP(APPS_MAP, apps);
APPSHOT_MAP(TASKS_MAP, tasks);
APPSHOT_MAP(VTASKS_MAP, vtasks);
APPSHOT_MAP(FDS_MAP, fds);
APPSHOT_MAP(FILES_MAP, files);
APPSHOT_MAP(SOCKS_MAP, socks);
APPSHOT_MAP(SK_SOCKS_MAP, sk_socks);
APPSHOT_MAP(IPCS_MAP, ipcs);
APPSHOT_MAP(REGIONS_MAP, regions);
APPSHOT_MAP(REGION_IDX_MAP, region_idx);
APPSHOT_MAP(ARGS_MAP, syscall_args);
APPSHOT_MAP(SCRATCH_MAP, scratch);
APPSHOT_MAP(ZERO_IDX_MAP, zero_idx);
APPSHOT_MAP(RINGS_MAP, rings);

#endif /* APPSHOT_MAPS_BPF_H */
