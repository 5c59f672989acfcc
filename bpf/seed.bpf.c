// SPDX-License-Identifier: GPL-2.0-only
/*
 * Seeding: BPF iterators that fill the tables for tasks that joined an
 * application from outside (attach, or appshot's own init), describing
 * their threads, fds and mappings with the same code the syscall programs
 * use. User space marks such tasks TASKF_SEED, reads these iterators in
 * order (tasks, files, vmas) and then clears the mark.
 */
#include "fdinfo.bpf.h"
#include "region.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline struct task_info *seeding(__u32 tid)
{
	struct task_info *t = member(tid);

	return t && (t->flags & TASKF_SEED) ? t : NULL;
}

SEC("iter/task")
int seed_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vtask_key vk;
	struct task_info *t;
	__u32 tid, keep;

	if (!task)
		return 0;
	tid = BPF_CORE_READ(task, pid);
	t = seeding(tid);
	if (!t)
		return 0;
	keep = t->flags & (TASKF_SEED | TASKF_INIT | TASKF_RESYNC);
	task_fill(t, task, t->aid, t->creator);
	t->flags |= keep;
	vk.aid = t->aid;
	vk.vtid = t->vtid;
	bpf_map_update_elem(&vtasks, &vk, &tid, BPF_ANY);
	return 0;
}

SEC("iter/task_file")
int seed_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct task_info *t;
	struct fdt_view v;
	__u32 tgid;

	if (!task || !file)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	t = seeding(tgid);
	if (!t || fdt_of(task, &v))
		return 0;
	fd_sync_file(task, t->aid, tgid, ctx->fd, file, fdt_bit(v.close_on_exec, ctx->fd));
	return 0;
}

/*
 * A segment the application had attached before it was traced: its entry
 * from the mapping, the key from the file's name ("SYSV" and 8 hex digits)
 * and the size from the file.
 */
static __always_inline void seed_shm(struct vm_area_struct *vma, const struct region_info *ri)
{
	struct ipc_key k = { .aid = ri->aid, .kind = IPCK_SHM, .id = ri->shmid };
	struct file *f = BPF_CORE_READ(vma, vm_file);
	struct ipc_info ii = {};
	char name[12] = {};
	__u32 key = 0;

	if (bpf_map_lookup_elem(&ipcs, &k))
		return;
	bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	for (int i = 4; i < 12; i++) {
		char c = name[i];

		key = key << 4 | (c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
	}
	ii.key = key;
	ii.size = BPF_CORE_READ(f, f_inode, i_size);
	ii.flags = BPF_CORE_READ(f, f_inode, i_mode) & 0777;
	bpf_map_update_elem(&ipcs, &k, &ii, BPF_NOEXIST);
}

SEC("iter/task_vma")
int seed_vmas(struct bpf_iter__task_vma *ctx)
{
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct region_index *idx;
	struct region_info ri = {};
	struct mm_struct *mm;
	struct task_info *t;
	struct region_key k = {};
	__u32 tgid;

	if (!task || !vma)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	t = seeding(tgid);
	if (!t)
		return 0;
	mm = BPF_CORE_READ(task, mm);
	if (t->flags & TASKF_RESYNC) {
		/* The first VMA of a process to rebuild: start from nothing. */
		t->flags &= ~TASKF_RESYNC;
		rg_drop_process(tgid);
	}
	idx = rg_index(tgid);
	if (!idx) {
		idx = rg_index_new(tgid);
		if (!idx)
			return 0;
		idx->heap_start = BPF_CORE_READ(mm, start_brk);
		idx->heap_end = RG_PAGE_ALIGN(BPF_CORE_READ(mm, brk));
	}
	k.tgid = tgid;
	k.start = BPF_CORE_READ(vma, vm_start);
	if (bpf_map_lookup_elem(&regions, &k))
		return 0;
	vma_to_region(vma, mm, &ri);
	ri.aid = t->aid;
	if (ri.kind == RGK_SYSV_SHM)
		seed_shm(vma, &ri);
	rg_insert(idx, tgid, k.start, &ri);
	return 0;
}
