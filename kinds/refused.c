// SPDX-License-Identifier: GPL-2.0-only
/*
 * What appshot cannot save yet, each kind named: the snapshot fails with
 * the process, the fd and the kind, and the application runs on untouched.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kind.h"

#define MQUEUE_MAGIC 0x19800202
#define PROC_SUPER_MAGIC 0x9fa0
#define SECRETMEM_MAGIC 0x5345434d

static int anon(const struct fd_seen *s, const char *name)
{
	return !strncmp(s->link, "anon_inode:", 11) && !strcmp(s->link + 11, name);
}

#define ANON_REFUSED(id, inode_name, why)                                     \
	static int claims_##id(const struct fd_seen *s)                       \
	{                                                                     \
		return anon(s, inode_name);                                   \
	}                                                                     \
	const struct fd_kind kind_##id = {                                    \
		.name = #id,                                                  \
		.claims = claims_##id,                                        \
		.refusal = why,                                               \
	};

ANON_REFUSED(io_uring, "[io_uring]", "an io_uring instance")
ANON_REFUSED(pidfd, "[pidfd]", "a pidfd")
ANON_REFUSED(fanotify, "[fanotify]", "a fanotify instance")
ANON_REFUSED(userfaultfd, "[userfaultfd]", "a userfaultfd")
ANON_REFUSED(perf_event, "[perf_event]", "a perf event")

static int claims_bpf(const struct fd_seen *s)
{
	return !strncmp(s->link, "anon_inode:bpf", 14);
}

const struct fd_kind kind_bpf = {
	.name = "bpf",
	.claims = claims_bpf,
	.refusal = "a BPF object",
};

/* Any anonymous-inode file the kinds before did not claim. */
static int claims_anon(const struct fd_seen *s)
{
	return !strncmp(s->link, "anon_inode:", 11);
}

const struct fd_kind kind_anon = {
	.name = "anon",
	.claims = claims_anon,
	.refusal = "an anonymous-inode file appshot does not know",
};

static int claims_secretmem(const struct fd_seen *s)
{
	return s->fs_type == SECRETMEM_MAGIC;
}

const struct fd_kind kind_secretmem = {
	.name = "secretmem",
	.claims = claims_secretmem,
	.refusal = "a memfd_secret area (its memory cannot be read)",
};

static int claims_mqueue(const struct fd_seen *s)
{
	return s->fs_type == MQUEUE_MAGIC;
}

const struct fd_kind kind_mqueue = {
	.name = "mqueue",
	.claims = claims_mqueue,
	.refusal = "a POSIX message queue",
};

/* /proc/PID/..., /proc/self/...: the pid it names would not be the same process again. */
static int claims_proc_pid(const struct fd_seen *s)
{
	const char *p = s->link + 6;

	if (s->fs_type != PROC_SUPER_MAGIC || strncmp(s->link, "/proc/", 6))
		return 0;
	if (!strncmp(p, "self", 4) && (!p[4] || p[4] == '/'))
		return 1;
	if (!strncmp(p, "thread-self", 11) && (!p[11] || p[11] == '/'))
		return 1;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return !*p || *p == '/';
}

const struct fd_kind kind_proc_pid = {
	.name = "proc_pid",
	.claims = claims_proc_pid,
	.refusal = "a file of a process in /proc (the pid it names would be another's)",
};

static int claims_block(const struct fd_seen *s)
{
	return S_ISBLK(s->st.st_mode);
}

const struct fd_kind kind_block = {
	.name = "block",
	.claims = claims_block,
	.refusal = "a block device",
};

static int claims_device(const struct fd_seen *s)
{
	return S_ISCHR(s->st.st_mode);
}

const struct fd_kind kind_device = {
	.name = "device",
	.claims = claims_device,
	.refusal = "a character device that holds state of its own (not /dev/null, a tty...)",
};

/* A pipe or FIFO the pipe kinds did not take: someone outside holds an end of it. */
static int claims_outside_pipe(const struct fd_seen *s)
{
	return S_ISFIFO(s->st.st_mode);
}

const struct fd_kind kind_outside_pipe = {
	.name = "outside_pipe",
	.claims = claims_outside_pipe,
	.refusal = "a pipe whose other end is outside the application (or a FIFO someone "
		   "outside has open)",
};

static int claims_socket(const struct fd_seen *s)
{
	return S_ISSOCK(s->st.st_mode);
}

const struct fd_kind kind_socket = {
	.name = "socket",
	.claims = claims_socket,
	.refusal = "a socket appshot does not know",
};

static int claims_all(const struct fd_seen *s)
{
	return 1;
}

/* The last row: what no kind claims. */
const struct fd_kind kind_unknown = {
	.name = "unknown",
	.claims = claims_all,
	.refusal = "a kind of file appshot does not know",
};
