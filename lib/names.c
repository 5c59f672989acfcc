// SPDX-License-Identifier: GPL-2.0-only
/* AID names: 1-31 characters of [A-Za-z0-9._-], not "." or "..". */
#include <errno.h>
#include <string.h>

#include "names.h"
#include <linux/types.h>

#include "trace.h"

int aid_name_check(const char *name, const char **why)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0) {
		*why = "it is empty";
		return -EINVAL;
	}
	if (len >= APPSHOT_NAME_LEN) {
		*why = "it is longer than 31 characters";
		return -EINVAL;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "\".\" and \"..\" name directories";
		return -EINVAL;
	}
	for (const char *p = name; *p; p++) {
		char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		*why = "only letters, digits, '.', '_' and '-' are allowed";
		return -EINVAL;
	}
	return 0;
}
