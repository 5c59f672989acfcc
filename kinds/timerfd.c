// SPDX-License-Identifier: GPL-2.0-only
/*
 * timerfd: its clock, flags, time to the next expiry, interval, and the
 * expirations not yet read. The time is asked of the process itself
 * (timerfd_gettime): a periodic timer that fired and was not read yet shows
 * no time in fdinfo until the kernel forwards it, which gettime does, and
 * it counts the missed expirations into ticks as a read would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "js.h"
#include "kind.h"
#include "log.h"
#include "remote.h"
#include "rst.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

struct tfd {
	int clockid, flags;
	uint64_t ticks;
	struct itimerspec its; /* it_value: time left from the snapshot */
	int64_t real_ns; /* an absolute CLOCK_REALTIME timer: when it expires, else 0 */
};

static int claims(const struct fd_seen *s)
{
	return !strcmp(s->link, "anon_inode:[timerfd]");
}

static int realtime(int clockid)
{
	return clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	struct json_object *x;
	struct itimerspec its;
	char *info = NULL;
	const char *v;
	long ret;
	int clockid, flags;

	ret = remote_syscall(s->r, SYS_timerfd_gettime, s->fd, s->r->scratch, 0, 0, 0, 0);
	if (ret == 0)
		ret = remote_read(s->r, s->r->scratch, &its, sizeof(its));
	/* fdinfo again: the gettime has counted what a read would have */
	if (ret == 0)
		ret = fdinfo_read(s->pid, s->fd, &info);
	if (ret) {
		pr_err("pid %d fd %d: cannot read its timerfd: %s", s->vpid, s->fd, strerror(-ret));
		free(info);
		return ret;
	}
	x = json_object_new_object();
	v = fdinfo_value(info, "clockid:");
	clockid = v ? atoi(v) : 0;
	js_i64(x, "clockid", clockid);
	v = fdinfo_value(info, "ticks:");
	js_u64(x, "ticks", v ? strtoull(v, NULL, 10) : 0);
	v = fdinfo_value(info, "settime flags:");
	flags = v ? strtol(v, NULL, 8) : 0;
	js_i64(x, "flags", flags);
	js_u64(x, "value_s", its.it_value.tv_sec);
	js_u64(x, "value_ns", its.it_value.tv_nsec);
	js_u64(x, "interval_s", its.it_interval.tv_sec);
	js_u64(x, "interval_ns", its.it_interval.tv_nsec);
	if ((flags & TFD_TIMER_ABSTIME) && realtime(clockid) &&
	    (its.it_value.tv_sec || its.it_value.tv_nsec)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		js_i64(x, "real_ns", (now.tv_sec + its.it_value.tv_sec) * 1000000000LL +
					     now.tv_nsec + its.it_value.tv_nsec);
	}
	json_object_object_add(o, "timerfd", x);
	free(info);
	return 0;
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	struct json_object *x = jg_obj(o, "timerfd");
	struct tfd *t = calloc(1, sizeof(*t));
	uint64_t vs, vns, is, ins;

	f->state = t;
	if (!t || !x || jg_int(x, "clockid", &t->clockid) || jg_int(x, "flags", &t->flags) ||
	    jg_u64(x, "ticks", &t->ticks) || jg_u64(x, "value_s", &vs) ||
	    jg_u64(x, "value_ns", &vns) || jg_u64(x, "interval_s", &is) ||
	    jg_u64(x, "interval_ns", &ins) || vns >= 1000000000 || ins >= 1000000000 ||
	    vs > INT64_MAX / 2 || is > INT64_MAX / 2 ||
	    (t->flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) ||
	    (json_object_object_get_ex(x, "real_ns", NULL) && jg_i64(x, "real_ns", &t->real_ns))) {
		snprintf(why, len, "its timerfd is damaged");
		return -1;
	}
	t->its.it_value.tv_sec = vs;
	t->its.it_value.tv_nsec = vns;
	t->its.it_interval.tv_sec = is;
	t->its.it_interval.tv_nsec = ins;
	return 0;
}

/*
 * Armed again for what it had left, from now, as CRIU does; a timer set
 * for an absolute time stays absolute (its flags kept), and one on the
 * real-time clock expires at the time it was set for.
 */
static int arm(int fd, const struct tfd *t)
{
	struct itimerspec its = t->its;
	struct timespec now;

	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		return 0; /* disarmed */
	if (!(t->flags & TFD_TIMER_ABSTIME))
		return timerfd_settime(fd, 0, &its, NULL);
	if (t->real_ns) {
		its.it_value.tv_sec = t->real_ns / 1000000000;
		its.it_value.tv_nsec = t->real_ns % 1000000000;
	} else {
		if (clock_gettime(t->clockid, &now))
			return -1;
		its.it_value.tv_sec += now.tv_sec;
		its.it_value.tv_nsec += now.tv_nsec;
		if (its.it_value.tv_nsec >= 1000000000) {
			its.it_value.tv_sec++;
			its.it_value.tv_nsec -= 1000000000;
		}
	}
	return timerfd_settime(fd, t->flags, &its, NULL);
}

static int make(const struct rst_app *a, struct rst_fd *f, char *why, size_t len)
{
	const struct tfd *t = f->state;
	int fd = timerfd_create(t->clockid, TFD_CLOEXEC | (f->flags & O_NONBLOCK ? TFD_NONBLOCK : 0));

	if (fd < 0) {
		snprintf(why, len, "cannot make the timerfd (clock %d): %s", t->clockid,
			 strerror(errno));
		return -1;
	}
	if (arm(fd, t)) {
		snprintf(why, len, "cannot arm the timerfd: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (t->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &t->ticks)) {
		snprintf(why, len, "cannot give the timerfd its %llu expirations: %s",
			 (unsigned long long)t->ticks, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *x = jg_obj(o, "timerfd");
	uint64_t vs = 0, vns = 0, is = 0, ins = 0, ticks = 0;

	if (!x || jg_u64(x, "value_s", &vs) || jg_u64(x, "value_ns", &vns) ||
	    jg_u64(x, "interval_s", &is) || jg_u64(x, "interval_ns", &ins) ||
	    jg_u64(x, "ticks", &ticks))
		return;
	if (!vs && !vns)
		snprintf(buf, len, "disarmed, %llu expirations unread", (unsigned long long)ticks);
	else
		snprintf(buf, len, "next in %.3f s, every %.3f s, %llu expirations unread",
			 vs + vns / 1e9, is + ins / 1e9, (unsigned long long)ticks);
}

const struct fd_kind kind_timerfd = {
	.name = "timerfd",
	.claims = claims,
	.save = save,
	.parse = parse,
	.make = make,
	.describe = describe,
};
