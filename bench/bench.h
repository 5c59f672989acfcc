/* SPDX-License-Identifier: GPL-2.0-only */
/* Timing helpers for the bench programs: a monotonic clock and medians. */
#ifndef APPSHOT_BENCH_H
#define APPSHOT_BENCH_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of 5 measurements (sorts them). */
static inline double median5(double *v)
{
	qsort(v, 5, sizeof(*v), cmp_double);
	return v[2];
}

#endif /* APPSHOT_BENCH_H */
