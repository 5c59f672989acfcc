// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bad input: each case gets one line on stderr naming the problem, a
 * non-zero exit (2 for a malformed command line, 1 otherwise), valid JSON
 * with --json, and leaves no cgroup, pin, registry record or process.
 */
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

struct bad_case {
	const char *what;
	const char *argv[12]; /* after the program */
	int exit_code;
	const char *says; /* in the one line on stderr */
};

static void expect_one_line(const struct run_result *r, const char *says, const char *what)
{
	const char *nl = strchr(r->err, '\n');

	if (!strstr(r->err, says))
		fail_msg("%s: stderr does not say \"%s\": %s", what, says, r->err);
	if (!nl || nl[1])
		fail_msg("%s: not one line on stderr: %s", what, r->err);
}

static void run_case(const char *prog, const struct bad_case *c)
{
	char *argv[16], *before, *after;
	struct run_result r;
	int n = 0;

	argv[n++] = (char *)bin_path(prog);
	for (int i = 0; c->argv[i]; i++)
		argv[n++] = (char *)c->argv[i];
	argv[n] = NULL;
	before = appshot_state();
	run_argv(&r, TEST_TIMEOUT_MS, argv);
	after = appshot_state();
	if (r.status != c->exit_code)
		fail_msg("%s: exit %d, expected %d (%s)", c->what, r.status, c->exit_code, r.err);
	expect_one_line(&r, c->says, c->what);
	run_free(&r);
	if (strcmp(before, after))
		fail_msg("%s left something: before [%s] after [%s]", c->what, before, after);
	free(before);
	free(after);
}

static void test_bad_names_and_numbers(void **state)
{
	static const struct bad_case cases[] = {
		{ "empty name", { "run", "--aid", "", "--", "true", NULL }, 2, "it is empty" },
		{ "long name",
		  { "run", "--aid", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--", "true", NULL },
		  2, "longer than 31" },
		{ "space in name", { "run", "--aid", "a b", "--", "true", NULL }, 2, "only letters" },
		{ "slash in name", { "run", "--aid", "../x", "--", "true", NULL }, 2, "only letters" },
		{ "no name", { "run", "--", "true", NULL }, 2, "--aid NAME is required" },
		{ "no command", { "run", "--aid", "x", NULL }, 2, "no command" },
		{ "unknown option", { "run", "--frobnicate", NULL }, 2, "'--frobnicate' is unknown" },
	};

	(void)state;
	TESTLIB_REQUIRE();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case("appshot", &cases[i]);
}

static void test_bad_targets(void **state)
{
	static const struct bad_case cases[] = {
		{ "pid not a number", { "attach", "--aid", "x", "--pid", "abc", NULL }, 2, "invalid pid" },
		{ "pid zero", { "attach", "--aid", "x", "--pid", "0", NULL }, 2, "invalid pid" },
		{ "pid negative", { "attach", "--aid", "x", "--pid", "-4", NULL }, 2, "invalid pid" },
		{ "pid too big", { "attach", "--aid", "x", "--pid", "99999999999", NULL }, 2, "invalid pid" },
		{ "pid missing", { "attach", "--aid", "x", NULL }, 2, "are required" },
		{ "option without its argument", { "status", "--aid", NULL }, 2, "needs an argument" },
		{ "unknown AID: status", { "status", "--aid", "no-such-app", NULL }, 1, "no application named 'no-such-app'" },
		{ "unknown AID: detach", { "detach", "--aid", "no-such-app", NULL }, 1, "no application named 'no-such-app'" },
		{ "unknown AID: events", { "events", "--aid", "no-such-app", NULL }, 1, "no application named 'no-such-app'" },
		{ "detach without target", { "detach", NULL }, 2, "either --aid NAME or --all" },
		{ "bad ring size", { "events", "--aid", "x", "--ring-size", "1000", NULL }, 2, "power of two" },
		{ "unknown command", { "frobnicate", NULL }, 2, "unknown command 'frobnicate'" },
	};
	char dead[16];
	pid_t pid;
	struct bad_case c = { "dead pid", { "attach", "--aid", "x", "--pid", dead, NULL }, 1,
			      "no process with pid" };

	(void)state;
	TESTLIB_REQUIRE();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case("appshot-trace", &cases[i]);
	/* A pid that was ours a moment ago. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	assert_int_equal(wait_status(pid, SETTLE_MS), 0);
	snprintf(dead, sizeof(dead), "%d", pid);
	run_case("appshot-trace", &c);
}

static void test_bad_commands(void **state)
{
	char plain[] = "/tmp/appshot-noexec-XXXXXX";
	struct bad_case missing = { "missing command",
				    { "run", "--aid", "x", "--", "/nonexistent/cmd", NULL }, 1,
				    "cannot execute '/nonexistent/cmd'" };
	struct bad_case notinpath = { "command not in PATH",
				      { "run", "--aid", "x", "--", "no-such-command-here", NULL }, 1,
				      "not found in PATH" };
	struct bad_case noexec = { "not executable", { "run", "--aid", "x", "--", plain, NULL }, 1,
				   "cannot execute" };
	int fd;

	(void)state;
	TESTLIB_REQUIRE();
	fd = mkstemp(plain);
	assert_true(fd >= 0);
	close(fd);
	chmod(plain, 0644);
	run_case("appshot", &missing);
	run_case("appshot", &notinpath);
	run_case("appshot", &noexec);
	unlink(plain);
}

/* A name in use, and a process adopted twice. */
static void test_taken(void **state)
{
	const char *name = unique_name("taken");
	struct json_object *o, *app;
	struct run_result r;
	char pid[16], why[512];
	struct bad_case dup = { "name in use", { "run", "-d", "--aid", name, "--", "/bin/sleep",
						 "100", NULL }, 1, "exists already" };
	struct bad_case twice = { "traced twice", { "attach", "--aid", "other-name", "--pid", pid,
						    NULL }, 1, "already traced" };

	(void)state;
	TESTLIB_REQUIRE();
	testlib_track(name);
	run_cmd(&r, bin_path("appshot"), "run", "-d", "--json", "--aid", name, "--", "/bin/sleep",
		"100", NULL);
	assert_int_equal(r.status, 0);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	run_free(&r);
	app = status_app(name);
	assert_non_null(app);
	snprintf(pid, sizeof(pid), "%ld",
		 jint(json_object_array_get_idx(jkey(app, "processes"), 1), "sys_pid"));
	json_object_put(app);

	run_case("appshot", &dup);
	run_case("appshot-trace", &twice);

	run_cmd(&r, bin_path("appshot-trace"), "detach", "--aid", name, "--kill", NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	json_object_put(o);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (check_no_leftovers(why, sizeof(why)))
		fail_msg("%s", why);
}

static void test_no_btf_not_root_json(void **state)
{
	struct bad_case nobtf = { "no BTF", { "status", NULL }, 1, "this kernel has no BTF" };
	struct run_result r;
	struct json_object *o;
	struct passwd *nobody;
	int p[2], status;
	char err[512] = "";
	ssize_t n;
	pid_t pid;

	(void)state;
	TESTLIB_REQUIRE();
	setenv("APPSHOT_KERNEL_BTF", "/nonexistent/btf", 1);
	run_case("appshot-trace", &nobtf);
	unsetenv("APPSHOT_KERNEL_BTF");

	/* Errors are valid JSON with --json. */
	run_cmd(&r, bin_path("appshot-trace"), "status", "--aid", "no-such-app", "--json", NULL);
	assert_int_equal(r.status, 1);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_non_null(strstr(jstr(o, "error"), "no-such-app"));
	json_object_put(o);
	run_free(&r);

	/* Not root. */
	nobody = getpwnam("nobody");
	if (!nobody)
		skip_because("there is no user 'nobody' to run as");
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		if (setgid(nobody->pw_gid) || setuid(nobody->pw_uid))
			_exit(99);
		execl(bin_path("appshot-trace"), "appshot-trace", "status", (char *)NULL);
		_exit(98);
	}
	close(p[1]);
	n = read(p[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 98)
		skip_because("user 'nobody' cannot execute %s", bin_path("appshot-trace"));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(err, "must run as root"));
}

/*
 * appshot check says what this machine allows: here everything appshot
 * needs (the tests run), each feature with its reason, in JSON too; for a
 * user without privilege it says what is missing and fails.
 */
static void test_check(void **state)
{
	const char *nobody[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
				 bin_path("appshot"), "check", NULL };
	struct json_object *o, *list;
	struct run_result r;
	int btf = 0;

	(void)state;
	TESTLIB_REQUIRE();
	run_cmd(&r, bin_path("appshot"), "check", "--json", NULL);
	if (r.status != 0)
		fail_msg("appshot check exited %d here: %s%s", r.status, r.out, r.err);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "features", &list));
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *f = json_object_array_get_idx(list, i), *v;

		assert_true(json_object_object_get_ex(f, "why", &v));
		assert_true(json_object_get_string_len(v) > 0);
		json_object_object_get_ex(f, "feature", &v);
		btf |= !strcmp(json_object_get_string(v), "btf");
	}
	assert_true(btf);
	json_object_put(o);
	run_free(&r);
	run_argv(&r, TEST_TIMEOUT_MS, (char *const *)nobody);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "NO  root"));
	assert_non_null(strstr(r.out, "appshot cannot work here"));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_names_and_numbers),
		cmocka_unit_test(test_bad_targets),
		cmocka_unit_test(test_bad_commands),
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_no_btf_not_root_json),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests_name("bad_input", tests, testlib_setup, testlib_teardown);
}
