// SPDX-License-Identifier: GPL-2.0-only
/*
 * Membership: a task joins its creator's application at fork, keeps it
 * through exec, setsid and re-parenting, and leaves when it is reaped. A
 * forked process starts with its parent's fds and mappings.
 */
#include "fdinfo.bpf.h"
#include "region.bpf.h"

char LICENSE[] SEC("license") = "GPL";

enum fdwalk_mode {
	FDW_COPY, /* fork: copy the parent's entries of open fds */
	FDW_EXEC, /* exec: forget fds close-on-exec has closed */
	FDW_EXIT, /* last thread gone: forget them all */
};

struct fdwalk_ctx {
	unsigned long *open_fds;
	unsigned long word;
	__u32 aid, from, to;
	enum fdwalk_mode mode;
};

static long fdwalk_cb(__u32 i, struct fdwalk_ctx *c)
{
	struct fd_key k = { .tgid = c->from, .fd = i };
	struct fd_info *fi;
	int open;

	if ((i & 63) == 0)
		bpf_probe_read_kernel(&c->word, sizeof(c->word), &c->open_fds[i / 64]);
	open = (c->word >> (i & 63)) & 1;

	if (c->mode == FDW_EXIT || (c->mode == FDW_EXEC && !open)) {
		fd_drop(c->aid, c->from, i);
		return 0;
	}
	if (c->mode != FDW_COPY || !open)
		return 0;
	fi = bpf_map_lookup_elem(&fds, &k);
	if (!fi || !fi->file)
		return 0;
	k.tgid = c->to;
	/* The child's fd refers to the same open file: one more reference. */
	if (bpf_map_update_elem(&fds, &k, fi, BPF_ANY) == 0)
		file_ref(c->aid, fi->file);
	return 0;
}

static __always_inline void fd_walk(struct task_struct *task, __u32 aid, __u32 from,
				    __u32 to, enum fdwalk_mode mode)
{
	struct fdwalk_ctx c = { .aid = aid, .from = from, .to = to, .mode = mode };
	struct fdt_view v;

	if (fdt_of(task, &v))
		return;
	c.open_fds = v.open_fds;
	bpf_loop(v.max_fds < APPSHOT_FD_WALK_MAX ? v.max_fds : APPSHOT_FD_WALK_MAX,
		 fdwalk_cb, &c, 0);
}

static __always_inline void vtask_set(__u32 aid, __u32 vtid, __u32 tid)
{
	struct vtask_key vk = { .aid = aid, .vtid = vtid };

	bpf_map_update_elem(&vtasks, &vk, &tid, BPF_ANY);
}

/* Remove (aid, vtid) -> tid, unless the virtual id already names another task. */
static __always_inline void vtask_del(__u32 aid, __u32 vtid, __u32 tid)
{
	struct vtask_key vk = { .aid = aid, .vtid = vtid };
	__u32 *cur = bpf_map_lookup_elem(&vtasks, &vk);

	if (cur && *cur == tid)
		bpf_map_delete_elem(&vtasks, &vk);
}

/* ---- what exec maps ------------------------------------------------- */

static __always_inline void track_hit(struct region_index *idx, __u32 tgid, __u32 aid,
				      struct vma_hit *h)
{
	struct region_key k = { .tgid = tgid, .start = h->start };

	if (bpf_map_lookup_elem(&regions, &k))
		return;
	h->ri.aid = aid;
	rg_insert(idx, tgid, h->start, &h->ri);
}

/*
 * The mappings of one ELF image the kernel mapped at exec: from the VMA at
 * anchor, back and forth over the VMAs of the same file, plus the
 * anonymous bss right after it.
 */
__noinline int track_image(__u32 tgid, __u32 aid, __u64 anchor)
{
	struct region_index *idx = rg_index(tgid);
	struct vma_hit hit, *h = &hit;
	struct file *f;
	__u64 lo, hi;

	if (!idx || !vma_at(anchor, h))
		return 0;
	f = h->file;
	lo = h->start;
	hi = h->ri.end;
	track_hit(idx, tgid, aid, h);
	if (!f)
		return 0;
	for (int i = 0; i < 6; i++) {
		if (!vma_at(lo - 1, h) || h->file != f || h->ri.end != lo)
			break;
		track_hit(idx, tgid, aid, h);
		lo = h->start;
	}
	for (int i = 0; i < 6; i++) {
		if (!vma_at(hi, h) || h->start != hi)
			break;
		if (h->file != f) {
			if (!h->file && h->ri.kind == RGK_ANON)
				track_hit(idx, tgid, aid, h); /* bss */
			break;
		}
		track_hit(idx, tgid, aid, h);
		hi = h->ri.end;
	}
	return 0;
}

static __always_inline __u64 auxv_get(struct mm_struct *mm, __u64 type)
{
	unsigned long *auxv = (void *)mm + bpf_core_field_offset(struct mm_struct, saved_auxv);
	unsigned long t = 0, v = 0;

	for (int i = 0; i < 24; i++) {
		bpf_probe_read_kernel(&t, sizeof(t), &auxv[2 * i]);
		if (t == AT_NULL)
			break;
		if (t == type) {
			bpf_probe_read_kernel(&v, sizeof(v), &auxv[2 * i + 1]);
			return v;
		}
	}
	return 0;
}

/*
 * After exec the process holds only what the kernel mapped: its executable,
 * the ELF interpreter, the stack, vdso and vvar. None of it came from a
 * syscall, so it is read here from the new mm.
 */
static __always_inline void rg_exec(struct task_struct *task, __u32 tgid, __u32 aid)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct region_index *idx;
	struct vma_hit h;
	__u64 lo;

	rg_drop_process(tgid);
	idx = rg_index_new(tgid);
	if (!idx || !mm)
		return;
	idx->heap_start = BPF_CORE_READ(mm, start_brk);
	idx->heap_end = RG_PAGE_ALIGN(BPF_CORE_READ(mm, brk));
	track_image(tgid, aid, BPF_CORE_READ(mm, start_code));
	track_image(tgid, aid, BPF_CORE_READ(mm, start_data));
	track_image(tgid, aid, auxv_get(mm, AT_BASE));
	if (vma_at(BPF_CORE_READ(mm, start_stack), &h))
		track_hit(idx, tgid, aid, &h);
	if (!vma_at((__u64)BPF_CORE_READ(mm, context.vdso), &h))
		return;
	track_hit(idx, tgid, aid, &h);
	lo = h.start;
	for (int i = 0; i < 3; i++) {
		if (!vma_at(lo - 1, &h) || h.ri.kind != RGK_SPECIAL)
			break;
		track_hit(idx, tgid, aid, &h);
		lo = h.start;
	}
}

/* ---- the programs ---------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ctid = BPF_CORE_READ(child, pid);
	struct task_info *pt, *old, ti = {};
	struct appshot_event *e;
	__u32 aid, ptgid;

	pt = member(BPF_CORE_READ(parent, pid));
	if (!pt)
		return 0;
	aid = pt->aid;
	ptgid = pt->tgid;

	/* A reused pid whose old task was never seen reaped. */
	old = member(ctid);
	if (old)
		vtask_del(old->aid, old->vtid, ctid);

	task_fill(&ti, child, aid, ptgid);
	bpf_map_update_elem(&tasks, &ctid, &ti, BPF_ANY);
	vtask_set(aid, ti.vtid, ctid);

	if (!(ti.flags & TASKF_THREAD)) {
		fd_walk(child, aid, ptgid, ctid, FDW_COPY);
		rg_copy_process(ptgid, ctid);
	}

	e = ev_reserve(pt, (ti.flags & TASKF_THREAD) ? EVT_THREAD : EVT_FORK);
	if (e) {
		e->fork.tid = ctid;
		e->fork.vtid = ti.vtid;
		ev_submit(e);
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	struct task_info *t, ti;
	struct appshot_event *e;
	__u32 opid = old_pid;

	if (opid != pid) {
		/* A thread exec'ed: it now has the leader's pid, the leader is gone. */
		t = member(opid);
		if (!t)
			return 0;
		ti = *t;
		vtask_del(ti.aid, ti.vtid, opid);
		bpf_map_delete_elem(&tasks, &opid);
		task_fill(&ti, p, ti.aid, ti.creator);
		bpf_map_update_elem(&tasks, &pid, &ti, BPF_ANY);
		vtask_set(ti.aid, ti.vtid, pid);
	}
	t = member(pid);
	if (!t)
		return 0;
	BPF_CORE_READ_STR_INTO(&t->comm, p, comm);

	fd_walk(p, t->aid, tgid, 0, FDW_EXEC);
	rg_exec(p, tgid, t->aid);

	e = ev_reserve(t, EVT_EXEC);
	if (e) {
		bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename),
					  BPF_CORE_READ(bprm, filename));
		ev_submit(e);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	struct task_info *t = member(pid);
	struct appshot_event *e;

	if (!t)
		return 0;
	t->flags |= TASKF_EXITED;
	t->exit_code = BPF_CORE_READ(p, exit_code);

	/*
	 * signal->live reached zero before this tracepoint for the last thread:
	 * the process's fds and mappings end here (its files are still there to
	 * walk, exit_files() comes after). 6.18 also passes group_dead, but
	 * 6.1 does not, and this works on both.
	 */
	if (BPF_CORE_READ(p, signal, live.counter) == 0) {
		fd_walk(p, t->aid, tgid, 0, FDW_EXIT);
		rg_drop_process(tgid);
	}
	e = ev_reserve(t, EVT_EXIT);
	if (e) {
		e->exit.code = t->exit_code;
		ev_submit(e);
	}
	return 0;
}

/* Reaped: the pid is free again. The start time tells our task from a successor. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(on_free, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	struct task_info *t = member(pid);

	if (!t || t->start_ns != BPF_CORE_READ(p, start_time))
		return 0;
	vtask_del(t->aid, t->vtid, pid);
	bpf_map_delete_elem(&tasks, &pid);
	return 0;
}

/* prctl(PR_SET_NAME) and writes to /proc/PID/comm rename a task. */
SEC("tracepoint/task/task_rename")
int on_rename(struct trace_event_raw_task_rename *ctx)
{
	__u32 pid = ctx->pid;
	struct task_info *t = member(pid);

	if (t)
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), ctx->newcomm);
	return 0;
}
