// SPDX-License-Identifier: GPL-2.0-only
/* Facts about the running kernel that images depend on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/utsname.h>

#include "image.h"
#include "kinfo.h"

int vdso_fingerprint(uint64_t *sum, size_t *len)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR), lo, hi;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]") || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (lo == base) {
			*len = hi - lo;
			*sum = image_checksum((const void *)lo, hi - lo);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

void kernel_release(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u))
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%s", u.release);
}
