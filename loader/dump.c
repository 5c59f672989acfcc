// SPDX-License-Identifier: GPL-2.0-only
/*
 * One process into a core record: what /proc and ptrace show from outside
 * (identity, credentials, limits, the mm, threads' registers and signal
 * state), and what only the process can say, asked by injected syscalls
 * (signal handlers, interval timers, the program break, close-on-exec).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "kind.h"
#include "js.h"
#include "log.h"
#include "regs.h"
#include "remote.h"
#include "tracer.h"
#include "util.h"

#ifndef PTRACE_PEEKSIGINFO
#define PTRACE_PEEKSIGINFO 0x4209
#endif
#define PEEKSIGINFO_SHARED 1
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#define XSTATE_MAX (64 << 10)

struct peeksiginfo_args {
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

struct rseq_config {
	uint64_t abi_pointer;
	uint32_t abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

/* The kernel's struct sigaction on x86-64, as rt_sigaction takes it. */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* A "Key:\tvalue" line of /proc/PID/status. */
static int status_field(const char *status, const char *key, char *out, size_t len)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\n%s:", key);
	p = strstr(status, want);
	if (!p)
		return -ENOENT;
	p += strlen(want);
	while (*p == ' ' || *p == '\t')
		p++;
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
	return 0;
}

/* The last number of a field like NSpid: the id in the innermost namespace. */
static long innermost(const char *status, const char *key)
{
	char v[256], *last, *tok, *save;

	if (status_field(status, key, v, sizeof(v)))
		return -1;
	last = NULL;
	for (tok = strtok_r(v, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		last = tok;
	return last ? atol(last) : -1;
}

static int read_status(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_file(path, buf + 1, len - 1);
	buf[0] = '\n'; /* every key then follows a newline */
	return n < 0 ? n : 0;
}

static void link_of(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[96];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
}

/* The parent as the process sees it: 0 if it is outside its pid namespace. */
static long virtual_ppid(pid_t pid, const char *status)
{
	char pstatus[4096], ns[64], pns[64];
	long ppid = innermost(status, "PPid");

	if (ppid <= 0)
		return 0;
	link_of(pid, "ns/pid", ns, sizeof(ns));
	link_of(ppid, "ns/pid", pns, sizeof(pns));
	if (strcmp(ns, pns) || read_status(ppid, pstatus, sizeof(pstatus)))
		return 0;
	return innermost(pstatus, "NSpid");
}

static int dump_creds(const char *status, struct json_object *core)
{
	struct json_object *c = json_object_new_object(), *a;
	char v[4096], *tok, *save;
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	static const char *const ids[] = { "Uid", "Gid" };

	json_object_object_add(core, "creds", c);
	for (int k = 0; k < 2; k++) {
		a = json_object_new_array();
		if (status_field(status, ids[k], v, sizeof(v)))
			return -EBADMSG;
		for (tok = strtok_r(v, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
			json_object_array_add(a, json_object_new_int64(atol(tok)));
		json_object_object_add(c, k ? "gid" : "uid", a); /* real, effective, saved, fs */
	}
	a = json_object_new_array();
	if (!status_field(status, "Groups", v, sizeof(v)))
		for (tok = strtok_r(v, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
			json_object_array_add(a, json_object_new_int64(atol(tok)));
	json_object_object_add(c, "groups", a);
	for (size_t k = 0; k < ARRAY_SIZE(caps); k++) {
		if (status_field(status, caps[k], v, sizeof(v)))
			return -EBADMSG;
		js_u64(c, caps[k], strtoull(v, NULL, 16));
	}
	if (!status_field(status, "NoNewPrivs", v, sizeof(v)))
		js_bool(c, "no_new_privs", atoi(v));
	return 0;
}

/*
 * Resource limits, from /proc/PID/limits: prlimit() on a process of other
 * ids needs CAP_SYS_RESOURCE. One line per limit, in the kernel's order,
 * soft and hard at fixed columns ("%-25s %-20s %-20s").
 */
static int dump_rlimits(pid_t pid, struct json_object *core)
{
	struct json_object *a = json_object_new_array();
	char path[64], buf[4096], *line, *save;
	int res = 0;

	json_object_object_add(core, "rlimits", a);
	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -errno;
	line = strtok_r(buf, "\n", &save); /* the heading */
	while ((line = strtok_r(NULL, "\n", &save)) && res < RLIM_NLIMITS) {
		struct json_object *l = json_object_new_array();
		const char *cols[2] = { line + 26, line + 47 };

		if (strlen(line) < 48) {
			json_object_put(l);
			return -EBADMSG;
		}
		for (int k = 0; k < 2; k++)
			json_object_array_add(l, json_object_new_uint64(
							 strncmp(cols[k], "unlimited", 9) ?
								 strtoull(cols[k], NULL, 10) :
								 RLIM_INFINITY));
		json_object_array_add(a, l);
		res++;
	}
	return res == RLIM_NLIMITS ? 0 : -EBADMSG;
}

/* The mm's fields (/proc/PID/stat 26-51) and auxv, with the break asked of the process. */
static int dump_mm(pid_t pid, struct remote *r, struct json_object *core)
{
	static const struct {
		int field;
		const char *name;
	} fields[] = {
		{ 26, "start_code" }, { 27, "end_code" },   { 28, "start_stack" },
		{ 45, "start_data" }, { 46, "end_data" },   { 47, "start_brk" },
		{ 48, "arg_start" },  { 49, "arg_end" },    { 50, "env_start" },
		{ 51, "env_end" },
	};
	struct json_object *mm = json_object_new_object(), *auxv = json_object_new_array();
	char path[64], buf[4096], *p, *tok, *save;
	uint64_t aux[128];
	long brk;
	ssize_t n;
	int field;

	json_object_object_add(core, "mm", mm);
	json_object_object_add(mm, "auxv", auxv);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return -EBADMSG;
	/* field 3 (state) is the first after the ')' */
	field = 3;
	for (tok = strtok_r(p + 2, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++)
		for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
			if (fields[i].field == field)
				js_u64(mm, fields[i].name, strtoull(tok, NULL, 10));
	brk = remote_syscall(r, SYS_brk, 0, 0, 0, 0, 0, 0);
	if (brk < 0 && brk > -4096)
		return brk;
	js_u64(mm, "brk", brk);
	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	n = read_file(path, (char *)aux, sizeof(aux));
	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n / 8; i++)
		json_object_array_add(auxv, json_object_new_uint64(aux[i]));
	return 0;
}

/* Handlers of the signals the process catches or ignores. */
static int dump_sigactions(const char *status, struct remote *r, struct json_object *core)
{
	struct json_object *a = json_object_new_array();
	char v[64];
	uint64_t caught = 0, ignored = 0;

	json_object_object_add(core, "sigactions", a);
	if (!status_field(status, "SigCgt", v, sizeof(v)))
		caught = strtoull(v, NULL, 16);
	if (!status_field(status, "SigIgn", v, sizeof(v)))
		ignored = strtoull(v, NULL, 16);
	for (int sig = 1; sig <= 64; sig++) {
		struct json_object *s;
		struct ksigaction ka;
		long ret;

		if (!((caught | ignored) >> (sig - 1) & 1) || sig == SIGKILL || sig == SIGSTOP)
			continue;
		ret = remote_syscall(r, SYS_rt_sigaction, sig, 0, r->scratch, 8, 0, 0);
		if (ret)
			return ret;
		if (remote_read(r, r->scratch, &ka, sizeof(ka)))
			return -EIO;
		s = json_object_new_object();
		js_i64(s, "sig", sig);
		js_u64(s, "handler", ka.handler);
		js_u64(s, "flags", ka.flags);
		js_u64(s, "restorer", ka.restorer);
		js_u64(s, "mask", ka.mask);
		json_object_array_add(a, s);
	}
	return 0;
}

static int dump_itimers(struct remote *r, struct json_object *core)
{
	static const char *const names[] = { "real", "virtual", "prof" };
	struct json_object *t = json_object_new_object();

	json_object_object_add(core, "itimers", t);
	for (int which = 0; which < 3; which++) {
		struct json_object *a = json_object_new_array();
		struct itimerval it;
		long ret = remote_syscall(r, SYS_getitimer, which, r->scratch, 0, 0, 0, 0);

		if (ret)
			return ret;
		if (remote_read(r, r->scratch, &it, sizeof(it)))
			return -EIO;
		json_object_array_add(a, json_object_new_int64(it.it_interval.tv_sec));
		json_object_array_add(a, json_object_new_int64(it.it_interval.tv_usec));
		json_object_array_add(a, json_object_new_int64(it.it_value.tv_sec));
		json_object_array_add(a, json_object_new_int64(it.it_value.tv_usec));
		json_object_object_add(t, names[which], a);
	}
	return 0;
}

/* Signals queued for a thread (or, shared, for the process), read without taking them. */
static int dump_pending_list(pid_t tid, int shared, struct json_object **list)
{
	struct peeksiginfo_args args = { .flags = shared ? PEEKSIGINFO_SHARED : 0, .nr = 1 };
	struct json_object *a = json_object_new_array(), *tmp;
	siginfo_t si;

	*list = a;
	for (;; args.off++) {
		long n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, &si);

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		tmp = json_object_new_object();
		js_hex(tmp, "siginfo", &si, sizeof(si));
		json_object_array_add(a, json_object_get(json_object_object_get(tmp, "siginfo")));
		json_object_put(tmp);
	}
}

/*
 * How a thread stopped inside a syscall goes on: "restart" re-runs it (the
 * kernel would have), "interrupt" makes it return -EINTR (its restart state
 * lives in the kernel and does not survive), "none" when not in one.
 */
static const char *syscall_state(const struct user_regs_struct *regs)
{
	long ax = (long)regs->rax;

	if ((long)regs->orig_rax < 0)
		return "none";
	switch (ax) {
	case -512: /* ERESTARTSYS */
	case -513: /* ERESTARTNOINTR */
	case -514: /* ERESTARTNOHAND */
		return "restart";
	case -516: /* ERESTART_RESTARTBLOCK */
		return "interrupt";
	}
	return "none";
}

static int dump_thread(pid_t pid, pid_t tid, struct json_object **out)
{
	struct json_object *t = json_object_new_object(), *pending;
	char path[64], status[4096], comm[32];
	struct user_regs_struct regs;
	struct rseq_config rseq;
	uint64_t robust = 0;
	size_t robust_len = 0;
	void *xs = malloc(XSTATE_MAX);
	size_t xlen = XSTATE_MAX;
	uint64_t mask;
	int err;

	*out = t;
	if (!xs)
		return -ENOMEM;
	err = regs_get(tid, &regs);
	if (!err)
		err = xstate_get(tid, xs, &xlen);
	if (!err)
		err = sigmask_get(tid, &mask);
	if (!err)
		err = dump_pending_list(tid, 0, &pending);
	if (!err)
		err = read_status(tid, status, sizeof(status));
	if (err) {
		free(xs);
		pr_err("cannot read thread %d of pid %d: %s", tid, pid, strerror(-err));
		return err;
	}
	js_i64(t, "tid", innermost(status, "NSpid"));
	js_i64(t, "sys_tid", tid);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	if (read_file(path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = 0;
	js_str(t, "comm", comm);
	json_object_object_add(t, "regs", regs_json(&regs));
	js_hex(t, "xstate", xs, xlen);
	js_u64(t, "sigmask", mask);
	json_object_object_add(t, "pending", pending);
	js_str(t, "syscall", syscall_state(&regs));
	if (syscall(SYS_get_robust_list, tid, &robust, &robust_len) == 0) {
		js_u64(t, "robust_list", robust);
		js_u64(t, "robust_list_len", robust_len);
	}
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rseq), &rseq) == sizeof(rseq) &&
	    rseq.abi_pointer) {
		struct json_object *r = json_object_new_object();

		js_u64(r, "addr", rseq.abi_pointer);
		js_u64(r, "len", rseq.abi_size);
		js_u64(r, "sig", rseq.signature);
		js_u64(r, "flags", rseq.flags);
		json_object_object_add(t, "rseq", r);
	}
	free(xs);
	return 0;
}

/*
 * A thread stopped in a sleep (nanosleep, clock_nanosleep, or the
 * restart_syscall that goes on with one) keeps the time it has left in the
 * kernel, in its restart block: read with the tracer's `sleeps` iterator,
 * as time left on the sleep's clock and where the sleep reports it.
 */
static int in_sleep(struct json_object *t)
{
	struct json_object *regs, *v;
	long nr = -1;

	if (json_object_object_get_ex(t, "regs", &regs) &&
	    json_object_object_get_ex(regs, "orig_rax", &v))
		nr = json_object_get_int64(v);
	return (nr == SYS_nanosleep || nr == SYS_clock_nanosleep || nr == SYS_restart_syscall) &&
	       !strcmp(json_object_get_string(json_object_object_get(t, "syscall")), "interrupt");
}

static int dump_sleeps(const pid_t *tids, size_t ntids, struct json_object *threads)
{
	char *line = NULL;
	size_t want = 0, cap = 0;
	FILE *f;
	int err;

	for (size_t i = 0; i < ntids; i++)
		want += in_sleep(json_object_array_get_idx(threads, i));
	if (!want)
		return 0;
	f = tracer_iter_fopen("sleeps", &err);
	if (!f)
		return err;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long expires, rmtp;
		struct timespec now;
		long long clockid;
		char fn[128];
		unsigned tid;

		/* the restart block of a sleep, not another syscall's */
		if (sscanf(line, "%u %127s %lld %llu %llu", &tid, fn, &clockid, &expires, &rmtp) != 5 ||
		    strcmp(fn, "hrtimer_nanosleep_restart"))
			continue;
		for (size_t i = 0; i < ntids; i++) {
			struct json_object *t = json_object_array_get_idx(threads, i), *o;
			int64_t left;

			if ((pid_t)tid != tids[i] || !in_sleep(t) || clock_gettime(clockid, &now))
				continue;
			left = (int64_t)(expires - (now.tv_sec * 1000000000ull + now.tv_nsec));
			o = json_object_new_object();
			js_i64(o, "clockid", clockid);
			js_i64(o, "left_ns", left > 0 ? left : 0);
			js_u64(o, "rmtp", rmtp);
			json_object_object_add(t, "sleep", o);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/*
 * What only each thread can say of itself: where the kernel clears its tid
 * when it ends (set_tid_address; pthread_join waits on it) and its
 * alternate signal stack. Asked of every thread with r's scratch page,
 * which all threads share.
 */
static int dump_thread_self(struct remote *r, const pid_t *tids, size_t ntids,
			    struct json_object *threads)
{
	for (size_t i = 0; i < ntids; i++) {
		struct json_object *thread;
		struct remote one, *t = r;
		uint64_t addr = 0;
		stack_t ss;
		long ret;
		int err;

		if (tids[i] != r->tid) {
			err = remote_open(&one, tids[i]);
			if (err)
				return err;
			t = &one;
		}
		thread = json_object_array_get_idx(threads, i);
		/* the scratch is the process's: every thread works in it, the first unmaps it */
		t->scratch = r->scratch;
		t->scratch_len = r->scratch_len;
		ret = remote_syscall(t, SYS_prctl, PR_GET_TID_ADDRESS, r->scratch, 0, 0, 0, 0);
		if (ret == 0 && remote_read(r, r->scratch, &addr, sizeof(addr)))
			ret = -EIO;
		if (ret == 0)
			ret = remote_syscall(t, SYS_sigaltstack, 0, r->scratch, 0, 0, 0, 0);
		if (ret == 0 && remote_read(r, r->scratch, &ss, sizeof(ss)))
			ret = -EIO;
		if (ret == 0)
			ret = task_attrs_save(t, r->tid, 1, thread);
		if (t != r) {
			t->scratch = 0;
			remote_close(t);
		}
		if (ret)
			return ret;
		js_u64(thread, "clear_tid", addr);
		if (!(ss.ss_flags & SS_DISABLE)) {
			struct json_object *o = json_object_new_object();

			js_u64(o, "sp", (uintptr_t)ss.ss_sp);
			js_u64(o, "size", ss.ss_size);
			js_i64(o, "flags", ss.ss_flags & ~SS_ONSTACK);
			json_object_object_add(thread, "altstack", o);
		}
	}
	return 0;
}

int dump_process(struct dump *d, pid_t pid, const pid_t *tids, size_t ntids,
		 struct json_object **out)
{
	struct json_object *core = json_object_new_object(), *threads, *pending;
	char status[8192], buf[PATH_MAX], v[64];
	struct remote r;
	int err, remote_up = 0;

	*out = core;
	json_object_object_add(core, "objects", json_object_new_array());
	err = read_status(pid, status, sizeof(status));
	if (err) {
		pr_err("cannot read pid %d: %s", pid, strerror(-err));
		return err;
	}
	if (!status_field(status, "Seccomp", v, sizeof(v)) && atoi(v) != 0) {
		pr_err("pid %d runs under seccomp (mode %s): appshot cannot restore its filters yet",
		       pid, v);
		return -ENOTSUP;
	}
	d->vpid = innermost(status, "NSpid");
	js_i64(core, "pid", d->vpid);
	js_i64(core, "sys_pid", pid);
	js_i64(core, "ppid", virtual_ppid(pid, status));
	js_i64(core, "pgid", innermost(status, "NSpgid"));
	js_i64(core, "sid", innermost(status, "NSsid"));
	if (!status_field(status, "Name", buf, sizeof(buf)))
		js_str(core, "comm", buf);
	link_of(pid, "exe", buf, sizeof(buf));
	js_str(core, "exe", buf);
	/* a directory removed while it was the cwd: made for the while at restore (a ghost) */
	link_of(pid, "cwd", buf, sizeof(buf));
	if (strlen(buf) > 10 && !strcmp(buf + strlen(buf) - 10, " (deleted)")) {
		buf[strlen(buf) - 10] = 0;
		js_bool(core, "cwd_deleted", 1);
	}
	js_str(core, "cwd", buf);
	link_of(pid, "root", buf, sizeof(buf));
	if (strlen(buf) > 10 && !strcmp(buf + strlen(buf) - 10, " (deleted)")) {
		pr_err("pid %d's root directory (%s) was removed: appshot cannot save that yet",
		       d->vpid, buf);
		return -ENOTSUP;
	}
	js_str(core, "root", buf);
	if (!status_field(status, "Umask", v, sizeof(v)))
		js_i64(core, "umask", strtol(v, NULL, 8));
	snprintf(buf, sizeof(buf), "/proc/%d/personality", pid);
	if (read_file(buf, v, sizeof(v)) > 0)
		js_u64(core, "personality", strtoull(v, NULL, 16));
	err = dump_creds(status, core);
	if (!err)
		err = dump_rlimits(pid, core);
	if (err) {
		pr_err("cannot read pid %d's credentials or limits", pid);
		return err;
	}

	/* Threads first, as they are: injecting changes the leader's registers. */
	threads = json_object_new_array();
	json_object_object_add(core, "threads", threads);
	for (size_t i = 0; i < ntids; i++) {
		struct json_object *t;

		err = dump_thread(pid, tids[i], &t);
		json_object_array_add(threads, t);
		if (err)
			return err;
	}
	err = dump_pending_list(pid, 1, &pending);
	json_object_object_add(core, "shared_pending", pending);
	if (!err)
		err = dump_sleeps(tids, ntids, threads);
	if (err)
		return err;

	err = remote_open(&r, pid);
	if (err) {
		pr_err("cannot work in pid %d: %s", pid, strerror(-err));
		return err;
	}
	remote_up = 1;
	err = dump_mm(pid, &r, core);
	/* after the memory: the scratch page is not the application's */
	if (!err)
		err = remote_scratch(&r, 4096);
	if (!err)
		err = dump_files(d, pid, &r, core);
	if (!err)
		err = dump_sigactions(status, &r, core);
	if (!err)
		err = dump_itimers(&r, core);
	if (!err)
		err = dump_thread_self(&r, tids, ntids, threads);
	if (!err)
		err = task_attrs_save(&r, pid, 0, core);
	if (!err)
		err = posix_timers_save(&r, pid, d->vpid, threads, core);
	if (!err) {
		long dumpable = remote_syscall(&r, SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
		long bits = remote_syscall(&r, SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);

		if (dumpable < 0 || bits < 0)
			err = dumpable < 0 ? dumpable : bits;
		js_i64(core, "dumpable", dumpable);
		/* with the credentials: keep-caps, no-root, their locks */
		js_i64(jg_obj(core, "creds"), "securebits", bits);
	}
	/* The scratch page goes before the memory is read: it is not the process's. */
	if (!err)
		err = remote_close(&r);
	else
		remote_close(&r);
	remote_up = 0;
	if (!err)
		err = dump_memory(d, pid, core);
	if (remote_up)
		remote_close(&r);
	return err;
}

void dump_free(struct dump *d)
{
	dump_tcp_release(d, 0);
	free(d->files);
	free(d->seen);
	for (size_t i = 0; i < d->npipes; i++)
		free(d->pipes[i].files);
	free(d->pipes);
	for (size_t i = 0; i < d->nsocks; i++)
		json_object_put(d->socks[i].inet);
	free(d->socks);
	free(d->given);
	d->given = NULL;
	d->ngiven = 0;
	free(d->flights);
	d->flights = NULL;
	d->nflights = 0;
	d->socks = NULL;
	d->nsocks = 0;
	d->pipes = NULL;
	d->npipes = 0;
	d->files = NULL;
	d->seen = NULL;
	d->nfiles = d->nseen = 0;
}
