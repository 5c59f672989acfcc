/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON for image records: short setters, and getters that refuse what is
 * missing or of the wrong type (an image is input, never trusted).
 */
#ifndef APPSHOT_JS_H
#define APPSHOT_JS_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

void js_u64(struct json_object *o, const char *key, uint64_t v);
void js_i64(struct json_object *o, const char *key, int64_t v);
void js_str(struct json_object *o, const char *key, const char *s);
void js_bool(struct json_object *o, const char *key, int v);
/* Bytes as a hex string. */
void js_hex(struct json_object *o, const char *key, const void *buf, size_t len);

/* 0, or -EBADMSG (with a debug line naming the key) if missing or mistyped. */
int jg_u64(struct json_object *o, const char *key, uint64_t *v);
int jg_i64(struct json_object *o, const char *key, int64_t *v);
int jg_int(struct json_object *o, const char *key, int *v);
int jg_bool(struct json_object *o, const char *key, int *v);
/* A string into buf (len with its NUL); too long is an error. */
int jg_str(struct json_object *o, const char *key, char *buf, size_t len);
/* Hex into buf: exactly *len bytes wanted, or any up to max when *len is 0. */
int jg_hex(struct json_object *o, const char *key, void *buf, size_t max, size_t *len);
struct json_object *jg_arr(struct json_object *o, const char *key);
struct json_object *jg_obj(struct json_object *o, const char *key);
/*
 * An array's length and elements, where a is whatever an image holds: 0
 * and NULL if it is no array (json-c's own assert that it is one).
 */
size_t ja_len(struct json_object *a);
struct json_object *ja_at(struct json_object *a, size_t i);

#endif /* APPSHOT_JS_H */
