/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The protocol between a test workload and its harness: at each checkpoint
 * the workload writes one line (JSON) on the fd in $WL_REPORT_FD and waits
 * for a line on the fd in $WL_WAIT_FD. Any failure ends it with status 1.
 */
#ifndef APPSHOT_WL_H
#define APPSHOT_WL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int wl_report_fd = -1, wl_wait_fd = -1;

#define wl_die(...)                                                           \
	do {                                                                  \
		fprintf(stderr, "workload: " __VA_ARGS__);                    \
		fprintf(stderr, " (%s)\n", strerror(errno));                  \
		exit(1);                                                      \
	} while (0)

#define WL_CHECK(x)                                                           \
	do {                                                                  \
		if (!(x))                                                     \
			wl_die("%s:%d: %s failed", __FILE__, __LINE__, #x);   \
	} while (0)

static inline void wl_init(void)
{
	const char *r = getenv("WL_REPORT_FD"), *w = getenv("WL_WAIT_FD");

	if (!r || !w)
		wl_die("WL_REPORT_FD and WL_WAIT_FD must be set");
	wl_report_fd = atoi(r);
	wl_wait_fd = atoi(w);
}

/* A check of restored state that failed: said on stderr, counted; see wl_result(). */
static int wl_failures;
#define wl_expect(cond, ...)                                                  \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                \
			wl_failures++;                                        \
		}                                                             \
	} while (0)

/* A whole file into a buffer (NUL-terminated); its length, or -1. */
static inline ssize_t wl_read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	return n;
}

/* /proc/self/maps without device and inode (objects made again have new ones). */
static inline void wl_read_maps(char *out, size_t len)
{
	char line[4096];
	size_t used = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	WL_CHECK(f);
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char range[64], perms[8], off[32], dev[16], path[4096] = "";
		unsigned long ino;
		int n = sscanf(line, "%63s %7s %31s %15s %lu %4095[^\n]", range, perms, off, dev,
			       &ino, path);

		if (n < 5)
			continue;
		used += snprintf(out + used, len - used, "%s %s %s %s\n", range, perms, off, path);
		WL_CHECK(used < len);
	}
	fclose(f);
}

/* Write one report line, then wait for the harness's go. */
static inline void wl_checkpoint(const char *fmt, ...)
{
	char line[65536], c;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		wl_die("report too long");
	line[n++] = '\n';
	if (write(wl_report_fd, line, n) != n)
		wl_die("cannot report");
	do {
		if (read(wl_wait_fd, &c, 1) != 1)
			wl_die("harness went away");
	} while (c != '\n');
}

/* Report a line without waiting. */
static inline void wl_report(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		wl_die("report too long");
	line[n++] = '\n';
	if (write(wl_report_fd, line, n) != n)
		wl_die("cannot report");
}

/*
 * The last report: whether every check passed. The exit status too: 1 on
 * failure, else $WL_EXIT (so a test can see a status passed on), else 0.
 */
static inline int wl_result(int cp)
{
	const char *code = getenv("WL_EXIT");

	wl_report("{\"cp\":%d,\"ok\":%s,\"failures\":%d}", cp, wl_failures ? "false" : "true",
		  wl_failures);
	return wl_failures ? 1 : code ? atoi(code) : 0;
}

#endif /* APPSHOT_WL_H */
