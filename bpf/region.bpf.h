/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-process table of memory mappings: one `regions` entry per mapping
 * and a `region_idx` of their spans, kept exact under mmap, munmap, mremap,
 * mprotect, brk and shmat/shmdt by applying the plans of regions.h.
 */
#ifndef APPSHOT_REGION_BPF_H
#define APPSHOT_REGION_BPF_H

#include "common.bpf.h"
#include "regions.h"

#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_TYPE 0x0f
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x0100
#define MAP_LOCKED 0x2000
#define MAP_NORESERVE 0x4000
#define MAP_STACK 0x20000
#define MAP_HUGETLB 0x40000
/* The mmap flags that describe a mapping, not how it was placed. */
#define MAP_KEPT                                                              \
	(MAP_TYPE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | \
	 MAP_STACK | MAP_HUGETLB)

#define VM_READ 0x1
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define VM_SHARED 0x8
#define VM_MAYSHARE 0x80 /* MAP_SHARED: VM_SHARED too only if it may be written */
#define VM_GROWSDOWN 0x100
#define VM_PFNMAP 0x400
#define VM_IO 0x4000

#define AT_BASE 7
#define AT_NULL 0

#define RG_SLOT(i) ((i) & (APPSHOT_MAX_REGIONS - 1))

/* The file offset at x of mapping r starting at s; anonymous memory has none. */
static __always_inline __u64 rg_shift(const struct region_info *r, __u64 s, __u64 x)
{
	return r->ino ? rg_pgoff_at(s, r->pgoff, x) : 0;
}

/*
 * A SysV segment's attachments, counted as the kernel counts shm_nattch:
 * one per mapping, so shmat, a fork's copy and a split add one, and an
 * unmap, exit or exec takes one. A segment removed with IPC_RMID lives
 * until the count is back to zero, and so does its entry.
 */
static __always_inline void shm_attach(const struct region_info *r, int delta)
{
	struct ipc_key k = { .aid = r->aid, .kind = IPCK_SHM, .id = r->shmid };
	struct ipc_info *ii;

	if (r->kind != RGK_SYSV_SHM)
		return;
	ii = bpf_map_lookup_elem(&ipcs, &k);
	if (!ii)
		return;
	if (delta > 0) {
		__sync_fetch_and_add(&ii->nattch, 1);
		return;
	}
	if (ii->nattch == 0) /* mapped before its entry existed: nothing counted */
		return;
	if (__sync_fetch_and_sub(&ii->nattch, 1) == 1 && (ii->state & IPCS_REMOVED))
		bpf_map_delete_elem(&ipcs, &k);
}

/* ---- the index ------------------------------------------------------- */

static __always_inline struct region_index *rg_index(__u32 tgid)
{
	return bpf_map_lookup_elem(&region_idx, &tgid);
}

/* A fresh, empty index for tgid (replacing any old one). */
static __always_inline struct region_index *rg_index_new(__u32 tgid)
{
	__u32 zero = 0;
	struct region_index *z = bpf_map_lookup_elem(&zero_idx, &zero);

	if (!z || bpf_map_update_elem(&region_idx, &tgid, z, BPF_ANY))
		return NULL;
	return rg_index(tgid);
}

/*
 * Threads of one process can reach sys_exit of mmap and munmap together, the
 * kernel's mmap_lock long released. A short try: on contention the change
 * is not applied and the table is marked unsettled, for readers to rebuild.
 */
static __always_inline int rg_lock(struct region_index *idx)
{
	for (int i = 0; i < 32; i++)
		if (__sync_val_compare_and_swap(&idx->lock, 0, 1) == 0)
			return 0;
	__sync_fetch_and_add(&idx->unsettled, 1);
	return -1;
}

/*
 * Mapping syscalls of one process in flight together may reach their
 * sys_exit in another order than the kernel ran them: entering while
 * another is in flight, or leaving while one still is, marks the table.
 */
static __always_inline void rg_enter(struct region_index *idx)
{
	if (__sync_fetch_and_add(&idx->busy, 1) > 0)
		__sync_fetch_and_add(&idx->unsettled, 1);
}

static __always_inline void rg_leave(struct region_index *idx)
{
	if (idx->busy == 0) /* entered before it was traced, or settled meanwhile */
		return;
	if (__sync_fetch_and_sub(&idx->busy, 1) > 1)
		__sync_fetch_and_add(&idx->unsettled, 1);
}

static __always_inline void rg_unlock(struct region_index *idx)
{
	__sync_lock_test_and_set(&idx->lock, 0);
}

/*
 * The steps every change of the table takes, as global functions
 * (mem.bpf.c): the verifier checks each once, not once per caller.
 */
/* Track the mapping [start, ri->end) of tgid; -1 if the index is full. */
int rg_insert(struct region_index *idx, __u32 tgid, __u64 start, const struct region_info *ri);
/* Carve [a, b) out of every mapping of tgid. */
int rg_carve_range(struct region_index *idx, __u32 tgid, __u64 a, __u64 b);

/* A new mapping replaces whatever was mapped in its range (MAP_FIXED). */
static __always_inline void rg_map(struct region_index *idx, __u32 tgid, __u64 start,
				   const struct region_info *ri)
{
	rg_carve_range(idx, tgid, start, ri->end);
	rg_insert(idx, tgid, start, ri);
}

/* ---- mprotect -------------------------------------------------------- */

struct prot_piece {
	__u64 start;
	struct region_info ri;
};

struct prot_ctx {
	struct region_index *idx;
	__u32 tgid;
	__u32 prot;
	__u64 a, b;
	__u32 npend;
	struct prot_piece pend[2];
};

static __always_inline void prot_push(struct prot_ctx *c, __u64 start,
				      const struct region_info *ri)
{
	__u32 i = c->npend;

	if (i >= 2)
		return;
	c->pend[i & 1].start = start;
	c->pend[i & 1].ri = *ri;
	c->npend = i + 1;
}

static long prot_cb(__u32 i, struct prot_ctx *c)
{
	struct region_span *sp = &c->idx->span[RG_SLOT(i)];
	__u64 s = sp->start, e = sp->end;
	struct region_key k = { .tgid = c->tgid, .start = s };
	struct region_info *r, old, piece;
	struct rg_protect_plan p;

	if (!rg_protect(s, e, c->a, c->b, &p))
		return 0;
	r = bpf_map_lookup_elem(&regions, &k);
	if (!r)
		return 0;
	old = *r;
	if (p.has_left) {
		r->end = p.mid_start;
		sp->end = p.mid_start;
		piece = old;
		piece.prot = c->prot;
		piece.end = p.mid_end;
		piece.pgoff = rg_shift(&old, s, p.mid_start);
		prot_push(c, p.mid_start, &piece);
	} else {
		r->prot = c->prot;
		r->end = p.mid_end;
		sp->end = p.mid_end;
	}
	if (p.has_right) {
		piece = old;
		piece.pgoff = rg_shift(&old, s, p.mid_end);
		prot_push(c, p.mid_end, &piece);
	}
	return 0;
}

static __always_inline void rg_protect_range(struct region_index *idx, __u32 tgid,
					     __u64 a, __u64 b, __u32 prot)
{
	struct prot_ctx c = { .idx = idx, .tgid = tgid, .prot = prot, .a = a, .b = b };
	__u32 n = idx->n;

	bpf_loop(n < APPSHOT_MAX_REGIONS ? n : APPSHOT_MAX_REGIONS, prot_cb, &c, 0);
	if (c.npend > 0)
		rg_insert(idx, tgid, c.pend[0].start, &c.pend[0].ri);
	if (c.npend > 1)
		rg_insert(idx, tgid, c.pend[1].start, &c.pend[1].ri);
}

/* ---- lookups --------------------------------------------------------- */

struct find_ctx {
	struct region_index *idx;
	__u64 x;
	__u64 start;
	int found;
};

static long find_cb(__u32 i, struct find_ctx *c)
{
	struct region_span *sp = &c->idx->span[RG_SLOT(i)];

	if (sp->start <= c->x && c->x < sp->end) {
		c->start = sp->start;
		c->found = 1;
		return 1;
	}
	return 0;
}

/* The tracked mapping that contains x, or NULL. */
static __always_inline struct region_info *rg_find(struct region_index *idx, __u32 tgid,
						    __u64 x, __u64 *start)
{
	struct find_ctx c = { .idx = idx, .x = x };
	struct region_key k = { .tgid = tgid };
	__u32 n = idx->n;

	bpf_loop(n < APPSHOT_MAX_REGIONS ? n : APPSHOT_MAX_REGIONS, find_cb, &c, 0);
	if (!c.found)
		return NULL;
	k.start = c.start;
	*start = c.start;
	return bpf_map_lookup_elem(&regions, &k);
}

/* ---- whole processes: fork, exec, exit ------------------------------- */

struct copy_ctx {
	struct region_index *idx;
	__u32 from, to;
};

static long copy_cb(__u32 i, struct copy_ctx *c)
{
	struct region_span *sp = &c->idx->span[RG_SLOT(i)];
	struct region_key k = { .tgid = c->from, .start = sp->start };
	struct region_info *r;

	if (sp->start == sp->end)
		return 0;
	r = bpf_map_lookup_elem(&regions, &k);
	if (!r)
		return 0;
	k.tgid = c->to;
	if (bpf_map_update_elem(&regions, &k, r, BPF_ANY) == 0)
		shm_attach(r, 1);
	return 0;
}

/* A forked child starts with a copy of its parent's mappings. */
static __always_inline void rg_copy_process(__u32 from, __u32 to)
{
	struct region_index *src = rg_index(from), *dst;
	struct copy_ctx c = { .from = from, .to = to };
	__u32 n;

	if (!src || bpf_map_update_elem(&region_idx, &to, src, BPF_ANY))
		return;
	dst = rg_index(to);
	if (!dst)
		return;
	dst->lock = 0;
	dst->busy = 0;
	c.idx = dst;
	n = dst->n;
	bpf_loop(n < APPSHOT_MAX_REGIONS ? n : APPSHOT_MAX_REGIONS, copy_cb, &c, 0);
}

static long drop_cb(__u32 i, struct copy_ctx *c)
{
	struct region_span *sp = &c->idx->span[RG_SLOT(i)];
	struct region_key k = { .tgid = c->from, .start = sp->start };
	struct region_info *r, gone;

	if (sp->start == sp->end)
		return 0;
	r = bpf_map_lookup_elem(&regions, &k);
	if (!r)
		return 0;
	gone = *r;
	bpf_map_delete_elem(&regions, &k);
	shm_attach(&gone, -1);
	return 0;
}

static __always_inline void rg_drop_process(__u32 tgid)
{
	struct copy_ctx c = { .from = tgid };
	__u32 n;

	c.idx = rg_index(tgid);
	if (!c.idx)
		return;
	n = c.idx->n;
	bpf_loop(n < APPSHOT_MAX_REGIONS ? n : APPSHOT_MAX_REGIONS, drop_cb, &c, 0);
	bpf_map_delete_elem(&region_idx, &tgid);
}

/* ---- describing a kernel VMA ----------------------------------------- */

static __always_inline void vma_to_region(struct vm_area_struct *vma, struct mm_struct *mm,
					  struct region_info *r)
{
	unsigned long vm_flags = BPF_CORE_READ(vma, vm_flags);
	__u64 start = BPF_CORE_READ(vma, vm_start);
	struct file *f = BPF_CORE_READ(vma, vm_file);
	char name[8] = {};

	r->end = BPF_CORE_READ(vma, vm_end);
	r->prot = vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
	r->flags = (vm_flags & VM_MAYSHARE) ? MAP_SHARED : MAP_PRIVATE;
	if (vm_flags & VM_GROWSDOWN)
		r->flags |= MAP_GROWSDOWN;
	r->pgoff = BPF_CORE_READ(vma, vm_pgoff);
	r->shmid = -1;
	if (f) {
		r->kind = RGK_FILE;
		r->ino = BPF_CORE_READ(f, f_inode, i_ino);
		r->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		bpf_probe_read_kernel(name, sizeof(name),
				      BPF_CORE_READ(f, f_path.dentry, d_name.name));
		if (name[0] == 'S' && name[1] == 'Y' && name[2] == 'S' && name[3] == 'V') {
			r->kind = RGK_SYSV_SHM; /* the kernel names the file SYSV<key> */
			r->shmid = r->ino; /* and gives it the segment's id as inode number */
		} else if (name[0] == 'd' && name[1] == 'e' && name[2] == 'v' && name[3] == '/' &&
			   name[4] == 'z' && name[5] == 'e' && name[6] == 'r' && name[7] == 'o') {
			r->kind = RGK_ANON; /* MAP_SHARED|MAP_ANONYMOUS: shmem "dev/zero" */
			r->flags |= MAP_ANONYMOUS;
		}
		return;
	}
	r->flags |= MAP_ANONYMOUS;
	r->ino = 0;
	r->dev = 0;
	r->pgoff = 0; /* the kernel keeps vm_start >> PAGE_SHIFT there */
	if (start <= BPF_CORE_READ(mm, start_stack) && BPF_CORE_READ(mm, start_stack) < r->end)
		r->kind = RGK_STACK;
	else if (start >= BPF_CORE_READ(mm, start_brk) &&
		 r->end <= RG_PAGE_ALIGN(BPF_CORE_READ(mm, brk)))
		r->kind = RGK_HEAP;
	else if (start == (__u64)BPF_CORE_READ(mm, context.vdso))
		r->kind = RGK_VDSO;
	else if (vm_flags & (VM_PFNMAP | VM_IO))
		r->kind = RGK_SPECIAL;
	else
		r->kind = RGK_ANON;
}

struct vma_hit {
	struct mm_struct *mm;
	int found;
	__u64 start;
	struct file *file;
	struct region_info ri;
};

/* The current task's VMA that contains addr, in h (mem.bpf.c); 0 if none. */
int vma_at(__u64 addr, struct vma_hit *h);

#endif /* APPSHOT_REGION_BPF_H */
