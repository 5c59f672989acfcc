// SPDX-License-Identifier: GPL-2.0-only
/*
 * Files opened again by their path, at their offset with their flags:
 * regular files (and O_PATH fds, a symbolic link's too), directories, and
 * the character devices that hold no state of their own (/dev/null and
 * friends, terminals). Other devices are refused (refused.c).
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kind.h"

static int claims_file(const struct fd_seen *s)
{
	size_t n = strlen(s->link);

	/* deleted files are kept in the image (memfd.c) */
	return (S_ISREG(s->st.st_mode) || S_ISLNK(s->st.st_mode)) &&
	       !(n > 10 && !strcmp(s->link + n - 10, " (deleted)"));
}

static int claims_dir(const struct fd_seen *s)
{
	return S_ISDIR(s->st.st_mode);
}

/* A device whose open file is only its path: null, zero, full, random, urandom; ttys. */
int kind_plain_device(dev_t rdev)
{
	unsigned int ma = major(rdev), mi = minor(rdev);

	if (ma == 1)
		return mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9;
	if (ma == 5)
		return mi == 0 || mi == 1; /* /dev/tty, /dev/console; not /dev/ptmx */
	return ma == 4 || (ma >= 136 && ma <= 143); /* virtual consoles, pty slaves */
}

static int claims_chr(const struct fd_seen *s)
{
	return S_ISCHR(s->st.st_mode) && kind_plain_device(s->st.st_rdev);
}

const struct fd_kind kind_file = {
	.name = "file",
	.claims = claims_file,
};

const struct fd_kind kind_dir = {
	.name = "dir",
	.claims = claims_dir,
};

const struct fd_kind kind_chr = {
	.name = "chr",
	.claims = claims_chr,
};
