// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: every kind of memory area, with contents, protections
 * and sharing that must survive: private anonymous (touched and untouched
 * pages), the heap (malloc and free go on working), the stack (and it still
 * grows), PROT_NONE and mprotect-split areas, a private file mapping with a
 * modified page (the file keeps its own contents), a shared file mapping
 * (still the file's), shared anonymous memory, a memfd mapped and open,
 * and the vdso. Restored anonymous memory must behave as such:
 * MADV_DONTNEED gives zero pages, a fork copies on write.
 * With novdso the process unmaps its vdso and vvar areas first (as some
 * sandboxes and language runtimes do): they must stay away.
 *
 * usage: rs_memory [cycles] [novdso]
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "wl.h"

#define PG 4096ul
#define ANON_PAGES 1024
#define HEAP_SMALL 2000

static void fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = (i * 0x9e3779b97f4a7c15ull) ^ seed;
}

/* The first byte offset that differs from fill(seed), or -1. */
static long differs(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != ((i * 0x9e3779b97f4a7c15ull) ^ seed))
			return i * 8;
	return -1;
}

static int zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return 0;
	return 1;
}

#define EXPECT_FILL(p, len, seed, what)                                              \
	do {                                                                         \
		long at_ = differs(p, len, seed);                                    \
		wl_expect(at_ < 0, "%s differs at byte %ld", what, at_);            \
	} while (0)

static char *make_file(const char *dir, const char *name, size_t len, uint64_t seed, int *fd)
{
	static char path[4096];
	char *buf = malloc(len);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	WL_CHECK(*fd >= 0 && buf);
	fill(buf, len, seed);
	WL_CHECK(pwrite(*fd, buf, len, 0) == (ssize_t)len);
	free(buf);
	return path;
}

/* Unmap the vdso and vvar areas: glibc's clock calls must be syscalls then. */
static void unmap_vdso(void)
{
	unsigned long lo[4], hi[4];
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	WL_CHECK(f);
	while (n < 4 && fgets(line, sizeof(line), f))
		if ((strstr(line, "[vdso]") || strstr(line, "[vvar")) &&
		    sscanf(line, "%lx-%lx", &lo[n], &hi[n]) == 2)
			n++;
	fclose(f);
	WL_CHECK(n > 0);
	for (int i = 0; i < n; i++)
		WL_CHECK(munmap((void *)lo[i], hi[i] - lo[i]) == 0);
}

/* Grow the stack by about depth KiB and check it is usable. */
static int deep(int depth)
{
	volatile char pad[1024];

	pad[0] = 1;
	pad[1023] = 1;
	if (depth == 0)
		return pad[1023];
	/* read after the call: the frame must live on, no loop in its place */
	return deep(depth - 1) + pad[0];
}

int main(int argc, char **argv)
{
	static char maps_before[65536], maps_after[65536];
	int cycles = argc > 1 ? atoi(argv[1]) : 1, pfd, sfd, mfd;
	int novdso = argc > 2 && !strcmp(argv[2], "novdso");
	const char *dir = getenv("WL_DIR");
	char *anon, *none, *split, *priv, *shared, *shanon, *memfd_map, *big, *small[HEAP_SMALL];
	char *ro_shared;
	int rofd;
	char *page = malloc(4 * PG);
	volatile uint64_t stack_buf[512];
	void *brk_before, *vdso = (void *)getauxval(AT_SYSINFO_EHDR);
	struct timespec t0, t1;

	wl_init();
	WL_CHECK(dir && page);
	if (novdso)
		unmap_vdso();

	/* private anonymous: half touched, half never */
	anon = mmap(NULL, ANON_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(anon != MAP_FAILED);
	fill(anon, ANON_PAGES / 2 * PG, 1);
	/* PROT_NONE, and an area split by mprotect */
	none = mmap(NULL, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	split = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(none != MAP_FAILED && split != MAP_FAILED);
	fill(split, 4 * PG, 2);
	WL_CHECK(mprotect(split + PG, 2 * PG, PROT_READ) == 0);
	/* heap */
	for (int i = 0; i < HEAP_SMALL; i++) {
		small[i] = malloc(48 + i % 200);
		WL_CHECK(small[i]);
		memset(small[i], i & 0xff, 48 + i % 200);
	}
	big = malloc(300 << 10); /* mmap'ed by malloc */
	WL_CHECK(big);
	fill(big, 300 << 10, 3);
	brk_before = sbrk(0);
	/* stack */
	fill((void *)stack_buf, sizeof(stack_buf), 4);
	/* a private file mapping with one page changed, and a shared one */
	make_file(dir, "private", 4 * PG, 5, &pfd);
	priv = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, pfd, 0);
	make_file(dir, "shared", 4 * PG, 6, &sfd);
	shared = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	WL_CHECK(priv != MAP_FAILED && shared != MAP_FAILED);
	/* a shared file mapping made read-only with mprotect: it may be made writable again */
	make_file(dir, "ro-shared", PG, 15, &rofd);
	ro_shared = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, rofd, 0);
	WL_CHECK(ro_shared != MAP_FAILED && mprotect(ro_shared, PG, PROT_READ) == 0);
	fill(priv + PG, PG, 7);
	fill(shared + 2 * PG, PG, 8);
	/* shared anonymous, a memfd */
	shanon = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	WL_CHECK(shanon != MAP_FAILED);
	fill(shanon, 3 * PG, 9);
	mfd = memfd_create("rs-memfd", 0);
	WL_CHECK(mfd >= 0 && ftruncate(mfd, 3 * PG) == 0);
	memfd_map = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	WL_CHECK(memfd_map != MAP_FAILED);
	fill(memfd_map, 3 * PG, 10);
	wl_read_maps(maps_before, sizeof(maps_before));

	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		wl_read_maps(maps_after, sizeof(maps_after));
		wl_expect(!strcmp(maps_before, maps_after),
			  "/proc/self/maps differs:\n--- was\n%s--- now\n%s", maps_before, maps_after);
		EXPECT_FILL(anon, ANON_PAGES / 2 * PG, 1, "private anonymous memory");
		wl_expect(zero(anon + ANON_PAGES / 2 * PG, ANON_PAGES / 2 * PG),
			  "untouched anonymous pages are not zero");
		EXPECT_FILL(split, 4 * PG, 2, "the mprotect-split area");
		for (int i = 0; i < HEAP_SMALL; i++)
			for (int k = 0; k < 48 + i % 200; k++)
				if ((unsigned char)small[i][k] != (i & 0xff)) {
					wl_expect(0, "heap block %d differs at %d", i, k);
					break;
				}
		EXPECT_FILL(big, 300 << 10, 3, "a large malloc block");
		wl_expect(sbrk(0) == brk_before, "the break is %p, was %p", sbrk(0), brk_before);
		EXPECT_FILL((void *)stack_buf, sizeof(stack_buf), 4, "the stack");
		EXPECT_FILL(priv, PG, 5, "a private file mapping's unchanged page");
		EXPECT_FILL(priv + PG, PG, 7, "a private file mapping's changed page");
		WL_CHECK(pread(pfd, page, 4 * PG, 0) == (ssize_t)(4 * PG));
		EXPECT_FILL(page, 4 * PG, 5, "the file under a private mapping");
		EXPECT_FILL(shared + 2 * PG, PG, 8, "a shared file mapping");
		WL_CHECK(pread(sfd, page, PG, 2 * PG) == (ssize_t)PG);
		EXPECT_FILL(page, PG, 8, "the file under a shared mapping");
		EXPECT_FILL(shanon, 3 * PG, 9, "shared anonymous memory");
		EXPECT_FILL(memfd_map, 3 * PG, 10, "a memfd's mapping");
		WL_CHECK(pread(mfd, page, 3 * PG, 0) == (ssize_t)(3 * PG));
		EXPECT_FILL(page, 3 * PG, 10, "a memfd read through its fd");
		wl_expect((void *)getauxval(AT_SYSINFO_EHDR) == vdso, "the vdso moved");
		if (novdso)
			wl_expect(!strstr(maps_after, "[vdso]") && !strstr(maps_after, "[vvar"),
				  "an unmapped vdso is back:\n%s", maps_after);
	}

	/* still what it was: shared with files and objects, anonymous, growable */
	wl_expect(mprotect(ro_shared, PG, PROT_READ | PROT_WRITE) == 0,
		  "a read-only shared file mapping cannot be made writable again: %s", strerror(errno));
	fill(ro_shared, PG, 16);
	WL_CHECK(pread(rofd, page, PG, 0) == (ssize_t)PG);
	EXPECT_FILL(page, PG, 16, "the file after writing its once read-only shared mapping");
	fill(shared, PG, 11);
	WL_CHECK(pread(sfd, page, PG, 0) == (ssize_t)PG);
	EXPECT_FILL(page, PG, 11, "the file after writing its shared mapping");
	fill(memfd_map, PG, 12);
	WL_CHECK(pread(mfd, page, PG, 0) == (ssize_t)PG);
	EXPECT_FILL(page, PG, 12, "the memfd after writing its mapping");
	WL_CHECK(madvise(anon, ANON_PAGES * PG, MADV_DONTNEED) == 0);
	wl_expect(zero(anon, ANON_PAGES * PG), "MADV_DONTNEED did not give zero pages");
	WL_CHECK(madvise(priv, 4 * PG, MADV_DONTNEED) == 0);
	EXPECT_FILL(priv, 4 * PG, 5, "a private file mapping after MADV_DONTNEED (the file's again)");
	fill(split, PG, 13);
	pid_t child = fork();
	WL_CHECK(child >= 0);
	if (child == 0) {
		fill(split, PG, 14);
		_exit(differs(split, PG, 14) < 0 ? 0 : 1);
	}
	int status;
	WL_CHECK(waitpid(child, &status, 0) == child);
	wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child failed");
	EXPECT_FILL(split, PG, 13, "memory a forked child wrote (copy on write)");
	for (int i = 0; i < HEAP_SMALL; i++)
		free(small[i]);
	free(big);
	for (int i = 0; i < 100; i++) {
		char *p = malloc(1 << 16);

		WL_CHECK(p);
		memset(p, 0x5a, 1 << 16);
		free(p);
	}
	wl_expect(deep(2048) == 2049, "the stack does not grow");
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t0);
	if (novdso)
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t1);
	else
		clock_gettime(CLOCK_MONOTONIC, &t1);
	wl_expect(t1.tv_sec > t0.tv_sec || (t1.tv_sec == t0.tv_sec && t1.tv_nsec >= t0.tv_nsec),
		  "the vdso's clock goes backwards");
	return wl_result(cycles + 1);
}
