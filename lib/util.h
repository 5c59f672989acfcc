/* SPDX-License-Identifier: GPL-2.0-only */
/* Small file and string helpers shared by every command. */
#ifndef APPSHOT_UTIL_H
#define APPSHOT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Read a whole small file into buf (NUL-terminated); bytes read or -errno. */
ssize_t read_file(const char *path, char *buf, size_t len);
/* Write s to an existing file (sysfs, cgroupfs, procfs); 0 or -errno. */
int write_file(const char *path, const char *s);
/* Write data to path atomically: temp file, fsync, rename, fsync dir. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/*
 * The same without fsync: a reader sees the old file or the new one, never
 * a mix, but after a power failure either may be there.
 */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode);
/* mkdir -p with the given mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode);
/* Parse a decimal pid; -EINVAL unless the whole string is a positive number. */
int parse_pid(const char *s, pid_t *pid);
uint64_t now_ns(int clock);
/* "1.5 MiB" */
void human_size(uint64_t bytes, char *buf, size_t len);

#endif /* APPSHOT_UTIL_H */
