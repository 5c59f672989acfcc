// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory mappings: mmap, munmap, mremap, mprotect, brk, shmat and shmdt
 * keep each process's table of mappings (region.bpf.h) exact.
 */
#include "fdinfo.bpf.h"
#include "region.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MREMAP_DONTUNMAP 4
#define SHM_RDONLY 010000
#define SHM_EXEC 0100000

static __always_inline void emit_mem(struct task_info *t, enum appshot_event_type type,
				     __u64 start, __u64 end, const struct region_info *ri)
{
	struct appshot_event *e = ev_reserve(t, type);

	if (!e)
		return;
	e->mem.start = start;
	e->mem.end = end;
	if (ri) {
		e->mem.prot = ri->prot;
		e->mem.flags = ri->flags;
		e->mem.kind = ri->kind;
	}
	ev_submit(e);
}

static __always_inline struct region_index *index_of(__u32 tgid)
{
	struct region_index *idx = rg_index(tgid);

	return idx ? idx : rg_index_new(tgid);
}

/* The index of the current process, locked; NULL if it cannot be had. */
static __always_inline struct region_index *locked_index(__u32 tgid)
{
	struct region_index *idx = index_of(tgid);

	if (!idx || rg_lock(idx))
		return NULL;
	return idx;
}

/* Mapping syscalls keep their arguments and count themselves in flight. */
static __always_inline int mem_enter(struct trace_event_raw_sys_enter *ctx, const int n)
{
	struct task_info *t = cur_member();
	struct region_index *idx;

	if (!t)
		return 0;
	stash_args(ctx, n);
	idx = index_of(t->tgid);
	if (idx)
		rg_enter(idx);
	return 0;
}

#define MEM_ENTER(sc, n)                                                      \
	SEC("tracepoint/syscalls/sys_enter_" #sc)                             \
	int enter_##sc(struct trace_event_raw_sys_enter *ctx)                 \
	{                                                                     \
		return mem_enter(ctx, n);                                     \
	}

/* Every exit of a mapping syscall ends here, applied or not. */
static __always_inline int mem_exit(struct task_info *t)
{
	struct region_index *idx;

	if (t && (idx = rg_index(t->tgid)))
		rg_leave(idx);
	return 0;
}

/*
 * A mapping syscall's exit: apply what it did (apply_##sc, given the kept
 * arguments) and count it out of flight, whatever happened.
 */
#define MEM_EXIT(sc)                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                              \
	int exit_##sc(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                     \
		struct syscall_args a;                                        \
		struct task_info *t = take_args(&a);                          \
		if (t)                                                        \
			apply_##sc(ctx, t, &a);                               \
		return mem_exit(t);                                           \
	}

static __always_inline void apply_mmap(struct trace_event_raw_sys_exit *ctx,
				       struct task_info *t, struct syscall_args *a)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start = ctx->ret, flags = a->a[3];
	struct region_info ri = {};
	struct region_index *idx;
	struct vma_hit h = {};
	struct fdt_view v;
	struct file *f;

	if (IS_ERR_VALUE(start))
		return;
	ri.aid = t->aid;
	ri.end = start + RG_PAGE_ALIGN(a->a[1]);
	ri.prot = a->a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC);
	ri.flags = flags & MAP_KEPT;
	ri.shmid = -1;
	ri.kind = RGK_ANON;
	if (!(flags & MAP_ANONYMOUS)) {
		ri.kind = RGK_FILE;
		ri.pgoff = a->a[5] >> RG_PAGE_SHIFT;
		if (!fdt_of(task, &v)) {
			f = fdt_file(&v, a->a[4]);
			if (f) {
				ri.ino = BPF_CORE_READ(f, f_inode, i_ino);
				ri.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
			}
		}
	} else if ((flags & MAP_TYPE) == MAP_SHARED) {
		/* Shared anonymous memory is a shmem object: note which one. */
		h.mm = BPF_CORE_READ(task, mm);
		if (vma_at(task, start, &h)) {
			ri.ino = h.ri.ino;
			ri.dev = h.ri.dev;
		}
	}
	idx = locked_index(t->tgid);
	if (!idx)
		return;
	rg_map(idx, t->tgid, start, &ri);
	rg_unlock(idx);
	emit_mem(t, EVT_MAP, start, ri.end, &ri);
}

static __always_inline void apply_munmap(struct trace_event_raw_sys_exit *ctx,
					 struct task_info *t, struct syscall_args *a)
{
	__u64 start = a->a[0], end = start + RG_PAGE_ALIGN(a->a[1]);
	struct region_index *idx;

	if (ctx->ret != 0 || !(idx = locked_index(t->tgid)))
		return;
	rg_carve_range(idx, t->tgid, start, end);
	rg_unlock(idx);
	emit_mem(t, EVT_UNMAP, start, end, NULL);
}

static __always_inline void apply_mremap(struct trace_event_raw_sys_exit *ctx,
					 struct task_info *t, struct syscall_args *a)
{
	__u64 old = a->a[0], old_len = RG_PAGE_ALIGN(a->a[1]), new_len = RG_PAGE_ALIGN(a->a[2]);
	__u64 start = ctx->ret, rstart = 0;
	struct region_info ri, *r;
	struct region_index *idx;

	if (IS_ERR_VALUE(start) || !(idx = locked_index(t->tgid)))
		return;
	r = rg_find(idx, t->tgid, old, &rstart);
	if (r) {
		ri = *r;
		ri.pgoff = rg_shift(r, rstart, old);
		ri.end = start + new_len;
		/* old_len 0 duplicates a shared mapping: the old one stays. */
		if (old_len && !(a->a[3] & MREMAP_DONTUNMAP))
			rg_carve_range(idx, t->tgid, old, old + old_len);
		rg_map(idx, t->tgid, start, &ri);
	}
	rg_unlock(idx);
	if (r) {
		emit_mem(t, EVT_UNMAP, old, old + old_len, NULL);
		emit_mem(t, EVT_MAP, start, start + new_len, &ri);
	}
}

static __always_inline void apply_mprotect(struct trace_event_raw_sys_exit *ctx,
					   struct task_info *t, struct syscall_args *a)
{
	__u64 start = a->a[0], end = start + RG_PAGE_ALIGN(a->a[1]);
	struct region_info pr = { .prot = a->a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC) };
	struct region_index *idx;

	if (ctx->ret != 0 || !(idx = locked_index(t->tgid)))
		return;
	rg_protect_range(idx, t->tgid, start, end, pr.prot);
	rg_unlock(idx);
	emit_mem(t, EVT_PROTECT, start, end, &pr);
}

#define apply_pkey_mprotect apply_mprotect

/* brk returns the break in effect; the heap is [start_brk, that) in pages. */
static __always_inline void apply_brk(struct trace_event_raw_sys_exit *ctx,
				      struct task_info *t, struct syscall_args *a)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 heap_start, end, old_end;
	struct region_info ri = {};
	struct region_index *idx;

	(void)a;
	heap_start = BPF_CORE_READ(task, mm, start_brk);
	end = RG_PAGE_ALIGN((__u64)ctx->ret);
	idx = locked_index(t->tgid);
	if (!idx)
		return;
	old_end = idx->heap_end;
	if (old_end < heap_start)
		old_end = heap_start;
	if (end != old_end) {
		rg_carve_range(idx, t->tgid, heap_start, end > old_end ? end : old_end);
		if (end > heap_start) {
			ri.aid = t->aid;
			ri.kind = RGK_HEAP;
			ri.end = end;
			ri.prot = PROT_READ | PROT_WRITE;
			ri.flags = MAP_PRIVATE | MAP_ANONYMOUS;
			ri.shmid = -1;
			rg_insert(idx, t->tgid, heap_start, &ri);
		}
		idx->heap_start = heap_start;
		idx->heap_end = end;
	}
	rg_unlock(idx);
	if (end != old_end)
		emit_mem(t, EVT_BRK, heap_start, end, &ri);
}

static __always_inline void apply_shmat(struct trace_event_raw_sys_exit *ctx,
					struct task_info *t, struct syscall_args *a)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start = ctx->ret;
	struct region_index *idx;
	struct vma_hit h = {};

	if (IS_ERR_VALUE(start))
		return;
	/* The segment's size is the VMA the kernel just made for it. */
	h.mm = BPF_CORE_READ(task, mm);
	if (!vma_at(task, start, &h))
		return;
	h.ri.aid = t->aid;
	h.ri.kind = RGK_SYSV_SHM;
	h.ri.shmid = a->a[0];
	idx = locked_index(t->tgid);
	if (!idx)
		return;
	rg_map(idx, t->tgid, start, &h.ri);
	rg_unlock(idx);
	emit_mem(t, EVT_MAP, start, h.ri.end, &h.ri);
}

static __always_inline void apply_shmdt(struct trace_event_raw_sys_exit *ctx,
					struct task_info *t, struct syscall_args *a)
{
	struct region_key k = { .tgid = t->tgid, .start = a->a[0] };
	struct region_index *idx;
	struct region_info *r;
	__u64 end;

	if (ctx->ret != 0)
		return;
	r = bpf_map_lookup_elem(&regions, &k);
	if (!r || r->kind != RGK_SYSV_SHM)
		return;
	end = r->end;
	idx = locked_index(t->tgid);
	if (!idx)
		return;
	rg_carve_range(idx, t->tgid, k.start, end);
	rg_unlock(idx);
	emit_mem(t, EVT_UNMAP, k.start, end, NULL);
}

MEM_ENTER(mmap, 6)
MEM_EXIT(mmap)
MEM_ENTER(munmap, 2)
MEM_EXIT(munmap)
MEM_ENTER(mremap, 5)
MEM_EXIT(mremap)
MEM_ENTER(mprotect, 3)
MEM_EXIT(mprotect)
MEM_ENTER(pkey_mprotect, 3)
MEM_EXIT(pkey_mprotect)
MEM_ENTER(brk, 1)
MEM_EXIT(brk)
MEM_ENTER(shmat, 3)
MEM_EXIT(shmat)
MEM_ENTER(shmdt, 1)
MEM_EXIT(shmdt)
