// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: what was removed while it was held. The current
 * directory was removed (rmdir while in it); an fd holds another removed
 * directory; a named FIFO was unlinked while both its ends were open, with
 * bytes in it. After the restores the cwd is a removed directory still
 * (getcwd fails, a relative open fails, ".." is the parent), the directory
 * fd names a removed directory, and the FIFO holds its bytes and carries
 * new ones; none of the paths is back.
 *
 * usage: rs_ghosts [cycles]
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "wl.h"

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, dfd, frd, fwr;
	char cwd[4200], gone[4200], fifo[4200], buf[64];
	struct stat st;

	wl_init();
	WL_CHECK(getenv("WL_DIR"));
	snprintf(cwd, sizeof(cwd), "%s/cwd", getenv("WL_DIR"));
	snprintf(gone, sizeof(gone), "%s/gone", getenv("WL_DIR"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", getenv("WL_DIR"));
	WL_CHECK(mkdir(cwd, 0750) == 0 && chdir(cwd) == 0 && rmdir(cwd) == 0);
	WL_CHECK(mkdir(gone, 0700) == 0 && (dfd = open(gone, O_RDONLY | O_DIRECTORY)) >= 0);
	WL_CHECK(rmdir(gone) == 0);
	WL_CHECK(mkfifo(fifo, 0600) == 0);
	WL_CHECK((frd = open(fifo, O_RDONLY | O_NONBLOCK)) >= 0 && (fwr = open(fifo, O_WRONLY)) >= 0);
	WL_CHECK(write(fwr, "in the ghost", 12) == 12 && unlink(fifo) == 0);

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());

	wl_expect(!getcwd(buf, sizeof(buf)) && errno == ENOENT,
		  "the removed cwd is there again (getcwd gives %s)", buf);
	wl_expect(open("x", O_CREAT | O_WRONLY, 0600) == -1 && errno == ENOENT,
		  "a file can be made in the removed cwd");
	wl_expect(stat("..", &st) == 0 && S_ISDIR(st.st_mode), "the removed cwd has no parent");
	wl_expect(fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 0,
		  "the fd of the removed directory names a directory with %lu links",
		  (unsigned long)st.st_nlink);
	wl_expect(access(cwd, F_OK) && access(gone, F_OK) && access(fifo, F_OK),
		  "a removed path is back");
	memset(buf, 0, sizeof(buf));
	wl_expect(read(frd, buf, sizeof(buf) - 1) == 12 && !strcmp(buf, "in the ghost"),
		  "the unlinked FIFO holds '%s'", buf);
	memset(buf, 0, sizeof(buf));
	wl_expect(write(fwr, "new", 3) == 3 && read(frd, buf, sizeof(buf) - 1) == 3 &&
			  !strcmp(buf, "new"),
		  "the unlinked FIFO does not carry new bytes: '%s'", buf);
	return wl_result(cycles + 1);
}
