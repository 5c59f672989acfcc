// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loops `make bench` times, traced or not:
 *   bench_loop open_close N     open("/dev/null") + close, N times
 *   bench_loop pipe_rw N        1-byte write + read through a pipe, N times
 *   bench_loop burst N FILE     after SIGUSR1: N open + close as fast as it
 *                               can (2N events), then "events/s ns" in FILE
 * The first two print the median nanoseconds per iteration of 5 rounds.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static void open_close(long n)
{
	for (long i = 0; i < n; i++) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0 || close(fd))
			exit(1);
	}
}

static void pipe_rw(long n)
{
	static int p[2] = { -1, -1 };
	char c = 'x';

	if (p[0] < 0 && pipe(p))
		exit(1);
	for (long i = 0; i < n; i++)
		if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
			exit(1);
}

int main(int argc, char **argv)
{
	double rounds[5];
	long n = argc > 2 ? atol(argv[2]) : 0;
	void (*loop)(long);
	uint64_t t0;

	if (argc < 3 || n <= 0) {
		fprintf(stderr, "usage: bench_loop open_close|pipe_rw|burst N [FILE]\n");
		return 2;
	}
	if (!strcmp(argv[1], "burst")) {
		sigset_t set;
		int sig;
		FILE *f;

		if (argc != 4)
			return 2;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		sigwait(&set, &sig);
		t0 = now();
		open_close(n);
		t0 = now() - t0;
		f = fopen(argv[3], "w");
		if (!f)
			return 1;
		fprintf(f, "%.0f %llu\n", 2.0 * n / (t0 / 1e9), (unsigned long long)t0);
		return fclose(f) ? 1 : 0;
	}
	loop = !strcmp(argv[1], "open_close") ? open_close : !strcmp(argv[1], "pipe_rw") ? pipe_rw : NULL;
	if (!loop)
		return 2;
	loop(n / 10); /* warm up */
	for (int r = 0; r < 5; r++) {
		t0 = now();
		loop(n);
		rounds[r] = (double)(now() - t0) / n;
	}
	printf("%.1f\n", median5(rounds));
	return 0;
}
