// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP and UDP sockets: listeners, bound and connected sockets, TCP
 * connections under TCP_REPAIR with both queues, datagrams waiting
 * (loader/dump_sock.c saves them; restore/rst_sock.c makes them again in
 * appshot, listeners first).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dump.h"
#include "image.h"
#include "js.h"
#include "kind.h"
#include "log.h"
#include "rst.h"

extern const struct fd_kind kind_inet;

static int claims(const struct fd_seen *s)
{
	/* a socket on stdio that is not the application's own unix socket is stdio (stdio.c) */
	return S_ISSOCK(s->st.st_mode) && !dump_sock_of(s->d, s->link) && s->fd > 2;
}

static int save(const struct fd_seen *s, struct json_object *o)
{
	return dump_inet_fd(s->d, s->pid, s->fd, o);
}

static int parse(struct json_object *o, struct rst_proc *p, struct rst_fd *f, char *why,
		 size_t len)
{
	if (rst_parse_inet(o, f)) {
		snprintf(why, len, "its TCP or UDP socket is damaged");
		return -1;
	}
	return 0;
}

static int plan(struct rst_app *a, struct rst_proc *p, struct rst_fd *f)
{
	return f->dup_of < 0 && f->same_pid < 0 ? rst_add_slot(a, f) : 0;
}

/* The bytes of a TCP connection's two queues, or of a UDP socket's datagrams, from their blobs. */
static int load(struct image *im, struct rst_app *a)
{
	for (size_t k = 0; k < a->nshared; k++) {
		struct rst_inet *in = &a->shared[k]->in;
		size_t len = 0;

		if (a->shared[k]->kind != &kind_inet)
			continue;
		if (in->inq && !in->recv &&
		    (!(in->recv = image_read_blob(im, in->recv_data, &len)) || len != in->inq))
			goto bad;
		if (in->outq && !in->send &&
		    (!(in->send = image_read_blob(im, in->send_data, &len)) || len != in->outq))
			goto bad;
		continue;
bad:
		pr_err("image %s: the queues of a socket of %s port %d are missing or damaged",
		       im->dir, in->addr, in->port);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Listeners and bound sockets first: a connection's port may be its
 * listener's, which must have it before the connection is bound to it
 * under repair. Kept in sock until the slots take them.
 */
static int prepare(struct rst_app *a)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < a->nshared; k++) {
			struct rst_fd *f = a->shared[k];

			if (f->kind != &kind_inet || f->in.established != pass)
				continue;
			f->sock = rst_inet_make(f);
			if (f->sock < 0)
				return f->sock;
		}
	return 0;
}


/* TCP connections out of repair once both ends of each are there. */
static int finish(struct rst_app *a)
{
	int err;

	for (size_t k = 0; k < a->nshared; k++)
		if (a->shared[k]->kind == &kind_inet &&
		    (err = rst_inet_release(a->shared[k], a->shared_fd[k])))
			return err;
	return 0;
}

static const char *str_or(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t int_or(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* "tcp 127.0.0.1:80 -> 10.0.0.2:4000 established, ..." */
static void describe(struct json_object *o, char *buf, size_t len)
{
	struct json_object *in = jg_obj(o, "inet"), *q;
	const char *state;
	size_t n;

	if (!in)
		return;
	q = jg_arr(in, "queue");
	state = str_or(in, "state");
	n = snprintf(buf, len, "%s %s:%" PRId64, int_or(in, "type") == SOCK_STREAM ? "tcp" : "udp",
		     str_or(in, "addr"), int_or(in, "port"));
	if (*str_or(in, "peer") && n < len)
		n += snprintf(buf + n, len - n, " -> %s:%" PRId64, str_or(in, "peer"),
			      int_or(in, "peer_port"));
	if (n < len)
		n += snprintf(buf + n, len - n, " %s", state);
	if (!strcmp(state, "established") && n < len)
		n += snprintf(buf + n, len - n, ", %" PRId64 " bytes to read, %" PRId64 " to send%s",
			      int_or(in, "inq"), int_or(in, "outq"),
			      int_or(in, "outside") ? ", peer outside" : "");
	if (*str_or(in, "our_fin") && n < len)
		n += snprintf(buf + n, len - n, ", our FIN %s", str_or(in, "our_fin"));
	if (int_or(in, "peer_fin") && n < len)
		n += snprintf(buf + n, len - n, ", the peer's FIN received%s",
			      int_or(in, "peer_fin_first") ? " first" : "");
	if (q && n < len) {
		int64_t bytes = 0;

		for (size_t i = 0; i < json_object_array_length(q); i++)
			bytes += int_or(json_object_array_get_idx(q, i), "len");
		snprintf(buf + n, len - n, ", %zu datagram%s waiting (%" PRId64 " bytes)",
			 json_object_array_length(q), json_object_array_length(q) == 1 ? "" : "s",
			 bytes);
	}
}

const struct fd_kind kind_inet = {
	.name = "inet",
	.claims = claims,
	.save = save,
	.parse = parse,
	.load = load,
	.plan = plan,
	.prepare = prepare,
	.make = rst_take_sock,
	.finish = finish,
	.describe = describe,
};
