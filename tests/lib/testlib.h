/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for appshot's integration tests: run the real commands with a
 * time limit and capture what they print, parse their JSON, read the
 * kernel's own view from /proc to compare with, and skip loudly.
 */
#ifndef APPSHOT_TESTLIB_H
#define APPSHOT_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>
#include <json-c/json.h>

/*
 * How long to wait at most for state to settle or a process to end. Waits
 * return as soon as the condition holds: this is for slow machines (qemu
 * without KVM loads the tracer in seconds), never a timing assertion.
 */
/*
 * Time limits for commands and for state to settle: 30 s, times
 * APPSHOT_TIMEOUT_SCALE (make vmtest sets it: software emulation is slow).
 */
int testlib_timeout_ms(void);
#define TEST_TIMEOUT_MS testlib_timeout_ms()
#define SETTLE_MS testlib_timeout_ms()

struct run_result {
	int status; /* exit code, 128 + signal, or -1 if it could not run / timed out */
	char *out;
	char *err;
};

/* The path of a built binary: $APPSHOT_BIN/name (default build/bin). */
const char *bin_path(const char *name);
/* The path of a test workload: $APPSHOT_WORKLOADS/name. */
const char *workload_path(const char *name);

/* Run argv (NULL-terminated) and wait at most timeout_ms; keep_fds are left open. */
int run_argv(struct run_result *r, int timeout_ms, char *const argv[]);
/* run_argv with the arguments listed, NULL last. */
int run_cmd(struct run_result *r, const char *arg0, ...);
void run_free(struct run_result *r);
/* Start a command in the background, its stdout on *out (if out), stderr to ours. */
pid_t spawn_cmd(int *out, const char *arg0, ...);
/* Read one line from fd within timeout_ms; 0, or -1 at the end or time limit. */
int read_line(int fd, char *buf, size_t len, int timeout_ms);
/* Wait for a child with a time limit: its exit code, 128 + signal, or -1. */
int wait_status(pid_t pid, int timeout_ms);
/* Run a command that prints one JSON document; NULL (and a message) if it failed. */
struct json_object *run_json(const char *arg0, ...);

/* A name unique to this test run: "<prefix>-<pid>-<n>". */
const char *unique_name(const char *prefix);

/*
 * Every test binary's group setup: the state directory is a fresh temp dir,
 * and this process is a subreaper so it reaps what it starts. Without root
 * each test skips (TESTLIB_REQUIRE), saying why.
 */
int testlib_setup(void **state);
int testlib_teardown(void **state);
extern const char *testlib_missing; /* why tests cannot run here, or NULL */
#define TESTLIB_REQUIRE()                                                     \
	do {                                                                  \
		if (testlib_missing)                                          \
			skip_because("%s", testlib_missing);                 \
	} while (0)
/* Print why, then skip() the current test. */
#define skip_because(...)                                                     \
	do {                                                                  \
		print_message("SKIP: " __VA_ARGS__);                          \
		print_message("\n");                                          \
		skip();                                                       \
	} while (0)

/* JSON accessors that fail the test on a missing key. */
struct json_object *jkey(struct json_object *o, const char *key);
int64_t jint(struct json_object *o, const char *key);
const char *jstr(struct json_object *o, const char *key);
int jbool(struct json_object *o, const char *key);
/* The application of that name in `status --json` output, or NULL. */
struct json_object *status_app(const char *name);

/* /proc views */
int proc_list_fds(pid_t pid, int **fds, size_t *n);
int proc_fd_link(pid_t pid, int fd, char *buf, size_t len);
/* flags from /proc/PID/fdinfo/FD (f_flags, plus O_CLOEXEC if close-on-exec) */
int proc_fd_flags(pid_t pid, int fd, unsigned int *flags);
char proc_state(pid_t pid);
/* The first line of a file, without its newline. */
int read_file_line(const char *path, char *buf, size_t len);
int read_ids(const char *path, pid_t **ids, size_t *n);

/* Wait until pid's process has exited (reaping it if it is our child). */
int wait_gone(pid_t pid, int timeout_ms);
/* Retry fn until it returns 0 or timeout_ms passes: for state the kernel
 * settles a moment later (a reaped task leaves after an RCU grace period). */
int retry_until(int (*fn)(void *ctx), void *ctx, int timeout_ms);
void sleep_ms(int ms);

/* Leftovers: 0 if no pins, no appshot cgroup and no registry record remain. */
int check_no_leftovers(char *why, size_t len);
/* What appshot holds on the machine now (records, cgroups, pins), as a
 * string to compare before and after a command: free() it. */
char *appshot_state(void);
/* Detach (and kill) this application at the group's teardown, whatever happens. */
void testlib_track(const char *name);

#endif /* APPSHOT_TESTLIB_H */
