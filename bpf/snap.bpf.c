// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a snapshot needs from the kernel that no syscall or /proc file
 * shows. `sleeps`: for each thread of an application, the restart state a
 * sleep interrupted by the snapshot left (clock and absolute expiry), so
 * that the restored thread sleeps exactly what was left. The snapshot reads
 * it for threads stopped with -ERESTART_RESTARTBLOCK: a line per thread
 * with a restart block, naming its function (a sleep's is
 * hrtimer_nanosleep_restart; the name, not its address, so that loading
 * needs no walk of kallsyms), then the sleep's clock, absolute expiry and
 * rmtp, where the sleep writes the time left (0: nowhere).
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int sleeps(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 tid;
	__s64 clockid;
	__u64 expires, fn, rmtp;
	int type;

	if (!task)
		return 0;
	tid = BPF_CORE_READ(task, pid);
	if (!member(tid))
		return 0;
	fn = (__u64)BPF_CORE_READ(task, restart_block.fn);
	if (!fn)
		return 0;
	clockid = BPF_CORE_READ(task, restart_block.nanosleep.clockid);
	expires = BPF_CORE_READ(task, restart_block.nanosleep.expires);
	type = BPF_CORE_READ(task, restart_block.nanosleep.type);
	rmtp = type == TT_NATIVE ? (__u64)BPF_CORE_READ(task, restart_block.nanosleep.rmtp) : 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %ps %lld %llu %llu\n", tid, (void *)fn, clockid, expires,
		       rmtp);
	return 0;
}

/*
 * `mm_state`: what each process's mm keeps that no file shows: the flags
 * every new mapping gets (mlockall(MCL_FUTURE): VM_LOCKED, with
 * MCL_ONFAULT VM_LOCKONFAULT) and the membarrier registrations. A line per
 * process of an application: "tgid def_flags membarrier_state".
 */
SEC("iter/task")
int mm_state(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct mm_struct *mm;
	__u64 def_flags;
	__u32 tid, membarrier = 0;

	if (!task)
		return 0;
	tid = BPF_CORE_READ(task, pid);
	if (tid != BPF_CORE_READ(task, tgid) || !member(tid))
		return 0;
	mm = BPF_CORE_READ(task, mm);
	if (!mm)
		return 0;
	def_flags = BPF_CORE_READ(mm, def_flags);
	if (bpf_core_field_exists(mm->membarrier_state))
		membarrier = BPF_CORE_READ(mm, membarrier_state.counter);
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %llx %x\n", tid, def_flags, membarrier);
	return 0;
}

/*
 * `vma_flags`: each mapping's vm_flags of the processes of an application,
 * "tgid start flags": what smaps shows as "??" on kernels without a name
 * for a flag (VM_LOCKONFAULT on 6.1).
 */
SEC("iter/task_vma")
int vma_flags(struct bpf_iter__task_vma *ctx)
{
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	__u32 tgid;

	if (!task || !vma)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (!member(tgid))
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %lx %lx\n", tgid, BPF_CORE_READ(vma, vm_start),
		       BPF_CORE_READ(vma, vm_flags));
	return 0;
}

#define S_IFMT 00170000
#define S_IFIFO 0010000
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2

/*
 * `pipe_ends`: every open file of a pipe or FIFO the processes of an
 * application hold, "tgid dev ino file read write readers writers": with the
 * pipe's own counts of open readers and writers, the snapshot tells a pipe
 * held only by the application from one with an end outside it.
 */
SEC("iter/task_file")
int pipe_ends(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct pipe_inode_info *pipe;
	struct inode *inode;
	unsigned int mode;
	__u32 tgid;

	if (!task || !file)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (!member(tgid))
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFIFO)
		return 0;
	pipe = BPF_CORE_READ(inode, i_pipe);
	if (!pipe)
		return 0;
	mode = BPF_CORE_READ(file, f_mode);
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %u %lu %llx %u %u %u %u\n", tgid,
		       BPF_CORE_READ(inode, i_sb, s_dev), BPF_CORE_READ(inode, i_ino), (__u64)file,
		       !!(mode & FMODE_READ),
		       !!(mode & FMODE_WRITE), BPF_CORE_READ(pipe, readers),
		       BPF_CORE_READ(pipe, writers));
	return 0;
}

#define S_IFSOCK 0140000
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* Fields some kernels have and others not, or have elsewhere (CO-RE flavours). */
struct inet_sock___fl {
	void *ipv6_fl_list; /* 6.5+: here */
} __attribute__((preserve_access_index));
struct ipv6_pinfo___fl {
	void *ipv6_fl_list; /* before */
} __attribute__((preserve_access_index));
struct tcp_sock___ao {
	void *ao_info; /* TCP-AO: 6.7+, when built */
} __attribute__((preserve_access_index));

/*
 * `sock_state`: what the sockets of an application's processes keep that no
 * getsockopt shows, "tgid ino shutdown groups mc_index reuseport_prog
 * tcp_keys": the shutdown mask (a UDP socket's is nowhere else), whether it
 * joined multicast or anycast groups or holds IPv6 flow labels (their lists),
 * the interface index IP_MULTICAST_IF was given (getsockopt shows only the
 * address), a BPF program choosing among its SO_REUSEPORT group, TCP MD5
 * or AO keys, and the MSS a program set (TCP_MAXSEG shows the connection's).
 */
SEC("iter/task_file")
int sock_state(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct sock_reuseport *reuse;
	struct inet_sock *inet;
	struct socket *sock;
	struct sock *sk;
	__u64 groups = 0, keys = 0, prog = 0;
	__u32 tgid, shutdown, family, proto, user_mss = 0;
	int mc_index = 0;

	if (!task || !file)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (!member(tgid))
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	shutdown = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown);
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	reuse = BPF_CORE_READ(sk, sk_reuseport_cb);
	if (reuse)
		prog = (__u64)BPF_CORE_READ(reuse, prog);
	inet = (struct inet_sock *)sk;
	if (family == AF_INET || family == AF_INET6) {
		groups = (__u64)BPF_CORE_READ(inet, mc_list);
		mc_index = BPF_CORE_READ(inet, mc_index);
	}
	if (family == AF_INET6) {
		struct inet_sock___fl *fl = (void *)sk;
		struct ipv6_pinfo___fl *np = (void *)BPF_CORE_READ(inet, pinet6);

		groups |= (__u64)BPF_CORE_READ(inet, pinet6, ipv6_mc_list) |
			  (__u64)BPF_CORE_READ(inet, pinet6, ipv6_ac_list);
		if (bpf_core_field_exists(fl->ipv6_fl_list))
			groups |= (__u64)BPF_CORE_READ(fl, ipv6_fl_list);
		else if (bpf_core_field_exists(np->ipv6_fl_list))
			groups |= (__u64)BPF_CORE_READ(np, ipv6_fl_list);
	}
	if ((family == AF_INET || family == AF_INET6) && proto == IPPROTO_TCP) {
		struct tcp_sock *tp = (struct tcp_sock *)sk;
		struct tcp_sock___ao *ao = (void *)sk;

		if (bpf_core_field_exists(tp->md5sig_info))
			keys |= (__u64)BPF_CORE_READ(tp, md5sig_info);
		if (bpf_core_field_exists(ao->ao_info))
			keys |= (__u64)BPF_CORE_READ(ao, ao_info);
		user_mss = BPF_CORE_READ(tp, rx_opt.user_mss);
	}
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %lu %u %u %d %u %u %u\n", tgid,
		       BPF_CORE_READ(file, f_inode, i_ino), shutdown, groups != 0, mc_index,
		       prog != 0, keys != 0, user_mss);
	return 0;
}

/*
 * `open_files`: each fd of the processes of an application and its open
 * file, "tgid fd file": the file's address is its identity while it is
 * open, as kcmp's, but needs no second process to compare with (an fd the
 * application was given by appshot run --preserve-fds is known by it).
 */
SEC("iter/task_file")
int open_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	__u32 tgid;

	if (!task || !file)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (!member(tgid))
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %u %llx\n", tgid, ctx->fd, (__u64)file);
	return 0;
}
