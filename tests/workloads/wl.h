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

#endif /* APPSHOT_WL_H */
