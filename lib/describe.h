/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Words for what the tables hold: fd kinds, open flags, socket addresses
 * and states, memory protections, IPC kinds, events. Pure functions, shared
 * by the plain and --json printers.
 */
#ifndef APPSHOT_DESCRIBE_H
#define APPSHOT_DESCRIBE_H

#include <stddef.h>
#include <linux/types.h>
#include <json-c/json.h>

#include "trace.h"

const char *fd_kind_name(enum appshot_fd_kind kind);
const char *region_kind_name(enum appshot_region_kind kind);
const char *ipc_kind_name(enum appshot_ipc_kind kind);
const char *event_type_name(enum appshot_event_type type);
const char *sock_op_name(enum appshot_sock_op op);
const char *sock_family_name(__u16 family);
const char *sock_type_name(__u16 type);
/* TCP_* numbering, which the kernel uses for unix sockets too. */
const char *sock_state_name(__u16 state);

/* "O_RDWR|O_APPEND|O_NONBLOCK" */
void open_flags_str(__u32 flags, char *buf, size_t len);
/* "127.0.0.1:8080", "[::1]:80", "/run/x.sock", "@abstract", "" when unbound */
void sock_addr_str(const struct sock_addr *a, char *buf, size_t len);
/* "rw-p", "r-xs" as /proc/PID/maps prints them */
void prot_str(__u32 prot, __u32 flags, char *buf, size_t len);

/* What a file is in one line: "/etc/hosts", "pipe:[123]", "inet stream 1.2.3.4:80 LISTEN" */
void file_target_str(const struct file_info *fi, const struct sock_info *si, char *buf,
		     size_t len);

/* One line for an event, without the time stamp. */
void event_str(const struct appshot_event *e, char *buf, size_t len);
struct json_object *event_json(const struct appshot_event *e);
struct json_object *sock_json(const struct sock_info *si);
/* An fd and its open file (fd may be NULL for the file alone). */
struct json_object *fd_json(__u32 fd, const struct fd_info *fd_info, const struct file_info *fi,
			    const struct sock_info *si);

#endif /* APPSHOT_DESCRIBE_H */
