/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Driving a test workload (tests/workloads/wl.h): start it under
 * appshot run or on its own, read its checkpoint reports, tell it to go on,
 * and remove everything of it afterwards, whatever happened.
 */
#ifndef APPSHOT_WLHARNESS_H
#define APPSHOT_WLHARNESS_H

#include <limits.h>
#include <sys/types.h>
#include <json-c/json.h>

struct wl {
	char name[64]; /* the application's name */
	char dir[PATH_MAX]; /* an empty directory for the workload's files */
	int report; /* we read its reports here */
	int go; /* and tell it to go on here */
	pid_t pid; /* when started on its own: its pid */
	pid_t fg; /* a foreground appshot restore still running */
	int share_ns; /* its pids are ours: after a snapshot they must be free again */
	struct json_object *cp; /* the last checkpoint's report */
	int pass_fd; /* >= 0: what appshot run or restore is given as fd 3 */
	int stray_fd; /* >= 0: what appshot run is given as fd 9 too, unasked */
	const char *attach_extra; /* an argument more for appshot-trace attach */
};

/* cmocka per-test setup and teardown: *state is a struct wl. */
int wl_setup(void **state);
int wl_teardown(void **state);

/* Start workload (args after it, NULL last) under `appshot run -d [extra]`. */
void wl_start_run(struct wl *w, const char *extra, const char *workload, ...);
/* Start it as a plain child of ours, outside appshot. */
void wl_start_plain(struct wl *w, const char *workload, ...);
/*
 * Start it under `appshot run -d [extra]` talking on its stdin and stdout
 * (WL_WAIT_FD=0, WL_REPORT_FD=1), its stderr to DIR/workload.log: the
 * protocol a snapshot can take along, as stdio comes from outside.
 */
void wl_start_stdio(struct wl *w, const char *extra, const char *workload, ...);
/*
 * Start it as a plain child of ours (its own process group) talking on its
 * stdin and stdout as wl_start_stdio, then adopt it with appshot-trace
 * attach.
 */
void wl_start_stdio_attached(struct wl *w, const char *workload, ...);
/* appshot snapshot NAME -D DIR/image [extra]; the test fails if it does. */
void wl_snapshot(struct wl *w, const char *image, const char *extra);
/*
 * appshot restore -d -D DIR/image [extra], with new pipes for its stdio:
 * the workload talks on them from now on.
 */
void wl_restore(struct wl *w, const char *image, const char *extra);
/*
 * appshot restore -D DIR/image without -d, left running in w->fg: it waits
 * for the application and passes on its exit status (wl_restore_fg_wait).
 */
void wl_restore_fg(struct wl *w, const char *image);
/*
 * Restore from's image (in from's directory) as another instance, named
 * anew (w->name), talking to us through w; w has no directory of its own.
 */
void wl_restore_as(struct wl *w, const struct wl *from, const char *image);
int wl_restore_fg_wait(struct wl *w);
/* Read checkpoint cp's report into w->cp (fails the test after the time limit). */
void wl_wait(struct wl *w, int cp);
void wl_go(struct wl *w);
/* Print the workload's log (DIR/workload.log) into the test's output. */
void wl_dump_log(struct wl *w);

/* cycles, or fewer under software emulation (make vmtest: APPSHOT_MAX_CYCLES=1) */
int wl_max_cycles(int cycles);
/*
 * Start the workload under appshot run [run_extra], then at each of its
 * cycles snapshot and restore it (and with check_tracer, see that the
 * tracer knows it again); its last report must say it found all its state
 * as it was.
 */
void wl_cycle_checked(struct wl *w, const char *run_extra, int cycles, const char *workload,
		      const char *arg, int check_tracer);
void wl_cycle(struct wl *w, const char *run_extra, int cycles, const char *workload,
	      const char *arg);

#endif /* APPSHOT_WLHARNESS_H */
