// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: what a process and its threads keep besides memory,
 * fds and signals. The main thread: nice 5, I/O priority best-effort 7,
 * timer slack 123456 ns, a parent-death signal, store-bypass speculation
 * disabled (where the kernel lets a thread choose); a second thread:
 * SCHED_BATCH on CPU 0 only. The process: OOM score +300, child subreaper,
 * THP disabled, KSM for all its memory (6.4+), mlockall(MCL_FUTURE),
 * private expedited membarriers, and areas locked, locked on fault,
 * mergeable, read sequentially and randomly, and mapped MAP_NORESERVE.
 * After the restores each is found as it was; a new mapping is locked.
 *
 * usage: rs_attrs [cycles]
 */
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>

#include "wl.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#define IOPRIO_BE_7 ((2 << 13) | 7)
#define AREA (64 << 10)

static pthread_barrier_t ready, done;
static volatile int batch_ok;

static void *batch_thread(void *arg)
{
	struct sched_param sp = { 0 };
	cpu_set_t one, now;

	(void)arg;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	WL_CHECK(sched_setscheduler(0, SCHED_BATCH, &sp) == 0);
	WL_CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done); /* the checkpoints are over */
	WL_CHECK(sched_getaffinity(0, sizeof(now), &now) == 0);
	batch_ok = sched_getscheduler(0) == SCHED_BATCH && CPU_COUNT(&now) == 1 &&
		   CPU_ISSET(0, &now);
	return NULL;
}

/* The VmFlags of the area at addr, from smaps. */
static void vmflags(void *addr, char *out, size_t len)
{
	char line[512], want[32];
	int found = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	WL_CHECK(f);
	out[0] = 0;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			found = 1;
		else if (found && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%.250s", line + 8);
			break;
		}
	}
	fclose(f);
}

static int has(const char *flags, const char *f)
{
	char w[8];

	snprintf(w, sizeof(w), " %s", f);
	return strstr(flags, w) != NULL;
}

static void *area(int flags)
{
	void *p = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1,
		       0);

	WL_CHECK(p != MAP_FAILED);
	memset(p, 7, AREA);
	return p;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, spec, ksm, mergeable, v;
	void *locked, *onfault, *merge, *seq, *rnd, *noreserve, *later;
	char flags[256];
	pthread_t t;
	FILE *f;

	wl_init();
	WL_CHECK(setpriority(PRIO_PROCESS, 0, 5) == 0);
	WL_CHECK(syscall(SYS_ioprio_set, 1, 0, IOPRIO_BE_7) == 0);
	WL_CHECK(prctl(PR_SET_TIMERSLACK, 123456) == 0);
	WL_CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR2) == 0);
	spec = prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, PR_SPEC_DISABLE, 0, 0) == 0;
	WL_CHECK((f = fopen("/proc/self/oom_score_adj", "we")) && fprintf(f, "300\n") > 0);
	fclose(f);
	WL_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	WL_CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0);
	ksm = prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) == 0;
	WL_CHECK(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0);

	locked = area(0);
	WL_CHECK(mlock(locked, AREA) == 0);
	onfault = area(0);
	WL_CHECK(syscall(SYS_mlock2, onfault, AREA, MLOCK_ONFAULT) == 0);
	merge = area(0);
	mergeable = madvise(merge, AREA, MADV_MERGEABLE) == 0;
	seq = area(0);
	WL_CHECK(madvise(seq, AREA, MADV_SEQUENTIAL) == 0);
	rnd = area(0);
	WL_CHECK(madvise(rnd, AREA, MADV_RANDOM) == 0);
	noreserve = area(MAP_NORESERVE);
	WL_CHECK(mlockall(MCL_FUTURE) == 0);

	pthread_barrier_init(&ready, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	WL_CHECK(pthread_create(&t, NULL, batch_thread, NULL) == 0);
	pthread_barrier_wait(&ready);

	for (int c = 1; c <= cycles; c++)
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());

	pthread_barrier_wait(&done);
	WL_CHECK(pthread_join(t, NULL) == 0);
	wl_expect(batch_ok, "the second thread is no longer SCHED_BATCH on CPU 0 only");
	errno = 0;
	v = getpriority(PRIO_PROCESS, 0);
	wl_expect(v == 5 && !errno, "nice is %d, not 5", v);
	v = syscall(SYS_ioprio_get, 1, 0);
	wl_expect(v == IOPRIO_BE_7, "the I/O priority is %#x, not %#x", v, IOPRIO_BE_7);
	v = prctl(PR_GET_TIMERSLACK);
	wl_expect(v == 123456, "the timer slack is %d ns, not 123456", v);
	WL_CHECK(prctl(PR_GET_PDEATHSIG, &v) == 0);
	wl_expect(v == SIGUSR2, "the parent-death signal is %d, not SIGUSR2", v);
	if (spec) {
		v = prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0);
		wl_expect((v & ~PR_SPEC_PRCTL) == PR_SPEC_DISABLE,
			  "store-bypass speculation is %#x, not disabled", v);
	}
	WL_CHECK((f = fopen("/proc/self/oom_score_adj", "re")) && fscanf(f, "%d", &v) == 1);
	fclose(f);
	wl_expect(v == 300, "the OOM score adjustment is %d, not 300", v);
	WL_CHECK(prctl(PR_GET_CHILD_SUBREAPER, &v) == 0);
	wl_expect(v == 1, "it is no longer a child subreaper");
	wl_expect(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "THP is no longer disabled");
	if (ksm)
		wl_expect(prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1, "KSM is no longer on");
	wl_expect(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0,
		  "private expedited membarriers are not registered (%s)", strerror(errno));

	vmflags(locked, flags, sizeof(flags));
	wl_expect(has(flags, "lo"), "the mlocked area is not locked: %s", flags);
	vmflags(onfault, flags, sizeof(flags));
	/* Linux 6.1 shows VM_LOCKONFAULT as "??" */
	wl_expect(has(flags, "lo") && (has(flags, "lf") || has(flags, "??")),
		  "the area locked on fault is not: %s", flags);
	if (mergeable) {
		vmflags(merge, flags, sizeof(flags));
		wl_expect(has(flags, "mg"), "the mergeable area is not: %s", flags);
	}
	vmflags(seq, flags, sizeof(flags));
	wl_expect(has(flags, "sr"), "the sequential area is not: %s", flags);
	vmflags(rnd, flags, sizeof(flags));
	wl_expect(has(flags, "rr"), "the random area is not: %s", flags);
	vmflags(noreserve, flags, sizeof(flags));
	wl_expect(has(flags, "nr"), "the MAP_NORESERVE area is not: %s", flags);
	later = area(0);
	vmflags(later, flags, sizeof(flags));
	wl_expect(has(flags, "lo"), "a new mapping is not locked (mlockall MCL_FUTURE): %s", flags);
	return wl_result(cycles + 1);
}
