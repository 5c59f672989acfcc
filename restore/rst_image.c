// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process's core record into struct rst_proc, checked whole: every field
 * present and of its type, addresses page-aligned and in user space, runs
 * inside their areas and inside the pages payload, fds and signals in
 * range. An image that passed its checksums can still be wrong; this says
 * what, before any process is made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "js.h"
#include "kind.h"
#include "log.h"
#include "regs.h"
#include "rst.h"

#define PAGE 4096ull
#define USER_TOP 0x800000000000ull /* 47-bit user space */
#define XSTATE_MAX (64u << 10)

#define BAD(...)                                                              \
	do {                                                                  \
		pr_err("image: record core-%d: " __VA_ARGS__);                        \
		return -EBADMSG;                                              \
	} while (0)

int rst_parse_runs(struct json_object *a, uint64_t pages_len, struct rst_run **out, size_t *n)
{
	size_t len = a ? ja_len(a) : 0;
	struct rst_run *runs = calloc(len ? len : 1, sizeof(*runs));

	if (!a || !runs) {
		free(runs);
		return -EBADMSG;
	}
	for (size_t i = 0; i < len; i++) {
		struct json_object *r = ja_at(a, i);

		if (!json_object_is_type(r, json_type_array) || ja_len(r) != 3) {
			free(runs);
			return -EBADMSG;
		}
		runs[i].start = json_object_get_uint64(ja_at(r, 0));
		runs[i].npages = json_object_get_uint64(ja_at(r, 1));
		runs[i].off = json_object_get_uint64(ja_at(r, 2));
		if (!runs[i].npages || runs[i].npages > (1ull << 40) ||
		    runs[i].off % PAGE || runs[i].off > pages_len ||
		    runs[i].npages * PAGE > pages_len - runs[i].off) {
			free(runs);
			return -EBADMSG;
		}
	}
	*out = runs;
	*n = len;
	return 0;
}

static int parse_siginfos(struct json_object *a, siginfo_t **out, size_t *n)
{
	size_t len = a ? ja_len(a) : 0;
	siginfo_t *v = calloc(len ? len : 1, sizeof(*v));

	if (!a || !v) {
		free(v);
		return -EBADMSG;
	}
	for (size_t i = 0; i < len; i++) {
		struct json_object *wrap = json_object_new_object();
		size_t got = sizeof(siginfo_t);
		int err;

		json_object_object_add(wrap, "s", json_object_get(ja_at(a, i)));
		err = jg_hex(wrap, "s", &v[i], sizeof(v[i]), &got);
		json_object_put(wrap);
		if (err || v[i].si_signo < 1 || v[i].si_signo > 64) {
			free(v);
			return -EBADMSG;
		}
	}
	*out = v;
	*n = len;
	return 0;
}

static int parse_thread(struct rst_proc *p, struct json_object *o, struct rst_thread *t)
{
	struct json_object *r = jg_obj(o, "rseq"), *regs = jg_obj(o, "regs");
	int tid;

	if (jg_int(o, "tid", &tid) || tid < 1 || jg_str(o, "comm", t->comm, sizeof(t->comm)) ||
	    !regs || regs_from_json(regs, &t->regs) || jg_u64(o, "sigmask", &t->sigmask) ||
	    jg_str(o, "syscall", t->syscall, sizeof(t->syscall)) ||
	    jg_u64(o, "clear_tid", &t->clear_tid) || t->clear_tid >= USER_TOP)
		BAD("a thread's record is incomplete", p->pid);
	/* optional: a thread may have none */
	if (jg_u64(o, "robust_list", &t->robust_list) ||
	    jg_u64(o, "robust_list_len", &t->robust_list_len))
		t->robust_list = t->robust_list_len = 0;
	t->tid = tid;
	if (strcmp(t->syscall, "none") && strcmp(t->syscall, "restart") &&
	    strcmp(t->syscall, "interrupt"))
		BAD("thread %d: unknown syscall state '%s'", p->pid, tid, t->syscall);
	if (t->regs.rip >= USER_TOP || t->regs.rsp >= USER_TOP)
		BAD("thread %d: registers point outside user space", p->pid, tid);
	t->xstate = malloc(XSTATE_MAX);
	t->xlen = 0;
	if (!t->xstate || jg_hex(o, "xstate", t->xstate, XSTATE_MAX, &t->xlen) || t->xlen < 512)
		BAD("thread %d: its extended register state is damaged", p->pid, tid);
	if (jg_obj(o, "altstack")) {
		struct json_object *as = jg_obj(o, "altstack");

		t->has_altstack = 1;
		if (jg_u64(as, "sp", &t->altstack_sp) || jg_u64(as, "size", &t->altstack_size) ||
		    jg_int(as, "flags", &t->altstack_flags) || t->altstack_sp >= USER_TOP)
			BAD("thread %d: its signal stack is damaged", p->pid, tid);
	}
	{
		char why[256];

		if (task_attrs_check(o, 1, why, sizeof(why)))
			BAD("thread %d: %s", p->pid, tid, why);
		t->attrs = json_object_get(jg_obj(o, "attrs"));
	}
	if (jg_obj(o, "sleep")) {
		struct json_object *sl = jg_obj(o, "sleep");

		t->has_sleep = 1;
		if (jg_int(sl, "clockid", &t->sleep_clockid) ||
		    jg_i64(sl, "left_ns", &t->sleep_left_ns) || t->sleep_left_ns < 0 ||
		    jg_u64(sl, "rmtp", &t->sleep_rmtp) || t->sleep_rmtp >= USER_TOP)
			BAD("thread %d: its sleep is damaged", p->pid, tid);
	}
	if (parse_siginfos(jg_arr(o, "pending"), &t->pending, &t->npending))
		BAD("thread %d: its pending signals are damaged", p->pid, tid);
	if (r) {
		t->has_rseq = 1;
		if (jg_u64(r, "addr", &t->rseq_addr) || jg_u64(r, "len", &t->rseq_len) ||
		    jg_u64(r, "sig", &t->rseq_sig) || jg_u64(r, "flags", &t->rseq_flags) ||
		    t->rseq_addr >= USER_TOP)
			BAD("thread %d: its rseq registration is damaged", p->pid, tid);
	}
	return 0;
}

static int parse_vma(struct rst_proc *p, struct json_object *o, uint64_t pages_len,
		     struct rst_vma *v)
{
	static const char *const kinds[] = { "anon", "heap",	    "stack",	   "file",
					     "shmem", "memfd",	    "deleted",	   "sysv",
					     "vdso",  "vvar",	    "vvar_vclock", "vsyscall" };
	int known = 0;

	if (jg_u64(o, "start", &v->start) || jg_u64(o, "end", &v->end) ||
	    jg_u64(o, "offset", &v->offset) || jg_int(o, "prot", &v->prot) ||
	    jg_bool(o, "shared", &v->shared) || jg_bool(o, "growsdown", &v->growsdown) ||
	    jg_str(o, "kind", v->kind, sizeof(v->kind)) ||
	    jg_str(o, "madvise", v->madvise, sizeof(v->madvise)))
		BAD("a memory area's record is incomplete", p->pid);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		known |= !strcmp(v->kind, kinds[i]);
	if (!known)
		BAD("area %llx: unknown kind '%s'", p->pid, (unsigned long long)v->start, v->kind);
	if (!rst_area_words_known(v->madvise))
		BAD("area %llx: unknown flags '%s'", p->pid, (unsigned long long)v->start,
		    v->madvise);
	if (strcmp(v->kind, "vsyscall") &&
	    (v->start % PAGE || v->end % PAGE || v->end <= v->start || v->end > USER_TOP))
		BAD("area %llx-%llx is not a user memory range", p->pid,
		    (unsigned long long)v->start, (unsigned long long)v->end);
	if (v->offset % PAGE)
		BAD("area %llx: its file offset is not page-aligned", p->pid,
		    (unsigned long long)v->start);
	if ((v->prot & ~7) != 0)
		BAD("area %llx: bad protection %d", p->pid, (unsigned long long)v->start, v->prot);
	if (!strcmp(v->kind, "file") || !strcmp(v->kind, "deleted")) {
		if (jg_str(o, "path", v->path, sizeof(v->path)) || v->path[0] != '/')
			BAD("area %llx: the file has no path", p->pid, (unsigned long long)v->start);
	}
	if (!strcmp(v->kind, "sysv") &&
	    (jg_int(o, "shmid", &v->shmid) || v->shmid < 0 || jg_u64(o, "shm_size", &v->shm_size) ||
	     v->offset > v->shm_size || v->end - v->start > v->shm_size - v->offset + PAGE - 1 ||
	     v->offset > v->start || !v->shared))
		BAD("area %llx: its SysV segment is damaged", p->pid, (unsigned long long)v->start);
	v->object = -1;
	if (!strcmp(v->kind, "shmem") || !strcmp(v->kind, "memfd") || !strcmp(v->kind, "deleted")) {
		if (jg_int(o, "object", &v->object) || !rst_object(p, v->object))
			BAD("area %llx: its memory object is missing", p->pid,
			    (unsigned long long)v->start);
	}
	if (json_object_object_get_ex(o, "name", NULL) &&
	    jg_str(o, "name", v->name, sizeof(v->name)))
		BAD("area %llx: its name is damaged", p->pid, (unsigned long long)v->start);
	if (rst_parse_runs(jg_arr(o, "pages"), pages_len, &v->runs, &v->nruns))
		BAD("area %llx: its page runs are damaged", p->pid, (unsigned long long)v->start);
	for (size_t i = 0; i < v->nruns; i++)
		if (v->runs[i].start < v->start || v->runs[i].start % PAGE ||
		    v->runs[i].npages > (v->end - v->runs[i].start) / PAGE)
			BAD("area %llx: a page run lies outside it", p->pid,
			    (unsigned long long)v->start);
	return 0;
}

static int parse_object(struct rst_proc *p, struct json_object *o, uint64_t pages_len,
			struct rst_object *ob)
{
	if (jg_int(o, "id", &ob->id) || jg_str(o, "kind", ob->kind, sizeof(ob->kind)) ||
	    jg_str(o, "name", ob->name, sizeof(ob->name)) || jg_u64(o, "size", &ob->size) ||
	    jg_u64(o, "mode", &ob->mode) ||
	    rst_parse_runs(jg_arr(o, "pages"), pages_len, &ob->runs, &ob->nruns))
		BAD("a memory object's record is damaged", p->pid);
	ob->has_owner = json_object_object_get_ex(o, "uid", NULL);
	if (ob->has_owner &&
	    (jg_i64(o, "uid", &ob->uid) || jg_i64(o, "gid", &ob->gid) ||
	     jg_i64(o, "atime_ns", &ob->atime_ns) || jg_i64(o, "mtime_ns", &ob->mtime_ns) ||
	     ob->uid < 0 || ob->uid > UINT32_MAX || ob->gid < 0 || ob->gid > UINT32_MAX))
		BAD("object %d: its owner or times are damaged", p->pid, ob->id);
	ob->seals = 0;
	if (json_object_object_get_ex(o, "seals", NULL) &&
	    (jg_int(o, "seals", &ob->seals) || ob->seals < 0 || ob->seals > 0xff))
		BAD("object %d: its seals are damaged", p->pid, ob->id);
	if (strcmp(ob->kind, "shmem") && strcmp(ob->kind, "memfd") && strcmp(ob->kind, "deleted"))
		BAD("object %d: unknown kind '%s'", p->pid, ob->id, ob->kind);
	for (size_t i = 0; i < ob->nruns; i++)
		if ((ob->runs[i].start + ob->runs[i].npages) * PAGE > ob->size + PAGE - 1)
			BAD("object %d: a page run lies past its end", p->pid, ob->id);
	ob->fd = -1;
	ob->of = 0;
	ob->global = -1;
	if (json_object_object_get_ex(o, "of", NULL) &&
	    (jg_int(o, "of", &ob->of) || ob->of <= 0 || ob->of == p->pid || ob->nruns))
		BAD("object %d: the process it shares it with is damaged", p->pid, ob->id);
	return 0;
}

static int parse_fd(struct rst_proc *p, struct json_object *o, struct rst_fd *f)
{
	char kind[32], why[256] = "";
	struct json_object *a;

	f->sock = f->object = -1;
	if (jg_int(o, "fd", &f->fd) || f->fd < 0 || f->fd > (1 << 20) ||
	    jg_bool(o, "cloexec", &f->cloexec) || jg_u64(o, "flags", &f->flags) ||
	    jg_u64(o, "pos", &f->pos) || jg_u64(o, "mode", &f->mode) ||
	    jg_str(o, "kind", kind, sizeof(kind)) ||
	    jg_str(o, "path", f->path, sizeof(f->path)))
		BAD("an fd's record is damaged", p->pid);
	f->kind = kind_named(kind);
	if (!f->kind)
		BAD("fd %d: unknown kind '%s'", p->pid, f->fd, kind);
	f->dup_of = -1;
	if (json_object_object_get_ex(o, "dup_of", NULL) && jg_int(o, "dup_of", &f->dup_of))
		BAD("fd %d: the fd it shares is damaged", p->pid, f->fd);
	f->same_pid = f->same_fd = f->shared = f->gobj = -1;
	if (json_object_object_get_ex(o, "same_as", &a)) {
		if (!json_object_is_type(a, json_type_array) || ja_len(a) != 2)
			BAD("fd %d: the process it shares with is damaged", p->pid, f->fd);
		f->same_pid = json_object_get_int(ja_at(a, 0));
		f->same_fd = json_object_get_int(ja_at(a, 1));
		if (f->same_pid <= 0 || f->same_pid == p->pid || f->same_fd < 0 || f->dup_of >= 0)
			BAD("fd %d: the process it shares with is damaged", p->pid, f->fd);
	}
	if ((f->kind->parse && f->kind->parse(o, p, f, why, sizeof(why))) ||
	    fdattr_parse(o, f, why, sizeof(why)))
		BAD("fd %d: %s", p->pid, f->fd, why);
	return 0;
}

struct rst_object *rst_object(struct rst_proc *p, int id)
{
	for (size_t i = 0; i < p->nobjects; i++)
		if (p->objects[i].id == id)
			return &p->objects[i];
	return NULL;
}

#define ARRAY_OF(key, field, count, type, parse)                              \
	do {                                                                  \
		struct json_object *a_ = jg_arr(core, key);                   \
		if (!a_)                                                      \
			BAD("the record has no %s", p->pid, key);             \
		p->count = ja_len(a_);                      \
		p->field = calloc(p->count ? p->count : 1, sizeof(type));     \
		if (!p->field)                                                \
			return -ENOMEM;                                       \
		for (size_t i_ = 0; i_ < p->count; i_++) {                    \
			int e_ = parse;                                       \
			if (e_)                                               \
				return e_;                                    \
		}                                                             \
	} while (0)

/*
 * What checksums cannot say: a process the image describes must be one
 * that can run. Each thread goes on from code (an executable area); its
 * fd limit holds the fds it has.
 */
static int check_sense(const struct rst_proc *p)
{
	int top = -1;

	for (size_t i = 0; i < p->nthreads; i++) {
		uint64_t ip = p->threads[i].regs.rip;
		int code = 0;

		for (size_t k = 0; k < p->nvmas && !code; k++)
			code = ip >= p->vmas[k].start && ip < p->vmas[k].end &&
			       (p->vmas[k].prot & PROT_EXEC);
		if (!code)
			BAD("thread %d would go on at %llx, where it has no code", p->pid,
			    p->threads[i].tid, (unsigned long long)ip);
	}
	for (size_t i = 0; i < p->nfds; i++)
		if (p->fds[i].fd > top)
			top = p->fds[i].fd;
	if (top >= 0 && p->rlimits[RLIMIT_NOFILE].rlim_cur <= (rlim_t)top)
		BAD("its fd limit (%llu) is below fd %d, which it holds", p->pid,
		    (unsigned long long)p->rlimits[RLIMIT_NOFILE].rlim_cur, top);
	return 0;
}

int rst_parse(struct json_object *core, uint64_t pages_len, struct rst_proc *p)
{
	struct json_object *creds, *mm, *it, *a;
	static const char *const mmf[] = { "start_code", "end_code",  "start_data", "end_data",
					   "start_brk",	 "brk",	      "start_stack", "arg_start",
					   "arg_end",	 "env_start", "env_end" };
	uint64_t *mmv[] = { &p->mm.start_code, &p->mm.end_code,	 &p->mm.start_data,
			    &p->mm.end_data,   &p->mm.start_brk, &p->mm.brk,
			    &p->mm.start_stack, &p->mm.arg_start, &p->mm.arg_end,
			    &p->mm.env_start,  &p->mm.env_end };
	static const char *const itn[] = { "real", "virtual", "prof" };
	int pid;

	memset(p, 0, sizeof(*p));
	if (jg_int(core, "pid", &pid) || pid < 1) {
		pr_err("image: a process record has no pid");
		return -EBADMSG;
	}
	{
		char why[256];

		if (task_attrs_check(core, 0, why, sizeof(why)) ||
		    posix_timers_check(core, why, sizeof(why)))
			BAD("%s", pid, why);
		p->attrs = json_object_get(jg_obj(core, "attrs"));
		p->timers = json_object_get(jg_arr(core, "posix_timers"));
		if (json_object_object_get_ex(core, "stopped", NULL) &&
		    (jg_int(core, "stopped", &p->stopped) ||
		     (p->stopped != SIGSTOP && p->stopped != SIGTSTP && p->stopped != SIGTTIN &&
		      p->stopped != SIGTTOU)))
			BAD("its stop signal is damaged", pid);
	}
	p->pid = pid;
	if (jg_int(core, "ppid", &p->ppid) || jg_int(core, "pgid", &p->pgid) ||
	    jg_int(core, "sid", &p->sid) || jg_str(core, "comm", p->comm, sizeof(p->comm)) ||
	    jg_str(core, "exe", p->exe, sizeof(p->exe)) ||
	    jg_str(core, "cwd", p->cwd, sizeof(p->cwd)) ||
	    jg_str(core, "root", p->root, sizeof(p->root)) || jg_int(core, "umask", &p->umask) ||
	    jg_u64(core, "personality", &p->personality) || jg_int(core, "dumpable", &p->dumpable))
		BAD("the record is incomplete", p->pid);
	if (json_object_object_get_ex(core, "cwd_deleted", NULL) &&
	    (jg_bool(core, "cwd_deleted", &p->cwd_deleted) || p->cwd[0] != '/'))
		BAD("its removed cwd is damaged", p->pid);

	creds = jg_obj(core, "creds");
	if (!creds || !jg_arr(creds, "uid") || !jg_arr(creds, "gid") ||
	    ja_len(jg_arr(creds, "uid")) != 4 ||
	    ja_len(jg_arr(creds, "gid")) != 4 || !jg_arr(creds, "groups") ||
	    jg_u64(creds, "CapInh", &p->cap_inh) || jg_u64(creds, "CapPrm", &p->cap_prm) ||
	    jg_u64(creds, "CapEff", &p->cap_eff) || jg_u64(creds, "CapBnd", &p->cap_bnd) ||
	    jg_u64(creds, "CapAmb", &p->cap_amb))
		BAD("its credentials are damaged", p->pid);
	for (int i = 0; i < 4; i++) {
		p->uid[i] = json_object_get_int64(ja_at(jg_arr(creds, "uid"), i));
		p->gid[i] = json_object_get_int64(ja_at(jg_arr(creds, "gid"), i));
	}
	a = jg_arr(creds, "groups");
	p->ngroups = ja_len(a);
	p->groups = calloc(p->ngroups + 1, sizeof(*p->groups));
	for (size_t i = 0; i < p->ngroups; i++)
		p->groups[i] = json_object_get_int64(ja_at(a, i));
	jg_bool(creds, "no_new_privs", &p->no_new_privs);
	p->securebits = 0;
	if (json_object_object_get_ex(creds, "securebits", NULL) &&
	    (jg_int(creds, "securebits", &p->securebits) || p->securebits < 0 ||
	     p->securebits > 0xff))
		BAD("its securebits are damaged", p->pid);

	a = jg_arr(core, "rlimits");
	if (!a || ja_len(a) > RST_RLIMITS)
		BAD("its resource limits are damaged", p->pid);
	for (size_t i = 0; i < RST_RLIMITS; i++) {
		struct json_object *l = ja_at(a, i);

		if (i >= ja_len(a)) {
			p->rlimits[i].rlim_cur = p->rlimits[i].rlim_max = RLIM_INFINITY;
			continue;
		}
		if (!json_object_is_type(l, json_type_array) || ja_len(l) != 2)
			BAD("its resource limits are damaged", p->pid);
		p->rlimits[i].rlim_cur = json_object_get_uint64(ja_at(l, 0));
		p->rlimits[i].rlim_max = json_object_get_uint64(ja_at(l, 1));
	}

	mm = jg_obj(core, "mm");
	if (!mm)
		BAD("it has no mm record", p->pid);
	for (size_t i = 0; i < sizeof(mmf) / sizeof(mmf[0]); i++)
		if (jg_u64(mm, mmf[i], mmv[i]) || *mmv[i] >= USER_TOP)
			BAD("mm field %s is damaged", p->pid, mmf[i]);
	a = jg_arr(mm, "auxv");
	if (!a || ja_len(a) > RST_AUXV || ja_len(a) % 2)
		BAD("its auxv is damaged", p->pid);
	p->mm.nauxv = ja_len(a);
	for (size_t i = 0; i < p->mm.nauxv; i++)
		p->mm.auxv[i] = json_object_get_uint64(ja_at(a, i));

	it = jg_obj(core, "itimers");
	if (!it)
		BAD("it has no itimers record", p->pid);
	for (int w = 0; w < 3; w++) {
		a = jg_arr(it, itn[w]);
		if (!a || ja_len(a) != 4)
			BAD("itimer %s is damaged", p->pid, itn[w]);
		for (int k = 0; k < 4; k++)
			p->itimers[w][k] = json_object_get_int64(ja_at(a, k));
	}

	a = jg_arr(core, "sigactions");
	if (!a)
		BAD("it has no sigactions record", p->pid);
	p->nsigactions = ja_len(a);
	p->sigactions = calloc(p->nsigactions + 1, sizeof(*p->sigactions));
	for (size_t i = 0; i < p->nsigactions; i++) {
		struct json_object *s = ja_at(a, i);
		struct rst_sigaction *sa = &p->sigactions[i];

		if (jg_int(s, "sig", &sa->sig) || sa->sig < 1 || sa->sig > 64 ||
		    sa->sig == SIGKILL || sa->sig == SIGSTOP || jg_u64(s, "handler", &sa->handler) ||
		    jg_u64(s, "flags", &sa->flags) || jg_u64(s, "restorer", &sa->restorer) ||
		    jg_u64(s, "mask", &sa->mask))
			BAD("a signal handler's record is damaged", p->pid);
	}
	if (parse_siginfos(jg_arr(core, "shared_pending"), &p->shared_pending, &p->nshared_pending))
		BAD("its pending signals are damaged", p->pid);

	ARRAY_OF("objects", objects, nobjects, struct rst_object,
		 parse_object(p, ja_at(a_, i_), pages_len, &p->objects[i_]));
	ARRAY_OF("threads", threads, nthreads, struct rst_thread,
		 parse_thread(p, ja_at(a_, i_), &p->threads[i_]));
	if (!p->nthreads || p->threads[0].tid != p->pid)
		BAD("its first thread is not its leader", p->pid);
	ARRAY_OF("vmas", vmas, nvmas, struct rst_vma,
		 parse_vma(p, ja_at(a_, i_), pages_len, &p->vmas[i_]));
	for (size_t i = 1; i < p->nvmas; i++)
		if (p->vmas[i].start < p->vmas[i - 1].end && strcmp(p->vmas[i].kind, "vsyscall"))
			BAD("memory areas overlap at %llx", p->pid,
			    (unsigned long long)p->vmas[i].start);
	ARRAY_OF("fds", fds, nfds, struct rst_fd,
		 parse_fd(p, ja_at(a_, i_), &p->fds[i_]));
	for (size_t i = 0; i < p->nfds; i++) {
		int found = p->fds[i].dup_of < 0;

		for (size_t j = 0; j < i && !found; j++)
			found = p->fds[j].fd == p->fds[i].dup_of;
		if (!found)
			BAD("fd %d shares an fd that is not before it", p->pid, p->fds[i].fd);
	}
	/* the restore's own fds go just above the application's */
	p->service_base = 3;
	for (size_t i = 0; i < p->nfds; i++)
		if (p->fds[i].fd >= p->service_base)
			p->service_base = p->fds[i].fd + 1;
	/* files behind objects are made by the child at fixed numbers, known to both sides */
	for (size_t k = 0; k < p->nobjects; k++)
		if (strcmp(p->objects[k].kind, "shmem"))
			p->objects[k].fd = p->service_base + 5 + k;
	return check_sense(p);
}

void rst_free(struct rst_proc *p)
{
	for (size_t i = 0; i < p->nthreads; i++) {
		free(p->threads[i].xstate);
		free(p->threads[i].pending);
		json_object_put(p->threads[i].attrs);
	}
	json_object_put(p->attrs);
	json_object_put(p->timers);
	for (size_t i = 0; i < p->nobjects; i++)
		free(p->objects[i].runs);
	for (size_t i = 0; i < p->nvmas; i++)
		free(p->vmas[i].runs);
	for (size_t i = 0; i < p->nfds; i++) {
		if (p->fds[i].kind && p->fds[i].kind->release)
			p->fds[i].kind->release(&p->fds[i]);
		free(p->fds[i].state);
		free(p->fds[i].attr.locks);
		free(p->fds[i].un.queue);
		for (size_t k = 0; k < p->fds[i].un.nrights; k++)
			free(p->fds[i].un.rights[k].files);
		free(p->fds[i].un.rights);
		free(p->fds[i].un.bytes);
		free(p->fds[i].in.recv);
		free(p->fds[i].in.send);
		free(p->fds[i].in.dgrams);
		json_object_put(p->fds[i].in.opts);
		json_object_put(p->fds[i].un.opts);
		if (p->fds[i].sock >= 0)
			close(p->fds[i].sock);
	}
	free(p->threads);
	free(p->objects);
	free(p->vmas);
	free(p->fds);
	free(p->sigactions);
	free(p->shared_pending);
	free(p->groups);
	memset(p, 0, sizeof(*p));
}
