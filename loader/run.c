// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot run: start a command as a new, traced application.
 *
 * In its own namespaces (the default) the first process is a small init,
 * pid 1 of the new pid namespace: it is made a member of the application
 * before it forks CMD, so CMD is traced from its first instruction, and it
 * reaps orphans and passes signals on until the last process has ended.
 * With --share-ns, CMD itself is the first process, held until it is traced.
 *
 * The application gets the caller's stdio (fds 0-2) and, with
 * --preserve-fds N, fds 3 to 3+N-1 (as podman and systemd-run): those are
 * noted as given knowingly (external: a snapshot records them as such, a
 * restore is given their replacements). Every other fd of the caller is
 * closed in the first process (a stray fd of a shell is not the
 * application's to carry), but its start channel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "app.h"
#include "appinit.h"
#include "cgroup.h"
#include "cmd.h"
#include "commands.h"
#include "log.h"
#include "names.h"
#include "proc.h"
#include "registry.h"
#include "tracer.h"
#include "util.h"

struct run_opts {
	const char *name;
	int detach;
	int share_ns;
	int preserve; /* fds 3 to 3+preserve-1 go to the application */
	char **argv;
};

/* ---- in the first process ------------------------------------------- */

/* Wait for the parent's go (it has made us traced), 0 on go. */
static int wait_go(int chan)
{
	char c;

	return read(chan, &c, 1) == 1 && c == 'g' ? 0 : -1;
}

/* exec CMD (the channel closes on success); on failure tell the parent why. */
static void __attribute__((noreturn)) exec_cmd(char **argv, int chan)
{
	int err;

	execvp(argv[0], argv);
	err = errno;
	if (write(chan, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/*
 * pid 1 of the application: fork CMD, then reap every process that ends
 * up here and pass signals on to CMD, until no process is left.
 */
static void __attribute__((noreturn)) init_main(char **argv, int chan)
{
	pid_t cmd;

	appinit_block_signals();
	if (wait_go(chan))
		_exit(1);
	cmd = fork();
	if (cmd < 0)
		_exit(1);
	if (cmd == 0) {
		reset_signals();
		exec_cmd(argv, chan);
	}
	close(chan);
	appinit_loop(cmd);
}

/* ---- in appshot ------------------------------------------------------ */

static pid_t start_first(const struct run_opts *o, int cgroup_fd, int chan)
{
	struct clone_args ca = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = cgroup_fd,
	};
	pid_t pid;

	if (!o->share_ns)
		ca.flags |= CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid != 0)
		return pid;
	/* the child: what is not the application's goes, but the channel */
	if (appinit_close_fds_from(3 + o->preserve, chan))
		_exit(1);
	if (!o->share_ns)
		init_main(o->argv, chan);
	reset_signals();
	if (wait_go(chan))
		_exit(1);
	exec_cmd(o->argv, chan);
}

/* Is CMD something we can execute? Checked before anything is created. */
static int check_cmd(const char *cmd)
{
	char path[4096], *dirs, *dir, *save;
	const char *env = getenv("PATH");

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK)) {
			pr_err("cannot execute '%s': %s", cmd, strerror(errno));
			return -errno;
		}
		return 0;
	}
	dirs = strdup(env ? env : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return -ENOMEM;
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", *dir ? dir : ".", cmd);
		if (access(path, X_OK) == 0) {
			free(dirs);
			return 0;
		}
	}
	free(dirs);
	pr_err("cannot execute '%s': not found in PATH", cmd);
	return -ENOENT;
}

/* With -d on stdout, for scripts; in the foreground on stderr, CMD's stdout stays its own. */
static void print_started(const struct app_record *rec, pid_t pid, int detach)
{
	struct json_object *o;

	if (json_output) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(rec->name));
		json_object_object_add(o, "aid", json_object_new_int64(rec->aid));
		json_object_object_add(o, "sys_pid", json_object_new_int(pid));
		json_object_object_add(o, "own_ns", json_object_new_boolean(rec->own_ns));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(detach ? stdout : stderr,
			"application %s (aid %u) started, first process pid %d\n", rec->name,
			rec->aid, pid);
	}
	fflush(stdout);
}

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "aid", required_argument, NULL, 'a' },
		{ "detach", no_argument, NULL, 'd' },
		{ "share-ns", no_argument, NULL, 's' },
		{ "preserve-fds", required_argument, NULL, 'p' },
		COMMON_LONG_OPTS,
		{},
	};
	const char *why;
	int c, r;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "+a:d" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->name = optarg;
			break;
		case 'd':
			o->detach = 1;
			break;
		case 's':
			o->share_ns = 1;
			break;
		case 'p': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || end == optarg || n < 0 || n > APP_MAX_EXTERNAL)
				return usage_error("run", "--preserve-fds takes a number of fds, 0 to %d",
						   APP_MAX_EXTERNAL);
			o->preserve = n;
			break;
		}
		default:
			r = common_opt(c, "run");
			if (r)
				return r;
		}
	}
	if (!o->name)
		return usage_error("run", "--aid NAME is required");
	if (aid_name_check(o->name, &why))
		return usage_error("run", "invalid application name '%s': %s", o->name, why);
	if (optind >= argc)
		return usage_error("run", "no command to run");
	o->argv = argv + optind;
	return 0;
}

int do_run(int argc, char **argv)
{
	struct app_record rec = { .mode = APP_RUN };
	struct tracer tr = { .fd = { -1 } };
	struct registry reg = { .lock_fd = -1 };
	int chan[2] = { -1, -1 }, cgroup_fd = -1, err, exec_err, code;
	__u32 level = 0, ino;
	struct app_info info;
	struct run_opts o;
	pid_t first = -1, self_vpid;
	ssize_t n;

	err = parse_run(argc, argv, &o);
	if (err)
		return err;
	err = tracer_check_env();
	if (!err)
		err = check_cmd(o.argv[0]);
	for (int fd = 3; !err && fd < 3 + o.preserve; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			pr_err("--preserve-fds %d: fd %d is not open", o.preserve, fd);
			err = -EBADF;
		}
	if (err)
		return err;

	snprintf(rec.name, sizeof(rec.name), "%s", o.name);
	rec.own_ns = !o.share_ns;
	if (cgroup_of_pid(getpid(), rec.origin_cgroup, sizeof(rec.origin_cgroup)))
		rec.origin_cgroup[0] = 0;
	err = proc_nspid(getpid(), &self_vpid, &level);
	if (err) {
		pr_err("cannot read this process's pid namespace: %s", strerror(-err));
		return err;
	}
	if (rec.own_ns)
		level++;

	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		return err;
	err = app_tracer_ready(&tr);
	if (err)
		goto out;
	err = app_register(&reg, &tr, &rec, level, 0, 0);
	if (err)
		goto out;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan)) {
		err = -errno;
		pr_perror("cannot make the start channel");
		goto fail;
	}
	cgroup_fd = open(rec.cgroup, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		err = -errno;
		pr_perror("cannot open %s", rec.cgroup);
		goto fail;
	}
	if (o.share_ns && !o.detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	fflush(NULL);
	first = start_first(&o, cgroup_fd, chan[1]);
	if (first < 0) {
		err = -errno;
		pr_perror("cannot start the application's first process");
		goto fail;
	}
	close(chan[1]);
	chan[1] = -1;

	rec.root = first;
	if (bpf_map_lookup_elem(tr.fd[TMAP_APPS], &rec.aid, &info) == 0) {
		if (!proc_ns_ino(first, "pid_for_children", &ino) || !proc_ns_ino(first, "pid", &ino))
			info.pidns_ino = ino;
		if (!proc_ns_ino(first, "ipc", &ino))
			info.ipcns_ino = ino;
		info.root_tid = first;
		bpf_map_update_elem(tr.fd[TMAP_APPS], &rec.aid, &info, BPF_EXIST);
	}
	err = registry_update(&reg, &rec);
	if (!err)
		err = app_adopt(&tr, rec.aid, &first, 1, rec.own_ns ? TASKF_INIT : 0);
	for (int fd = 3; !err && fd < 3 + o.preserve; fd++)
		if ((err = app_note_external(&rec, first, fd, fd)))
			pr_err("cannot note fd %d, given to the application: %s", fd, strerror(-err));
	if (!err && o.preserve)
		err = registry_update(&reg, &rec);
	if (err)
		goto fail;

	/* Go: CMD is forked and exec'ed; the channel closes on a good exec. */
	if (write(chan[0], "g", 1) != 1) {
		err = -EPIPE;
		pr_err("the application's first process died before it started");
		goto fail;
	}
	n = read(chan[0], &exec_err, sizeof(exec_err));
	if (n == sizeof(exec_err)) {
		err = -exec_err;
		pr_err("cannot execute '%s': %s", o.argv[0], strerror(exec_err));
		goto fail;
	}
	close(chan[0]);
	chan[0] = -1;
	close(cgroup_fd);
	cgroup_fd = -1;
	print_started(&rec, first, o.detach);
	registry_close(&reg);
	if (o.detach) {
		tracer_close(&tr);
		return 0;
	}

	tracer_close(&tr);
	code = app_foreground(rec.name, first, o.share_ns);
	/* Our exit status is the application's, as its first process set it. */
	exit(code);

fail:
	if (first > 0) {
		cgroup_kill(rec.cgroup);
		waitpid(first, NULL, 0);
	}
	app_unregister(&reg, &tr, &rec);
out:
	app_tracer_release(&tr);
	if (chan[0] >= 0)
		close(chan[0]);
	if (chan[1] >= 0)
		close(chan[1]);
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}
