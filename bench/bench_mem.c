// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `make bench` snapshots and restores: a process with MIB MiB of
 * anonymous memory touched (every page written, no two alike) and THREADS
 * threads, all asleep. It says "ready" on stdout once all is in place.
 * After restore it can be asked (SIGUSR1) to check its memory: it exits 0
 * if every page is as written, 1 if not.
 *
 * usage: bench_mem MIB THREADS
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t *mem;
static size_t words;

static void check(int sig)
{
	(void)sig;
	for (size_t i = 0; i < words; i += 512)
		if (mem[i] != i * 0x9e3779b97f4a7c15ull + 1)
			_exit(1);
	_exit(0);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t th;

	signal(SIGUSR1, check);
	words = mib << 17;
	if (mib) {
		mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
		if (mem == MAP_FAILED)
			return 2;
		for (size_t i = 0; i < words; i++)
			mem[i] = i * 0x9e3779b97f4a7c15ull + 1;
	}
	for (int i = 1; i < threads; i++)
		if (pthread_create(&th, NULL, sleeper, NULL))
			return 2;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
