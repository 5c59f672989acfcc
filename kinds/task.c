// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a process and each of its threads keep besides memory, fds and
 * signals: scheduling (policy, priority, nice, CPU affinity), I/O
 * priority, timer slack, parent-death signal, speculation controls and the
 * TSC, the OOM score, child subreaper, THP and KSM settings, memory
 * deny-write-execute, mlockall(MCL_FUTURE) and membarrier registrations.
 *
 * Each is one row: read from the stopped thread (remote syscalls, or
 * /proc, or the tracer's mm_state iterator), saved only when it is not
 * the kernel's default, checked when the image is read, and set again by
 * the restored thread itself before it gives up its privileges. A value
 * appshot does not know how to give back is refused at snapshot, named.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include "js.h"
#include "kind.h"
#include "log.h"
#include "remote.h"
#include "tracer.h"

#ifndef PR_GET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_GET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef PR_SPEC_L1D_FLUSH
#define PR_SPEC_L1D_FLUSH 2
#endif
#define IOPRIO_WHO_PROCESS 1
#define VM_LOCKED 0x2000ull
#define VM_LOCKONFAULT 0x80000ull
#define SCHED_ATTR_SIZE 56
#define CPU_BYTES 128 /* 1024 CPUs */

struct sched_attr_v1 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

struct task_attr {
	const char *key;
	int per_thread; /* else once for the process, by its first thread */
	/* From the stopped thread r (pid: its process): o[key] set, unless the default. */
	int (*save)(struct remote *r, pid_t pid, struct json_object *o);
	/* Is v as this row writes it? */
	int (*valid)(struct json_object *v);
	/* Set v again, in the restored thread r; -errno with why. */
	int (*restore)(struct remote *r, struct json_object *v, char *why, size_t len);
};

#define WHY(...)                                                              \
	do {                                                                  \
		snprintf(why, len, __VA_ARGS__);                              \
		return -EINVAL;                                               \
	} while (0)

static int is_int(struct json_object *v)
{
	return json_object_is_type(v, json_type_int);
}

/* A prctl that answers with its value (ret) or into an int at the scratch (ptr). */
static long get_prctl(struct remote *r, int op, int ptr, unsigned long arg2)
{
	int v = 0;
	long ret = remote_syscall(r, SYS_prctl, op, ptr ? r->scratch : arg2, 0, 0, 0, 0);

	if (ret < 0 || !ptr)
		return ret;
	return remote_read(r, r->scratch, &v, sizeof(v)) ? -EIO : v;
}

static int set_prctl(struct remote *r, const char *what, int op, unsigned long a2, unsigned long a3,
		     char *why, size_t len)
{
	long ret = remote_syscall(r, SYS_prctl, op, a2, a3, 0, 0, 0);

	if (ret < 0)
		WHY("cannot set its %s again: %s", what, strerror(-ret));
	return 0;
}

/* ---- scheduling ---- */

static int save_sched(struct remote *r, pid_t pid, struct json_object *o)
{
	struct sched_attr_v1 a = { 0 };
	struct json_object *x;
	long ret = remote_syscall(r, SYS_sched_getattr, 0, r->scratch, SCHED_ATTR_SIZE, 0, 0, 0);

	if (ret || (ret = remote_read(r, r->scratch, &a, sizeof(a))))
		return ret;
	if (a.policy == SCHED_OTHER && !a.nice && !a.flags && !a.util_min &&
	    (a.util_max == 0 || a.util_max == 1024))
		return 0;
	x = json_object_new_object();
	js_i64(x, "policy", a.policy);
	js_u64(x, "flags", a.flags);
	js_i64(x, "nice", a.nice);
	js_i64(x, "priority", a.priority);
	js_u64(x, "runtime", a.runtime);
	js_u64(x, "deadline", a.deadline);
	js_u64(x, "period", a.period);
	json_object_object_add(o, "sched", x);
	return 0;
}

static int valid_sched(struct json_object *v)
{
	int64_t policy, nice, prio;
	uint64_t u;

	return json_object_is_type(v, json_type_object) && !jg_i64(v, "policy", &policy) &&
	       !jg_i64(v, "nice", &nice) && !jg_i64(v, "priority", &prio) &&
	       !jg_u64(v, "flags", &u) && !jg_u64(v, "runtime", &u) && !jg_u64(v, "deadline", &u) &&
	       !jg_u64(v, "period", &u) && policy >= 0 && policy <= 6 && nice >= -20 &&
	       nice <= 19 && prio >= 0 && prio <= 99;
}

static int restore_sched(struct remote *r, struct json_object *v, char *why, size_t len)
{
	struct sched_attr_v1 a = { .size = SCHED_ATTR_SIZE };
	int64_t i;
	uint64_t u;
	long ret;

	jg_i64(v, "policy", &i), a.policy = i;
	jg_i64(v, "nice", &i), a.nice = i;
	jg_i64(v, "priority", &i), a.priority = i;
	jg_u64(v, "flags", &u), a.flags = u & ~0x20ull; /* not SCHED_FLAG_UTIL_CLAMP_MAX alone */
	jg_u64(v, "runtime", &a.runtime);
	jg_u64(v, "deadline", &a.deadline);
	jg_u64(v, "period", &a.period);
	if (remote_write(r, r->scratch, &a, sizeof(a)))
		return -EIO;
	ret = remote_syscall(r, SYS_sched_setattr, 0, r->scratch, 0, 0, 0, 0);
	if (ret < 0)
		WHY("cannot set its scheduling (policy %u, nice %d, priority %u) again: %s",
		    a.policy, a.nice, a.priority, strerror(-ret));
	return 0;
}

static int save_affinity(struct remote *r, pid_t pid, struct json_object *o)
{
	unsigned char mask[CPU_BYTES], all[CPU_BYTES];
	long n = remote_syscall(r, SYS_sched_getaffinity, 0, CPU_BYTES, r->scratch, 0, 0, 0);
	cpu_set_t online;

	if (n < 0)
		return n;
	memset(mask, 0, sizeof(mask));
	if (remote_read(r, r->scratch, mask, n))
		return -EIO;
	/* every CPU this machine has: the default, not saved */
	memset(all, 0, sizeof(all));
	if (sched_getaffinity(0, sizeof(online), &online) == 0)
		memcpy(all, &online, sizeof(online) < sizeof(all) ? sizeof(online) : sizeof(all));
	if (!memcmp(mask, all, sizeof(mask)))
		return 0;
	js_hex(o, "affinity", mask, sizeof(mask));
	return 0;
}

static int valid_hex(struct json_object *v)
{
	const char *s = json_object_get_string(v);

	return json_object_is_type(v, json_type_string) && strlen(s) == 2 * CPU_BYTES &&
	       strspn(s, "0123456789abcdef") == 2 * CPU_BYTES;
}

static int restore_affinity(struct remote *r, struct json_object *v, char *why, size_t len)
{
	unsigned char mask[CPU_BYTES];
	const char *s = json_object_get_string(v);
	long ret;

	for (int i = 0; i < CPU_BYTES; i++) {
		unsigned int b;

		sscanf(s + 2 * i, "%2x", &b);
		mask[i] = b;
	}
	if (remote_write(r, r->scratch, mask, sizeof(mask)))
		return -EIO;
	ret = remote_syscall(r, SYS_sched_setaffinity, 0, sizeof(mask), r->scratch, 0, 0, 0);
	if (ret < 0)
		WHY("cannot run on the CPUs it ran on again (%s): %s", s, strerror(-ret));
	return 0;
}

static int save_ioprio(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = remote_syscall(r, SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0, 0, 0, 0, 0);

	if (v < 0)
		return v;
	/* IOPRIO_CLASS_NONE: none set (it follows the nice value) */
	if (v >> 13)
		js_i64(o, "ioprio", v);
	return 0;
}

static int restore_ioprio(struct remote *r, struct json_object *v, char *why, size_t len)
{
	long ret = remote_syscall(r, SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
				  json_object_get_int(v), 0, 0, 0);

	if (ret < 0)
		WHY("cannot set its I/O priority %#x again: %s", json_object_get_int(v),
		    strerror(-ret));
	return 0;
}

/* ---- prctl ---- */

static int save_timerslack(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_TIMERSLACK, 0, 0);

	if (v < 0)
		return v;
	if (v != 50000) /* the default */
		js_i64(o, "timerslack_ns", v);
	return 0;
}

static int restore_timerslack(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "timer slack", PR_SET_TIMERSLACK, json_object_get_int64(v), 0, why,
			 len);
}

static int save_pdeathsig(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_PDEATHSIG, 1, 0);

	if (v < 0)
		return v;
	if (v)
		js_i64(o, "pdeathsig", v);
	return 0;
}

static int valid_signal(struct json_object *v)
{
	return is_int(v) && json_object_get_int(v) > 0 && json_object_get_int(v) <= 64;
}

static int restore_pdeathsig(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "parent-death signal", PR_SET_PDEATHSIG, json_object_get_int(v), 0, why,
			 len);
}

static int save_tsc(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_TSC, 1, 0);

	if (v == -EINVAL)
		return 0; /* not on this architecture */
	if (v < 0)
		return v;
	if (v != PR_TSC_ENABLE)
		js_i64(o, "tsc", v);
	return 0;
}

static int restore_tsc(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "TSC access", PR_SET_TSC, json_object_get_int(v), 0, why, len);
}

/* Speculation controls a thread changed: each kind that is not as the kernel starts it. */
static const int spec_which[] = { PR_SPEC_STORE_BYPASS, PR_SPEC_INDIRECT_BRANCH,
				  PR_SPEC_L1D_FLUSH };

static int save_spec(struct remote *r, pid_t pid, struct json_object *o)
{
	struct json_object *a = NULL;

	for (size_t i = 0; i < sizeof(spec_which) / sizeof(spec_which[0]); i++) {
		long v = get_prctl(r, PR_GET_SPECULATION_CTRL, 0, spec_which[i]);
		struct json_object *e;

		/* only what a thread can set (PR_SPEC_PRCTL), set away from enabled */
		if (v < 0 || !(v & PR_SPEC_PRCTL) || (v & ~PR_SPEC_PRCTL) == PR_SPEC_ENABLE)
			continue;
		if (!a) {
			a = json_object_new_array();
			json_object_object_add(o, "speculation", a);
		}
		e = json_object_new_array();
		json_object_array_add(e, json_object_new_int(spec_which[i]));
		json_object_array_add(e, json_object_new_int(v & ~PR_SPEC_PRCTL));
		json_object_array_add(a, e);
	}
	return 0;
}

static int valid_spec(struct json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return 0;
	for (size_t i = 0; i < ja_len(v); i++) {
		struct json_object *e = ja_at(v, i);

		if (!json_object_is_type(e, json_type_array) || ja_len(e) != 2)
			return 0;
	}
	return 1;
}

static int restore_spec(struct remote *r, struct json_object *v, char *why, size_t len)
{
	for (size_t i = 0; i < ja_len(v); i++) {
		struct json_object *e = ja_at(v, i);
		int which = json_object_get_int(ja_at(e, 0));
		int state = json_object_get_int(ja_at(e, 1));
		long ret = remote_syscall(r, SYS_prctl, PR_SET_SPECULATION_CTRL, which, state, 0, 0,
					  0);

		if (ret < 0)
			WHY("cannot set its speculation control %d to %#x again: %s", which, state,
			    strerror(-ret));
	}
	return 0;
}

/* ---- the process ---- */

static int save_oom(struct remote *r, pid_t pid, struct json_object *o)
{
	char path[64], buf[32];
	FILE *f;
	int v = 0;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%d", &v) != 1) {
		fclose(f);
		return -EBADMSG;
	}
	fclose(f);
	if (v)
		js_i64(o, "oom_score_adj", v);
	return 0;
}

static int valid_oom(struct json_object *v)
{
	return is_int(v) && json_object_get_int(v) >= -1000 && json_object_get_int(v) <= 1000;
}

static int restore_oom(struct remote *r, struct json_object *v, char *why, size_t len)
{
	char path[64];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", r->tid);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", json_object_get_int(v)) < 0)
		err = -errno;
	if (f && fclose(f) && !err)
		err = -errno;
	if (err)
		WHY("cannot set its OOM score adjustment %d again: %s%s", json_object_get_int(v),
		    strerror(-err),
		    err == -EACCES && json_object_get_int(v) < 0 ?
			    " (lowering it needs CAP_SYS_RESOURCE)" :
			    "");
	return 0;
}

static int save_subreaper(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_CHILD_SUBREAPER, 1, 0);

	if (v < 0)
		return v;
	if (v)
		js_bool(o, "child_subreaper", 1);
	return 0;
}

static int restore_subreaper(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "child subreaper mark", PR_SET_CHILD_SUBREAPER, 1, 0, why, len);
}

static int save_thp(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_THP_DISABLE, 0, 0);

	if (v < 0)
		return v;
	if (v)
		js_i64(o, "thp_disable", v);
	return 0;
}

static int restore_thp(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "THP setting", PR_SET_THP_DISABLE, 1, 0, why, len);
}

static int save_ksm(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_MEMORY_MERGE, 0, 0);

	if (v == -EINVAL)
		return 0; /* before Linux 6.4: none */
	if (v < 0)
		return v;
	if (v)
		js_bool(o, "memory_merge", 1);
	return 0;
}

static int restore_ksm(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "KSM setting", PR_SET_MEMORY_MERGE, 1, 0, why, len);
}

static int save_mdwe(struct remote *r, pid_t pid, struct json_object *o)
{
	long v = get_prctl(r, PR_GET_MDWE, 0, 0);

	if (v == -EINVAL)
		return 0; /* before Linux 6.3: none */
	if (v < 0)
		return v;
	if (v)
		js_i64(o, "mdwe", v);
	return 0;
}

static int restore_mdwe(struct remote *r, struct json_object *v, char *why, size_t len)
{
	return set_prctl(r, "memory-deny-write-execute", PR_SET_MDWE, json_object_get_int(v), 0,
			 why, len);
}

/* mlockall(MCL_FUTURE) and membarrier registrations, from the tracer's mm_state iterator. */
static int mm_state(pid_t pid, uint64_t *def_flags, unsigned int *membarrier)
{
	char line[128];
	int err, found = -ESRCH;
	FILE *f = tracer_iter_fopen("mm_state", &err);

	if (!f)
		return err;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long flags;
		unsigned int tgid, mb;

		if (sscanf(line, "%u %llx %x", &tgid, &flags, &mb) == 3 && (pid_t)tgid == pid) {
			*def_flags = flags;
			*membarrier = mb;
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* The registrations a state says were made (READY bits), as the commands that make them. */
static const struct {
	unsigned int state;
	int cmd;
	const char *name;
} barrier[] = {
	{ 1u << 0, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, "private expedited" },
	{ 1u << 2, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, "global expedited" },
	{ 1u << 4, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, "sync-core" },
	{ 1u << 6, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, "rseq" },
};
#define BARRIER_KNOWN 0xffu

static int save_mm(struct remote *r, pid_t pid, struct json_object *o)
{
	uint64_t def_flags = 0;
	unsigned int mb = 0;
	int err = mm_state(pid, &def_flags, &mb);

	if (err) {
		pr_err("pid %d: cannot read its memory's state: %s", pid, strerror(-err));
		return err;
	}
	if (def_flags & ~(VM_LOCKED | VM_LOCKONFAULT)) {
		pr_err("pid %d: every new mapping of it gets flags %#llx: appshot cannot save that",
		       pid, (unsigned long long)def_flags);
		return -ENOTSUP;
	}
	if (mb & ~BARRIER_KNOWN) {
		pr_err("pid %d: membarrier registrations %#x that appshot does not know", pid, mb);
		return -ENOTSUP;
	}
	if (def_flags & VM_LOCKED)
		js_str(o, "mlockall", def_flags & VM_LOCKONFAULT ? "future onfault" : "future");
	if (mb)
		js_i64(o, "membarrier", mb);
	return 0;
}

static int valid_membarrier(struct json_object *v)
{
	return is_int(v) && !(json_object_get_int(v) & ~BARRIER_KNOWN);
}

static int restore_membarrier(struct remote *r, struct json_object *v, char *why, size_t len)
{
	unsigned int mb = json_object_get_int(v);

	for (size_t i = 0; i < sizeof(barrier) / sizeof(barrier[0]); i++) {
		long ret;

		if (!(mb & barrier[i].state))
			continue;
		ret = remote_syscall(r, SYS_membarrier, barrier[i].cmd, 0, 0, 0, 0, 0);
		if (ret < 0)
			WHY("cannot register for %s membarriers again: %s", barrier[i].name,
			    strerror(-ret));
	}
	return 0;
}

static int valid_mlockall(struct json_object *v)
{
	const char *s = json_object_get_string(v);

	return json_object_is_type(v, json_type_string) &&
	       (!strcmp(s, "future") || !strcmp(s, "future onfault"));
}

static int restore_mlockall(struct remote *r, struct json_object *v, char *why, size_t len)
{
	int flags = MCL_FUTURE | (strstr(json_object_get_string(v), "onfault") ? MCL_ONFAULT : 0);
	long ret = remote_syscall(r, SYS_mlockall, flags, 0, 0, 0, 0, 0);

	if (ret < 0)
		WHY("cannot lock its future mappings again (mlockall): %s", strerror(-ret));
	return 0;
}

static const struct task_attr attrs[] = {
	/* per thread */
	{ "sched", 1, save_sched, valid_sched, restore_sched },
	{ "affinity", 1, save_affinity, valid_hex, restore_affinity },
	{ "ioprio", 1, save_ioprio, is_int, restore_ioprio },
	{ "timerslack_ns", 1, save_timerslack, is_int, restore_timerslack },
	{ "pdeathsig", 1, save_pdeathsig, valid_signal, restore_pdeathsig },
	{ "tsc", 1, save_tsc, is_int, restore_tsc },
	{ "speculation", 1, save_spec, valid_spec, restore_spec },
	/* the process */
	{ "oom_score_adj", 0, save_oom, valid_oom, restore_oom },
	{ "child_subreaper", 0, save_subreaper, NULL, restore_subreaper },
	{ "thp_disable", 0, save_thp, is_int, restore_thp },
	{ "memory_merge", 0, save_ksm, NULL, restore_ksm },
	{ "mdwe", 0, save_mdwe, is_int, restore_mdwe },
	{ "mlockall", 0, save_mm, valid_mlockall, restore_mlockall },
	{ "membarrier", 0, NULL, valid_membarrier, restore_membarrier },
};

int task_attrs_save(struct remote *r, pid_t pid, int thread, struct json_object *o)
{
	struct json_object *x = json_object_new_object();
	int err = 0;

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]) && !err; i++)
		if (attrs[i].per_thread == thread && attrs[i].save)
			err = attrs[i].save(r, pid, x);
	if (err) {
		if (err != -ENOTSUP)
			pr_err("pid %d thread %d: cannot read what it keeps (%s)", pid, r->tid,
			       strerror(-err));
		json_object_put(x);
		return err;
	}
	json_object_object_add(o, "attrs", x);
	return 0;
}

int task_attrs_check(struct json_object *o, int thread, char *why, size_t len)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, "attrs", &x))
		return 0;
	if (!json_object_is_type(x, json_type_object))
		WHY("its attributes are damaged");
	json_object_object_foreach(x, key, v)
	{
		size_t i = 0;

		while (i < sizeof(attrs) / sizeof(attrs[0]) &&
		       (strcmp(attrs[i].key, key) || attrs[i].per_thread != thread))
			i++;
		if (i == sizeof(attrs) / sizeof(attrs[0]))
			WHY("it keeps '%s', which this appshot does not know", key);
		if (attrs[i].valid ? !attrs[i].valid(v) : !json_object_is_type(v, json_type_boolean))
			WHY("its '%s' is damaged", key);
	}
	return 0;
}

int task_attrs_restore(struct remote *r, struct json_object *x, int thread, char *why,
		       size_t len)
{
	struct json_object *v;

	if (!x)
		return 0;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		int err;

		if (attrs[i].per_thread != thread || !json_object_object_get_ex(x, attrs[i].key, &v))
			continue;
		err = attrs[i].restore(r, v, why, len);
		if (err)
			return err;
	}
	return 0;
}
