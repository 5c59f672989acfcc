// SPDX-License-Identifier: GPL-2.0-only
/* JSON helpers for image records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "log.h"

void js_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

void js_i64(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

void js_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s ? s : ""));
}

void js_bool(struct json_object *o, const char *key, int v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

void js_hex(struct json_object *o, const char *key, const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = buf;
	char *s = malloc(2 * len + 1);

	if (!s)
		return;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * len] = 0;
	json_object_object_add(o, key, json_object_new_string_len(s, 2 * len));
	free(s);
}

static struct json_object *get(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type)) {
		pr_debug("image record: '%s' is missing or not a %s", key, json_type_to_name(type));
		return NULL;
	}
	return v;
}

int jg_u64(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *j = get(o, key, json_type_int);

	if (!j)
		return -EBADMSG;
	*v = json_object_get_uint64(j);
	return 0;
}

int jg_i64(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *j = get(o, key, json_type_int);

	if (!j)
		return -EBADMSG;
	*v = json_object_get_int64(j);
	return 0;
}

int jg_int(struct json_object *o, const char *key, int *v)
{
	int64_t x;

	if (jg_i64(o, key, &x) || x < INT32_MIN || x > INT32_MAX)
		return -EBADMSG;
	*v = x;
	return 0;
}

int jg_bool(struct json_object *o, const char *key, int *v)
{
	struct json_object *j = get(o, key, json_type_boolean);

	if (!j)
		return -EBADMSG;
	*v = json_object_get_boolean(j);
	return 0;
}

int jg_str(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object *j = get(o, key, json_type_string);

	if (!j || (size_t)json_object_get_string_len(j) >= len)
		return -EBADMSG;
	memcpy(buf, json_object_get_string(j), json_object_get_string_len(j) + 1);
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int jg_hex(struct json_object *o, const char *key, void *buf, size_t max, size_t *len)
{
	struct json_object *j = get(o, key, json_type_string);
	const char *s;
	size_t n;

	if (!j)
		return -EBADMSG;
	s = json_object_get_string(j);
	n = json_object_get_string_len(j);
	if (n % 2 || n / 2 > max || (*len && n / 2 != *len))
		return -EBADMSG;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		((unsigned char *)buf)[i] = hi << 4 | lo;
	}
	*len = n / 2;
	return 0;
}

struct json_object *jg_arr(struct json_object *o, const char *key)
{
	return get(o, key, json_type_array);
}

struct json_object *jg_obj(struct json_object *o, const char *key)
{
	return get(o, key, json_type_object);
}

size_t ja_len(struct json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

struct json_object *ja_at(struct json_object *a, size_t i)
{
	return i < ja_len(a) ? json_object_array_get_idx(a, i) : NULL;
}
