// SPDX-License-Identifier: GPL-2.0-only
/*
 * This machine's own limits, measured in the same run as the figures they
 * stand beside: memcpy and process_vm_readv of 256 MiB (GiB/s); making
 * 256 MiB of fresh anonymous memory, by touching each page (a fault each)
 * and with MADV_POPULATE_WRITE (GiB/s); fork + exec + exit of /bin/true
 * (microseconds). Medians of 5.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SIZE (256ul << 20)

int main(void)
{
	char *src = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double v[5];
	uint64_t t0;
	pid_t child;

	if (src == MAP_FAILED || dst == MAP_FAILED)
		return 1;
	memset(src, 0x5a, SIZE);
	memset(dst, 0, SIZE);
	for (int r = 0; r < 5; r++) {
		t0 = now();
		memcpy(dst, src, SIZE);
		v[r] = SIZE / ((now() - t0) / 1e9) / (1 << 30);
	}
	printf("memcpy_gibs %.2f\n", median5(v));

	/* A child with the same 256 MiB touched: read it from outside. */
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	for (int r = 0; r < 5; r++) {
		struct iovec local = { dst, SIZE }, remote = { src, SIZE };

		t0 = now();
		if (process_vm_readv(child, &local, 1, &remote, 1, 0) != (ssize_t)SIZE)
			return 1;
		v[r] = SIZE / ((now() - t0) / 1e9) / (1 << 30);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("process_vm_readv_gibs %.2f\n", median5(v));
	/* fork copies page tables: time it from a small process, as a launcher is */
	munmap(src, SIZE);
	munmap(dst, SIZE);

	for (int how = 0; how < 2; how++) {
		for (int r = 0; r < 5; r++) {
			char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m == MAP_FAILED)
				return 1;
			t0 = now();
			if (how == 0) {
				for (size_t i = 0; i < SIZE; i += 4096)
					((volatile char *)m)[i] = 1;
			} else if (madvise(m, SIZE, MADV_POPULATE_WRITE)) {
				return 1;
			}
			v[r] = SIZE / ((now() - t0) / 1e9) / (1 << 30);
			munmap(m, SIZE);
		}
		printf("%s %.2f\n", how == 0 ? "fault_gibs" : "populate_gibs", median5(v));
	}

	for (int r = 0; r < 5; r++) {
		t0 = now();
		for (int i = 0; i < 100; i++) {
			pid_t p = fork();

			if (p == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			waitpid(p, NULL, 0);
		}
		v[r] = (now() - t0) / 100 / 1e3;
	}
	printf("fork_exec_exit_us %.0f\n", median5(v));
	return 0;
}
