// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests: how table entries and events are put into words and JSON. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "describe.h"

static void test_names_cover_enums(void **state)
{
	(void)state;
	/* every kind has a name of its own; FDK_UNKNOWN's is "unknown" */
	for (int k = 0; k < FDK_MAX; k++)
		assert_string_not_equal(fd_kind_name(k), k == FDK_UNKNOWN ? "" : "unknown");
	assert_string_equal(fd_kind_name(FDK_PIPE), "pipe");
	assert_string_equal(fd_kind_name(FDK_MAX + 5), "unknown");
	for (int k = RGK_ANON; k <= RGK_SPECIAL; k++)
		assert_string_not_equal(region_kind_name(k), "unknown");
	for (int k = IPCK_SEM; k <= IPCK_MSG; k++)
		assert_string_not_equal(ipc_kind_name(k), "unknown");
	for (int t = EVT_FORK; t <= EVT_BRK; t++)
		assert_string_not_equal(event_type_name(t), "unknown");
	assert_string_equal(event_type_name(0), "unknown");
	assert_string_equal(sock_state_name(10), "LISTEN");
	assert_string_equal(sock_state_name(1), "ESTABLISHED");
	assert_string_equal(sock_state_name(99), "unknown");
}

static void test_open_flags(void **state)
{
	char buf[256];

	(void)state;
	open_flags_str(O_RDONLY, buf, sizeof(buf));
	assert_string_equal(buf, "O_RDONLY");
	open_flags_str(O_WRONLY | O_APPEND | O_NONBLOCK, buf, sizeof(buf));
	assert_string_equal(buf, "O_WRONLY|O_APPEND|O_NONBLOCK");
	open_flags_str(O_RDWR | O_CLOEXEC, buf, sizeof(buf));
	assert_string_equal(buf, "O_RDWR|O_CLOEXEC");
#if defined(__x86_64__)
	open_flags_str(O_RDONLY | 0100000, buf, sizeof(buf)); /* as the x86 kernel sets it */
	assert_string_equal(buf, "O_RDONLY|O_LARGEFILE");
#endif
	open_flags_str(O_RDWR | O_APPEND, buf, 8); /* cut, still a string */
	assert_int_equal(strlen(buf), 7);
}

static void test_addresses(void **state)
{
	struct sock_addr a = { .family = AF_INET, .port = 8080, .len = 4 };
	char buf[160];

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", a.addr);
	sock_addr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:8080");
	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.port = 443;
	inet_pton(AF_INET6, "::1", a.addr);
	sock_addr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:443");
	memset(&a, 0, sizeof(a));
	a.family = AF_UNIX;
	a.len = 9;
	memcpy(a.addr, "/run/sock", 9);
	sock_addr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "/run/sock");
	a.len = 5;
	memcpy(a.addr, "\0abcd", 5);
	sock_addr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "@abcd");
	a.len = 0; /* unbound, a socketpair end */
	sock_addr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "");
	a.len = 5000; /* damaged length: bounded by the buffer */
	memset(a.addr, 'x', sizeof(a.addr));
	sock_addr_str(&a, buf, sizeof(buf));
	assert_int_equal(strlen(buf), APPSHOT_ADDR_LEN);
}

static void test_prot(void **state)
{
	char buf[8];

	(void)state;
	prot_str(PROT_READ | PROT_WRITE, MAP_PRIVATE, buf, sizeof(buf));
	assert_string_equal(buf, "rw-p");
	prot_str(PROT_READ | PROT_EXEC, MAP_SHARED, buf, sizeof(buf));
	assert_string_equal(buf, "r-xs");
	prot_str(0, MAP_PRIVATE | MAP_ANONYMOUS, buf, sizeof(buf));
	assert_string_equal(buf, "---p");
}

static void test_targets(void **state)
{
	struct file_info fi = { .kind = FDK_PIPE, .ino = 1234 };
	struct sock_info si = { .family = AF_INET, .type = SOCK_STREAM, .state = 10 };
	char buf[512];

	(void)state;
	file_target_str(&fi, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "pipe:[1234]");
	fi.kind = FDK_FILE;
	strcpy(fi.path, "/tmp/x");
	fi.file_flags = FILEF_DELETED;
	file_target_str(&fi, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "/tmp/x (deleted)");
	fi.kind = FDK_SOCKET;
	si.local.family = AF_INET;
	si.local.port = 80;
	file_target_str(&fi, &si, buf, sizeof(buf));
	assert_string_equal(buf, "inet stream 0.0.0.0:80 LISTEN");
}

static struct appshot_event ev(enum appshot_event_type type)
{
	struct appshot_event e = { .type = type, .aid = 3, .tgid = 1000, .tid = 1001,
				   .vtgid = 2, .vtid = 3 };

	strcpy(e.comm, "worker");
	return e;
}

static void test_events(void **state)
{
	struct appshot_event e;
	struct json_object *o, *v;
	char buf[1024];

	(void)state;
	e = ev(EVT_FORK);
	e.fork.tid = 1005;
	e.fork.vtid = 7;
	event_str(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "fork"));
	assert_non_null(strstr(buf, "new process 7 (1005)"));
	o = event_json(&e);
	assert_true(json_object_object_get_ex(o, "child", &v) && json_object_get_int(v) == 7);
	assert_true(json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == 2);
	assert_true(json_object_object_get_ex(o, "sys_pid", &v) && json_object_get_int(v) == 1000);
	json_object_put(o);

	e = ev(EVT_FD_OPEN);
	e.fd.fd = 5;
	e.fd.info.kind = FDK_FILE;
	e.fd.info.flags = O_RDONLY;
	strcpy(e.fd.info.path, "/etc/hosts");
	event_str(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "fd 5 file /etc/hosts"));
	o = event_json(&e);
	assert_true(json_object_object_get_ex(o, "fd", &v));
	assert_string_equal(json_object_get_string(json_object_object_get(v, "path")), "/etc/hosts");
	json_object_put(o);

	e = ev(EVT_IPC_GET);
	e.ipc.kind = IPCK_SEM;
	e.ipc.id = 4;
	e.ipc.info.key = 0x1234;
	event_str(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "sem id 4 key 0x00001234"));

	e = ev(EVT_MAP);
	e.mem.start = 0x1000;
	e.mem.end = 0x3000;
	e.mem.prot = PROT_READ;
	e.mem.flags = MAP_SHARED;
	e.mem.kind = RGK_FILE;
	event_str(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "1000-3000 r--s file"));

	e = ev(EVT_EXEC);
	memset(e.exec.filename, 'a', sizeof(e.exec.filename)); /* no NUL: still bounded */
	event_str(&e, buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
	o = event_json(&e);
	assert_true(json_object_object_get_ex(o, "filename", &v));
	assert_int_equal(strlen(json_object_get_string(v)), APPSHOT_PATH_LEN);
	json_object_put(o);

	e = ev(99); /* an event of a newer tracer */
	event_str(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "unknown"));
	o = event_json(&e);
	assert_non_null(o);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_cover_enums),
		cmocka_unit_test(test_open_flags),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_prot),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_events),
	};

	return cmocka_run_group_tests_name("describe", tests, NULL, NULL);
}
