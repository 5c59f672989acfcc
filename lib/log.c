// SPDX-License-Identifier: GPL-2.0-only
/* The logging sink: stderr, one line per message, prefixed by the program. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "log.h"

enum log_level log_level = LOG_INFO;
static const char *prog_name = "appshot";
static int capture;
static char last_error[1024];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/*
	 * libbpf's warnings are details of an error we report ourselves, and
	 * its verifier logs run to thousands of lines: -v shows them, whole.
	 */
	if (log_level < LOG_DEBUG)
		return 0;
	fprintf(stderr, "%s: libbpf: %s", prog_name, level == LIBBPF_WARN ? "warning: " : "");
	return vfprintf(stderr, fmt, ap);
}

void log_init(const char *prog)
{
	prog_name = prog;
	libbpf_set_print(libbpf_print);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_capture(int on)
{
	capture = on;
	last_error[0] = 0;
}

const char *log_last_error(void)
{
	return last_error[0] ? last_error : NULL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = {
		[LOG_ERR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	char buf[1024];
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level == LOG_ERR && capture && !last_error[0])
		snprintf(last_error, sizeof(last_error), "%s", buf);
	fprintf(stderr, "%s: %s%s\n", prog_name, tag[level], buf);
	errno = saved;
}
