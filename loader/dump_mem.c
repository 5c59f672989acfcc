// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process's memory: each area from /proc/PID/smaps, the pages that exist
 * from /proc/PID/pagemap (private anonymous memory, and the copy-on-write
 * pages of private file mappings), and memory objects (shared anonymous
 * memory, memfds, deleted files) stored once, whole, whoever maps them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "dump.h"
#include "js.h"
#include "log.h"
#include "tracer.h"

#define PAGE 4096ul
#define HUGETLBFS_MAGIC 0x958458f6
#define CHUNK (512ul << 10) /* a buffer's pages each cost a fault: kept small */
#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)

struct vma {
	unsigned long start, end, pgoff, ino;
	unsigned int major, minor;
	char perms[8];
	char path[PATH_MAX];
	unsigned long anon_kb, swap_kb;
	int pkey;
	char vmflags[160];
};

/* The areas of pid, as smaps lists them; free(*v) after. */
static int read_smaps(pid_t pid, struct vma **v, size_t *n)
{
	char path[64], line[PATH_MAX + 128];
	struct vma *vs = NULL, *cur = NULL, *nv;
	size_t count = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, off, ino;
		unsigned int maj, min;
		char perms[8];
		int pos = 0;

		line[strcspn(line, "\n")] = 0;
		/* An area's header line; the others are "Key: value" */
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &s, &e, perms, &off, &maj, &min, &ino,
			   &pos) == 7 &&
		    pos > 0) {
			if (count == cap) {
				cap = cap ? 2 * cap : 64;
				nv = realloc(vs, cap * sizeof(*vs));
				if (!nv) {
					free(vs);
					fclose(f);
					return -ENOMEM;
				}
				vs = nv;
			}
			cur = &vs[count++];
			memset(cur, 0, sizeof(*cur));
			cur->start = s;
			cur->end = e;
			cur->pgoff = off;
			cur->major = maj;
			cur->minor = min;
			cur->ino = ino;
			memcpy(cur->perms, perms, sizeof(perms));
			snprintf(cur->path, sizeof(cur->path), "%s", line + pos);
			continue;
		}
		if (!cur)
			continue;
		if (sscanf(line, "Anonymous: %lu kB", &cur->anon_kb) == 1 ||
		    sscanf(line, "Swap: %lu kB", &cur->swap_kb) == 1 ||
		    sscanf(line, "ProtectionKey: %d", &cur->pkey) == 1)
			continue;
		if (!strncmp(line, "VmFlags:", 8))
			snprintf(cur->vmflags, sizeof(cur->vmflags), "%.150s", line + 8);
	}
	fclose(f);
	*v = vs;
	*n = count;
	return 0;
}

static int has_flag(const struct vma *v, const char *flag)
{
	char want[8];

	snprintf(want, sizeof(want), " %s", flag);
	return strstr(v->vmflags, want) != NULL;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

int dump_copy(struct dump *d, pid_t pid, int mem_fd, unsigned long start, size_t len,
	      uint64_t *off)
{
	static char *buf;
	uint64_t first = 0;
	int err;

	if (!buf && !(buf = aligned_alloc(PAGE, CHUNK)))
		return -ENOMEM;
	for (size_t done = 0; done < len;) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		struct iovec local = { buf, n }, remote = { (void *)(start + done), n };
		uint64_t o;

		/* process_vm_readv honours protections: /proc/PID/mem reads the rest. */
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)n &&
		    pread(mem_fd, buf, n, start + done) != (ssize_t)n) {
			err = -errno;
			pr_err("cannot read pid %d's memory at %lx: %s", pid, start + done,
			       strerror(errno));
			return err ?: -EIO;
		}
		err = image_pages_append(&d->pages, buf, n, &o);
		if (err) {
			pr_err("cannot write the image's pages: %s", strerror(-err));
			return err;
		}
		if (!done)
			first = o;
		done += n;
		d->mem_bytes += n;
		progress_add(&d->progress, n);
	}
	*off = first;
	return 0;
}

static struct json_object *run(unsigned long start, unsigned long pages, uint64_t off)
{
	struct json_object *r = json_object_new_array();

	json_object_array_add(r, json_object_new_uint64(start));
	json_object_array_add(r, json_object_new_uint64(pages));
	json_object_array_add(r, json_object_new_uint64(off));
	return r;
}

/*
 * The pages of a private area that are the process's own: present or
 * swapped, and (in file mappings) not the file's page itself.
 */
static int dump_private_pages(struct dump *d, pid_t pid, int pm_fd, int mem_fd,
			      const struct vma *v, int file_backed, struct json_object *runs)
{
	size_t npages = (v->end - v->start) / PAGE, batch = 4096;
	uint64_t *pm = malloc(batch * sizeof(*pm)), off;
	unsigned long run_start = 0, run_len = 0;
	int err = 0;

	if (!pm)
		return -ENOMEM;
	for (size_t base = 0; base < npages && !err; base += batch) {
		size_t n = npages - base < batch ? npages - base : batch;
		ssize_t got = pread(pm_fd, pm, n * sizeof(*pm), (v->start / PAGE + base) * sizeof(*pm));

		if (got != (ssize_t)(n * sizeof(*pm))) {
			err = got < 0 ? -errno : -EIO;
			pr_err("cannot read pid %d's pagemap: %s", pid, strerror(-err));
			break;
		}
		for (size_t i = 0; i < n && !err; i++) {
			int own = (pm[i] & (PM_PRESENT | PM_SWAP)) && !(file_backed && (pm[i] & PM_FILE));

			if (own && run_len) {
				run_len++;
				continue;
			}
			if (!own && run_len) { /* a run ends */
				err = dump_copy(d, pid, mem_fd, run_start, run_len * PAGE, &off);
				if (!err)
					json_object_array_add(runs, run(run_start, run_len, off));
				run_len = 0;
			}
			if (own) {
				run_start = v->start + (base + i) * PAGE;
				run_len = 1;
			}
		}
	}
	if (!err && run_len) {
		err = dump_copy(d, pid, mem_fd, run_start, run_len * PAGE, &off);
		if (!err)
			json_object_array_add(runs, run(run_start, run_len, off));
	}
	free(pm);
	return err;
}

/* The object with this inode already dumped, or NULL. */
static struct json_object *find_object(struct json_object *core, uint64_t dev, uint64_t ino)
{
	struct json_object *objs = jg_arr(core, "objects");

	for (size_t i = 0; objs && i < json_object_array_length(objs); i++) {
		struct json_object *o = json_object_array_get_idx(objs, i);
		uint64_t odev, oino;

		if (!jg_u64(o, "dev", &odev) && !jg_u64(o, "ino", &oino) && odev == dev &&
		    oino == ino)
			return o;
	}
	return NULL;
}

/* The whole contents of an open object file, by its data extents. */
int dump_file_contents(struct dump *d, int fd, uint64_t size, struct json_object *runs)
{
	char *buf = aligned_alloc(PAGE, CHUNK);
	off_t data = 0, hole;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while ((uint64_t)data < size) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: no more data */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		data &= ~(off_t)(PAGE - 1);
		hole = (hole + PAGE - 1) & ~(off_t)(PAGE - 1);
		for (off_t at = data; at < hole;) {
			size_t n = (size_t)(hole - at) < CHUNK ? (size_t)(hole - at) : CHUNK;
			ssize_t got = pread(fd, buf, n, at);
			uint64_t off;

			if (got < 0) {
				err = -errno;
				goto out;
			}
			memset(buf + got, 0, n - got); /* the tail of the last page */
			err = image_pages_append(&d->pages, buf, n, &off);
			if (err)
				goto out;
			json_object_array_add(runs, run(at / PAGE, n / PAGE, off));
			d->mem_bytes += n;
			progress_add(&d->progress, n);
			at += n;
		}
		data = hole;
	}
out:
	free(buf);
	return err;
}

/* An object an earlier process of the application has: its entry there, or NULL. */
static struct dump_object *object_seen(struct dump *d, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < d->nseen; i++)
		if (d->seen[i].dev == dev && d->seen[i].ino == ino)
			return &d->seen[i];
	return NULL;
}

static int remember_object(struct dump *d, uint64_t dev, uint64_t ino, int id)
{
	struct dump_object *n = realloc(d->seen, (d->nseen + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->seen = n;
	n[d->nseen++] = (struct dump_object){ .dev = dev, .ino = ino, .vpid = d->vpid, .id = id };
	return 0;
}

/*
 * Add the object open at path (a /proc map_files or fd link) to the core:
 * kind shmem, memfd or deleted. Returns its id.
 */
static int add_object(struct dump *d, struct json_object *core, const char *open_path,
		      const char *kind, const char *name)
{
	struct json_object *o, *runs;
	struct dump_object *seen;
	struct statfs sfs;
	struct stat st;
	int fd, err = 0, id;

	/* O_NOATIME: reading it for the image does not change what it says */
	fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_perror("cannot open %s", open_path);
		return err;
	}
	if (fstat(fd, &st) || fstatfs(fd, &sfs)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (sfs.f_type == HUGETLBFS_MAGIC) {
		pr_err("pid %d: %s is on hugetlbfs (MFD_HUGETLB): appshot cannot save it yet",
		       d->vpid, name);
		close(fd);
		return -ENOTSUP;
	}
	o = find_object(core, st.st_dev, st.st_ino);
	if (o) {
		close(fd);
		return jg_int(o, "id", &id) ? -EBADMSG : id;
	}
	seen = object_seen(d, st.st_dev, st.st_ino);
	id = seen ? seen->id : ++d->objects;
	o = json_object_new_object();
	runs = json_object_new_array();
	js_i64(o, "id", id);
	js_str(o, "kind", kind);
	js_str(o, "name", name);
	js_u64(o, "dev", st.st_dev);
	js_u64(o, "ino", st.st_ino);
	js_u64(o, "size", st.st_size);
	js_u64(o, "mode", st.st_mode & 07777);
	/* memfds and deleted files: owner, times and seals, as the restore makes them */
	if (strcmp(kind, "shmem")) {
		int seals = fcntl(fd, F_GET_SEALS);

		js_i64(o, "uid", st.st_uid);
		js_i64(o, "gid", st.st_gid);
		js_i64(o, "atime_ns", st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec);
		js_i64(o, "mtime_ns", st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
		if (seals > 0)
			js_i64(o, "seals", seals);
	}
	if (seen) /* one object for both: its contents are with the first */
		js_i64(o, "of", seen->vpid);
	else
		err = remember_object(d, st.st_dev, st.st_ino, id) ?:
		      dump_file_contents(d, fd, st.st_size, runs);
	close(fd);
	json_object_object_add(o, "pages", runs);
	json_object_array_add(jg_arr(core, "objects"), o);
	if (err) {
		pr_err("cannot read the contents of %s: %s", name, strerror(-err));
		return err;
	}
	return id;
}

int dump_object_of_fd(struct dump *d, pid_t pid, int fd, const char *kind, const char *path,
		      struct json_object *core)
{
	char link[64];

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
	return add_object(d, core, link, kind, path);
}

static const char *prot_kind(const struct vma *v, int *object)
{
	*object = 0;
	if (!strcmp(v->path, "[vdso]"))
		return "vdso";
	if (!strcmp(v->path, "[vvar]"))
		return "vvar";
	if (!strcmp(v->path, "[vvar_vclock]"))
		return "vvar_vclock";
	if (!strcmp(v->path, "[vsyscall]"))
		return "vsyscall";
	if (!strcmp(v->path, "[heap]"))
		return "heap";
	if (!strcmp(v->path, "[stack]"))
		return "stack";
	if (!v->path[0] || !strncmp(v->path, "[anon:", 6))
		return "anon";
	if (!strncmp(v->path, "/SYSV", 5))
		return "sysv";
	if (v->perms[3] == 's' && !strcmp(v->path, "/dev/zero (deleted)")) {
		*object = 1;
		return "shmem";
	}
	if (!strncmp(v->path, "/memfd:", 7)) {
		*object = 1;
		return "memfd";
	}
	if (ends_with(v->path, " (deleted)")) {
		*object = 1;
		return "deleted";
	}
	return "file";
}

/*
 * What smaps' VmFlags say of an area, each flag known: kept by the restore
 * (as words in "madvise"), given by the area's other fields or by the
 * kernel itself, or refused by name. A flag appshot does not know is
 * refused too: it could be state lost.
 */
static const struct {
	const char *flag, *word; /* word: the restore's, "" nothing to keep, NULL refused */
	const char *what;
} area_flag[] = {
	{ "rd", "" }, { "wr", "" }, { "ex", "" }, { "sh", "" }, /* prot, shared */
	{ "mr", "" }, { "mw", "" }, { "me", "" }, { "ms", "" }, /* what mprotect may give */
	{ "gd", "" }, /* growsdown */
	{ "ac", "" }, { "sd", "" }, /* accounted, soft-dirty: the kernel's */
	{ "pf", "" }, { "io", "" }, { "de", "" }, { "mm", "" }, { "ar", "" }, /* vdso, vvar */
	{ "lo", "locked" },
	{ "lf", "lockonfault" },
	{ "dc", "dontfork" },
	{ "wf", "wipeonfork" },
	{ "dd", "dontdump" },
	{ "hg", "hugepage" },
	{ "nh", "nohugepage" },
	{ "mg", "mergeable" },
	{ "sr", "sequential" },
	{ "rr", "random" },
	{ "nr", "noreserve" },
	{ "ht", NULL, "a hugetlb mapping" },
	{ "sf", NULL, "a synchronous-fault (DAX) mapping" },
	{ "um", NULL, "a userfaultfd registration" },
	{ "uw", NULL, "a userfaultfd write-protect registration" },
	{ "ui", NULL, "a userfaultfd minor-fault registration" },
	{ "ss", NULL, "a shadow stack" },
	{ "sl", NULL, "a sealed mapping (mseal)" },
	{ "dp", NULL, "a droppable mapping" },
	{ "bt", NULL, "an arm64 BTI mapping" },
	{ "mt", NULL, "an arm64 MTE mapping" },
};

#define VM_LOCKONFAULT 0x80000ul

/* The raw vm_flags of pid's area at start, from the tracer's vma_flags iterator; 0 if unknown. */
static unsigned long raw_vm_flags(pid_t pid, unsigned long start)
{
	unsigned long s, flags, found = 0;
	unsigned int tgid;
	char line[128];
	int err;
	FILE *f = tracer_iter_fopen("vma_flags", &err);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %lx %lx", &tgid, &s, &flags) == 3 && (pid_t)tgid == pid &&
		    s == start)
			found = flags;
	fclose(f);
	return found;
}

static int area_flags(struct dump *d, pid_t pid, const struct vma *v, struct json_object *o)
{
	char adv[160] = "", flag[8];
	const char *f = v->vmflags;
	int n, unnamed = 0;
	unsigned long raw;

	if (v->pkey) {
		pr_err("pid %d: the area %lx-%lx (%s) has memory protection key %d: appshot "
		       "cannot save it yet", d->vpid, v->start, v->end, v->path, v->pkey);
		return -ENOTSUP;
	}
	while (sscanf(f, " %7s%n", flag, &n) == 1) {
		size_t k = 0;

		f += n;
		if (!strcmp(flag, "??")) {
			unnamed++; /* a flag this kernel has no name for: see below */
			continue;
		}
		while (k < sizeof(area_flag) / sizeof(area_flag[0]) && strcmp(area_flag[k].flag, flag))
			k++;
		if (k == sizeof(area_flag) / sizeof(area_flag[0]) || !area_flag[k].word) {
			pr_err("pid %d: the area %lx-%lx (%s) is %s: appshot cannot save it yet",
			       d->vpid, v->start, v->end, v->path,
			       k < sizeof(area_flag) / sizeof(area_flag[0]) ?
				       area_flag[k].what :
				       "marked with a flag appshot does not know");
			if (k == sizeof(area_flag) / sizeof(area_flag[0]))
				pr_err("  (VmFlags '%s')", flag);
			return -ENOTSUP;
		}
		if (*area_flag[k].word) {
			strcat(adv, area_flag[k].word);
			strcat(adv, " ");
		}
		/* a shared file mapping its file lets be written (mprotect may make it so) */
		if (!strcmp(flag, "mw") && v->perms[3] == 's' && v->ino)
			strcat(adv, "maywrite ");
	}
	if (unnamed) {
		/* Linux 6.1 names no VM_LOCKONFAULT: the raw flags tell */
		raw = raw_vm_flags(pid, v->start);
		if ((raw & VM_LOCKONFAULT) && !strstr(adv, "lockonfault")) {
			strcat(adv, "lockonfault ");
			unnamed--;
		}
		if (unnamed) {
			pr_err("pid %d: the area %lx-%lx (%s) has %d flag%s this kernel has no name "
			       "for (vm_flags %#lx): appshot cannot save it yet",
			       d->vpid, v->start, v->end, v->path, unnamed, unnamed == 1 ? "" : "s",
			       raw);
			return -ENOTSUP;
		}
	}
	js_str(o, "madvise", adv);
	return 0;
}

int dump_memory(struct dump *d, pid_t pid, struct json_object *core)
{
	char path[64], name[PATH_MAX + 16];
	struct json_object *vmas = json_object_new_array();
	int pm_fd = -1, mem_fd = -1, err;
	struct vma *v = NULL;
	size_t n = 0;

	json_object_object_add(core, "vmas", vmas);
	err = read_smaps(pid, &v, &n);
	if (err) {
		pr_err("cannot read pid %d's memory areas: %s", pid, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0 || mem_fd < 0) {
		err = -errno;
		pr_perror("cannot open pid %d's pagemap or memory", pid);
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct json_object *o = json_object_new_object(), *runs = json_object_new_array();
		int object, prot = 0;
		const char *kind = prot_kind(&v[i], &object);

		if (!strcmp(kind, "sysv") && !d->own_ipc) {
			pr_err("pid %d maps SysV shared memory (%s at %lx): appshot saves SysV IPC "
			       "of applications in their own IPC namespace (appshot run without "
			       "--share-ns)", d->vpid, v[i].path, v[i].start);
			json_object_put(o);
			json_object_put(runs);
			err = -ENOTSUP;
			break;
		}
		prot |= v[i].perms[0] == 'r' ? 1 : 0;
		prot |= v[i].perms[1] == 'w' ? 2 : 0;
		prot |= v[i].perms[2] == 'x' ? 4 : 0;
		js_u64(o, "start", v[i].start);
		js_u64(o, "end", v[i].end);
		js_i64(o, "prot", prot);
		js_bool(o, "shared", v[i].perms[3] == 's');
		js_str(o, "kind", kind);
		js_u64(o, "offset", v[i].pgoff);
		js_bool(o, "growsdown", has_flag(&v[i], "gd"));
		err = area_flags(d, pid, &v[i], o);
		if (err) {
			json_object_put(o);
			json_object_put(runs);
			break;
		}
		if (!strncmp(v[i].path, "[anon:", 6)) {
			snprintf(name, sizeof(name), "%s", v[i].path + 6);
			name[strcspn(name, "]")] = 0;
			js_str(o, "name", name);
		}
		if (!strcmp(kind, "file") || !strcmp(kind, "deleted")) {
			snprintf(name, sizeof(name), "%s", v[i].path);
			if (!strcmp(kind, "deleted"))
				name[strlen(name) - 10] = 0;
			js_str(o, "path", name);
			js_u64(o, "dev", makedev(v[i].major, v[i].minor));
			js_u64(o, "ino", v[i].ino);
		}
		if (!strcmp(kind, "sysv")) {
			/* the segment's inode number is its id; its pages are saved with it */
			struct stat st = { 0 };

			snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, v[i].start,
				 v[i].end);
			if (stat(path, &st)) {
				err = -errno;
				pr_perror("cannot look at pid %d's SysV mapping at %lx", d->vpid,
					  v[i].start);
			}
			js_i64(o, "shmid", v[i].ino);
			js_u64(o, "shm_size", st.st_size);
		}
		if (object) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, v[i].start,
				 v[i].end);
			snprintf(name, sizeof(name), "%s", v[i].path);
			if (ends_with(name, " (deleted)"))
				name[strlen(name) - 10] = 0;
			err = add_object(d, core, path, kind, name);
			if (err < 0)
				break;
			js_i64(o, "object", err);
			err = 0;
		}
		/* The process's own pages: private areas only; objects carry theirs. */
		if (v[i].perms[3] == 'p' && strcmp(kind, "vdso") && strncmp(kind, "vvar", 4) &&
		    strcmp(kind, "vsyscall") && (v[i].anon_kb || v[i].swap_kb))
			err = dump_private_pages(d, pid, pm_fd, mem_fd, &v[i],
						 !strcmp(kind, "file") || !strcmp(kind, "deleted"),
						 runs);
		json_object_object_add(o, "pages", runs);
		json_object_array_add(vmas, o);
	}
out:
	if (pm_fd >= 0)
		close(pm_fd);
	if (mem_fd >= 0)
		close(mem_fd);
	free(v);
	return err;
}
