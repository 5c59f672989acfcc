// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: an application holding something appshot cannot save
 * yet, an io_uring instance. Its snapshot must fail and leave it running
 * untouched: after the failed attempt it must answer the harness (it is
 * neither frozen nor stopped), its ring is still open and its memory as
 * it was.
 *
 * usage: rs_iouring
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "wl.h"

int main(void)
{
	struct io_uring_params params = { 0 };
	volatile uint64_t sum = 0;
	int ring;

	wl_init();
	ring = syscall(SYS_io_uring_setup, 8, &params);
	WL_CHECK(ring >= 0);
	for (uint64_t i = 0; i < 1000000; i++)
		sum += i;
	wl_checkpoint("{\"cp\":1,\"pid\":%d,\"ring\":%d}", (int)getpid(), ring);
	wl_expect(fcntl(ring, F_GETFD) >= 0, "the io_uring fd is gone");
	wl_expect(sum == 499999500000ull, "its memory changed");
	for (uint64_t i = 0; i < 1000000; i++)
		sum += i;
	wl_expect(sum == 2 * 499999500000ull, "it cannot compute");
	return wl_result(2);
}
