// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `make bench` snapshots and restores as a chain: PROCS processes
 * (main and its children) sharing a SysV segment of MIB MiB (every page
 * written), a semaphore set, and a ring of pipes (process i writes to
 * i + 1), all asleep. It says "ready" on stdout once all is in place.
 *
 * usage: bench_chain PROCS MIB
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#define MAXP 64

int main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 8, ring[MAXP][2], shmid, semid;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	uint64_t *mem;

	if (procs < 1 || procs > MAXP)
		return 2;
	shmid = shmget(IPC_PRIVATE, mib << 20, IPC_CREAT | 0600);
	semid = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
	if (shmid < 0 || semid < 0 || (mem = shmat(shmid, NULL, 0)) == (void *)-1)
		return 2;
	for (size_t i = 0; i < (mib << 17); i++)
		mem[i] = i * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < procs; i++)
		if (pipe(ring[i]))
			return 2;
	for (int i = 1; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			/* keep the ends of the ring it uses: read from i, write to i + 1 */
			for (int k = 0; k < procs; k++) {
				if (k != i)
					close(ring[k][0]);
				if (k != (i + 1) % procs)
					close(ring[k][1]);
			}
			for (;;)
				pause();
		}
	}
	for (int k = 1; k < procs; k++) {
		close(ring[k][0]);
		if (k != 1 % procs)
			close(ring[k][1]);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
