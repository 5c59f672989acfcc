// SPDX-License-Identifier: GPL-2.0-only
/*
 * POSIX timers (timer_create): each with its id, clock, how it notifies
 * (a signal to the process or to one thread, or nothing), the signal and
 * its value, the time to its next expiry and its interval. The list and
 * notifications come from /proc/PID/timers, the times from the process
 * itself (timer_gettime). The restored process makes them again with
 * their ids (PR_TIMER_CREATE_RESTORE_IDS from Linux 6.13; before, ids come
 * in order, so it makes timers until each id comes and deletes those
 * between) and arms them for what they had left. Timers on another
 * process's CPU clock are refused; overruns not yet read are not kept.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "js.h"
#include "kind.h"
#include "log.h"
#include "remote.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif
#define TIMER_ID_MAX 65536 /* ids made in order at most this far */

/* struct sigevent as the kernel takes it */
struct ksigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;
	int32_t pad[11];
};

/* The application's id of system thread sys, from the process's threads; 0 if none. */
static pid_t vtid_of(struct json_object *threads, pid_t sys)
{
	for (size_t i = 0; i < ja_len(threads); i++) {
		struct json_object *t = ja_at(threads, i);
		int64_t s = 0, v = 0;

		if (!jg_i64(t, "sys_tid", &s) && s == sys && !jg_i64(t, "tid", &v))
			return v;
	}
	return 0;
}

int posix_timers_save(struct remote *r, pid_t pid, pid_t vpid, struct json_object *threads,
		      struct json_object *core)
{
	struct json_object *list = json_object_new_array();
	char path[64], line[256], how[32], whom[8];
	int id = -1, signo = 0, clock = 0, who = 0, err = 0;
	unsigned long long value = 0;
	FILE *f;

	json_object_object_add(core, "posix_timers", list);
	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("cannot read pid %d's POSIX timers", vpid);
		return -errno;
	}
	/* each timer is four lines, ClockID last */
	while (!err && fgets(line, sizeof(line), f)) {
		struct itimerspec its;
		struct json_object *t;
		long ret;

		if (sscanf(line, "ID: %d", &id) == 1 || sscanf(line, "signal: %d/%llx", &signo, &value) == 2 ||
		    sscanf(line, "notify: %31[^/]/%7[^.].%d", how, whom, &who) == 3)
			continue;
		if (sscanf(line, "ClockID: %d", &clock) != 1) {
			err = -EBADMSG;
			break;
		}
		if (clock < 0) {
			pr_err("pid %d has a POSIX timer (id %d) on another process's CPU clock: "
			       "appshot cannot save it yet", vpid, id);
			err = -ENOTSUP;
			break;
		}
		ret = remote_syscall(r, SYS_timer_gettime, id, r->scratch, 0, 0, 0, 0);
		if (ret == 0)
			ret = remote_read(r, r->scratch, &its, sizeof(its));
		if (ret) {
			pr_err("pid %d: cannot read its POSIX timer %d: %s", vpid, id, strerror(-ret));
			err = ret;
			break;
		}
		t = json_object_new_object();
		js_i64(t, "id", id);
		js_i64(t, "clock", clock);
		js_str(t, "notify", !strcmp(how, "none") ? "none" : !strcmp(whom, "tid") ? "thread" :
										 "signal");
		js_i64(t, "signal", signo);
		js_u64(t, "value", value);
		if (!strcmp(whom, "tid")) {
			pid_t v = vtid_of(threads, who);

			if (!v) {
				pr_err("pid %d: its POSIX timer %d signals thread %d, not one of its own: "
				       "appshot cannot save it", vpid, id, who);
				err = -ENOTSUP;
				json_object_put(t);
				break;
			}
			js_i64(t, "tid", v);
		}
		js_i64(t, "value_s", its.it_value.tv_sec);
		js_i64(t, "value_ns", its.it_value.tv_nsec);
		js_i64(t, "interval_s", its.it_interval.tv_sec);
		js_i64(t, "interval_ns", its.it_interval.tv_nsec);
		json_object_array_add(list, t);
		id = -1;
	}
	fclose(f);
	if (err == -EBADMSG)
		pr_err("pid %d: its POSIX timers are not listed as appshot knows them", vpid);
	return err;
}

struct ptimer {
	int id, clock, tid, signo;
	char notify[8];
	uint64_t value;
	struct itimerspec its;
};

static int parse_one(struct json_object *t, struct ptimer *p)
{
	int64_t vs, vns, is, ins;

	memset(p, 0, sizeof(*p));
	if (jg_int(t, "id", &p->id) || jg_int(t, "clock", &p->clock) ||
	    jg_str(t, "notify", p->notify, sizeof(p->notify)) || jg_int(t, "signal", &p->signo) ||
	    jg_u64(t, "value", &p->value) || jg_i64(t, "value_s", &vs) ||
	    jg_i64(t, "value_ns", &vns) || jg_i64(t, "interval_s", &is) ||
	    jg_i64(t, "interval_ns", &ins))
		return -1;
	if (!strcmp(p->notify, "thread") && jg_int(t, "tid", &p->tid))
		return -1;
	if (p->id < 0 || p->id > TIMER_ID_MAX || p->clock < 0 || p->clock > 15 || p->signo < 0 ||
	    p->signo > 64 || vs < 0 || is < 0 || vns < 0 || vns >= 1000000000 || ins < 0 ||
	    ins >= 1000000000 ||
	    (strcmp(p->notify, "none") && strcmp(p->notify, "signal") && strcmp(p->notify, "thread")))
		return -1;
	p->its.it_value.tv_sec = vs;
	p->its.it_value.tv_nsec = vns;
	p->its.it_interval.tv_sec = is;
	p->its.it_interval.tv_nsec = ins;
	return 0;
}

int posix_timers_check(struct json_object *core, char *why, size_t len)
{
	struct json_object *list;
	struct ptimer p;

	if (!json_object_object_get_ex(core, "posix_timers", &list))
		return 0;
	if (!json_object_is_type(list, json_type_array))
		goto bad;
	for (size_t i = 0; i < ja_len(list); i++)
		if (parse_one(ja_at(list, i), &p))
			goto bad;
	return 0;
bad:
	snprintf(why, len, "its POSIX timers are damaged");
	return -1;
}

/* timer_create in the restored process, asking for id where the kernel lets it: the id got. */
static long create(struct remote *r, const struct ptimer *p, int id)
{
	struct ksigevent ev = { .value = p->value, .signo = p->signo };
	int got = id;
	long ret;

	ev.notify = !strcmp(p->notify, "none")	 ? SIGEV_NONE :
		    !strcmp(p->notify, "thread") ? SIGEV_THREAD_ID :
						   SIGEV_SIGNAL;
	ev.tid = p->tid;
	if (remote_write(r, r->scratch, &ev, sizeof(ev)) ||
	    remote_write(r, r->scratch + 128, &got, sizeof(got)))
		return -EIO;
	ret = remote_syscall(r, SYS_timer_create, p->clock, r->scratch, r->scratch + 128, 0, 0, 0);
	if (ret)
		return ret;
	return remote_read(r, r->scratch + 128, &got, sizeof(got)) ? -EIO : got;
}

int posix_timers_restore(struct remote *r, struct json_object *list, char *why, size_t len)
{
	size_t n = list ? ja_len(list) : 0;
	struct ptimer *t = n ? calloc(n, sizeof(*t)) : NULL;
	int exact, err = 0;
	long ret;

	if (!n)
		return 0;
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		parse_one(ja_at(list, i), &t[i]); /* checked */
	/* in id order: made again in it */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && t[j].id < t[j - 1].id; j--) {
			struct ptimer x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	exact = remote_syscall(r, SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS,
			       PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0, 0) == 0;
	for (size_t i = 0; i < n && !err; i++) {
		long got = -1;

		for (int tries = 0; tries <= TIMER_ID_MAX; tries++) {
			got = create(r, &t[i], t[i].id);
			if (got < 0 || got >= t[i].id || exact)
				break;
			remote_syscall(r, SYS_timer_delete, got, 0, 0, 0, 0, 0); /* one between */
		}
		if (got != t[i].id) {
			snprintf(why, len, "cannot make its POSIX timer %d again (%s)", t[i].id,
				 got < 0 ? strerror(-got) : "the kernel gave another id");
			err = -EINVAL;
		}
	}
	if (exact)
		remote_syscall(r, SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS,
			       PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0, 0);
	/* armed for what they had left, from now */
	for (size_t i = 0; i < n && !err; i++) {
		if (!t[i].its.it_value.tv_sec && !t[i].its.it_value.tv_nsec)
			continue;
		if (remote_write(r, r->scratch, &t[i].its, sizeof(t[i].its))) {
			err = -EIO;
			break;
		}
		ret = remote_syscall(r, SYS_timer_settime, t[i].id, 0, r->scratch, 0, 0, 0);
		if (ret) {
			snprintf(why, len, "cannot arm its POSIX timer %d again: %s", t[i].id,
				 strerror(-ret));
			err = ret;
		}
	}
	free(t);
	return err;
}
