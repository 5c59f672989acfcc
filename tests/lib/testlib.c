// SPDX-License-Identifier: GPL-2.0-only
/* Helpers for the integration tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

static int pins_at_start;

const char *bin_path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;
	const char *dir = getenv("APPSHOT_BIN");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir ? dir : "build/bin", name);
	return buf[i];
}

const char *workload_path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;
	const char *dir = getenv("APPSHOT_WORKLOADS");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir ? dir : "build/tests/workloads", name);
	return buf[i];
}

void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Append what fd has to *buf. */
static int drain(int fd, char **buf, size_t *len)
{
	char chunk[4096], *nb;
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n <= 0)
		return n;
	nb = realloc(*buf, *len + n + 1);
	if (!nb)
		return -1;
	memcpy(nb + *len, chunk, n);
	*len += n;
	nb[*len] = 0;
	*buf = nb;
	return n;
}

/* Where a command that does not end is: each thread's state and kernel stack. */
static void show_stuck(pid_t pid)
{
	char path[64], line[256];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char file[128];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/stat", path, e->d_name);
		if (read_file_line(file, line, sizeof(line)) == 0)
			print_message("  thread %s: %s\n", e->d_name, line);
		snprintf(file, sizeof(file), "%s/%s/stack", path, e->d_name);
		f = fopen(file, "re");
		while (f && fgets(line, sizeof(line), f))
			print_message("    %s", line);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

int run_argv(struct run_result *r, int timeout_ms, char *const argv[])
{
	int out[2], err[2], status = 0, exited = 0;
	size_t olen = 0, elen = 0;
	uint64_t deadline = mono_ms() + timeout_ms;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/*
	 * Read until the command has exited. What it started may hold the pipes
	 * open long after (appshot run -d): once it has exited, what is in the
	 * pipes is all it wrote, read without waiting for an end.
	 */
	for (;;) {
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
				       { .fd = err[0], .events = POLLIN } };
		int64_t left = deadline - mono_ms();

		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
			fcntl(out[0], F_SETFL, O_NONBLOCK);
			fcntl(err[0], F_SETFL, O_NONBLOCK);
		}
		if (left <= 0 && !exited) {
			print_message("timed out after %d ms: %s; it said: %s\n", timeout_ms, argv[0],
				      r->err);
			show_stuck(pid);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		if (!exited && poll(p, 2, left < 50 ? left : 50) < 0 && errno != EINTR)
			break;
		if (exited) {
			while (drain(out[0], &r->out, &olen) > 0)
				;
			while (drain(err[0], &r->err, &elen) > 0)
				;
			r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		for (int i = 0; i < 2; i++)
			if (p[i].revents & (POLLIN | POLLHUP))
				drain(p[i].fd, i ? &r->err : &r->out, i ? &elen : &olen);
	}
	close(out[0]);
	close(err[0]);
	return r->status < 0 ? -1 : 0;
}

int testlib_timeout_ms(void)
{
	const char *s = getenv("APPSHOT_TIMEOUT_SCALE");
	int k = s ? atoi(s) : 1;

	return 30000 * (k > 0 && k <= 20 ? k : 1);
}

int read_file_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int run_va(struct run_result *r, const char *arg0, va_list ap)
{
	char *argv[64];
	int n = 0;

	argv[n++] = (char *)arg0;
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	argv[n] = NULL;
	return run_argv(r, TEST_TIMEOUT_MS, argv);
}

int run_cmd(struct run_result *r, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = run_va(r, arg0, ap);
	va_end(ap);
	return ret;
}

void run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

struct json_object *run_json(const char *arg0, ...)
{
	struct json_object *o = NULL;
	struct run_result r;
	va_list ap;

	va_start(ap, arg0);
	run_va(&r, arg0, ap);
	va_end(ap);
	if (r.status != 0)
		print_message("%s exited %d: %s\n", arg0, r.status, r.err);
	else if (!(o = json_tokener_parse(r.out)))
		print_message("%s printed no JSON: %.200s\n", arg0, r.out);
	run_free(&r);
	return o;
}

pid_t spawn_cmd(int *out, const char *arg0, ...)
{
	char *argv[64];
	int p[2] = { -1, -1 }, n = 0;
	va_list ap;
	pid_t pid;

	argv[n++] = (char *)arg0;
	va_start(ap, arg0);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (out && pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (out)
			dup2(p[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t deadline = mono_ms() + timeout_ms;
	size_t n = 0;

	while (n < len - 1) {
		int64_t left = deadline - mono_ms();

		if (left <= 0 || poll(&p, 1, left) != 1 || read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 0;
}

int wait_status(pid_t pid, int timeout_ms)
{
	uint64_t deadline = mono_ms() + timeout_ms;
	int status;

	while (mono_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0)
			return -1;
		sleep_ms(5);
	}
	return -1;
}

const char *unique_name(const char *prefix)
{
	static char buf[8][64];
	static int i, n;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s-%d-%d", prefix, getpid(), ++n);
	return buf[i];
}

const char *testlib_missing;

/* APPSHOT_TEST=PATTERN runs only the tests whose names match (cmocka's filter). */
__attribute__((constructor)) static void testlib_filter(void)
{
	const char *pattern = getenv("APPSHOT_TEST");

	if (pattern && *pattern)
		cmocka_set_test_filter(pattern);
}

int testlib_setup(void **state)
{
	(void)state;
	/* into a file (tests/run.sh): what a test printed stays if it is killed at its time limit */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		testlib_missing = "integration tests need root (BPF, cgroups, namespaces)";
	else if (access("/sys/kernel/btf/vmlinux", R_OK))
		testlib_missing = "this kernel has no BTF";
	pins_at_start = access("/sys/fs/bpf/appshot", F_OK) == 0;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

static char tracked[64][64];
static int ntracked;

void testlib_track(const char *name)
{
	if (ntracked < 64)
		snprintf(tracked[ntracked++], sizeof(tracked[0]), "%s", name);
}

int testlib_teardown(void **state)
{
	struct run_result r;

	(void)state;
	for (int i = 0; i < ntracked; i++) {
		run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", tracked[i], "--kill", NULL);
		run_free(&r);
	}
	/* Reap whatever came to us as subreaper. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

struct json_object *jkey(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		fail_msg("JSON has no key '%s'", key);
	return v;
}

int64_t jint(struct json_object *o, const char *key)
{
	return json_object_get_int64(jkey(o, key));
}

const char *jstr(struct json_object *o, const char *key)
{
	return json_object_get_string(jkey(o, key));
}

int jbool(struct json_object *o, const char *key)
{
	return json_object_get_boolean(jkey(o, key));
}

struct json_object *status_app(const char *name)
{
	struct json_object *root, *apps, *app = NULL;

	root = run_json(bin_path("appshot-trace"), "status", "--aid", name, "--json", NULL);
	if (!root)
		return NULL;
	apps = jkey(root, "applications");
	if (json_object_array_length(apps) == 1)
		app = json_object_get(json_object_array_get_idx(apps, 0));
	json_object_put(root);
	return app;
}

int read_ids(const char *path, pid_t **ids, size_t *n)
{
	size_t cap = 64, cnt = 0;
	pid_t *v = malloc(cap * sizeof(*v));
	FILE *f = fopen(path, "re");
	int id;

	if (!f || !v) {
		free(v);
		if (f)
			fclose(f);
		return -1;
	}
	while (fscanf(f, "%d", &id) == 1) {
		if (cnt == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[cnt++] = id;
	}
	fclose(f);
	*ids = v;
	*n = cnt;
	return 0;
}

int proc_list_fds(pid_t pid, int **fds, size_t *n)
{
	char path[64];
	struct dirent *de;
	size_t cap = 64, cnt = 0;
	int *v = malloc(cap * sizeof(*v));
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		free(v);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (cnt == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[cnt++] = atoi(de->d_name);
	}
	closedir(d);
	*fds = v;
	*n = cnt;
	return 0;
}

int proc_fd_link(pid_t pid, int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

int proc_fd_flags(pid_t pid, int fd, unsigned int *flags)
{
	char path[64], line[256];
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", flags) == 1) {
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	buf[0] = 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : 0;
}

int wait_gone(pid_t pid, int timeout_ms)
{
	uint64_t deadline = mono_ms() + timeout_ms;

	while (mono_ms() < deadline) {
		waitpid(pid, NULL, WNOHANG);
		if (kill(pid, 0) && errno == ESRCH)
			return 0;
		sleep_ms(5);
	}
	return -1;
}

int retry_until(int (*fn)(void *ctx), void *ctx, int timeout_ms)
{
	uint64_t deadline = mono_ms() + timeout_ms;
	int ret;

	while ((ret = fn(ctx)) != 0 && mono_ms() < deadline)
		sleep_ms(20);
	return ret;
}

static void list_dir(const char *path, char *out, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(path);
	size_t used = strlen(out);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_REG) &&
		    strncmp(de->d_name, "cgroup.", 7) && used < len)
			used += snprintf(out + used, len - used, "%s/%s ", path, de->d_name);
	closedir(d);
}

char *appshot_state(void)
{
	char path[PATH_MAX];
	const char *dir = getenv("APPSHOT_STATE_DIR");
	size_t len = 16384;
	char *out = calloc(1, len);

	snprintf(path, sizeof(path), "%s/apps", dir ? dir : "/var/lib/appshot");
	list_dir(path, out, len);
	list_dir("/sys/fs/cgroup/unified/appshot", out, len);
	list_dir("/sys/fs/cgroup/appshot", out, len);
	if (access("/sys/fs/bpf/appshot", F_OK) == 0)
		strncat(out, "pins", len - strlen(out) - 1);
	return out;
}

/* Is this name one of this test process's (see unique_name)? */
static int ours(const char *name)
{
	char mark[32];

	snprintf(mark, sizeof(mark), "-%d-", getpid());
	return strstr(name, mark) != NULL;
}

static int ours_in(const char *dir, char *why, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (!ours(de->d_name))
			continue;
		snprintf(why, len, "%s/%s is left", dir, de->d_name);
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

int check_no_leftovers(char *why, size_t len)
{
	char path[PATH_MAX];
	const char *dir = getenv("APPSHOT_STATE_DIR");

	snprintf(path, sizeof(path), "%s/apps", dir ? dir : "/var/lib/appshot");
	if (ours_in(path, why, len) || ours_in("/sys/fs/cgroup/unified/appshot", why, len) ||
	    ours_in("/sys/fs/cgroup/appshot", why, len))
		return -1;
	if (!pins_at_start && access("/sys/fs/bpf/appshot", F_OK) == 0) {
		snprintf(why, len, "pins left under /sys/fs/bpf/appshot");
		return -1;
	}
	return 0;
}
