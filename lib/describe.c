// SPDX-License-Identifier: GPL-2.0-only
/* Names and one-line descriptions of table entries and events. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "describe.h"
#include "util.h"

#define NAME(table, i) ((size_t)(i) < ARRAY_SIZE(table) && (table)[i] ? (table)[i] : "unknown")

static const char *const fd_kinds[FDK_MAX] = {
	[FDK_UNKNOWN] = "unknown", [FDK_FILE] = "file",	      [FDK_DIR] = "dir",
	[FDK_CHR] = "chr",	   [FDK_BLK] = "blk",	      [FDK_FIFO] = "fifo",
	[FDK_PIPE] = "pipe",	   [FDK_SOCKET] = "socket",   [FDK_EVENTFD] = "eventfd",
	[FDK_EPOLL] = "epoll",	   [FDK_TIMERFD] = "timerfd", [FDK_SIGNALFD] = "signalfd",
	[FDK_INOTIFY] = "inotify", [FDK_FANOTIFY] = "fanotify", [FDK_MEMFD] = "memfd",
	[FDK_PIDFD] = "pidfd",	   [FDK_USERFAULTFD] = "userfaultfd",
	[FDK_IO_URING] = "io_uring", [FDK_PERF_EVENT] = "perf_event", [FDK_BPF] = "bpf",
	[FDK_ANON] = "anon",
};

const char *fd_kind_name(enum appshot_fd_kind kind)
{
	return NAME(fd_kinds, kind);
}

static const char *const region_kinds[] = {
	[RGK_ANON] = "anon",   [RGK_FILE] = "file", [RGK_SYSV_SHM] = "sysv-shm",
	[RGK_HEAP] = "heap",   [RGK_STACK] = "stack", [RGK_VDSO] = "vdso",
	[RGK_SPECIAL] = "special",
};

const char *region_kind_name(enum appshot_region_kind kind)
{
	return NAME(region_kinds, kind);
}

static const char *const ipc_kinds[] = { [IPCK_SEM] = "sem", [IPCK_SHM] = "shm", [IPCK_MSG] = "msg" };

const char *ipc_kind_name(enum appshot_ipc_kind kind)
{
	return NAME(ipc_kinds, kind);
}

static const char *const event_types[] = {
	[EVT_FORK] = "fork",	 [EVT_THREAD] = "thread",   [EVT_EXEC] = "exec",
	[EVT_EXIT] = "exit",	 [EVT_FD_OPEN] = "fd-open", [EVT_FD_CLOSE] = "fd-close",
	[EVT_SOCK] = "socket",	 [EVT_IPC_GET] = "ipc-get", [EVT_IPC_RM] = "ipc-rm",
	[EVT_MAP] = "map",	 [EVT_UNMAP] = "unmap",	    [EVT_PROTECT] = "protect",
	[EVT_BRK] = "brk",
};

const char *event_type_name(enum appshot_event_type type)
{
	return NAME(event_types, type);
}

static const char *const sock_ops[] = {
	[SOCKOP_CREATE] = "create", [SOCKOP_BIND] = "bind",	[SOCKOP_CONNECT] = "connect",
	[SOCKOP_LISTEN] = "listen", [SOCKOP_ACCEPT] = "accept", [SOCKOP_SHUTDOWN] = "shutdown",
};

const char *sock_op_name(enum appshot_sock_op op)
{
	return NAME(sock_ops, op);
}

const char *sock_family_name(__u16 family)
{
	switch (family) {
	case AF_UNIX:
		return "unix";
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_NETLINK:
		return "netlink";
	case AF_PACKET:
		return "packet";
	default:
		return "other";
	}
}

const char *sock_type_name(__u16 type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_RAW:
		return "raw";
	default:
		return "other";
	}
}

static const char *const tcp_states[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT",	 [3] = "SYN_RECV",   [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2",   [6] = "TIME_WAIT",	 [7] = "CLOSE",	     [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",    [10] = "LISTEN",	 [11] = "CLOSING",   [12] = "NEW_SYN_RECV",
};

const char *sock_state_name(__u16 state)
{
	return NAME(tcp_states, state);
}

/* glibc's O_LARGEFILE is 0 on 64-bit; f_flags carries the kernel's. */
#if defined(__aarch64__)
#define KERNEL_O_LARGEFILE 0400000
#else
#define KERNEL_O_LARGEFILE 0100000
#endif

void open_flags_str(__u32 flags, char *buf, size_t len)
{
	static const struct {
		__u32 bit;
		const char *name;
	} bits[] = {
		{ O_CREAT, "O_CREAT" },	  { O_EXCL, "O_EXCL" },	    { O_NOCTTY, "O_NOCTTY" },
		{ O_TRUNC, "O_TRUNC" },	  { O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" },
		{ O_DSYNC, "O_DSYNC" },	  { O_ASYNC, "O_ASYNC" },   { O_DIRECT, "O_DIRECT" },
		{ KERNEL_O_LARGEFILE, "O_LARGEFILE" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
		{ O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" },
	};
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	size_t used;

	used = snprintf(buf, len, "%s", acc[flags & O_ACCMODE]);
	for (size_t i = 0; i < ARRAY_SIZE(bits) && used < len; i++) {
		/* O_SYNC is __O_SYNC|O_DSYNC; O_TMPFILE includes O_DIRECTORY: show the bits */
		if (bits[i].bit && (flags & bits[i].bit) == bits[i].bit)
			used += snprintf(buf + used, len - used, "|%s", bits[i].name);
	}
}

void sock_addr_str(const struct sock_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	size_t n;

	buf[0] = 0;
	switch (a->family) {
	case AF_INET:
		inet_ntop(AF_INET, a->addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, a->port);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, a->addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, a->port);
		break;
	case AF_UNIX:
		n = a->len < APPSHOT_ADDR_LEN ? a->len : APPSHOT_ADDR_LEN;
		if (n == 0)
			break;
		if (a->addr[0] == 0) /* abstract: shown as ss does, with '@' */
			snprintf(buf, len, "@%.*s", (int)n - 1, (const char *)a->addr + 1);
		else
			snprintf(buf, len, "%.*s", (int)strnlen((const char *)a->addr, n),
				 (const char *)a->addr);
		break;
	}
}

void prot_str(__u32 prot, __u32 flags, char *buf, size_t len)
{
	snprintf(buf, len, "%c%c%c%c", prot & PROT_READ ? 'r' : '-', prot & PROT_WRITE ? 'w' : '-',
		 prot & PROT_EXEC ? 'x' : '-', (flags & MAP_TYPE) == MAP_SHARED ? 's' : 'p');
}

void file_target_str(const struct file_info *fi, const struct sock_info *si, char *buf,
		     size_t len)
{
	char local[160], peer[160];

	switch (fi->kind) {
	case FDK_PIPE:
		snprintf(buf, len, "pipe:[%llu]", (unsigned long long)fi->ino);
		break;
	case FDK_SOCKET:
		if (!si) {
			snprintf(buf, len, "socket:[%llu]", (unsigned long long)fi->ino);
			break;
		}
		sock_addr_str(&si->local, local, sizeof(local));
		sock_addr_str(&si->peer, peer, sizeof(peer));
		snprintf(buf, len, "%s %s %s%s%s %s", sock_family_name(si->family),
			 sock_type_name(si->type), local[0] ? local : "*",
			 peer[0] || si->peer.port ? " -> " : "", peer, sock_state_name(si->state));
		break;
	default:
		snprintf(buf, len, "%s%s%s", fi->file_flags & FILEF_PATH_TRUNC ? "..." : "", fi->path,
			 fi->file_flags & FILEF_DELETED ? " (deleted)" : "");
	}
}

void event_str(const struct appshot_event *e, char *buf, size_t len)
{
	char a[320], b[40];
	size_t n;

	n = snprintf(buf, len, "%-9s pid %u (%u) tid %u (%u) %-15.16s ", event_type_name(e->type),
		     e->vtgid, e->tgid, e->vtid, e->tid, e->comm);
	if (n >= len)
		return;
	buf += n;
	len -= n;
	switch (e->type) {
	case EVT_FORK:
	case EVT_THREAD:
		snprintf(buf, len, "new %s %u (%u)", e->type == EVT_FORK ? "process" : "thread",
			 e->fork.vtid, e->fork.tid);
		break;
	case EVT_EXEC:
		snprintf(buf, len, "%.256s", e->exec.filename);
		break;
	case EVT_EXIT:
		snprintf(buf, len, "status 0x%x", e->exit.code);
		break;
	case EVT_FD_OPEN:
		file_target_str(&e->fd.info, NULL, a, sizeof(a));
		snprintf(buf, len, "fd %d %s %s", e->fd.fd, fd_kind_name(e->fd.info.kind), a);
		break;
	case EVT_FD_CLOSE:
		snprintf(buf, len, "fd %d", e->fd.fd);
		break;
	case EVT_SOCK: {
		struct file_info fi = { .kind = FDK_SOCKET, .ino = e->sock.ino };

		file_target_str(&fi, &e->sock.info, a, sizeof(a));
		snprintf(buf, len, "%s fd %d %s", sock_op_name(e->sock.op), e->sock.fd, a);
		break;
	}
	case EVT_IPC_GET:
		snprintf(buf, len, "%s id %d key 0x%08x", ipc_kind_name(e->ipc.kind), e->ipc.id,
			 (unsigned int)e->ipc.info.key);
		break;
	case EVT_IPC_RM:
		snprintf(buf, len, "%s id %d", ipc_kind_name(e->ipc.kind), e->ipc.id);
		break;
	case EVT_MAP:
	case EVT_BRK:
		prot_str(e->mem.prot, e->mem.flags, b, sizeof(b));
		snprintf(buf, len, "%llx-%llx %s %s", (unsigned long long)e->mem.start,
			 (unsigned long long)e->mem.end, b, region_kind_name(e->mem.kind));
		break;
	case EVT_PROTECT:
		prot_str(e->mem.prot, MAP_PRIVATE, b, sizeof(b));
		snprintf(buf, len, "%llx-%llx %.3s", (unsigned long long)e->mem.start,
			 (unsigned long long)e->mem.end, b);
		break;
	case EVT_UNMAP:
		snprintf(buf, len, "%llx-%llx", (unsigned long long)e->mem.start,
			 (unsigned long long)e->mem.end);
		break;
	default:
		snprintf(buf, len, "?");
	}
}

static struct json_object *addr_json(const struct sock_addr *a)
{
	char s[160];

	sock_addr_str(a, s, sizeof(s));
	return json_object_new_string(s);
}

struct json_object *sock_json(const struct sock_info *si)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "family", json_object_new_string(sock_family_name(si->family)));
	json_object_object_add(o, "type", json_object_new_string(sock_type_name(si->type)));
	json_object_object_add(o, "protocol", json_object_new_int(si->protocol));
	json_object_object_add(o, "state", json_object_new_string(sock_state_name(si->state)));
	json_object_object_add(o, "listening", json_object_new_boolean(si->state == 10));
	json_object_object_add(o, "local", addr_json(&si->local));
	json_object_object_add(o, "peer", addr_json(&si->peer));
	if (si->family == AF_UNIX)
		json_object_object_add(o, "peer_ino", json_object_new_uint64(si->peer_ino));
	if (si->state == 10)
		json_object_object_add(o, "backlog", json_object_new_int(si->backlog));
	return o;
}

struct json_object *fd_json(__u32 fd, const struct fd_info *fd_info, const struct file_info *fi,
			    const struct sock_info *si)
{
	struct json_object *o = json_object_new_object();
	char flags[256], target[512];

	open_flags_str(fi->flags, flags, sizeof(flags));
	file_target_str(fi, si, target, sizeof(target));
	if (fd_info) {
		json_object_object_add(o, "fd", json_object_new_int(fd));
		json_object_object_add(o, "cloexec",
				       json_object_new_boolean(fd_info->fd_flags & FDF_CLOEXEC));
		json_object_object_add(o, "file", json_object_new_uint64(fd_info->file));
	}
	json_object_object_add(o, "kind", json_object_new_string(fd_kind_name(fi->kind)));
	json_object_object_add(o, "target", json_object_new_string(target));
	json_object_object_add(o, "path", json_object_new_string(fi->path));
	json_object_object_add(o, "flags", json_object_new_string(flags));
	json_object_object_add(o, "f_flags", json_object_new_int64(fi->flags));
	json_object_object_add(o, "deleted", json_object_new_boolean(fi->file_flags & FILEF_DELETED));
	json_object_object_add(o, "path_truncated",
			       json_object_new_boolean(fi->file_flags & FILEF_PATH_TRUNC));
	json_object_object_add(o, "ino", json_object_new_uint64(fi->ino));
	json_object_object_add(o, "dev", json_object_new_uint64(fi->dev));
	json_object_object_add(o, "mode", json_object_new_int(fi->mode));
	json_object_object_add(o, "shared_by", json_object_new_int(fi->refs));
	if (fi->kind == FDK_SOCKET && si)
		json_object_object_add(o, "socket", sock_json(si));
	return o;
}

struct json_object *event_json(const struct appshot_event *e)
{
	struct json_object *o = json_object_new_object();
	char s[64];

	json_object_object_add(o, "ts_ns", json_object_new_uint64(e->ts_ns));
	json_object_object_add(o, "type", json_object_new_string(event_type_name(e->type)));
	json_object_object_add(o, "aid", json_object_new_int64(e->aid));
	json_object_object_add(o, "pid", json_object_new_int64(e->vtgid));
	json_object_object_add(o, "tid", json_object_new_int64(e->vtid));
	json_object_object_add(o, "sys_pid", json_object_new_int64(e->tgid));
	json_object_object_add(o, "sys_tid", json_object_new_int64(e->tid));
	json_object_object_add(o, "comm", json_object_new_string_len(e->comm, strnlen(e->comm, sizeof(e->comm))));
	switch (e->type) {
	case EVT_FORK:
	case EVT_THREAD:
		json_object_object_add(o, "child", json_object_new_int64(e->fork.vtid));
		json_object_object_add(o, "sys_child", json_object_new_int64(e->fork.tid));
		break;
	case EVT_EXEC:
		json_object_object_add(o, "filename", json_object_new_string_len(e->exec.filename,
			strnlen(e->exec.filename, sizeof(e->exec.filename))));
		break;
	case EVT_EXIT:
		json_object_object_add(o, "status", json_object_new_int(e->exit.code));
		break;
	case EVT_FD_OPEN: {
		struct fd_info fdi = { .fd_flags = e->fd.fd_flags, .file = e->fd.file };

		json_object_object_add(o, "fd", fd_json(e->fd.fd, &fdi, &e->fd.info, NULL));
		break;
	}
	case EVT_FD_CLOSE:
		json_object_object_add(o, "fd", json_object_new_int(e->fd.fd));
		break;
	case EVT_SOCK:
		json_object_object_add(o, "op", json_object_new_string(sock_op_name(e->sock.op)));
		json_object_object_add(o, "fd", json_object_new_int(e->sock.fd));
		json_object_object_add(o, "ino", json_object_new_uint64(e->sock.ino));
		json_object_object_add(o, "socket", sock_json(&e->sock.info));
		break;
	case EVT_IPC_GET:
	case EVT_IPC_RM:
		json_object_object_add(o, "kind", json_object_new_string(ipc_kind_name(e->ipc.kind)));
		json_object_object_add(o, "id", json_object_new_int(e->ipc.id));
		if (e->type == EVT_IPC_GET) {
			json_object_object_add(o, "key", json_object_new_int(e->ipc.info.key));
			json_object_object_add(o, "size", json_object_new_uint64(e->ipc.info.size));
		}
		break;
	case EVT_MAP:
	case EVT_UNMAP:
	case EVT_PROTECT:
	case EVT_BRK:
		json_object_object_add(o, "start", json_object_new_uint64(e->mem.start));
		json_object_object_add(o, "end", json_object_new_uint64(e->mem.end));
		if (e->type != EVT_UNMAP) {
			prot_str(e->mem.prot, e->mem.flags, s, sizeof(s));
			json_object_object_add(o, "prot", json_object_new_string(s));
			json_object_object_add(o, "kind",
					       json_object_new_string(region_kind_name(e->mem.kind)));
		}
		break;
	}
	return o;
}
