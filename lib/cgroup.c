// SPDX-License-Identifier: GPL-2.0-only
/* The applications' cgroups: create, list, move, freeze, kill, remove. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "util.h"

int cgroup2_mount(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX], *sep;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (snprintf(buf, len, "%s", mnt) >= (int)len)
			err = -ENAMETOOLONG;
		else
			err = 0;
		break;
	}
	fclose(f);
	return err;
}

int cgroup_app_path(const char *name, char *buf, size_t len)
{
	char mnt[PATH_MAX];
	int err = cgroup2_mount(mnt, sizeof(mnt));

	if (err)
		return err;
	return snprintf(buf, len, "%s/appshot/%s", mnt, name) >= (int)len ? -ENAMETOOLONG : 0;
}

int cgroup_of_pid(pid_t pid, char *buf, size_t len)
{
	char path[64], line[PATH_MAX + 8], mnt[PATH_MAX];
	int err = cgroup2_mount(mnt, sizeof(mnt));
	FILE *f;

	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		err = snprintf(buf, len, "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "") >=
				      (int)len ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return err;
}

int cgroup_create(const char *path)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = 0;
		if (mkdir(parent, 0755) && errno != EEXIST)
			return -errno;
	}
	return mkdir(path, 0755) ? -errno : 0;
}

int cgroup_move(const char *path, pid_t pid)
{
	char file[PATH_MAX], buf[16];

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(buf, sizeof(buf), "%d", pid);
	return write_file(file, buf);
}

int cgroup_read_ids(const char *path, const char *file, pid_t **ids, size_t *n)
{
	char p[PATH_MAX];
	size_t count = 0, cap = 64;
	pid_t *v = malloc(cap * sizeof(*v)), *nv;
	FILE *f;
	int id;

	if (!v)
		return -ENOMEM;
	snprintf(p, sizeof(p), "%s/%s", path, file);
	f = fopen(p, "re");
	if (!f) {
		free(v);
		return -errno;
	}
	while (fscanf(f, "%d", &id) == 1) {
		if (count == cap) {
			cap *= 2;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
		}
		v[count++] = id;
	}
	fclose(f);
	*ids = v;
	*n = count;
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (at most timeout_ms) until the cgroup's cgroup.events has the line want. */
static int wait_events(const char *path, const char *want, int timeout_ms)
{
	char file[PATH_MAX], buf[512];
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000ull;
	int fd, left_ms;

	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* the kernel says when cgroup.events changes: POLLPRI, no polling loop */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, want))
				break;
		}
		if (now >= deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		/* a change that fell between the read and the poll is seen 10 ms late at most */
		left_ms = (deadline - now) / 1000000 + 1;
		poll(&p, 1, left_ms < 10 ? left_ms : 10);
	}
	close(fd);
	return 0;
}

int cgroup_freeze(const char *path, int frozen, int timeout_ms)
{
	char file[PATH_MAX];
	int err;

	snprintf(file, sizeof(file), "%s/cgroup.freeze", path);
	err = write_file(file, frozen ? "1" : "0");
	if (err)
		return err;
	return wait_events(path, frozen ? "frozen 1" : "frozen 0", timeout_ms);
}

int cgroup_wait_empty(const char *path, int timeout_ms)
{
	return wait_events(path, "populated 0", timeout_ms);
}

int cgroup_kill(const char *path)
{
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	return write_file(file, "1");
}

/* The shared parent "appshot" goes with the last application's cgroup. */
static void remove_parent(const char *path)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = 0;
	slash = strrchr(parent, '/');
	if (slash && !strcmp(slash + 1, "appshot"))
		rmdir(parent); /* fails while other applications are there */
}

int cgroup_remove(const char *path, const char *dest)
{
	pid_t *pids;
	size_t n;
	int err = 0;

	if (access(path, F_OK))
		return 0;
	/* A thawed cgroup, so that moved processes do not stay frozen. */
	cgroup_freeze(path, 0, 100);
	if (dest && cgroup_read_ids(path, "cgroup.procs", &pids, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			err = cgroup_move(dest, pids[i]);
			if (err && err != -ESRCH)
				pr_warn("cannot move pid %d back to %s: %s", pids[i], dest,
					strerror(-err));
		}
		free(pids);
	}
	/* Exited tasks leave the cgroup a moment after they are reaped. */
	for (int i = 0; i < 200; i++) {
		if (rmdir(path) == 0 || errno == ENOENT) {
			remove_parent(path);
			return 0;
		}
		err = -errno;
		if (err != -EBUSY)
			break;
		sleep_ms(25);
	}
	return err;
}
