// SPDX-License-Identifier: GPL-2.0-only
/* General-purpose registers (x86-64) to and from JSON, by name. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "js.h"
#include "regs.h"

#define R(name) { #name, offsetof(struct user_regs_struct, name) }

static const struct {
	const char *name;
	size_t off;
} regs[] = {
	R(r15), R(r14), R(r13), R(r12), R(rbp), R(rbx),	    R(r11),	R(r10),	    R(r9),
	R(r8),	R(rax), R(rcx), R(rdx), R(rsi), R(rdi),	    R(orig_rax), R(rip),    R(cs),
	R(eflags), R(rsp), R(ss), R(fs_base), R(gs_base), R(ds), R(es),	    R(fs),	R(gs),
};

struct json_object *regs_json(const struct user_regs_struct *r)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		js_u64(o, regs[i].name, *(const unsigned long long *)((const char *)r + regs[i].off));
	return o;
}

int regs_from_json(struct json_object *o, struct user_regs_struct *r)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		uint64_t v;

		if (jg_u64(o, regs[i].name, &v))
			return -EBADMSG;
		*(unsigned long long *)((char *)r + regs[i].off) = v;
	}
	return 0;
}
