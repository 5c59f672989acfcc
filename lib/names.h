/* SPDX-License-Identifier: GPL-2.0-only */
/* What an application name may be: it names a cgroup and a registry file. */
#ifndef APPSHOT_NAMES_H
#define APPSHOT_NAMES_H

/* 0 if name is a valid AID name, else -EINVAL with the reason in *why. */
int aid_name_check(const char *name, const char **why);

#endif /* APPSHOT_NAMES_H */
