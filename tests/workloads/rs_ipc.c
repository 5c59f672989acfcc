// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restore workload: SysV IPC shared by a small pre-forked team.
 *
 * main makes a semaphore set (a mutex and two counters with values), a
 * shared memory segment with a key (a counter, a pattern, a mailbox), a
 * private segment removed while attached, and a message queue holding
 * messages of mixed types; then forks two workers, which inherit the
 * attachments. The workers add to the shared counter under the semaphore
 * all the time, and answer the mailbox. After the restores main checks
 * every id, key and mode, the semaphore values, the pattern, the removed
 * segment, that the memory is still shared (a worker answers what main
 * writes; the counter equals the workers' own counts once they stop) and
 * the messages, in order and by type.
 *
 * With own-ipc it first makes an IPC namespace of its own (a tree adopted
 * with appshot-trace attach that lives in one).
 *
 * usage: rs_ipc [cycles [own-ipc]]
 */
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include "wl.h"

#define KEY 0x41505348 /* "APSH" */
#define SHM_SIZE (1 << 20)
#define WORKERS 2

struct shared {
	volatile long counter;
	volatile long stop;
	volatile long ask[WORKERS], answer[WORKERS];
	volatile long done[WORKERS];
	unsigned char pattern[SHM_SIZE / 2];
};

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int semid;

static void sem_op(short delta)
{
	struct sembuf op = { .sem_num = 0, .sem_op = delta };

	while (semop(semid, &op, 1) < 0)
		WL_CHECK(errno == EINTR);
}

static void __attribute__((noreturn)) work(struct shared *s, int me)
{
	long mine = 0;

	while (!s->stop) {
		sem_op(-1);
		s->counter++;
		sem_op(1);
		mine++;
		if (s->ask[me] != s->answer[me])
			s->answer[me] = s->ask[me];
		usleep(200);
	}
	s->done[me] = mine;
	_exit(0);
}

static int wait_answer(struct shared *s, int w, long v)
{
	for (int i = 0; i < 5000; i++) {
		if (s->answer[w] == v)
			return 1;
		usleep(1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1, shmid, gone_id, msqid, status;
	unsigned short vals[3] = { 1, 7, 42 }, now[3];
	struct { long type; char text[32]; } m;
	struct shmid_ds ds;
	struct msqid_ds qds;
	struct shared *s;
	unsigned char *gone;
	pid_t workers[WORKERS];
	long sum = 0;

	wl_init();
	if (argc > 2 && !strcmp(argv[2], "own-ipc"))
		WL_CHECK(unshare(CLONE_NEWIPC) == 0);
	WL_CHECK((semid = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600)) >= 0);
	WL_CHECK(semctl(semid, 0, SETALL, (union semun){ .array = vals }) == 0);
	WL_CHECK((shmid = shmget(KEY, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0640)) >= 0);
	WL_CHECK((s = shmat(shmid, NULL, 0)) != (void *)-1);
	for (size_t i = 0; i < sizeof(s->pattern); i++)
		s->pattern[i] = (unsigned char)(i * 7 + 3);
	WL_CHECK((gone_id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600)) >= 0);
	WL_CHECK((gone = shmat(gone_id, NULL, 0)) != (void *)-1);
	strcpy((char *)gone, "removed but attached");
	WL_CHECK(shmctl(gone_id, IPC_RMID, NULL) == 0);
	WL_CHECK((msqid = msgget(KEY + 1, IPC_CREAT | 0620)) >= 0);
	for (int i = 0; i < 6; i++) {
		m.type = 1 + i % 3;
		snprintf(m.text, sizeof(m.text), "message %d", i);
		WL_CHECK(msgsnd(msqid, &m, strlen(m.text) + 1, 0) == 0);
	}
	for (int w = 0; w < WORKERS; w++) {
		workers[w] = fork();
		WL_CHECK(workers[w] >= 0);
		if (workers[w] == 0)
			work(s, w);
	}
	while (s->counter < 100)
		usleep(1000);

	for (int c = 1; c <= cycles; c++) {
		wl_checkpoint("{\"cp\":%d,\"pid\":%d,\"semid\":%d,\"shmid\":%d,\"msqid\":%d}", c,
			      (int)getpid(), semid, shmid, msqid);
		/* the memory is still shared: each worker answers what main asks */
		for (int w = 0; w < WORKERS; w++) {
			s->ask[w] = 1000 + c;
			wl_expect(wait_answer(s, w, 1000 + c), "worker %d did not answer after cycle %d",
				  w, c);
		}
	}

	wl_expect(shmget(KEY, 0, 0) == shmid, "key %#x names shm %d, not %d", KEY, shmget(KEY, 0, 0),
		  shmid);
	wl_expect(msgget(KEY + 1, 0) == msqid, "key %#x names msg %d, not %d", KEY + 1,
		  msgget(KEY + 1, 0), msqid);
	wl_expect(shmctl(shmid, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0640 &&
			  ds.shm_segsz == SHM_SIZE && ds.shm_nattch == 1 + WORKERS,
		  "shm %d: mode %o, size %zu, %lu attached", shmid, ds.shm_perm.mode & 0777,
		  ds.shm_segsz, (unsigned long)ds.shm_nattch);
	wl_expect(shmctl(gone_id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST),
		  "the removed segment %d is not there, removed", gone_id);
	wl_expect(!strcmp((char *)gone, "removed but attached"), "the removed segment holds '%.32s'",
		  gone);
	for (size_t i = 0; i < sizeof(s->pattern); i++)
		if (s->pattern[i] != (unsigned char)(i * 7 + 3)) {
			wl_expect(0, "the pattern differs at byte %zu", i);
			break;
		}

	s->stop = 1;
	for (int w = 0; w < WORKERS; w++) {
		WL_CHECK(waitpid(workers[w], &status, 0) == workers[w]);
		wl_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d ended %#x", w,
			  status);
		sum += s->done[w];
	}
	wl_expect(s->counter == sum, "the counter is %ld, the workers counted %ld", s->counter,
		  sum);
	WL_CHECK(semctl(semid, 0, GETALL, (union semun){ .array = now }) == 0);
	wl_expect(now[0] == 1 && now[1] == 7 && now[2] == 42, "semaphores %u %u %u, not 1 7 42",
		  now[0], now[1], now[2]);
	wl_expect(msgctl(msqid, IPC_STAT, &qds) == 0 && qds.msg_qnum == 6 &&
			  (qds.msg_perm.mode & 0777) == 0620,
		  "msg %d: %lu messages, mode %o", msqid, (unsigned long)qds.msg_qnum,
		  qds.msg_perm.mode & 0777);
	/* by type: type 3 first (messages 2 and 5), then the rest in order */
	for (int i = 0; i < 2; i++) {
		char want[32];

		snprintf(want, sizeof(want), "message %d", 2 + 3 * i);
		wl_expect(msgrcv(msqid, &m, sizeof(m.text), 3, IPC_NOWAIT) > 0 &&
				  !strcmp(m.text, want),
			  "type 3: '%s', not '%s'", m.text, want);
	}
	for (int i = 0; i < 6; i++) {
		char want[32];

		if (i % 3 == 2)
			continue;
		snprintf(want, sizeof(want), "message %d", i);
		wl_expect(msgrcv(msqid, &m, sizeof(m.text), 0, IPC_NOWAIT) > 0 &&
				  m.type == 1 + i % 3 && !strcmp(m.text, want),
			  "'%s' of type %ld, not '%s'", m.text, m.type, want);
	}
	semctl(semid, 0, IPC_RMID);
	shmctl(shmid, IPC_RMID, NULL);
	msgctl(msqid, IPC_RMID, NULL);
	return wl_result(cycles + 1);
}
