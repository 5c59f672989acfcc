/* SPDX-License-Identifier: GPL-2.0-only */
/* General-purpose registers (x86-64) by name, for image records. */
#ifndef APPSHOT_REGS_H
#define APPSHOT_REGS_H

#include <sys/user.h>
#include <json-c/json.h>

struct json_object *regs_json(const struct user_regs_struct *r);
/* 0, or -EBADMSG if a register is missing. */
int regs_from_json(struct json_object *o, struct user_regs_struct *r);

#endif /* APPSHOT_REGS_H */
