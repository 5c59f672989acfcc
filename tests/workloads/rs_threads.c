// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: threads caught busy. Each thread spins in an assembly
 * loop that keeps its whole state in registers: every vector register
 * (zmm0-31 and the k masks with AVX-512, else ymm0-15, else xmm0-15) grows
 * by a constant each turn, an x87 register counts turns, MXCSR and the x87
 * control word hold non-default rounding. The snapshot lands mid-loop; after
 * restore each loop must still run (progress) and its registers must equal
 * exactly what that many turns give. Each thread also checks its TID, TLS
 * (fs_base and a __thread value), signal mask, name and rseq registration.
 *
 * usage: rs_threads [cycles]
 */
#include <asm/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <time.h>

#include "wl.h"

#define NTHREADS 4
#define REGS_OFF 0	 /* 32 slots of 64 bytes */
#define K_OFF 2048	 /* k1-k7 */
#define X87_OFF 2112	 /* out: the x87 turn count */
#define MXCSR_OFF 2120
#define FCW_OFF 2124
#define AREA 2176
#define MXCSR_RZ 0x7f80	 /* all exceptions masked, round toward zero */
#define FCW_RZ 0x0f7f	 /* all exceptions masked, extended precision, truncate */

/*
 * uint64_t spin_*(const void *in, void *out, volatile uint64_t *progress,
 *                 volatile int *stop): load the registers from in, add the
 * last register to every other one per turn until *stop, store them to out;
 * returns the number of turns. All vector, mask and x87 registers are
 * caller-saved in the SysV ABI, so nothing needs saving.
 */
#define REGS16 "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"
#define REGS15 "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14"
#define REGS32 REGS16 ",16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"
#define REGS31 REGS16 ",16,17,18,19,20,21,22,23,24,25,26,27,28,29,30"
#define SPIN_ENTER                                                                 \
	"ldmxcsr 2120(%rdi)\n fldcw 2124(%rdi)\n fldz\n fld1\n xor %eax, %eax\n"
#define SPIN_TURN "fadd %st(0), %st(1)\n inc %rax\n mov %rax, (%rdx)\n cmpl $0, (%rcx)\n je 1b\n"
#define SPIN_LEAVE                                                                 \
	"fstp %st(0)\n fistpll 2112(%rsi)\n stmxcsr 2120(%rsi)\n fnstcw 2124(%rsi)\n" \
	"sub $8, %rsp\n movl $0x1f80, (%rsp)\n ldmxcsr (%rsp)\n"                       \
	"movw $0x37f, 4(%rsp)\n fldcw 4(%rsp)\n add $8, %rsp\n"

__asm__(".text\n"
	".globl spin_zmm\n .type spin_zmm, @function\n spin_zmm:\n" SPIN_ENTER
	".irp i," REGS32 "\n vmovdqu64 \\i*64(%rdi), %zmm\\i\n .endr\n"
	".irp k,1,2,3,4,5,6,7\n kmovq 2048+(\\k-1)*8(%rdi), %k\\k\n .endr\n"
	"1:\n .irp i," REGS31 "\n vpaddq %zmm31, %zmm\\i, %zmm\\i\n .endr\n" SPIN_TURN
	".irp i," REGS32 "\n vmovdqu64 %zmm\\i, \\i*64(%rsi)\n .endr\n"
	".irp k,1,2,3,4,5,6,7\n kmovq %k\\k, 2048+(\\k-1)*8(%rsi)\n .endr\n" SPIN_LEAVE
	"vzeroupper\n ret\n .size spin_zmm, .-spin_zmm\n"

	".globl spin_ymm\n .type spin_ymm, @function\n spin_ymm:\n" SPIN_ENTER
	".irp i," REGS16 "\n vmovdqu \\i*64(%rdi), %ymm\\i\n .endr\n"
	"1:\n .irp i," REGS15 "\n vpaddq %ymm15, %ymm\\i, %ymm\\i\n .endr\n" SPIN_TURN
	".irp i," REGS16 "\n vmovdqu %ymm\\i, \\i*64(%rsi)\n .endr\n" SPIN_LEAVE
	"vzeroupper\n ret\n .size spin_ymm, .-spin_ymm\n"

	".globl spin_xmm\n .type spin_xmm, @function\n spin_xmm:\n" SPIN_ENTER
	".irp i," REGS16 "\n movdqu \\i*64(%rdi), %xmm\\i\n .endr\n"
	"1:\n .irp i," REGS15 "\n paddq %xmm15, %xmm\\i\n .endr\n" SPIN_TURN
	".irp i," REGS16 "\n movdqu %xmm\\i, \\i*64(%rsi)\n .endr\n" SPIN_LEAVE
	"ret\n .size spin_xmm, .-spin_xmm\n");

typedef uint64_t spin_fn(const void *in, void *out, volatile uint64_t *progress,
			 volatile int *stop);
spin_fn spin_zmm, spin_ymm, spin_xmm;

static const struct {
	const char *name;
	spin_fn *fn;
	int nregs, lanes, kmasks;
} kinds[] = {
	{ "avx512", spin_zmm, 32, 8, 1 },
	{ "avx2", spin_ymm, 16, 4, 0 },
	{ "sse2", spin_xmm, 16, 2, 0 },
};
static int kind;

static __thread uint64_t tls_value;
static volatile int stop;
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	int idx;
	pthread_t th;
	volatile uint64_t progress;
	pid_t tid;
	unsigned long fs_base;
	char name[16];
	sigset_t mask;
	uint32_t rseq_len; /* the length glibc registered with: re-registering gives EBUSY */
	_Alignas(64) unsigned char in[AREA], out[AREA];
};

static struct worker workers[NTHREADS];

static uint64_t pattern(int idx, int reg, int lane)
{
	return ((uint64_t)idx << 56) ^ ((uint64_t)reg << 40) ^ (lane * 0x9e3779b97f4a7c15ull);
}

static struct rseq *my_rseq(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static long rseq_again(uint32_t len)
{
	return syscall(SYS_rseq, my_rseq(), len, 0, RSEQ_SIG) ? errno : 0;
}

static void check_worker(struct worker *w, uint64_t turns)
{
	const int nregs = kinds[kind].nregs, lanes = kinds[kind].lanes;
	unsigned long fs = 0;
	sigset_t mask;
	char name[16] = "";
	uint64_t x87, got, want;
	uint32_t mxcsr;
	uint16_t fcw;

	memcpy(&x87, w->out + X87_OFF, 8);
	memcpy(&mxcsr, w->out + MXCSR_OFF, 4);
	memcpy(&fcw, w->out + FCW_OFF, 2);
	pthread_mutex_lock(&check_lock);
	wl_expect(mxcsr == MXCSR_RZ, "thread %d: MXCSR is %#x, was %#x", w->idx, mxcsr, MXCSR_RZ);
	wl_expect(fcw == FCW_RZ, "thread %d: the x87 control word is %#x, was %#x", w->idx, fcw,
		  FCW_RZ);
	wl_expect(x87 == turns, "thread %d: the x87 count is %llu after %llu turns", w->idx,
		  (unsigned long long)x87, (unsigned long long)turns);
	for (int r = 0; r < nregs; r++)
		for (int l = 0; l < lanes; l++) {
			memcpy(&got, w->out + REGS_OFF + r * 64 + l * 8, 8);
			want = pattern(w->idx, r, l);
			if (r < nregs - 1)
				want += turns * pattern(w->idx, nregs - 1, l);
			if (got != want) {
				wl_expect(0, "thread %d: %s register %d lane %d is %#llx, not %#llx",
					  w->idx, kinds[kind].name, r, l, (unsigned long long)got,
					  (unsigned long long)want);
				r = nregs;
				break;
			}
		}
	if (kinds[kind].kmasks)
		wl_expect(!memcmp(w->in + K_OFF, w->out + K_OFF, 7 * 8),
			  "thread %d: the AVX-512 mask registers changed", w->idx);
	wl_expect(w->tid == (pid_t)syscall(SYS_gettid), "thread %d: tid %ld, was %d", w->idx,
		  syscall(SYS_gettid), w->tid);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	wl_expect(fs == w->fs_base, "thread %d: fs_base %#lx, was %#lx", w->idx, fs, w->fs_base);
	wl_expect(tls_value == pattern(w->idx, 99, 0), "thread %d: its __thread value changed",
		  w->idx);
	wl_expect(pthread_equal(pthread_self(), w->th), "thread %d: pthread_self changed", w->idx);
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (int s = 1; s < 32; s++)
		if (sigismember(&mask, s) != sigismember(&w->mask, s)) {
			wl_expect(0, "thread %d: signal %d %s blocked", w->idx, s,
				  sigismember(&mask, s) ? "is now" : "is no longer");
			break;
		}
	prctl(PR_GET_NAME, name);
	wl_expect(!strcmp(name, w->name), "thread %d: named \"%s\", was \"%s\"", w->idx, name,
		  w->name);
	if (w->rseq_len) {
		long err = rseq_again(w->rseq_len);

		wl_expect(err == EBUSY, "thread %d: rseq is not registered as it was (%s)", w->idx,
			  strerror(err));
		wl_expect(my_rseq()->cpu_id < 4096, "thread %d: rseq cpu_id is %u", w->idx,
			  my_rseq()->cpu_id);
	}
	pthread_mutex_unlock(&check_lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const uint32_t lens[] = { __rseq_size, 32 };
	sigset_t mask;
	uint64_t turns;

	w->tid = syscall(SYS_gettid);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &w->fs_base);
	tls_value = pattern(w->idx, 99, 0);
	snprintf(w->name, sizeof(w->name), "rs-spin-%d", w->idx);
	prctl(PR_SET_NAME, w->name);
	/* a mask of its own: SIGUSR1 in thread 0, then SIGUSR2, ... */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1 + w->idx);
	sigaddset(&mask, SIGRTMIN + w->idx);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	pthread_sigmask(SIG_SETMASK, NULL, &w->mask);
	for (size_t i = 0; i < 2 && __rseq_size && !w->rseq_len; i++)
		if (rseq_again(lens[i]) == EBUSY)
			w->rseq_len = lens[i];
	for (int r = 0; r < 32; r++)
		for (int l = 0; l < 8; l++) {
			uint64_t v = pattern(w->idx, r, l);

			memcpy(w->in + REGS_OFF + r * 64 + l * 8, &v, 8);
		}
	for (int k = 0; k < 7; k++) {
		uint64_t v = pattern(w->idx, 64 + k, k);

		memcpy(w->in + K_OFF + k * 8, &v, 8);
	}
	memcpy(w->in + MXCSR_OFF, &(uint32_t){ MXCSR_RZ }, 4);
	memcpy(w->in + FCW_OFF, &(uint16_t){ FCW_RZ }, 2);
	turns = kinds[kind].fn(w->in, w->out, &w->progress, &stop);
	check_worker(w, turns);
	return NULL;
}

/* Wait (at most 10 s) until every worker has turned past where it was. */
static void wait_progress(const uint64_t *was, const char *when)
{
	struct timespec pause = { 0, 1000000 };

	for (int tries = 0; tries < 10000; tries++) {
		int behind = 0;

		for (int i = 0; i < NTHREADS; i++)
			behind += workers[i].progress <= was[i];
		if (!behind)
			return;
		nanosleep(&pause, NULL);
	}
	for (int i = 0; i < NTHREADS; i++)
		wl_expect(workers[i].progress > was[i], "thread %d does not run %s", i, when);
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1;
	uint64_t at[NTHREADS] = { 0 };

	wl_init();
	__builtin_cpu_init();
	kind = __builtin_cpu_supports("avx512f") ? 0 : __builtin_cpu_supports("avx2") ? 1 : 2;
	fprintf(stderr, "workload: registers checked: %s; rseq: %s\n", kinds[kind].name,
		__rseq_size ? "registered by libc" : "not registered");
	for (int i = 0; i < NTHREADS; i++) {
		workers[i].idx = i;
		WL_CHECK(pthread_create(&workers[i].th, NULL, worker_main, &workers[i]) == 0);
	}
	wait_progress(at, "before the snapshot");
	for (int c = 1; c <= cycles; c++) {
		for (int i = 0; i < NTHREADS; i++)
			at[i] = workers[i].progress;
		wl_checkpoint("{\"cp\":%d,\"pid\":%d}", c, (int)getpid());
		/* they were stopped mid-loop: they must run on from there */
		for (int i = 0; i < NTHREADS; i++)
			at[i] = workers[i].progress;
		wait_progress(at, "after restore");
	}
	stop = 1;
	for (int i = 0; i < NTHREADS; i++)
		WL_CHECK(pthread_join(workers[i].th, NULL) == 0);
	for (int i = 0; i < NTHREADS; i++)
		wl_expect(workers[i].rseq_len || !__rseq_size,
			  "thread %d: no rseq registration found before the snapshot", i);
	return wl_result(cycles + 1);
}
