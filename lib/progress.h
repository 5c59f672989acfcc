/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Progress of a long snapshot or restore, on a terminal: one line on
 * stderr rewritten in place, shown only once the work has taken a while
 * (so short runs print nothing) and at most ten times a second; cleared at
 * the end. Off when stderr is no terminal or with --json.
 */
#ifndef APPSHOT_PROGRESS_H
#define APPSHOT_PROGRESS_H

#include <stdint.h>

struct progress {
	const char *what; /* "snapshot", "restore" */
	uint64_t total; /* bytes, 0 when not known */
	uint64_t done;
	uint64_t start_ns, shown_ns;
	int on, shown;
};

void progress_start(struct progress *p, const char *what, uint64_t total);
void progress_add(struct progress *p, uint64_t bytes);
void progress_end(struct progress *p);

#endif /* APPSHOT_PROGRESS_H */
