// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot snapshot and restore of applications with network sockets, on
 * real processes: TCP listeners, connections (half-closed too) and UDP
 * sockets, with peers inside the application or outside it (ours, on this
 * host or on test hosts: network namespaces joined by veth pairs), the
 * traffic held while the application is away; each workload checks its
 * own state (tests/workloads/rs_inet.c, rs_echo.c, rs_udp.c, rs_client.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testlib.h"
#include "wlharness.h"

static void test_inet_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_inet", NULL, 1);
}

static void test_tcp_connection_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_inet", "established", 1);
}

/* Sockets with the options and shutdowns programs give them (rs_sockopts). */
static void test_socket_options(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle(*state, NULL, 3, "rs_sockopts", NULL);
}

/* A connection waiting on a listener at the snapshot: it waits till the application takes it. */
static void test_backlog_accepted_while_waiting(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 1, "rs_inet", "slow", 1);
}

static void test_tcp_half_closed_three_cycles(void **state)
{
	TESTLIB_REQUIRE();
	wl_cycle_checked(*state, NULL, 3, "rs_inet", "closing", 1);
}

#define CLIENTS 3

/* Read exactly want from fd (a client of ours), or say why not. */
static int read_exactly(int fd, const char *want, char *why, size_t len)
{
	char buf[256];
	size_t got = 0, n = strlen(want);

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		if (k <= 0) {
			snprintf(why, len, "after '%.*s': %s", (int)got, buf,
				 k < 0 ? strerror(errno) : "the end of the connection");
			return -1;
		}
		got += k;
	}
	if (memcmp(buf, want, n)) {
		snprintf(why, len, "'%.*s', not '%s'", (int)n, buf, want);
		return -1;
	}
	return 0;
}

/* CLIENTS connections of ours to addr:port, reads waiting timeout_s at most. */
static void connect_clients(int *cl, const char *addr, int port, int timeout_s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = timeout_s };

	assert_int_equal(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	for (int i = 0; i < CLIENTS; i++) {
		cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(cl[i] >= 0);
		setsockopt(cl[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		assert_int_equal(connect(cl[i], (struct sockaddr *)&a, sizeof(a)), 0);
	}
}

/*
 * An echo server with clients outside the application (ours): at each of
 * three cycles each client has bytes in flight when the snapshot is taken
 * and sends more while the application is away (its traffic held); after
 * the restore every client reads all of them echoed, once and in order,
 * and no connection was reset.
 */
static void test_tcp_clients_outside(void **state)
{
	struct wl *w = *state;
	int cl[CLIENTS], cycles = 3;
	char msg[64], why[512], image[32];

	TESTLIB_REQUIRE();
	cycles = wl_max_cycles(cycles);
	snprintf(msg, sizeof(msg), "%d", cycles);
	wl_start_stdio(w, NULL, "rs_echo", msg, NULL);
	wl_wait(w, 1);
	connect_clients(cl, "127.0.0.1", jint(w->cp, "port"), 15);
	for (int i = 0; i < CLIENTS; i++) {
		snprintf(msg, sizeof(msg), "hello %d;", i);
		assert_int_equal(write(cl[i], msg, strlen(msg)), (ssize_t)strlen(msg));
		if (read_exactly(cl[i], msg, why, sizeof(why)))
			fail_msg("client %d before any snapshot: %s", i, why);
	}
	for (int c = 1; c <= cycles; c++) {
		if (c > 1)
			wl_wait(w, c);
		for (int i = 0; i < CLIENTS; i++) {
			snprintf(msg, sizeof(msg), "%d-%d in flight;", c, i);
			assert_int_equal(write(cl[i], msg, strlen(msg)), (ssize_t)strlen(msg));
		}
		snprintf(image, sizeof(image), "image-%d", c);
		wl_snapshot(w, image, NULL);
		for (int i = 0; i < CLIENTS; i++) {
			snprintf(msg, sizeof(msg), "%d-%d while away;", c, i);
			assert_int_equal(write(cl[i], msg, strlen(msg)), (ssize_t)strlen(msg));
		}
		wl_restore(w, image, NULL);
		/* the server (a child) echoes on; main waits at its checkpoint till we are done */
		for (int i = 0; i < CLIENTS; i++) {
			char want[128];

			snprintf(want, sizeof(want), "%d-%d in flight;%d-%d while away;", c, i, c, i);
			if (read_exactly(cl[i], want, why, sizeof(why)))
				fail_msg("client %d after restore %d: %s", i, c, why);
		}
		wl_go(w);
	}
	wl_wait(w, cycles + 1);
	for (int i = 0; i < CLIENTS; i++)
		close(cl[i]);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("the echo server found its state changed");
	}
}

/* Ask the UDP service on port "N" till it answers "N+1" (datagrams may be lost), or fail. */
static void udp_ask(int s, int port, long n, int cycle)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char msg[32], buf[32];
	long got = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(msg, sizeof(msg), "%ld", n);
	for (int i = 0; i < 100 && got != n + 1; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t k;

		assert_int_equal(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)),
				 (ssize_t)strlen(msg));
		if (poll(&p, 1, 200) != 1)
			continue;
		k = recv(s, buf, sizeof(buf) - 1, 0);
		buf[k < 0 ? 0 : k] = 0;
		got = k > 0 ? atol(buf) : -1;
	}
	if (got != n + 1)
		fail_msg("the UDP service did not answer %ld with %ld after restore %d", n, n + 1,
			 cycle);
}

/* inspect's line for a socket of the image that says what (e.g. "datagrams waiting"), or NULL */
static char *inspect_socket(struct wl *w, const char *image, const char *what)
{
	char dir[PATH_MAX + 64], *found = NULL;
	struct json_object *m, *procs;

	snprintf(dir, sizeof(dir), "%s/%s", w->dir, image);
	m = run_json(bin_path("appshot"), "inspect", "--json", dir, NULL);
	procs = m ? jkey(m, "processes") : NULL;
	for (size_t i = 0; procs && !found && i < json_object_array_length(procs); i++) {
		struct json_object *files = jkey(json_object_array_get_idx(procs, i), "files");

		for (size_t k = 0; files && !found && k < json_object_array_length(files); k++) {
			struct json_object *v;

			if (json_object_object_get_ex(json_object_array_get_idx(files, k), "state",
						      &v) &&
			    strstr(json_object_get_string(v), what))
				found = strdup(json_object_get_string(v));
		}
	}
	json_object_put(m);
	return found;
}

/*
 * A UDP request/response service with clients outside (ours), and
 * datagrams waiting: at each of three cycles we send one to the socket
 * main leaves unread (beside two of its own) and ask the service while the
 * application is away (lost, held) and after the restore (answered).
 */
static void test_udp_service(void **state)
{
	struct wl *w = *state;
	struct sockaddr_in a = { .sin_family = AF_INET }, me;
	socklen_t l = sizeof(me);
	int s, cycles = wl_max_cycles(3);
	char msg[64], image[32];

	TESTLIB_REQUIRE();
	snprintf(msg, sizeof(msg), "%d", cycles);
	wl_start_stdio(w, NULL, "rs_udp", msg, NULL);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&me, &l), 0);
	for (int c = 1; c <= cycles; c++) {
		wl_wait(w, c);
		udp_ask(s, jint(w->cp, "service"), 10 * c, 0);
		a.sin_port = htons(jint(w->cp, "queue"));
		snprintf(msg, sizeof(msg), "outside %d from %d", c, ntohs(me.sin_port));
		assert_int_equal(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)),
				 (ssize_t)strlen(msg));
		snprintf(image, sizeof(image), "image-%d", c);
		wl_snapshot(w, image, NULL);
		if (c == 1) {
			char *line = inspect_socket(w, image, "waiting");

			if (!line || !strstr(line, "udp 0.0.0.0:") || !strstr(line, ", 3 datagrams"))
				fail_msg("inspect does not show the 3 datagrams waiting: %s",
					 line ? line : "no such socket");
			free(line);
		}
		a.sin_port = htons(jint(w->cp, "service"));
		assert_int_equal(sendto(s, "lost", 4, 0, (struct sockaddr *)&a, sizeof(a)), 4);
		wl_restore(w, image, NULL);
		udp_ask(s, jint(w->cp, "service"), 10 * c + 1, c);
		wl_go(w);
	}
	wl_wait(w, cycles + 1);
	close(s);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("the UDP service found its state changed");
	}
}

/*
 * A client inside the application of a server outside it (ours, at addr):
 * while it is away the server sends; after each restore the client reads
 * it, asks, and gets its answer.
 */
/* A listener of ours on addr, port of the kernel's choosing. */
static int listen_on(const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(l >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	return l;
}

static void client_inside(struct wl *w, int l, const char *addr, int cycles)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 15 };
	socklen_t len = sizeof(a);
	char n[16], port[16], msg[64], why[512], image[32];
	int s;

	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	snprintf(n, sizeof(n), "%d", cycles);
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	wl_start_stdio(w, NULL, "rs_client", n, addr, port, NULL);
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(s >= 0);
	close(l);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int c = 1; c <= cycles; c++) {
		wl_wait(w, c);
		snprintf(image, sizeof(image), "image-%d", c);
		wl_snapshot(w, image, NULL);
		snprintf(msg, sizeof(msg), "away %d;", c);
		assert_int_equal(write(s, msg, strlen(msg)), (ssize_t)strlen(msg));
		wl_restore(w, image, NULL);
		wl_go(w);
		snprintf(msg, sizeof(msg), "ask %d;", c);
		if (read_exactly(s, msg, why, sizeof(why)))
			fail_msg("after restore %d the client did not ask: %s", c, why);
		snprintf(msg, sizeof(msg), "answer %d;", c);
		assert_int_equal(write(s, msg, strlen(msg)), (ssize_t)strlen(msg));
	}
	wl_wait(w, cycles + 1);
	close(s);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("the client found its connection changed");
	}
}

static void test_tcp_client_inside(void **state)
{
	TESTLIB_REQUIRE();
	client_inside(*state, listen_on("127.0.0.1"), "127.0.0.1", wl_max_cycles(3));
}

/*
 * A test host: a network namespace of its own joined to ours by a veth
 * pair, 10.199.N.1 on our side and 10.199.N.2 on its; removed by the
 * teardown.
 */
static char host_ns[32], host_if[16];

static int host_teardown(void **state)
{
	char cmd[128];

	if (host_ns[0]) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip link del %s 2>/dev/null",
			 host_ns, host_if);
		if (system(cmd)) {
			/* the veth goes with the namespace: its deletion may find nothing */
		}
		host_ns[0] = 0;
	}
	return wl_teardown(state);
}

/*
 * Make the test host (suffix tells one from another), its addresses in ours
 * and theirs; its link up, or down till host_up().
 */
static void host_make(const char *suffix, char *ours, char *theirs, int up)
{
	char cmd[512];
	int n = getpid() % 250 + 1;

	snprintf(host_ns, sizeof(host_ns), "appshot-t-%d%s", (int)getpid(), suffix);
	snprintf(host_if, sizeof(host_if), "ash%d%s", (int)getpid() % 100000, suffix);
	snprintf(ours, 32, "10.199.%d.1", n);
	snprintf(theirs, 32, "10.199.%d.2", n);
	snprintf(cmd, sizeof(cmd),
		 "ip netns add %1$s && ip link add %2$s type veth peer name eth0 netns %1$s && "
		 "ip addr add %3$s/24 dev %2$s && ip link set %2$s %5$s && "
		 "ip -n %1$s addr add %4$s/24 dev eth0 && ip -n %1$s link set eth0 up && "
		 "ip -n %1$s link set lo up",
		 host_ns, host_if, ours, theirs, up ? "up" : "down");
	if (system(cmd))
		fail_msg("cannot make the test host: %s", cmd);
}

static void host_up(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ip link set %s up", host_if);
	if (system(cmd))
		fail_msg("cannot bring the test host up: %s", cmd);
}

/* The test host gone: its namespace, then (bounded) its veth pair with it. */
static void host_drop(void)
{
	char cmd[128], path[64];
	struct stat st;

	snprintf(cmd, sizeof(cmd), "ip netns del %s", host_ns);
	if (system(cmd))
		fail_msg("cannot remove the test host: %s", cmd);
	snprintf(path, sizeof(path), "/sys/class/net/%s", host_if);
	for (int i = 0; i < 500 && stat(path, &st) == 0; i++)
		usleep(10000);
	if (stat(path, &st) == 0)
		fail_msg("the test host's %s stays after its namespace went", host_if);
	host_ns[0] = 0;
}

/* Run f(arg) in the test host's network namespace. */
static void in_host(void (*f)(void *), void *arg)
{
	char path[64];
	int me, ns;

	snprintf(path, sizeof(path), "/var/run/netns/%s", host_ns);
	me = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(me >= 0 && ns >= 0);
	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
	f(arg);
	assert_int_equal(setns(me, CLONE_NEWNET), 0);
	close(me);
	close(ns);
}

struct listen_arg {
	const char *addr;
	int l;
};

static void listen_there(void *arg)
{
	struct listen_arg *la = arg;

	la->l = listen_on(la->addr);
}

static void test_tcp_client_of_another_host(void **state)
{
	char ours[32], theirs[32];
	struct listen_arg la = { theirs, -1 };

	TESTLIB_REQUIRE();
	host_make("", ours, theirs, 1);
	/* our server's socket is made in the other host's namespace, and stays there */
	in_host(listen_there, &la);
	client_inside(*state, la.l, theirs, wl_max_cycles(3));
}

struct start_arg {
	struct wl *w;
	const char *addr;
};

static void start_echo(void *arg)
{
	struct start_arg *sa = arg;

	wl_start_stdio(sa->w, NULL, "rs_echo", "1", sa->addr, NULL);
}

/*
 * An echo server on another host (its own network namespace, reached over
 * a veth pair) with clients of ours: snapshotted there, the host removed
 * and made again with the same addresses (a fresh namespace, another veth
 * pair), restored into it with --netns; every client's connection carries
 * on with its bytes in flight and those sent while away, without a reset.
 */
static void test_restore_in_fresh_netns(void **state)
{
	struct wl *w = *state;
	struct start_arg sa = { w, NULL };
	char ours[32], theirs[32], msg[64], why[512], netns[96];
	int cl[CLIENTS];

	TESTLIB_REQUIRE();
	host_make("a", ours, theirs, 1);
	sa.addr = theirs;
	in_host(start_echo, &sa);
	wl_wait(w, 1);
	connect_clients(cl, theirs, jint(w->cp, "port"), 40);
	for (int i = 0; i < CLIENTS; i++) {
		snprintf(msg, sizeof(msg), "in flight %d;", i);
		assert_int_equal(write(cl[i], msg, strlen(msg)), (ssize_t)strlen(msg));
	}
	wl_snapshot(w, "image", NULL);
	for (int i = 0; i < CLIENTS; i++) {
		snprintf(msg, sizeof(msg), "while away %d;", i);
		assert_int_equal(write(cl[i], msg, strlen(msg)), (ssize_t)strlen(msg));
	}
	host_drop();
	/* its link comes up once the server is back: what came before would be reset */
	host_make("b", ours, theirs, 0);
	snprintf(netns, sizeof(netns), "--netns=/var/run/netns/%s", host_ns);
	wl_restore(w, "image", netns);
	host_up();
	for (int i = 0; i < CLIENTS; i++) {
		char want[128];

		snprintf(want, sizeof(want), "in flight %d;while away %d;", i, i);
		if (read_exactly(cl[i], want, why, sizeof(why)))
			fail_msg("client %d after the restore in a fresh namespace: %s", i, why);
		snprintf(msg, sizeof(msg), "after %d;", i);
		assert_int_equal(write(cl[i], msg, strlen(msg)), (ssize_t)strlen(msg));
		if (read_exactly(cl[i], msg, why, sizeof(why)))
			fail_msg("client %d after the restore, new bytes: %s", i, why);
	}
	wl_go(w);
	wl_wait(w, 2);
	for (int i = 0; i < CLIENTS; i++)
		close(cl[i]);
	if (!jbool(w->cp, "ok")) {
		wl_dump_log(w);
		fail_msg("the echo server found its state changed");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inet_three_cycles, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connection_three_cycles, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_half_closed_three_cycles, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_socket_options, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_backlog_accepted_while_waiting, wl_setup,
						wl_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_clients_outside, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_udp_service, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_client_inside, wl_setup, wl_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_client_of_another_host, wl_setup,
						host_teardown),
		cmocka_unit_test_setup_teardown(test_restore_in_fresh_netns, wl_setup,
						host_teardown),
	};

	return cmocka_run_group_tests_name("restore_net", tests, testlib_setup, testlib_teardown);
}
