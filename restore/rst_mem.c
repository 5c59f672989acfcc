// SPDX-License-Identifier: GPL-2.0-only
/*
 * The address space of a restored process, made by syscalls injected into
 * it: everything of appshot is unmapped but the vdso, which moves to where
 * the image had it; each area is mapped at its address (files from their
 * files, objects from their fds, anonymous memory filled from the image
 * with pread, so it stays anonymous memory) and given its protection; then
 * PR_SET_MM_MAP gives the mm its break, arguments, environment, auxv and
 * executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "rst.h"

#define PAGE 4096ull
#define USER_TOP 0x800000000000ull
#define TASK_TOP (USER_TOP - PAGE) /* the highest user address + 1 */
#define SCRATCH_LEN (64 * 1024)
#define SLOT 0x10000000ull /* places appshot uses meanwhile are slot-aligned */
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define SYS(r, nr, ...) rsys(r, nr, #nr, __VA_ARGS__)

struct range {
	uint64_t start, end;
	char name[16];
};

static long rsys6(struct remote *r, long nr, const char *name, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	long ret = remote_syscall(r, nr, a1, a2, a3, a4, a5, a6);

	if (ret < 0 && ret > -4096)
		pr_debug("restore: pid %d: %s(%lx, %lx, %lx, %lx, %lx, %lx): %s", r->tid, name, a1,
			 a2, a3, a4, a5, a6, strerror(-ret));
	return ret;
}

#define rsys(r, nr, name, a1, a2, a3, a4, a5, a6) rsys6(r, nr, name, a1, a2, a3, a4, a5, a6)

static int failed(long ret)
{
	return ret < 0 && ret > -4096;
}

/* The restored process's vdso and vvar areas now, and the rest of its areas. */
static int current_specials(pid_t tid, struct range *sp, int *nsp)
{
	char path[64], line[512];
	FILE *f;

	*nsp = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && *nsp < 4) {
		struct range r = { 0 };
		char *name = strrchr(line, ' ');

		if (sscanf(line, "%lx-%lx", (unsigned long *)&r.start, (unsigned long *)&r.end) != 2 ||
		    !name)
			continue;
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name + 1, "[vdso]") && strcmp(name + 1, "[vvar]") &&
		    strcmp(name + 1, "[vvar_vclock]"))
			continue;
		snprintf(r.name, sizeof(r.name), "%.*s", (int)(strlen(name + 1) - 2), name + 2);
		sp[(*nsp)++] = r;
	}
	fclose(f);
	return 0;
}

static int overlaps(uint64_t s, uint64_t e, const struct rst_proc *p)
{
	for (size_t i = 0; i < p->nvmas; i++)
		if (s < p->vmas[i].end && p->vmas[i].start < e)
			return 1;
	return 0;
}

/* A free place for len bytes, from `from` on, among the image's areas and the vdso now. */
static uint64_t free_place(const struct rst_proc *p, const struct range *sp, int nsp, uint64_t len,
			   uint64_t from)
{
	len = (len + SLOT - 1) & ~(SLOT - 1);
	for (uint64_t a = from; len < USER_TOP && a < USER_TOP - len; a += SLOT) {
		int busy = overlaps(a, a + len, p);

		for (int i = 0; i < nsp; i++)
			busy |= a < sp[i].end && sp[i].start < a + len;
		if (!busy)
			return a;
	}
	return 0;
}

/*
 * Move the vdso and vvar areas to where the image had them; those it has not
 * go, but a vdso (whose syscall instruction we use) stays at the spare place
 * until the process's own code is there: *lent says which of sp it is.
 */
static int move_specials(struct rst_proc *p, struct remote *r, struct range *sp, int nsp,
			 uint64_t spare, int *lent)
{
	*lent = -1;

	/* Via a spare place first: the old and new places may overlap. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < nsp; i++) {
			const struct rst_vma *want = NULL;
			uint64_t to;
			long ret;

			for (size_t k = 0; k < p->nvmas; k++)
				if (!strcmp(p->vmas[k].kind, sp[i].name))
					want = &p->vmas[k];
			if (!want && (pass == 1 || strcmp(sp[i].name, "vdso"))) {
				if (pass == 0)
					SYS(r, SYS_munmap, sp[i].start, sp[i].end - sp[i].start, 0, 0, 0, 0);
				continue;
			}
			if (!want)
				*lent = i;
			else if (want->end - want->start != sp[i].end - sp[i].start) {
				pr_err("restore: the %s of this kernel is %llu bytes, the image's %llu: "
				       "restore on the kernel the image was made on",
				       sp[i].name, (unsigned long long)(sp[i].end - sp[i].start),
				       (unsigned long long)(want->end - want->start));
				return -EINVAL;
			}
			to = pass == 0 ? spare + 0x100000ull * i : want->start;
			ret = SYS(r, SYS_mremap, sp[i].start, sp[i].end - sp[i].start,
				  sp[i].end - sp[i].start, MREMAP_MAYMOVE | MREMAP_FIXED, to, 0);
			if (failed(ret))
				return ret;
			/* the syscall instruction we use moves with the vdso */
			if (!strcmp(sp[i].name, "vdso"))
				r->sysip += to - sp[i].start;
			sp[i].end = to + (sp[i].end - sp[i].start);
			sp[i].start = to;
		}
	}
	return 0;
}

/* A file of the image's, opened in the process (cached for the next areas). */
struct open_file {
	char path[PATH_MAX];
	int write;
	long fd;
};

static long open_in(struct remote *r, struct open_file *cache, size_t *ncache, const char *path,
		    int write)
{
	size_t len = strlen(path) + 1;
	long fd;

	for (size_t i = 0; i < *ncache; i++)
		if (cache[i].write == write && !strcmp(cache[i].path, path))
			return cache[i].fd;
	if (len > 4096 || remote_write(r, r->scratch, path, len))
		return -ENAMETOOLONG;
	fd = SYS(r, SYS_openat, AT_FDCWD, r->scratch, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0,
		 0, 0);
	if (fd >= 0 && *ncache < 64) {
		snprintf(cache[*ncache].path, sizeof(cache[*ncache].path), "%s", path);
		cache[*ncache].write = write;
		cache[(*ncache)++].fd = fd;
	}
	return fd;
}

#define POPULATE_MIN 8 /* pages: below, one more syscall costs more than it saves */

/* pread the image's pages of [addr, addr + pages) from off in the pages payload. */
static int fill(struct rst_proc *p, struct remote *r, uint64_t addr, uint64_t npages, uint64_t off)
{
	uint64_t done = 0, len = npages * PAGE;

	/*
	 * Fault the pages in first, all in one call: far cheaper than pread
	 * faulting them one by one. Only a speed-up: kernels before 5.14 say
	 * EINVAL, and pread faults them then.
	 */
	if (npages >= POPULATE_MIN)
		SYS(r, SYS_madvise, addr, len, MADV_POPULATE_WRITE, 0, 0, 0);
	while (done < len) {
		long n = SYS(r, SYS_pread64, p->service_base, addr + done, len - done,
			     p->pages_off + off + done, 0, 0);

		if (failed(n))
			return n;
		if (n == 0)
			return -EIO;
		done += n;
		progress_add(&p->progress, n);
	}
	return 0;
}

/* The memory the image holds for the process's areas and shared objects. */
static uint64_t saved_bytes(const struct rst_proc *p)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < p->nvmas; i++)
		for (size_t k = 0; k < p->vmas[i].nruns; k++)
			pages += p->vmas[i].runs[k].npages;
	for (size_t i = 0; i < p->nobjects; i++)
		if (!strcmp(p->objects[i].kind, "shmem"))
			for (size_t k = 0; k < p->objects[i].nruns; k++)
				pages += p->objects[i].runs[k].npages;
	return pages * PAGE;
}

/* The words of an area's "madvise": what gives each back (noreserve: a flag of its mmap). */
static const struct {
	const char *word;
	int advice; /* madvise, or -1: mlock, -2: mlock2 on fault, 0: nothing here */
} area_words[] = {
	{ "dontfork", MADV_DONTFORK }, { "wipeonfork", MADV_WIPEONFORK },
	{ "dontdump", MADV_DONTDUMP }, { "hugepage", MADV_HUGEPAGE },
	{ "nohugepage", MADV_NOHUGEPAGE }, { "mergeable", MADV_MERGEABLE },
	{ "sequential", MADV_SEQUENTIAL }, { "random", MADV_RANDOM },
	{ "locked", -1 }, { "lockonfault", -2 }, { "noreserve", 0 }, { "maywrite", 0 },
};

int rst_area_words_known(const char *words)
{
	char w[32];
	int n;

	while (sscanf(words, " %31s%n", w, &n) == 1) {
		size_t k = 0;

		words += n;
		while (k < sizeof(area_words) / sizeof(area_words[0]) && strcmp(area_words[k].word, w))
			k++;
		if (k == sizeof(area_words) / sizeof(area_words[0]))
			return 0;
	}
	return 1;
}

static int has_word(const char *words, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = strstr(words, w); p; p = strstr(p + 1, w))
		if ((p == words || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

/* by_mmap: the area was mapped MAP_LOCKED if it is locked (not a SysV attach) */
static int advise(struct remote *r, const struct rst_vma *v, int by_mmap)
{
	long ret;

	for (size_t i = 0; i < sizeof(area_words) / sizeof(area_words[0]); i++) {
		int adv = area_words[i].advice;

		if (!adv || !has_word(v->madvise, area_words[i].word))
			continue;
		/* locked: by its mmap (MAP_LOCKED), or here; locked on fault is locked too */
		if (adv == -1 && (by_mmap || has_word(v->madvise, "lockonfault")))
			continue;
		if (adv == -1)
			ret = SYS(r, SYS_mlock, v->start, v->end - v->start, 0, 0, 0, 0);
		else if (adv == -2)
			ret = SYS(r, SYS_mlock2, v->start, v->end - v->start, MLOCK_ONFAULT, 0, 0, 0);
		else
			ret = SYS(r, SYS_madvise, v->start, v->end - v->start, adv, 0, 0, 0);
		if (failed(ret)) {
			pr_err("restore: the area %llx-%llx cannot be %s again: %s",
			       (unsigned long long)v->start, (unsigned long long)v->end,
			       area_words[i].word, strerror(-ret));
			return ret;
		}
	}
	if (v->name[0]) {
		if (remote_write(r, r->scratch, v->name, strlen(v->name) + 1))
			return -EIO;
		ret = SYS(r, SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, v->start, v->end - v->start,
			  r->scratch, 0);
		if (failed(ret))
			return ret;
	}
	return 0;
}

/*
 * Shared anonymous memory again: one object per original object, of its
 * size, filled from the image, reopened through map_files (so it is the same
 * kind of object, "/dev/zero (deleted)") and kept open while areas map it.
 */
static int make_shmem(struct rst_proc *p, struct remote *r, struct rst_object *ob, uint64_t at)
{
	uint64_t len = (ob->size + PAGE - 1) & ~(PAGE - 1);
	char path[64];
	long ret, fd;
	int err = 0;

	if (!len)
		len = PAGE;
	ret = SYS(r, SYS_mmap, at, len, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (failed(ret)) {
		pr_err("restore: pid %d: cannot make shared memory object %d (%llu bytes): %s",
		       p->pid, ob->id, (unsigned long long)len, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < ob->nruns && !err; i++)
		err = fill(p, r, at + ob->runs[i].start * PAGE, ob->runs[i].npages, ob->runs[i].off);
	snprintf(path, sizeof(path), "/proc/self/map_files/%llx-%llx", (unsigned long long)at,
		 (unsigned long long)(at + len));
	fd = -EIO;
	if (!err && !remote_write(r, r->scratch, path, strlen(path) + 1))
		fd = SYS(r, SYS_openat, AT_FDCWD, r->scratch, O_RDWR | O_CLOEXEC, 0, 0, 0);
	SYS(r, SYS_munmap, at, len, 0, 0, 0, 0);
	if (err)
		return err;
	if (failed(fd)) {
		pr_err("restore: pid %d: cannot reopen shared memory object %d: %s", p->pid, ob->id,
		       strerror(-fd));
		return fd;
	}
	ob->fd = fd;
	return 0;
}

/* The areas of one attachment of a SysV segment: same segment, same base. */
static int same_attach(const struct rst_vma *a, const struct rst_vma *b)
{
	return !strcmp(b->kind, "sysv") && a->shmid == b->shmid &&
	       a->start - a->offset == b->start - b->offset;
}

/*
 * A SysV segment, attached at its address (shmat, as the process did) in
 * the application's IPC namespace: the parts no longer mapped unmapped
 * again, each area given its protection.
 */
static int map_sysv(struct rst_proc *p, struct remote *r, size_t first)
{
	const struct rst_vma *v = &p->vmas[first];
	uint64_t base = v->start - v->offset, end = base + ((v->shm_size + PAGE - 1) & ~(PAGE - 1));
	uint64_t cur = base;
	int flags = SHM_RDONLY, prot;
	long ret;

	for (size_t j = first; j < p->nvmas; j++)
		if (same_attach(v, &p->vmas[j])) {
			if (p->vmas[j].prot & PROT_WRITE)
				flags &= ~SHM_RDONLY;
			if (p->vmas[j].prot & PROT_EXEC)
				flags |= SHM_EXEC;
		}
	prot = PROT_READ | (flags & SHM_RDONLY ? 0 : PROT_WRITE) | (flags & SHM_EXEC ? PROT_EXEC : 0);
	ret = SYS(r, SYS_shmat, v->shmid, base, flags, 0, 0, 0);
	if (failed(ret) || (uint64_t)ret != base) {
		pr_err("restore: pid %d: cannot attach SysV shm %d at %llx: %s", p->pid, v->shmid,
		       (unsigned long long)base, failed(ret) ? strerror(-ret) : "it went elsewhere");
		return failed(ret) ? ret : -EFAULT;
	}
	for (size_t j = first; j < p->nvmas; j++) {
		const struct rst_vma *w = &p->vmas[j];
		int err;

		if (!same_attach(v, w))
			continue;
		if (w->start > cur)
			SYS(r, SYS_munmap, cur, w->start - cur, 0, 0, 0, 0);
		cur = w->end;
		if (w->prot != prot) {
			ret = SYS(r, SYS_mprotect, w->start, w->end - w->start, w->prot, 0, 0, 0);
			if (failed(ret))
				return ret;
		}
		err = advise(r, w, 0);
		if (err)
			return err;
	}
	if (end > cur)
		SYS(r, SYS_munmap, cur, end - cur, 0, 0, 0, 0);
	return 0;
}

/* Every SysV attachment first: a segment's base may lie below its first area. */
static int map_sysv_all(struct rst_proc *p, struct remote *r)
{
	for (size_t i = 0; i < p->nvmas; i++) {
		int first = !strcmp(p->vmas[i].kind, "sysv"), err;

		for (size_t j = 0; j < i && first; j++)
			first = !same_attach(&p->vmas[i], &p->vmas[j]);
		if (first && (err = map_sysv(p, r, i)))
			return err;
	}
	return 0;
}

static int map_area(struct rst_proc *p, struct remote *r, const struct rst_vma *v,
		    struct open_file *cache, size_t *ncache)
{
	uint64_t len = v->end - v->start;
	/* locked (not on fault) as it is mapped: mlock() refuses PROT_NONE areas, MAP_LOCKED not */
	int type = (v->shared ? MAP_SHARED : MAP_PRIVATE) |
		   (has_word(v->madvise, "noreserve") ? MAP_NORESERVE : 0) |
		   (has_word(v->madvise, "locked") && !has_word(v->madvise, "lockonfault") ?
			    MAP_LOCKED :
			    0),
	    fill_prot = v->prot;
	struct rst_object *ob = v->object >= 0 ? rst_object(p, v->object) : NULL;
	long fd = -1, ret;

	if (v->nruns)
		fill_prot |= PROT_READ | PROT_WRITE;
	if (!strcmp(v->kind, "anon") || !strcmp(v->kind, "heap") || !strcmp(v->kind, "stack")) {
		ret = SYS(r, SYS_mmap, v->start, len, fill_prot,
			  type | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | (v->growsdown ? MAP_GROWSDOWN : 0),
			  -1, 0);
	} else {
		if (ob)
			fd = ob->fd;
		else
			/* opened as the original was: mprotect may make it writable again */
			fd = open_in(r, cache, ncache, v->path,
				     v->shared && ((v->prot & PROT_WRITE) ||
						   has_word(v->madvise, "maywrite")));
		if (failed(fd)) {
			pr_err("restore: pid %d: cannot open %s to map it at %llx: %s", p->pid, v->path,
			       (unsigned long long)v->start, strerror(-fd));
			return fd;
		}
		ret = SYS(r, SYS_mmap, v->start, len, fill_prot, type | MAP_FIXED_NOREPLACE, fd,
			  v->offset);
	}
	if (failed(ret) || (uint64_t)ret != v->start) {
		pr_err("restore: pid %d: cannot map %llx-%llx (%s): %s", p->pid,
		       (unsigned long long)v->start, (unsigned long long)v->end, v->kind,
		       failed(ret) ? strerror(-ret) : "it went elsewhere");
		return failed(ret) ? ret : -EFAULT;
	}
	for (size_t i = 0; i < v->nruns; i++) {
		int err = fill(p, r, v->runs[i].start, v->runs[i].npages, v->runs[i].off);

		if (err) {
			pr_err("restore: pid %d: cannot fill %llx from the image: %s", p->pid,
			       (unsigned long long)v->runs[i].start, strerror(-err));
			return err;
		}
	}
	if (fill_prot != v->prot) {
		ret = SYS(r, SYS_mprotect, v->start, len, v->prot, 0, 0, 0);
		if (failed(ret))
			return ret;
	}
	return advise(r, v, 1);
}

static int set_mm(struct rst_proc *p, struct remote *r, struct open_file *cache, size_t *ncache)
{
	struct prctl_mm_map map = {
		.start_code = p->mm.start_code,
		.end_code = p->mm.end_code,
		.start_data = p->mm.start_data,
		.end_data = p->mm.end_data,
		.start_brk = p->mm.start_brk,
		.brk = p->mm.brk,
		.start_stack = p->mm.start_stack,
		.arg_start = p->mm.arg_start,
		.arg_end = p->mm.arg_end,
		.env_start = p->mm.env_start,
		.env_end = p->mm.env_end,
		.auxv = (__u64 *)(r->scratch + 1024),
		.auxv_size = p->mm.nauxv * sizeof(uint64_t),
	};
	long exe = open_in(r, cache, ncache, p->exe, 0), ret;

	if (failed(exe)) {
		pr_err("restore: pid %d: cannot open its executable %s: %s", p->pid, p->exe,
		       strerror(-exe));
		return exe;
	}
	map.exe_fd = exe;
	if (remote_write(r, r->scratch, &map, sizeof(map)) ||
	    remote_write(r, r->scratch + 1024, p->mm.auxv, map.auxv_size))
		return -EIO;
	ret = SYS(r, SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, r->scratch, sizeof(map), 0, 0);
	if (failed(ret)) {
		pr_err("restore: pid %d: the kernel refused its mm fields (PR_SET_MM_MAP): %s",
		       p->pid, strerror(-ret));
		return ret;
	}
	return 0;
}

/* The rseq area appshot's code registered goes before its memory does. */
static int forget_rseq(struct remote *r)
{
	struct {
		uint64_t abi_pointer;
		uint32_t abi_size, signature, flags, pad;
	} conf;
	long ret;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, r->tid, sizeof(conf), &conf) != sizeof(conf) ||
	    !conf.abi_pointer)
		return 0;
	ret = SYS(r, SYS_rseq, conf.abi_pointer, conf.abi_size, 1 /* RSEQ_FLAG_UNREGISTER */,
		  conf.signature, 0, 0);
	return failed(ret) ? ret : 0;
}

int rst_memory(struct rst_proc *p, struct remote *r)
{
	struct range sp[4];
	struct open_file *cache = calloc(64, sizeof(*cache));
	size_t ncache = 0;
	uint64_t scratch;
	int nsp, lent, err;
	long ret;

	if (!cache)
		return -ENOMEM;
	progress_start(&p->progress, "restore", saved_bytes(p));
	err = forget_rseq(r);
	if (!err)
		err = current_specials(r->tid, sp, &nsp);
	if (err)
		goto out;
	/* one slot: the scratch, then the spare places the vdso moves through */
	scratch = free_place(p, sp, nsp, SLOT, 0x100000000ull);
	if (!scratch) {
		err = -ENOMEM;
		goto out;
	}
	/* Everything of appshot goes, but the vdso (whose syscall instruction we use). */
	for (int i = 0; i <= nsp; i++) {
		uint64_t lo = i == 0 ? 0 : sp[i - 1].end, hi = i == nsp ? TASK_TOP : sp[i].start;

		/* sp is in address order: unmap the gaps around the special areas */
		if (hi > lo)
			SYS(r, SYS_munmap, lo, hi - lo, 0, 0, 0, 0);
	}
	ret = SYS(r, SYS_mmap, scratch, SCRATCH_LEN, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (failed(ret)) {
		err = ret;
		goto out;
	}
	r->scratch = scratch;
	r->scratch_len = SCRATCH_LEN;
	err = move_specials(p, r, sp, nsp, scratch + SCRATCH_LEN, &lent);
	if (err)
		goto out;
	for (size_t i = 0; i < p->nobjects && !err; i++) {
		struct rst_object *ob = &p->objects[i];
		uint64_t at;

		if (strcmp(ob->kind, "shmem") || ob->global >= 0)
			continue; /* a shared one is open already */
		at = free_place(p, sp, nsp, ob->size + PAGE, scratch + SLOT);
		err = at ? make_shmem(p, r, ob, at) : -ENOMEM;
	}
	if (!err)
		err = map_sysv_all(p, r);
	for (size_t i = 0; i < p->nvmas && !err; i++) {
		const struct rst_vma *v = &p->vmas[i];

		if (!strcmp(v->kind, "vdso") || !strncmp(v->kind, "vvar", 4) ||
		    !strcmp(v->kind, "vsyscall") || !strcmp(v->kind, "sysv"))
			continue;
		err = map_area(p, r, v, cache, &ncache);
	}
	if (!err)
		err = set_mm(p, r, cache, &ncache);
	if (!err && lent >= 0) {
		/* the process had unmapped its vdso: a syscall of its own code from now */
		err = remote_find_syscall(r, 1);
		if (err)
			pr_err("restore: pid %d unmapped its vdso and its code has no syscall "
			       "instruction to restore it with", p->pid);
		else
			SYS(r, SYS_munmap, sp[lent].start, sp[lent].end - sp[lent].start, 0, 0, 0,
			    0);
	}
	for (size_t i = 0; i < ncache; i++)
		SYS(r, SYS_close, cache[i].fd, 0, 0, 0, 0, 0);
	for (size_t i = 0; i < p->nobjects; i++)
		if (!strcmp(p->objects[i].kind, "shmem") && p->objects[i].fd >= 0) {
			SYS(r, SYS_close, p->objects[i].fd, 0, 0, 0, 0, 0);
			p->objects[i].fd = -1;
		}
out:
	progress_end(&p->progress);
	free(cache);
	return err;
}
