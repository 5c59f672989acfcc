// SPDX-License-Identifier: GPL-2.0-only
/* Progress of long work on a terminal (progress.h). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "progress.h"
#include "util.h"

#define QUIET_NS 300000000ull /* nothing for the first 0.3 s */
#define EVERY_NS 100000000ull

void progress_start(struct progress *p, const char *what, uint64_t total)
{
	p->what = what;
	p->total = total;
	p->done = 0;
	p->start_ns = now_ns(CLOCK_MONOTONIC);
	p->shown_ns = 0;
	p->shown = 0;
	p->on = isatty(STDERR_FILENO) && !json_output;
}

void progress_add(struct progress *p, uint64_t bytes)
{
	uint64_t now;
	char done[32], total[32];

	p->done += bytes;
	if (!p->on)
		return;
	now = now_ns(CLOCK_MONOTONIC);
	if (now - p->start_ns < QUIET_NS || now - p->shown_ns < EVERY_NS)
		return;
	p->shown_ns = now;
	p->shown = 1;
	human_size(p->done, done, sizeof(done));
	if (p->total) {
		human_size(p->total, total, sizeof(total));
		fprintf(stderr, "\r\033[K%s: %s of %s (%d%%), %.1f s", p->what, done, total,
			(int)(p->done * 100 / p->total), (now - p->start_ns) / 1e9);
	} else {
		fprintf(stderr, "\r\033[K%s: %s of memory, %.1f s", p->what, done,
			(now - p->start_ns) / 1e9);
	}
}

void progress_end(struct progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r\033[K");
	p->shown = 0;
}
