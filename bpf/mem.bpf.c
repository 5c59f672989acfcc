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

/* The index of the current process, locked; NULL if it cannot be had. */
static __always_inline struct region_index *locked_index(__u32 tgid)
{
	struct region_index *idx = rg_index(tgid);

	if (!idx)
		idx = rg_index_new(tgid);
	if (!idx || rg_lock(idx))
		return NULL;
	return idx;
}

ENTER_STASH(mmap, 6)

SEC("tracepoint/syscalls/sys_exit_mmap")
int exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct region_info ri = {};
	struct region_index *idx;
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	__u64 start = ctx->ret, flags = a.a[3];
	struct vma_hit h = {};
	struct fdt_view v;
	struct file *f;

	if (!t || IS_ERR_VALUE(start))
		return 0;
	ri.aid = t->aid;
	ri.end = start + RG_PAGE_ALIGN(a.a[1]);
	ri.prot = a.a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC);
	ri.flags = flags & MAP_KEPT;
	ri.shmid = -1;
	ri.kind = RGK_ANON;
	if (!(flags & MAP_ANONYMOUS)) {
		ri.kind = RGK_FILE;
		ri.pgoff = a.a[5] >> RG_PAGE_SHIFT;
		if (!fdt_of(task, &v)) {
			f = fdt_file(&v, a.a[4]);
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
		return 0;
	rg_map(idx, t->tgid, start, &ri);
	rg_unlock(idx);
	emit_mem(t, EVT_MAP, start, ri.end, &ri);
	return 0;
}

ENTER_STASH(munmap, 2)

SEC("tracepoint/syscalls/sys_exit_munmap")
int exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	struct region_index *idx;
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	__u64 start = a.a[0], end = start + RG_PAGE_ALIGN(a.a[1]);

	if (!t || ctx->ret != 0)
		return 0;
	idx = locked_index(t->tgid);
	if (!idx)
		return 0;
	rg_carve_range(idx, t->tgid, start, end);
	rg_unlock(idx);
	emit_mem(t, EVT_UNMAP, start, end, NULL);
	return 0;
}

ENTER_STASH(mremap, 5)

SEC("tracepoint/syscalls/sys_exit_mremap")
int exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	struct region_info ri, *r;
	struct region_index *idx;
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	__u64 old = a.a[0], old_len = RG_PAGE_ALIGN(a.a[1]), new_len = RG_PAGE_ALIGN(a.a[2]);
	__u64 start = ctx->ret, rstart = 0;

	if (!t || IS_ERR_VALUE(start))
		return 0;
	idx = locked_index(t->tgid);
	if (!idx)
		return 0;
	r = rg_find(idx, t->tgid, old, &rstart);
	if (r) {
		ri = *r;
		ri.pgoff = rg_shift(r, rstart, old);
		ri.end = start + new_len;
		/* old_len 0 duplicates a shared mapping: the old one stays. */
		if (old_len && !(a.a[3] & MREMAP_DONTUNMAP))
			rg_carve_range(idx, t->tgid, old, old + old_len);
		rg_map(idx, t->tgid, start, &ri);
	}
	rg_unlock(idx);
	if (r) {
		emit_mem(t, EVT_UNMAP, old, old + old_len, NULL);
		emit_mem(t, EVT_MAP, start, start + new_len, &ri);
	}
	return 0;
}

static __always_inline int protect_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct region_index *idx;
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	__u64 start = a.a[0], end = start + RG_PAGE_ALIGN(a.a[1]);
	__u32 prot = a.a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC);

	if (!t || ctx->ret != 0)
		return 0;
	idx = locked_index(t->tgid);
	if (!idx)
		return 0;
	struct region_info pr = { .prot = prot };

	rg_protect_range(idx, t->tgid, start, end, prot);
	rg_unlock(idx);
	emit_mem(t, EVT_PROTECT, start, end, &pr);
	return 0;
}

ENTER_STASH(mprotect, 3)

SEC("tracepoint/syscalls/sys_exit_mprotect")
int exit_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	return protect_exit(ctx);
}

ENTER_STASH(pkey_mprotect, 3)

SEC("tracepoint/syscalls/sys_exit_pkey_mprotect")
int exit_pkey_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	return protect_exit(ctx);
}

/* brk returns the break in effect; the heap is [start_brk, that) in pages. */
SEC("tracepoint/syscalls/sys_exit_brk")
int exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_info *t = cur_member();
	struct region_info ri = {};
	struct region_index *idx;
	__u64 heap_start, end, old_end;

	if (!t)
		return 0;
	heap_start = BPF_CORE_READ(task, mm, start_brk);
	end = RG_PAGE_ALIGN((__u64)ctx->ret);
	idx = locked_index(t->tgid);
	if (!idx)
		return 0;
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
	return 0;
}

ENTER_STASH(shmat, 3)

SEC("tracepoint/syscalls/sys_exit_shmat")
int exit_shmat(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct region_index *idx;
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	__u64 start = ctx->ret;
	struct vma_hit h = {};

	if (!t || IS_ERR_VALUE(start))
		return 0;
	/* The segment's size is the VMA the kernel just made for it. */
	h.mm = BPF_CORE_READ(task, mm);
	if (!vma_at(task, start, &h))
		return 0;
	h.ri.aid = t->aid;
	h.ri.kind = RGK_SYSV_SHM;
	h.ri.shmid = a.a[0];
	idx = locked_index(t->tgid);
	if (!idx)
		return 0;
	rg_map(idx, t->tgid, start, &h.ri);
	rg_unlock(idx);
	emit_mem(t, EVT_MAP, start, h.ri.end, &h.ri);
	return 0;
}

ENTER_STASH(shmdt, 1)

SEC("tracepoint/syscalls/sys_exit_shmdt")
int exit_shmdt(struct trace_event_raw_sys_exit *ctx)
{
	struct region_index *idx;
	struct region_info *r;
	struct syscall_args a;
	struct task_info *t = take_args(&a);
	struct region_key k;
	__u64 start = a.a[0], end = 0;

	if (!t || ctx->ret != 0)
		return 0;
	k.tgid = t->tgid;
	k.pad = 0;
	k.start = start;
	r = bpf_map_lookup_elem(&regions, &k);
	if (!r || r->kind != RGK_SYSV_SHM)
		return 0;
	end = r->end;
	idx = locked_index(t->tgid);
	if (!idx)
		return 0;
	rg_carve_range(idx, t->tgid, start, end);
	rg_unlock(idx);
	emit_mem(t, EVT_UNMAP, start, end, NULL);
	return 0;
}
