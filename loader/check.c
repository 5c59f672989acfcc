// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot check: what this kernel and machine allow, and what appshot
 * needs of it, as `criu check`. Each feature is tried (not inferred from
 * the kernel's version) and said with yes or no and why; what appshot
 * cannot do without fails the check (exit 1), what only some of it needs
 * is said as such.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cgroup.h"
#include "cmd.h"
#include "commands.h"
#include "log.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_GET 2
#endif

struct feature {
	const char *name;
	int required; /* appshot cannot work without it */
	const char *used_for;
	/* 1 yes, 0 no; why says what was seen */
	int (*probe)(char *why, size_t len);
};

#define WHY(...) (snprintf(why, len, __VA_ARGS__), 0)
#define YES(...) (snprintf(why, len, __VA_ARGS__), 1)

static int probe_root(char *why, size_t len)
{
	return geteuid() == 0 ? YES("running as root") : WHY("not root (euid %u)", geteuid());
}

static int probe_btf(char *why, size_t len)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int iter;

	if (!btf)
		return WHY("no kernel BTF (CONFIG_DEBUG_INFO_BTF): %s", strerror(errno));
	iter = btf__find_by_name_kind(btf, "bpf_iter__task_file", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return iter ? YES("/sys/kernel/btf/vmlinux, with BPF task iterators")
		    : WHY("kernel BTF without BPF task iterators (5.8+)");
}

static int fs_is(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

static int probe_bpffs(char *why, size_t len)
{
	return fs_is("/sys/fs/bpf", BPF_FS_MAGIC) ? YES("mounted at /sys/fs/bpf")
					  : YES("not mounted at /sys/fs/bpf: appshot mounts it");
}

static int probe_tracefs(char *why, size_t len)
{
	if (access("/sys/kernel/tracing/events/syscalls/sys_enter_openat", F_OK) == 0)
		return YES("syscall tracepoints in /sys/kernel/tracing");
	if (!fs_is("/sys/kernel/tracing", TRACEFS_MAGIC))
		return YES("tracefs not mounted: appshot mounts it (syscall tracepoints not seen)");
	return WHY("no syscall tracepoints (CONFIG_FTRACE_SYSCALLS)");
}

static int prog_type(enum bpf_prog_type t, const char *what, char *why, size_t len)
{
	int r = libbpf_probe_bpf_prog_type(t, NULL);

	return r == 1 ? YES("%s programs load", what)
		      : WHY("%s programs do not load: %s", what, r < 0 ? strerror(-r) : "refused");
}

static int probe_tracepoint(char *why, size_t len)
{
	return prog_type(BPF_PROG_TYPE_TRACEPOINT, "tracepoint", why, len);
}

static int probe_sched_cls(char *why, size_t len)
{
	return prog_type(BPF_PROG_TYPE_SCHED_CLS, "TC (sched_cls)", why, len);
}

static int probe_sk_lookup(char *why, size_t len)
{
	return prog_type(BPF_PROG_TYPE_SK_LOOKUP, "sk_lookup", why, len);
}

/* A cgroup below the root (the root has no cgroup.freeze): ours, or any. */
static int probe_cgroup(char *why, size_t len)
{
	char root[512], path[1024];
	struct dirent *de;
	DIR *d;

	if (cgroup2_mount(root, sizeof(root)))
		return WHY("no cgroup v2 hierarchy mounted");
	if (cgroup_of_pid(getpid(), path, sizeof(path) - 16) == 0 && strcmp(path, root)) {
		strcat(path, "/cgroup.freeze");
		return access(path, F_OK) == 0 ? YES("cgroup v2 at %s, with cgroup.freeze", root)
					       : WHY("cgroup v2 at %s without cgroup.freeze (5.2+)", root);
	}
	d = opendir(root);
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s/cgroup.freeze", root, de->d_name);
		if (de->d_name[0] != '.' && access(path, F_OK) == 0) {
			closedir(d);
			return YES("cgroup v2 at %s, with cgroup.freeze", root);
		}
	}
	if (d)
		closedir(d);
	/* none to look at: one made for the while, as appshot makes them */
	snprintf(path, sizeof(path), "%s/appshot-check-%d", root, getpid());
	if (mkdir(path, 0700))
		return WHY("cgroup v2 at %s: cannot make a cgroup to look: %s", root, strerror(errno));
	strcat(path, "/cgroup.freeze");
	int ok = access(path, F_OK) == 0;

	path[strlen(path) - strlen("/cgroup.freeze")] = 0;
	rmdir(path);
	return ok ? YES("cgroup v2 at %s, with cgroup.freeze", root)
		  : WHY("cgroup v2 at %s without cgroup.freeze (5.2+)", root);
}

static int probe_clone3(char *why, size_t len)
{
	long r = syscall(SYS_clone3, NULL, 0);

	return r < 0 && errno == ENOSYS ? WHY("no clone3 (5.3+; set_tid 5.5+)")
					: YES("clone3 is there (PIDs are asked with set_tid)");
}

static int probe_mm_map(char *why, size_t len)
{
	unsigned int size = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0))
		return WHY("PR_SET_MM_MAP: %s (CONFIG_CHECKPOINT_RESTORE)", strerror(errno));
	return YES("PR_SET_MM_MAP (its map is %u bytes)", size);
}

static int probe_kcmp(char *why, size_t len)
{
	long r = syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 0, 0);

	return r < 0 && errno == ENOSYS ? WHY("no kcmp (CONFIG_KCMP)")
					: YES("kcmp tells shared open files");
}

static int probe_pidfd_getfd(char *why, size_t len)
{
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0), fd;

	if (pidfd < 0)
		return WHY("no pidfd_open (5.3+): %s", strerror(errno));
	fd = syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	close(pidfd);
	if (fd < 0)
		return WHY("no pidfd_getfd (5.6+): %s", strerror(errno));
	close(fd);
	return YES("pidfd_getfd copies a process's sockets for the snapshot");
}

static int probe_ptrace(char *why, size_t len)
{
	char buf[16] = "";
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return atoi(buf) == 3 ? WHY("Yama's ptrace_scope is 3: no process may be traced")
			      : YES("processes can be stopped under ptrace (Yama scope %s)",
				    buf[0] ? strtok(buf, "\n") : "none");
}

static int probe_tcp_repair(char *why, size_t len)
{
	int sk = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, ok;

	if (sk < 0)
		return WHY("no TCP socket: %s", strerror(errno));
	ok = setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) == 0;
	close(sk);
	return ok ? YES("TCP_REPAIR: connections are saved and made again")
		  : WHY("TCP_REPAIR: %s", strerror(errno));
}

static int probe_populate(char *why, size_t len)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok;

	if (p == MAP_FAILED)
		return WHY("mmap: %s", strerror(errno));
	ok = madvise(p, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
	munmap(p, 4096);
	return ok ? YES("MADV_POPULATE_WRITE (5.14+): memory is faulted in at once")
		  : WHY("no MADV_POPULATE_WRITE (5.14+): restored memory faults page by page");
}

static int probe_timer_ids(char *why, size_t len)
{
	int r = prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0);

	return r >= 0 ? YES("POSIX timers are made with their ids (6.13+)")
		      : WHY("no PR_TIMER_CREATE_RESTORE_IDS (6.13+): timers are made in order, "
			    "their ids as they come");
}

static int probe_userfaultfd(char *why, size_t len)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);

	if (fd < 0)
		return WHY("no userfaultfd: %s (appshot does not use it yet)", strerror(errno));
	close(fd);
	return YES("userfaultfd (appshot does not use it yet)");
}

static const struct feature features[] = {
	{ "root", 1, "tracing, snapshot and restore", probe_root },
	{ "btf", 1, "the tracer's programs (CO-RE) and iterators", probe_btf },
	{ "bpffs", 1, "the tables, pinned", probe_bpffs },
	{ "syscall-tracepoints", 1, "following applications", probe_tracefs },
	{ "bpf-tracepoint", 1, "following applications", probe_tracepoint },
	{ "cgroup-freeze", 1, "freezing an application for its snapshot", probe_cgroup },
	{ "ptrace", 1, "stopping threads, working in them", probe_ptrace },
	{ "clone3", 1, "restoring processes with their PIDs", probe_clone3 },
	{ "prctl-mm-map", 1, "restoring a process's mm (code, stack, auxv)", probe_mm_map },
	{ "kcmp", 1, "open files processes share", probe_kcmp },
	{ "pidfd-getfd", 1, "saving sockets", probe_pidfd_getfd },
	{ "tcp-repair", 0, "TCP connections", probe_tcp_repair },
	{ "bpf-sched-cls", 0, "holding an absent application's traffic", probe_sched_cls },
	{ "bpf-sk-lookup", 0, "virtual endpoints and port multiplexing (to come)", probe_sk_lookup },
	{ "madv-populate-write", 0, "fast restores", probe_populate },
	{ "timer-restore-ids", 0, "POSIX timer ids", probe_timer_ids },
	{ "userfaultfd", 0, "lazy restore (to come)", probe_userfaultfd },
};

int do_check(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, {} };
	struct json_object *list = json_object_new_array();
	struct utsname u;
	int c, err, missing = 0;

	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		err = common_opt(c, "check");
		if (err) {
			json_object_put(list);
			return err;
		}
	}
	if (optind != argc) {
		json_object_put(list);
		return usage_error("check", "takes no arguments");
	}
	uname(&u);
	libbpf_set_print(NULL);
	if (!json_output)
		printf("kernel %s %s\n", u.release, u.machine);
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		char why[256] = "";
		int ok = f->probe(why, sizeof(why));
		struct json_object *o = json_object_new_object();

		missing += f->required && !ok;
		json_object_object_add(o, "feature", json_object_new_string(f->name));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "required", json_object_new_boolean(f->required));
		json_object_object_add(o, "for", json_object_new_string(f->used_for));
		json_object_object_add(o, "why", json_object_new_string(why));
		json_object_array_add(list, o);
		if (!json_output && ok)
			printf("  yes %-20s %s\n", f->name, why);
		else if (!json_output)
			printf("  NO  %-20s %s: %s %s\n", f->name, why,
			       f->required ? "appshot needs it for" : "appshot works without it, but",
			       f->used_for);
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "kernel", json_object_new_string(u.release));
		json_object_object_add(o, "features", list);
		json_object_object_add(o, "ok", json_object_new_boolean(!missing));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		json_object_put(list);
		printf(missing ? "appshot cannot work here: %d feature%s it needs %s missing\n"
			       : "appshot can work here\n",
		       missing, missing == 1 ? "" : "s", missing == 1 ? "is" : "are");
	}
	return missing ? -ENOTSUP : 0;
}
