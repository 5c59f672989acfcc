// SPDX-License-Identifier: GPL-2.0-only
/* Reading processes from /proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proc.h"
#include "util.h"

int proc_stat_read(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *open_paren, *close_paren;
	ssize_t n;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : n;
	/* comm may hold spaces and parentheses: it ends at the last ')' */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EBADMSG;
	memset(st, 0, sizeof(*st));
	st->pid = pid;
	len = close_paren - open_paren - 1;
	if (len >= sizeof(st->comm))
		len = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, len);
	if (sscanf(close_paren + 2,
		   "%c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &st->state, &st->ppid, &st->pgrp, &st->sid, &st->starttime) != 5)
		return -EBADMSG;
	return 0;
}

static int numeric_entries(const char *dir, pid_t **ids, size_t *n)
{
	size_t count = 0, cap = 64;
	pid_t *v = malloc(cap * sizeof(*v)), *nv;
	struct dirent *de;
	DIR *d;

	if (!v)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		free(v);
		return errno == ENOENT ? -ESRCH : -errno;
	}
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (count == cap) {
			cap *= 2;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[count++] = atoi(de->d_name);
	}
	closedir(d);
	*ids = v;
	*n = count;
	return 0;
}

int proc_threads(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	return numeric_entries(path, tids, n);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int proc_fds(pid_t pid, int **fds, size_t *n)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	err = numeric_entries(path, fds, n);
	if (!err)
		qsort(*fds, *n, sizeof(**fds), cmp_int);
	return err;
}

int proc_descendants(pid_t root, pid_t **pids, size_t *n)
{
	struct proc_stat st;
	pid_t *all, *ppid, *out, maxpid = root;
	unsigned char *in;
	size_t nall, nout = 0;
	int err, grew;

	err = numeric_entries("/proc", &all, &nall);
	if (err)
		return err;
	for (size_t i = 0; i < nall; i++)
		maxpid = all[i] > maxpid ? all[i] : maxpid;
	ppid = calloc(nall ? nall : 1, sizeof(*ppid));
	out = calloc(nall + 1, sizeof(*out));
	in = calloc(maxpid + 1, 1); /* in[pid]: pid is in the tree */
	if (!ppid || !out || !in) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nall; i++)
		ppid[i] = proc_stat_read(all[i], &st) == 0 ? st.ppid : 0;
	out[nout++] = root;
	in[root] = 1;
	/* Take every process whose parent is in, until none is left to take. */
	do {
		grew = 0;
		for (size_t i = 0; i < nall; i++) {
			if (in[all[i]] || ppid[i] <= 0 || ppid[i] > maxpid || !in[ppid[i]])
				continue;
			in[all[i]] = 1;
			out[nout++] = all[i];
			grew = 1;
		}
	} while (grew);
	*pids = out;
	*n = nout;
	out = NULL;
out:
	free(all);
	free(ppid);
	free(in);
	free(out);
	return err;
}

int proc_status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], buf[4096], want[64], *line;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : n;
	snprintf(want, sizeof(want), "\n%s:", key);
	line = strstr(buf, want);
	if (!line)
		return -ENOTSUP;
	line += strlen(want);
	line += strspn(line, " \t");
	line[strcspn(line, "\n")] = 0;
	snprintf(out, len, "%s", line);
	return 0;
}

int proc_nspid(pid_t pid, pid_t *vpid, uint32_t *level)
{
	char line[512], *tok, *save;
	uint32_t lvl = 0;
	int err = proc_status_field(pid, "NSpid", line, sizeof(line));

	if (err)
		return err;
	*vpid = 0;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		*vpid = atoi(tok);
		lvl++;
	}
	if (!lvl)
		return -EBADMSG;
	*level = lvl - 1;
	return 0;
}

int proc_tgid(pid_t tid, pid_t *tgid)
{
	char v[32];
	int err = proc_status_field(tid, "Tgid", v, sizeof(v));

	if (err)
		return err;
	return sscanf(v, "%d", tgid) == 1 ? 0 : -EBADMSG;
}

int proc_ns_ino(pid_t pid, const char *ns, uint32_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	if (stat(path, &st))
		return errno == ENOENT ? -ESRCH : -errno;
	*ino = st.st_ino;
	return 0;
}
