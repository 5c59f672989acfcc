// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a snapshot needs from the kernel that no syscall or /proc file
 * shows. `sleeps`: for each thread of an application, the restart state a
 * sleep interrupted by the snapshot left (clock and absolute expiry), so
 * that the restored thread sleeps exactly what was left. The snapshot reads
 * it only for threads stopped in nanosleep or clock_nanosleep with
 * -ERESTART_RESTARTBLOCK, for which the block is theirs.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int sleeps(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 tid;
	__s64 clockid;
	__u64 expires;

	if (!task)
		return 0;
	tid = BPF_CORE_READ(task, pid);
	if (!member(tid))
		return 0;
	clockid = BPF_CORE_READ(task, restart_block.nanosleep.clockid);
	expires = BPF_CORE_READ(task, restart_block.nanosleep.expires);
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %lld %llu\n", tid, clockid, expires);
	return 0;
}
