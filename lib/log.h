/* SPDX-License-Identifier: GPL-2.0-only */
/* One logging sink with levels; libbpf's messages go through it too. */
#ifndef APPSHOT_LOG_H
#define APPSHOT_LOG_H

#include <errno.h>
#include <string.h>

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

extern enum log_level log_level;

/* The program name messages start with, e.g. "appshot-trace". */
void log_init(const char *prog);
void log_set_level(enum log_level level);
/* Errors are also collected here while --json output is being built. */
void log_capture(int on);
const char *log_last_error(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(fmt, ...) log_msg(LOG_ERR, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_msg(LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_msg(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_msg(LOG_DEBUG, fmt, ##__VA_ARGS__)
/* pr_err with ": strerror(errno)" appended. */
#define pr_perror(fmt, ...)                                                   \
	log_msg(LOG_ERR, fmt ": %s", ##__VA_ARGS__, strerror(errno))

#endif /* APPSHOT_LOG_H */
