// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory mappings: mmap, munmap, mremap, mprotect, brk, shmat and shmdt
 * keep each process's table of mappings (region.bpf.h) exact: their
 * sys_exit handlers (include/syscalls.h), and the shared steps of the table
 * as global functions.
 */
#include "fdinfo.bpf.h"
#include "region.bpf.h"
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MREMAP_DONTUNMAP 4
#define SHM_RDONLY 010000
#define SHM_EXEC 0100000

/* ---- the table's shared steps (region.bpf.h) ------------------------- */

struct slot_find {
	struct region_index *idx;
	__s32 found;
};

static long slot_free_cb(__u32 i, struct slot_find *f)
{
	struct region_span *sp = &f->idx->span[RG_SLOT(i)];

	if (sp->start == sp->end) {
		f->found = i;
		return 1;
	}
	return 0;
}

__noinline int rg_insert(struct region_index *idx, __u32 tgid, __u64 start,
			 const struct region_info *ri)
{
	struct region_key k = { .tgid = tgid, .start = start };
	struct slot_find f = { .idx = idx, .found = -1 };
	struct region_info r;
	__s32 slot;
	__u32 n;

	if (!idx || !ri)
		return -1;
	r = *ri; /* 6.1 takes map values only from the stack or maps */
	n = idx->n;
	if (n > APPSHOT_MAX_REGIONS)
		n = APPSHOT_MAX_REGIONS;
	bpf_loop(n, slot_free_cb, &f, 0);
	slot = f.found;
	if (slot < 0) {
		if (n >= APPSHOT_MAX_REGIONS)
			goto lost;
		slot = n;
		idx->n = n + 1;
	}
	if (bpf_map_update_elem(&regions, &k, &r, BPF_ANY))
		goto lost;
	idx->span[RG_SLOT(slot)].start = start;
	idx->span[RG_SLOT(slot)].end = r.end;
	shm_attach(&r, 1);
	return 0;
lost:
	__sync_fetch_and_add(&idx->lost, 1);
	return -1;
}

struct carve_ctx {
	struct region_index *idx;
	__u32 tgid;
	__u64 a, b;
	int split;
	__u64 split_start;
	struct region_info split_ri;
};

static long carve_cb(__u32 i, struct carve_ctx *c)
{
	struct region_span *sp = &c->idx->span[RG_SLOT(i)];
	__u64 s = sp->start, e = sp->end;
	struct region_key k = { .tgid = c->tgid, .start = s };
	struct region_info *r, moved;

	switch (rg_carve(s, e, c->a, c->b)) {
	case RG_KEEP:
		return 0;
	case RG_DEL:
		r = bpf_map_lookup_elem(&regions, &k);
		if (r) {
			moved = *r;
			bpf_map_delete_elem(&regions, &k);
			shm_attach(&moved, -1);
		}
		sp->start = sp->end = 0;
		return 0;
	case RG_TRIM_END:
		r = bpf_map_lookup_elem(&regions, &k);
		if (r)
			r->end = c->a;
		sp->end = c->a;
		return 0;
	case RG_TRIM_START:
		r = bpf_map_lookup_elem(&regions, &k);
		if (r) {
			moved = *r;
			moved.pgoff = rg_shift(r, s, c->b);
			bpf_map_delete_elem(&regions, &k);
			k.start = c->b;
			bpf_map_update_elem(&regions, &k, &moved, BPF_ANY);
		}
		sp->start = c->b;
		return 0;
	case RG_SPLIT:
		r = bpf_map_lookup_elem(&regions, &k);
		if (r) {
			c->split_ri = *r;
			c->split_ri.pgoff = rg_shift(r, s, c->b);
			c->split_ri.end = e;
			c->split_start = c->b;
			c->split = 1;
			r->end = c->a;
		}
		sp->end = c->a;
		return 0;
	}
	return 0;
}

__noinline int rg_carve_range(struct region_index *idx, __u32 tgid, __u64 a, __u64 b)
{
	struct carve_ctx c = { .idx = idx, .tgid = tgid, .a = a, .b = b };
	__u32 n;

	if (!idx)
		return 0;
	n = idx->n;
	bpf_loop(n < APPSHOT_MAX_REGIONS ? n : APPSHOT_MAX_REGIONS, carve_cb, &c, 0);
	if (c.split)
		rg_insert(idx, tgid, c.split_start, &c.split_ri);
	return 0;
}

static long vma_hit_cb(struct task_struct *task, struct vm_area_struct *vma,
		       struct vma_hit *h)
{
	h->found = 1;
	h->start = BPF_CORE_READ(vma, vm_start);
	h->file = BPF_CORE_READ(vma, vm_file);
	vma_to_region(vma, h->mm, &h->ri);
	return 0;
}

__noinline int vma_at(__u64 addr, struct vma_hit *h)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vma_hit found = {};

	if (!h)
		return 0;
	found.mm = BPF_CORE_READ(task, mm);
	if (addr)
		bpf_find_vma(task, addr, vma_hit_cb, &found, 0);
	*h = found;
	return found.found;
}

/* ---- the syscalls ---------------------------------------------------- */

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

/* Mapping syscalls count themselves in flight from their entry. */
__noinline int mem_enter(struct task_info *t)
{
	struct region_index *idx;

	if (!t)
		return 0;
	idx = index_of(t->tgid);
	if (idx)
		rg_enter(idx);
	return 0;
}

/*
 * A mapping syscall's exit: apply what it did (apply_##sc, given the kept
 * arguments) and count it out of flight, whatever happened.
 */
#define MEM_EXIT(sc)                                                          \
	SC_HANDLER(mem_##sc)                                                  \
	{                                                                     \
		struct region_index *idx;                                     \
		apply_##sc(t, ret, a);                                        \
		idx = rg_index(t->tgid);                                      \
		if (idx)                                                      \
			rg_leave(idx);                                        \
		return 0;                                                     \
	}

static __always_inline void apply_mmap(struct task_info *t, long ret,
				       struct syscall_args *a)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start = ret, flags = a->a[3];
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
		if (vma_at(start, &h)) {
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

static __always_inline void apply_munmap(struct task_info *t, long ret,
					 struct syscall_args *a)
{
	__u64 start = a->a[0], end = start + RG_PAGE_ALIGN(a->a[1]);
	struct region_index *idx;

	if (ret != 0 || !(idx = locked_index(t->tgid)))
		return;
	rg_carve_range(idx, t->tgid, start, end);
	rg_unlock(idx);
	emit_mem(t, EVT_UNMAP, start, end, NULL);
}

static __always_inline void apply_mremap(struct task_info *t, long ret,
					 struct syscall_args *a)
{
	__u64 old = a->a[0], old_len = RG_PAGE_ALIGN(a->a[1]), new_len = RG_PAGE_ALIGN(a->a[2]);
	__u64 start = ret, rstart = 0;
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

static __always_inline void apply_mprotect(struct task_info *t, long ret,
					   struct syscall_args *a)
{
	__u64 start = a->a[0], end = start + RG_PAGE_ALIGN(a->a[1]);
	struct region_info pr = { .prot = a->a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC) };
	struct region_index *idx;

	if (ret != 0 || !(idx = locked_index(t->tgid)))
		return;
	rg_protect_range(idx, t->tgid, start, end, pr.prot);
	rg_unlock(idx);
	emit_mem(t, EVT_PROTECT, start, end, &pr);
}

/* brk returns the break in effect; the heap is [start_brk, that) in pages. */
static __always_inline void apply_brk(struct task_info *t, long ret,
				      struct syscall_args *a)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 heap_start, end, old_end;
	struct region_info ri = {};
	struct region_index *idx;

	(void)a;
	heap_start = BPF_CORE_READ(task, mm, start_brk);
	end = RG_PAGE_ALIGN((__u64)ret);
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

static __always_inline void apply_shmat(struct task_info *t, long ret,
					struct syscall_args *a)
{
	__u64 start = ret;
	struct region_index *idx;
	struct vma_hit h = {};

	if (IS_ERR_VALUE(start))
		return;
	/* The segment's size is the VMA the kernel just made for it. */
	if (!vma_at(start, &h))
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

static __always_inline void apply_shmdt(struct task_info *t, long ret,
					struct syscall_args *a)
{
	struct region_key k = { .tgid = t->tgid, .start = a->a[0] };
	struct region_index *idx;
	struct region_info *r;
	__u64 end;

	if (ret != 0)
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

MEM_EXIT(mmap)
MEM_EXIT(munmap)
MEM_EXIT(mremap)
MEM_EXIT(mprotect)
MEM_EXIT(brk)
MEM_EXIT(shmat)
MEM_EXIT(shmdt)
