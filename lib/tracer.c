// SPDX-License-Identifier: GPL-2.0-only
/* Loading, pinning and removing the tracer's BPF programs and maps. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "syscalls.h"
#include "trace.h"
#include "trace.skel.h"
#include "tracer.h"
#include "util.h"

/*
 * The tracer is loaded when LINKS_DIR exists: links are pinned in
 * LOADING_DIR and it is renamed once everything is in place, and renamed
 * away first when the tracer is removed, so readers never see it half-way.
 */
#define LINKS_DIR APPSHOT_PIN_ROOT "/links"
#define LOADING_DIR APPSHOT_PIN_ROOT "/links_loading"
#define DYING_DIR APPSHOT_PIN_ROOT "/links_dying"
#define ITER_DIR APPSHOT_PIN_ROOT "/iter"
#define TRACEFS "/sys/kernel/tracing"

const char *const tracer_map_names[TMAP_COUNT] = {
	[TMAP_META] = "meta",
	[TMAP_APPS] = "apps",
	[TMAP_TASKS] = "tasks",
	[TMAP_VTASKS] = "vtasks",
	[TMAP_FDS] = "fds",
	[TMAP_FILES] = "files",
	[TMAP_SOCKS] = "socks",
	[TMAP_SK_SOCKS] = "sk_socks",
	[TMAP_IPCS] = "ipcs",
	[TMAP_REGIONS] = "regions",
	[TMAP_REGION_IDX] = "region_idx",
	[TMAP_RINGS] = "rings",
};

/* The seed iterators, in the order they must run. */
static const char *const seed_iters[] = { "seed_tasks", "seed_files", "seed_vmas" };

static int fs_is(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

int tracer_check_env(void)
{
	const char *btf;

	if (geteuid() != 0) {
		pr_err("must run as root: tracing needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN");
		return -EPERM;
	}
	/* APPSHOT_KERNEL_BTF names another place to look, for tests. */
	btf = getenv("APPSHOT_KERNEL_BTF");
	if (!btf || !*btf)
		btf = "/sys/kernel/btf/vmlinux";
	if (access(btf, R_OK)) {
		pr_err("this kernel has no BTF (%s): appshot needs CONFIG_DEBUG_INFO_BTF=y", btf);
		return -ENOTSUP;
	}
	if (!fs_is("/sys/fs/bpf", BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			pr_perror("bpffs is not mounted at /sys/fs/bpf and mounting it failed");
			return -errno;
		}
		pr_debug("mounted bpffs at /sys/fs/bpf");
	}
	if (!fs_is(TRACEFS, TRACEFS_MAGIC)) {
		if (mount("tracefs", TRACEFS, "tracefs", 0, NULL)) {
			pr_perror("tracefs is not mounted at " TRACEFS " and mounting it failed");
			return -errno;
		}
		pr_debug("mounted tracefs at " TRACEFS);
	}
	return 0;
}

int tracer_is_loaded(void)
{
	struct stat st;

	return stat(LINKS_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Remove the files of one pin directory, then the directory. */
static void remove_dir(const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			remove_dir(child);
		else if (unlink(child))
			pr_warn("cannot remove %s: %s", child, strerror(errno));
	}
	closedir(d);
	if (rmdir(path) && errno != ENOENT)
		pr_warn("cannot remove %s: %s", path, strerror(errno));
}

int tracer_unload(void)
{
	rename(LINKS_DIR, DYING_DIR);
	remove_dir(APPSHOT_PIN_ROOT);
	return access(APPSHOT_PIN_ROOT, F_OK) == 0 ? -EBUSY : 0;
}

/* "tracepoint/syscalls/sys_exit_openat": does this kernel have that hook? */
static int hook_exists(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	char path[PATH_MAX];

	if (strncmp(sec, "tracepoint/", 11))
		return 1;
	snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + 11);
	return access(path, F_OK) == 0;
}

/* The syscalls followed (include/syscalls.h); enter: sys_enter is attached too. */
static const struct {
	const char *name;
	int enter;
} syscall_hooks[] = {
#define X(sc, enter, exit) { #sc, ENTER_##enter != ENTER_none },
	APPSHOT_SYSCALLS(X)
#undef X
};

static int attached_progs, skipped_progs;

void tracer_prog_counts(int *attached, int *skipped)
{
	*attached = attached_progs;
	*skipped = skipped_progs;
}

/* Pin link as name in dir; the pin holds it, the link itself is released. */
static int pin_link(struct bpf_link *link, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err = bpf_link__pin(link, path);
	bpf_link__destroy(link);
	if (err) {
		pr_err("cannot pin the link of %s at %s: %s", name, path, strerror(-err));
		return err;
	}
	chmod(path, 0600);
	return 0;
}

/* Attach prog to syscalls/<event> and pin it under that name; a missing event is skipped. */
static int attach_syscall(struct bpf_program *prog, const char *event)
{
	char path[PATH_MAX];
	struct bpf_link *link;

	snprintf(path, sizeof(path), TRACEFS "/events/syscalls/%s", event);
	if (access(path, F_OK)) {
		skipped_progs++;
		pr_debug("no tracepoint syscalls/%s on this kernel", event);
		return 0;
	}
	link = bpf_program__attach_tracepoint(prog, "syscalls", event);
	if (!link) {
		pr_err("cannot attach %s to syscalls/%s: %s", bpf_program__name(prog), event,
		       strerror(errno));
		return -errno;
	}
	attached_progs++;
	return pin_link(link, LOADING_DIR, event);
}

static int attach_syscalls(struct trace *skel)
{
	char event[64];
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(syscall_hooks); i++) {
		if (syscall_hooks[i].enter) {
			snprintf(event, sizeof(event), "sys_enter_%s", syscall_hooks[i].name);
			err = attach_syscall(skel->progs.sys_enter, event);
			if (err)
				return err;
		}
		snprintf(event, sizeof(event), "sys_exit_%s", syscall_hooks[i].name);
		err = attach_syscall(skel->progs.sys_exit, event);
		if (err)
			return err;
	}
	return 0;
}

static int write_meta(struct trace *skel)
{
	struct trace_meta m = { .abi = APPSHOT_TRACE_ABI, .loaded_ns = now_ns(CLOCK_BOOTTIME) };
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.meta), &zero, &m, BPF_ANY) ? -errno : 0;
}

int tracer_load(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = APPSHOT_PIN_ROOT);
	struct bpf_program *prog;
	struct trace *skel = NULL;
	struct bpf_link *link;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), t_open, t_load;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	/* Maps or links left by a tracer that died half-way are not reused. */
	if (access(APPSHOT_PIN_ROOT, F_OK) == 0)
		tracer_unload();
	err = mkdir_p(LOADING_DIR, 0700);
	if (!err)
		err = mkdir_p(ITER_DIR, 0700);
	if (err) {
		pr_err("cannot create %s: %s", APPSHOT_PIN_ROOT, strerror(-err));
		return err;
	}
	chmod(APPSHOT_PIN_ROOT, 0700);

	skel = trace__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pr_err("cannot open the tracer's BPF object: %s", strerror(errno));
		goto out;
	}
	attached_progs = skipped_progs = 0;
	bpf_object__for_each_program(prog, skel->obj) {
		if (!hook_exists(prog)) {
			bpf_program__set_autoload(prog, false);
			skipped_progs++;
			pr_debug("no hook %s on this kernel: %s not loaded",
				 bpf_program__section_name(prog), bpf_program__name(prog));
		}
	}
	t_open = now_ns(CLOCK_MONOTONIC);
	err = trace__load(skel);
	t_load = now_ns(CLOCK_MONOTONIC);
	if (err) {
		pr_err("loading the tracer's BPF programs failed: %s (run with -v for the verifier's log)",
		       strerror(-err));
		goto out;
	}
	err = attach_syscalls(skel);
	if (err)
		goto out;
	bpf_object__for_each_program(prog, skel->obj) {
		int iter = !strncmp(bpf_program__section_name(prog), "iter/", 5);

		/* the syscall programs have no tracepoint of their own (above) */
		if (!bpf_program__autoload(prog) ||
		    !strcmp(bpf_program__section_name(prog), "tracepoint"))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			err = -errno;
			pr_err("cannot attach %s (%s): %s", bpf_program__name(prog),
			       bpf_program__section_name(prog), strerror(errno));
			goto out;
		}
		err = pin_link(link, iter ? ITER_DIR : LOADING_DIR, bpf_program__name(prog));
		if (err)
			goto out;
		if (!iter)
			attached_progs++;
	}
	err = write_meta(skel);
	if (err) {
		pr_err("cannot write the tracer's meta map: %s", strerror(-err));
		goto out;
	}
	bpf_object__for_each_map(map, skel->obj) {
		if (!bpf_map__is_pinned(map))
			continue;
		snprintf(path, sizeof(path), "%s", bpf_map__pin_path(map));
		chmod(path, 0600);
	}
	if (rename(LOADING_DIR, LINKS_DIR)) {
		err = -errno;
		pr_perror("cannot publish the tracer's links at %s", LINKS_DIR);
		goto out;
	}
	pr_debug("tracer loaded in %.1f ms (open %.1f, load %.1f, attach %.1f): "
		 "%d links, %d hooks missing on this kernel",
		 (now_ns(CLOCK_MONOTONIC) - t0) / 1e6, (t_open - t0) / 1e6, (t_load - t_open) / 1e6,
		 (now_ns(CLOCK_MONOTONIC) - t_load) / 1e6, attached_progs, skipped_progs);
out:
	trace__destroy(skel);
	if (err)
		tracer_unload();
	return err;
}

int tracer_open(struct tracer *t)
{
	struct trace_meta m = {};
	char path[PATH_MAX];
	__u32 zero = 0;
	int i;

	for (i = 0; i < TMAP_COUNT; i++)
		t->fd[i] = -1;
	if (!tracer_is_loaded())
		return -ENOENT;
	for (i = 0; i < TMAP_COUNT; i++) {
		snprintf(path, sizeof(path), APPSHOT_PIN_ROOT "/%s", tracer_map_names[i]);
		t->fd[i] = bpf_obj_get(path);
		if (t->fd[i] < 0) {
			int err = -errno;

			tracer_close(t);
			if (!tracer_is_loaded())
				return -ENOENT; /* removed meanwhile */
			pr_err("cannot open the pinned map %s: %s", path, strerror(-err));
			return err;
		}
	}
	if (bpf_map_lookup_elem(t->fd[TMAP_META], &zero, &m) || m.abi != APPSHOT_TRACE_ABI) {
		pr_err("the tracer pinned at %s has table layout %u, this appshot has %u: "
		       "detach its applications with the appshot that attached them",
		       APPSHOT_PIN_ROOT, m.abi, APPSHOT_TRACE_ABI);
		tracer_close(t);
		return -EPROTO;
	}
	return 0;
}

int tracer_meta(const struct tracer *t, struct trace_meta *m)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(t->fd[TMAP_META], &zero, m) ? -errno : 0;
}

int tracer_is_resident(const struct tracer *t)
{
	struct trace_meta m;

	return t->fd[TMAP_META] >= 0 && tracer_meta(t, &m) == 0 && (m.flags & TRACERF_RESIDENT);
}

int tracer_set_resident(const struct tracer *t, int on)
{
	struct trace_meta m;
	__u32 zero = 0;
	int err = tracer_meta(t, &m);

	if (err)
		return err;
	m.flags = on ? m.flags | TRACERF_RESIDENT : m.flags & ~TRACERF_RESIDENT;
	return bpf_map_update_elem(t->fd[TMAP_META], &zero, &m, BPF_ANY) ? -errno : 0;
}

void tracer_close(struct tracer *t)
{
	for (int i = 0; i < TMAP_COUNT; i++) {
		if (t->fd[i] >= 0)
			close(t->fd[i]);
		t->fd[i] = -1;
	}
}

int tracer_iter_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), ITER_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot run the iterator %s", path);
		return -errno;
	}
	return fd;
}

FILE *tracer_iter_fopen(const char *name, int *err)
{
	int fd = tracer_iter_open(name);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "re");

	*err = fd < 0 ? fd : f ? 0 : -ENOMEM;
	if (!f && fd >= 0)
		close(fd);
	return f;
}

int tracer_seed(void)
{
	char path[PATH_MAX], buf[256];
	ssize_t n;
	int fd;

	for (size_t i = 0; i < ARRAY_SIZE(seed_iters); i++) {
		snprintf(path, sizeof(path), ITER_DIR "/%s", seed_iters[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("cannot run the iterator %s", path);
			return -errno;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		close(fd);
		if (n < 0) {
			pr_perror("iterator %s failed", path);
			return -errno;
		}
	}
	return 0;
}
