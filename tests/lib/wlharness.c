// SPDX-License-Identifier: GPL-2.0-only
/* Driving test workloads. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appcheck.h"
#include "testlib.h"
#include "wlharness.h"

int wl_setup(void **state)
{
	struct wl *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->report = w->go = w->pass_fd = w->stray_fd = -1;
	*state = w;
	return 0;
}

int wl_teardown(void **state)
{
	struct wl *w = *state;
	char cmd[PATH_MAX + 16];
	struct run_result r;

	if (w->name[0]) {
		/* Fails harmlessly when the test detached it already. */
		run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", w->name, "--kill", NULL);
		run_free(&r);
	}
	if (w->fg > 0) {
		kill(w->fg, SIGKILL);
		waitpid(w->fg, NULL, 0);
	}
	if (w->pid > 0) {
		/* The workload and all it forked: its own process group. */
		kill(-w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
	}
	if (w->report >= 0)
		close(w->report);
	if (w->go >= 0)
		close(w->go);
	json_object_put(w->cp);
	if (w->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
		if (system(cmd))
			print_message("cannot remove %s\n", w->dir);
	}
	/* What came to us as subreaper. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	free(w);
	return 0;
}

void wl_dump_log(struct wl *w)
{
	char path[PATH_MAX + 32], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/workload.log", w->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		print_message("workload: %s", buf);
	fclose(f);
}

/* The protocol's two pipes; the workload's ends stay open across exec. */
static void make_pipes(struct wl *w, int *child_report, int *child_go)
{
	int rep[2], go[2];
	char num[16];

	snprintf(w->name, sizeof(w->name), "%s", unique_name("wl"));
	snprintf(w->dir, sizeof(w->dir), "/tmp/appshot-%s", w->name);
	assert_int_equal(mkdir(w->dir, 0700), 0);
	assert_int_equal(pipe(rep), 0);
	assert_int_equal(pipe(go), 0);
	fcntl(rep[0], F_SETFD, FD_CLOEXEC);
	fcntl(go[1], F_SETFD, FD_CLOEXEC);
	snprintf(num, sizeof(num), "%d", rep[1]);
	setenv("WL_REPORT_FD", num, 1);
	snprintf(num, sizeof(num), "%d", go[0]);
	setenv("WL_WAIT_FD", num, 1);
	w->report = rep[0];
	w->go = go[1];
	*child_report = rep[1];
	*child_go = go[0];
}

static int collect_args(char **argv, int n, int max, va_list ap)
{
	const char *a;

	while (n < max - 1 && (a = va_arg(ap, const char *)))
		argv[n++] = (char *)a;
	argv[n] = NULL;
	return n;
}

void wl_start_run(struct wl *w, const char *extra, const char *workload, ...)
{
	char *argv[40], script[128];
	int n = 0, cr, cg, hr, hg;
	struct run_result r;
	va_list ap;

	/*
	 * appshot run gives CMD only what --preserve-fds says: the protocol's
	 * pipes go to fds 3 and 4 (moved above everything first, so that
	 * neither lands on the other).
	 */
	make_pipes(w, &cr, &cg);
	hr = fcntl(cr, F_DUPFD, 50);
	hg = fcntl(cg, F_DUPFD, 50);
	assert_true(hr >= 0 && hg >= 0);
	setenv("WL_REPORT_FD", "3", 1);
	setenv("WL_WAIT_FD", "4", 1);
	snprintf(script, sizeof(script), "exec 3>&%d 4<&%d %d>&- %d<&- \"$@\"", hr, hg, hr, hg);
	argv[n++] = "/bin/bash"; /* dash takes fds 0-9 only */
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n++] = "bash";
	argv[n++] = (char *)bin_path("appshot");
	argv[n++] = "run";
	argv[n++] = "-d";
	argv[n++] = "--preserve-fds=2";
	if (extra)
		argv[n++] = (char *)extra;
	argv[n++] = "--aid";
	argv[n++] = w->name;
	argv[n++] = "--";
	argv[n++] = (char *)workload_path(workload);
	va_start(ap, workload);
	collect_args(argv, n, 40, ap);
	va_end(ap);
	run_argv(&r, TEST_TIMEOUT_MS, argv);
	close(cr);
	close(cg);
	close(hr);
	close(hg);
	if (r.status != 0)
		fail_msg("appshot run exited %d: %s", r.status, r.err);
	run_free(&r);
}

/* Start argv with stdin from in, stdout to out, stderr to the workload's log. */
static pid_t spawn_stdio(struct wl *w, char **argv, int in, int out)
{
	char log[PATH_MAX + 32];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/workload.log", w->dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		setpgid(0, 0); /* a group of its own: the teardown ends it whole */
		dup2(in, 0);
		dup2(out, 1);
		if (fd >= 0)
			dup2(fd, 2);
		/* above what they go to, then there */
		if (w->pass_fd >= 0)
			dup2(w->pass_fd, 100);
		if (w->stray_fd >= 0)
			dup2(w->stray_fd, 101);
		/* whatever the test runner leaked is not the workload's to carry */
		close_range(3, 99, 0);
		if (w->pass_fd >= 0)
			dup2(100, 3);
		if (w->stray_fd >= 0)
			dup2(101, 9);
		close_range(10, ~0U, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Run argv as spawn_stdio: the test fails unless it exits 0. */
static void run_stdio(struct wl *w, char **argv, int in, int out)
{
	int code = wait_status(spawn_stdio(w, argv, in, out), TEST_TIMEOUT_MS);

	if (code != 0) {
		wl_dump_log(w);
		fail_msg("%s %s exited %d", argv[0], argv[1], code);
	}
}

/* New pipes for the workload's stdio: ours in w, its ends in *in and *out. */
static void stdio_pipes(struct wl *w, int *in, int *out)
{
	int rep[2], go[2];

	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	if (w->report >= 0)
		close(w->report);
	if (w->go >= 0)
		close(w->go);
	w->report = rep[0];
	w->go = go[1];
	*in = go[0];
	*out = rep[1];
}

void wl_start_stdio(struct wl *w, const char *extra, const char *workload, ...)
{
	char *argv[32];
	int n = 0, in, out;
	va_list ap;

	snprintf(w->name, sizeof(w->name), "%s", unique_name("wl"));
	snprintf(w->dir, sizeof(w->dir), "/tmp/appshot-%s", w->name);
	assert_int_equal(mkdir(w->dir, 0700), 0);
	setenv("WL_REPORT_FD", "1", 1);
	setenv("WL_WAIT_FD", "0", 1);
	setenv("WL_DIR", w->dir, 1);
	stdio_pipes(w, &in, &out);
	argv[n++] = (char *)bin_path("appshot");
	argv[n++] = "run";
	argv[n++] = "-d";
	if (extra)
		argv[n++] = (char *)extra;
	argv[n++] = "--aid";
	argv[n++] = w->name;
	argv[n++] = "--";
	argv[n++] = (char *)workload_path(workload);
	va_start(ap, workload);
	collect_args(argv, n, 32, ap);
	va_end(ap);
	run_stdio(w, argv, in, out);
	close(in);
	close(out);
}

void wl_start_stdio_attached(struct wl *w, const char *workload, ...)
{
	char *argv[32], pid[16];
	struct run_result r;
	int in, out;
	va_list ap;

	snprintf(w->name, sizeof(w->name), "%s", unique_name("wl"));
	snprintf(w->dir, sizeof(w->dir), "/tmp/appshot-%s", w->name);
	assert_int_equal(mkdir(w->dir, 0700), 0);
	setenv("WL_REPORT_FD", "1", 1);
	setenv("WL_WAIT_FD", "0", 1);
	setenv("WL_DIR", w->dir, 1);
	stdio_pipes(w, &in, &out);
	argv[0] = (char *)workload_path(workload);
	va_start(ap, workload);
	collect_args(argv, 1, 32, ap);
	va_end(ap);
	w->pid = spawn_stdio(w, argv, in, out);
	setpgid(w->pid, w->pid);
	close(in);
	close(out);
	snprintf(pid, sizeof(pid), "%d", w->pid);
	w->share_ns = 1;
	run_cmd(&r, bin_path("appshot-trace"), "attach", "--aid", w->name, "--pid", pid,
		w->attach_extra, NULL);
	if (r.status != 0)
		fail_msg("appshot-trace attach exited %d: %s", r.status, r.err);
	run_free(&r);
}

void wl_snapshot(struct wl *w, const char *image, const char *extra)
{
	char dir[PATH_MAX + 64];
	struct run_result r;

	snprintf(dir, sizeof(dir), "%s/%s", w->dir, image);
	run_cmd(&r, bin_path("appshot"), "snapshot", w->name, "-D", dir, extra, NULL);
	if (r.status != 0) {
		wl_dump_log(w);
		fail_msg("appshot snapshot exited %d: %s", r.status, r.err);
	}
	run_free(&r);
	/* a child of ours, killed with the snapshot: reaped, its pid free again */
	if (w->pid > 0 && !strstr(extra ? extra : "", "leave")) {
		waitpid(w->pid, NULL, 0);
		w->pid = 0;
	}
	/*
	 * What we are the subreaper of, killed with the snapshot: reaped, so
	 * that a restore in our pid namespace finds its pid free (5 s at most).
	 */
	for (int i = 0; i < 500; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!w->share_ns || !w->cp || strstr(extra ? extra : "", "leave") ||
		    (kill(jint(w->cp, "pid"), 0) && errno == ESRCH))
			break;
		sleep_ms(10);
	}
}

void wl_restore(struct wl *w, const char *image, const char *extra)
{
	char dir[PATH_MAX + 64], *argv[8];
	int n = 0, in, out;

	snprintf(dir, sizeof(dir), "%s/%s", w->dir, image);
	argv[n++] = (char *)bin_path("appshot");
	argv[n++] = "restore";
	argv[n++] = "-d";
	argv[n++] = "-D";
	argv[n++] = dir;
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	stdio_pipes(w, &in, &out);
	run_stdio(w, argv, in, out);
	close(in);
	close(out);
}

void wl_restore_as(struct wl *w, const struct wl *from, const char *image)
{
	char dir[PATH_MAX + 64], *argv[] = { (char *)bin_path("appshot"), "restore", "-d", "-D", dir,
					     "--aid", w->name, NULL };
	int in, out;

	snprintf(w->name, sizeof(w->name), "%s", unique_name("wl"));
	snprintf(dir, sizeof(dir), "%s/%s", from->dir, image);
	stdio_pipes(w, &in, &out);
	run_stdio(w, argv, in, out);
	close(in);
	close(out);
}

void wl_restore_fg(struct wl *w, const char *image)
{
	char dir[PATH_MAX + 64];
	char *argv[] = { (char *)bin_path("appshot"), "restore", "-D", dir, NULL };
	int in, out;

	snprintf(dir, sizeof(dir), "%s/%s", w->dir, image);
	stdio_pipes(w, &in, &out);
	w->fg = spawn_stdio(w, argv, in, out);
	close(in);
	close(out);
}

int wl_restore_fg_wait(struct wl *w)
{
	int code = wait_status(w->fg, TEST_TIMEOUT_MS);

	if (code >= 0)
		w->fg = 0; /* else the teardown ends it */
	return code;
}

void wl_start_plain(struct wl *w, const char *workload, ...)
{
	char *argv[32];
	int cr, cg;
	va_list ap;

	make_pipes(w, &cr, &cg);
	argv[0] = (char *)workload_path(workload);
	va_start(ap, workload);
	collect_args(argv, 1, 32, ap);
	va_end(ap);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(w->pid, w->pid);
	close(cr);
	close(cg);
}

void wl_wait(struct wl *w, int cp)
{
	struct pollfd p = { .fd = w->report, .events = POLLIN };
	char line[65536];
	size_t n = 0;

	json_object_put(w->cp);
	w->cp = NULL;
	/* on stdout the workload shares the pipe with appshot's own lines: skipped */
	do {
		n = 0;
		while (n < sizeof(line) - 1) {
			if (poll(&p, 1, TEST_TIMEOUT_MS) != 1 || read(w->report, line + n, 1) != 1) {
				wl_dump_log(w);
				fail_msg("the workload sent no checkpoint %d", cp);
			}
			if (line[n] == '\n')
				break;
			n++;
		}
		line[n] = 0;
	} while (strncmp(line, "{\"cp\"", 5));
	w->cp = json_tokener_parse(line);
	if (!w->cp || jint(w->cp, "cp") != cp)
		fail_msg("bad checkpoint report: %s", line);
}

void wl_go(struct wl *w)
{
	assert_int_equal(write(w->go, "\n", 1), 1);
}

/* ---- cycles of snapshot and restore ---- */

/* Does the tracer know the restored application, as it knew the one it saved? */
struct known {
	struct wl *w;
	const char *step;
	char why[1024];
};

static int tracer_knows(void *arg)
{
	struct known *k = arg;
	struct json_object *app = status_app(k->w->name);
	int ret = -1;

	if (!app) {
		k->step = "status";
		snprintf(k->why, sizeof(k->why), "status has no application %s", k->w->name);
		return -1;
	}
	if (!(k->step = "tasks", check_tasks(app, k->why, sizeof(k->why))) &&
	    !(k->step = "fds", check_fds(app, k->why, sizeof(k->why))) &&
	    !(k->step = "maps", check_maps(app, k->why, sizeof(k->why))) &&
	    !(k->step = "ipc", check_ipc_ns(app, k->why, sizeof(k->why))))
		ret = 0;
	json_object_put(app);
	return ret;
}

/* Under software emulation (make vmtest: APPSHOT_MAX_CYCLES=1) one cycle tells enough. */
int wl_max_cycles(int cycles)
{
	const char *max = getenv("APPSHOT_MAX_CYCLES");

	return max && atoi(max) > 0 && cycles > atoi(max) ? atoi(max) : cycles;
}

/*
 * Start the workload under appshot run [run_extra], then at each of its
 * cycles snapshot and restore it (and with check_tracer, see that the
 * tracer knows it again); its last report must say it found all its state
 * as it was.
 */
void wl_cycle_checked(struct wl *w, const char *run_extra, int cycles, const char *workload,
		      const char *arg, int check_tracer)
{
	char n[16], image[32];
	struct known k = { .w = w };

	cycles = wl_max_cycles(cycles);
	snprintf(n, sizeof(n), "%d", cycles);
	wl_start_stdio(w, run_extra, workload, n, arg, NULL);
	for (int i = 1; i <= cycles; i++) {
		wl_wait(w, i);
		snprintf(image, sizeof(image), "image-%d", i);
		wl_snapshot(w, image, NULL);
		wl_restore(w, image, NULL);
		if (check_tracer && retry_until(tracer_knows, &k, SETTLE_MS))
			fail_msg("after restore %d, the tracer does not know %s: %s: %s", i,
				 workload, k.step, k.why);
		wl_go(w);
	}
	wl_wait(w, cycles + 1);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("%s found its state changed after restore (%lld failures)", workload,
			 (long long)jint(w->cp, "failures"));
	}
}

void wl_cycle(struct wl *w, const char *run_extra, int cycles, const char *workload,
	      const char *arg)
{
	wl_cycle_checked(w, run_extra, cycles, workload, arg, 0);
}
