// SPDX-License-Identifier: GPL-2.0-only
/*
 * Socket options, for every socket kind (kinds/inet.c, kinds/unix.c): one
 * table of the options a program can set and getsockopt shows. A socket's
 * options are saved where they differ from those of a new socket of its
 * family, type and protocol made in its network namespace (the defaults
 * its sysctls give stay defaults), under "opts", each by its name; the
 * restore sets them in the table's order (IP_TOS before SO_PRIORITY, which
 * IP_TOS changes), before the socket is bound, or, for the few that need
 * its queue (SO_PEEK_OFF), last. Buffer sizes are saved only when the
 * program fixed them (SO_BUF_LOCK): the kernel's autotuning is no setting.
 *
 * What a socket holds that no option restores is refused, named: a socket
 * filter (classic or BPF), a SO_REUSEPORT group's BPF program, multicast
 * or anycast memberships and IPv6 flow labels, IP options and IPv6 sticky
 * options, an upper layer protocol (kTLS...), TCP MD5 or AO keys, UDP
 * encapsulation, timestamps with ids (SOF_TIMESTAMPING_OPT_ID). An image
 * with an option this table does not know is refused at restore.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/net_tstamp.h>

#include "dump.h"
#include "js.h"
#include "kind.h"
#include "log.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_RCVPRIORITY
#define SO_RCVPRIORITY 82
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33
#endif
/* what SO_BUF_LOCK gives: the sizes the program set */
#define SOCK_SNDBUF_LOCK 1
#define SOCK_RCVBUF_LOCK 2

enum opt_type {
	T_INT,
	T_U64, /* unsigned long */
	T_LINGER, /* [on, seconds] */
	T_TIME, /* struct timeval: [seconds, microseconds] */
	T_NAME, /* a string: a device, a congestion control */
	T_TXTIME, /* struct sock_txtime: [clockid, flags] */
	T_BUF, /* a buffer size, saved when SO_BUF_LOCK says the program set it */
};

/* where an option applies */
#define V4 0x01
#define V6 0x02
#define UNIX 0x04
#define INET (V4 | V6)
#define ANY (V4 | V6 | UNIX)
#define TCP 0x10
#define UDP 0x20
#define STREAM_DGRAM 0x40 /* a unix socket of any type */
#define PROTOS (TCP | UDP | STREAM_DGRAM)

/* how */
#define LATE 0x1 /* set once the socket has its queue */
#define LISTENER 0x2 /* what else has it is the kernel's: a connection's, or what one left */
#define USER_MSS 0x4 /* the MSS the program set, from the kernel (sock_state) */

struct sockopt {
	const char *key;
	int level, name, type, where, how;
};

#define O(key, level, name, type, where) { key, level, name, type, where, 0 }
#define O_HOW(key, level, name, type, where, how) { key, level, name, type, where, how }

/*
 * Not here: what the socket records keep themselves (SO_REUSEADDR,
 * SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, TCP_NODELAY, IPV6_V6ONLY, unix
 * SO_PASSCRED), what the kernel writes (SO_INCOMING_CPU, TCP_QUICKACK) and
 * what only reads (SO_ERROR, TCP_INFO...).
 */
static const struct sockopt table[] = {
	O("ip_tos", IPPROTO_IP, IP_TOS, T_INT, INET | TCP | UDP),
	O("ip_ttl", IPPROTO_IP, IP_TTL, T_INT, INET | TCP | UDP),
	O("ip_minttl", IPPROTO_IP, IP_MINTTL, T_INT, INET | TCP | UDP),
	O("ip_mtu_discover", IPPROTO_IP, IP_MTU_DISCOVER, T_INT, INET | TCP | UDP),
	O("ip_recverr", IPPROTO_IP, IP_RECVERR, T_INT, INET | TCP | UDP),
	O("ip_recverr_rfc4884", IPPROTO_IP, IP_RECVERR_RFC4884, T_INT, INET | TCP | UDP),
	O("ip_pktinfo", IPPROTO_IP, IP_PKTINFO, T_INT, INET | TCP | UDP),
	O("ip_recvtos", IPPROTO_IP, IP_RECVTOS, T_INT, INET | TCP | UDP),
	O("ip_recvttl", IPPROTO_IP, IP_RECVTTL, T_INT, INET | TCP | UDP),
	O("ip_recvopts", IPPROTO_IP, IP_RECVOPTS, T_INT, INET | TCP | UDP),
	O("ip_retopts", IPPROTO_IP, IP_RETOPTS, T_INT, INET | TCP | UDP),
	O("ip_recvorigdstaddr", IPPROTO_IP, IP_RECVORIGDSTADDR, T_INT, INET | TCP | UDP),
	O("ip_recvfragsize", IPPROTO_IP, IP_RECVFRAGSIZE, T_INT, INET | TCP | UDP),
	O("ip_passsec", IPPROTO_IP, IP_PASSSEC, T_INT, INET | TCP | UDP),
	O("ip_freebind", IPPROTO_IP, IP_FREEBIND, T_INT, INET | TCP | UDP),
	O("ip_transparent", IPPROTO_IP, IP_TRANSPARENT, T_INT, INET | TCP | UDP),
	O("ip_bind_address_no_port", IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, T_INT, INET | TCP | UDP),
	O("ip_local_port_range", IPPROTO_IP, IP_LOCAL_PORT_RANGE, T_INT, INET | TCP | UDP),
	O("ip_unicast_if", IPPROTO_IP, IP_UNICAST_IF, T_INT, INET | TCP | UDP),
	O("ip_multicast_if", IPPROTO_IP, IP_MULTICAST_IF, T_INT, V4 | UDP),
	O("ip_multicast_ttl", IPPROTO_IP, IP_MULTICAST_TTL, T_INT, INET | UDP),
	O("ip_multicast_loop", IPPROTO_IP, IP_MULTICAST_LOOP, T_INT, INET | UDP),
	O("ip_multicast_all", IPPROTO_IP, IP_MULTICAST_ALL, T_INT, INET | UDP),
	O("ipv6_unicast_hops", IPPROTO_IPV6, IPV6_UNICAST_HOPS, T_INT, V6 | TCP | UDP),
	O("ipv6_tclass", IPPROTO_IPV6, IPV6_TCLASS, T_INT, V6 | TCP | UDP),
	O("ipv6_mtu_discover", IPPROTO_IPV6, IPV6_MTU_DISCOVER, T_INT, V6 | TCP | UDP),
	O("ipv6_recverr", IPPROTO_IPV6, IPV6_RECVERR, T_INT, V6 | TCP | UDP),
	O("ipv6_recverr_rfc4884", IPPROTO_IPV6, IPV6_RECVERR_RFC4884, T_INT, V6 | TCP | UDP),
	O("ipv6_recvpktinfo", IPPROTO_IPV6, IPV6_RECVPKTINFO, T_INT, V6 | TCP | UDP),
	O("ipv6_recvhoplimit", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, T_INT, V6 | TCP | UDP),
	O("ipv6_recvrthdr", IPPROTO_IPV6, IPV6_RECVRTHDR, T_INT, V6 | TCP | UDP),
	O("ipv6_recvhopopts", IPPROTO_IPV6, IPV6_RECVHOPOPTS, T_INT, V6 | TCP | UDP),
	O("ipv6_recvdstopts", IPPROTO_IPV6, IPV6_RECVDSTOPTS, T_INT, V6 | TCP | UDP),
	O("ipv6_recvtclass", IPPROTO_IPV6, IPV6_RECVTCLASS, T_INT, V6 | TCP | UDP),
	O("ipv6_recvpathmtu", IPPROTO_IPV6, IPV6_RECVPATHMTU, T_INT, V6 | TCP | UDP),
	O("ipv6_recvorigdstaddr", IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, T_INT, V6 | TCP | UDP),
	O("ipv6_recvfragsize", IPPROTO_IPV6, IPV6_RECVFRAGSIZE, T_INT, V6 | TCP | UDP),
	O("ipv6_freebind", IPPROTO_IPV6, IPV6_FREEBIND, T_INT, V6 | TCP | UDP),
	O("ipv6_transparent", IPPROTO_IPV6, IPV6_TRANSPARENT, T_INT, V6 | TCP | UDP),
	O("ipv6_autoflowlabel", IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, T_INT, V6 | TCP | UDP),
	O("ipv6_flowinfo_send", IPPROTO_IPV6, IPV6_FLOWINFO_SEND, T_INT, V6 | TCP | UDP),
	O("ipv6_dontfrag", IPPROTO_IPV6, IPV6_DONTFRAG, T_INT, V6 | TCP | UDP),
	O("ipv6_addr_preferences", IPPROTO_IPV6, IPV6_ADDR_PREFERENCES, T_INT, V6 | TCP | UDP),
	O("ipv6_minhopcount", IPPROTO_IPV6, IPV6_MINHOPCOUNT, T_INT, V6 | TCP | UDP),
	O("ipv6_unicast_if", IPPROTO_IPV6, IPV6_UNICAST_IF, T_INT, V6 | TCP | UDP),
	O("ipv6_multicast_hops", IPPROTO_IPV6, IPV6_MULTICAST_HOPS, T_INT, V6 | UDP),
	O("ipv6_multicast_loop", IPPROTO_IPV6, IPV6_MULTICAST_LOOP, T_INT, V6 | UDP),
	O("ipv6_multicast_if", IPPROTO_IPV6, IPV6_MULTICAST_IF, T_INT, V6 | UDP),
	O("ipv6_multicast_all", IPPROTO_IPV6, IPV6_MULTICAST_ALL, T_INT, V6 | UDP),
	O("tcp_cork", IPPROTO_TCP, TCP_CORK, T_INT, INET | TCP),
	O("tcp_keepidle", IPPROTO_TCP, TCP_KEEPIDLE, T_INT, INET | TCP),
	O("tcp_keepintvl", IPPROTO_TCP, TCP_KEEPINTVL, T_INT, INET | TCP),
	O("tcp_keepcnt", IPPROTO_TCP, TCP_KEEPCNT, T_INT, INET | TCP),
	O("tcp_syncnt", IPPROTO_TCP, TCP_SYNCNT, T_INT, INET | TCP),
	O("tcp_linger2", IPPROTO_TCP, TCP_LINGER2, T_INT, INET | TCP),
	O("tcp_defer_accept", IPPROTO_TCP, TCP_DEFER_ACCEPT, T_INT, INET | TCP),
	O_HOW("tcp_maxseg", IPPROTO_TCP, TCP_MAXSEG, T_INT, INET | TCP, USER_MSS),
	O_HOW("tcp_window_clamp", IPPROTO_TCP, TCP_WINDOW_CLAMP, T_INT, INET | TCP, LISTENER),
	O("tcp_user_timeout", IPPROTO_TCP, TCP_USER_TIMEOUT, T_INT, INET | TCP),
	O("tcp_notsent_lowat", IPPROTO_TCP, TCP_NOTSENT_LOWAT, T_INT, INET | TCP),
	O("tcp_thin_linear_timeouts", IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, T_INT, INET | TCP),
	O("tcp_fastopen", IPPROTO_TCP, TCP_FASTOPEN, T_INT, INET | TCP),
	O("tcp_fastopen_connect", IPPROTO_TCP, TCP_FASTOPEN_CONNECT, T_INT, INET | TCP),
	O("tcp_fastopen_no_cookie", IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, T_INT, INET | TCP),
	O("tcp_save_syn", IPPROTO_TCP, TCP_SAVE_SYN, T_INT, INET | TCP),
	O("tcp_tx_delay", IPPROTO_TCP, TCP_TX_DELAY, T_INT, INET | TCP),
	O("tcp_inq", IPPROTO_TCP, TCP_INQ, T_INT, INET | TCP),
	O("tcp_congestion", IPPROTO_TCP, TCP_CONGESTION, T_NAME, INET | TCP),
	O("udp_cork", IPPROTO_UDP, UDP_CORK, T_INT, INET | UDP),
	O("udp_segment", IPPROTO_UDP, UDP_SEGMENT, T_INT, INET | UDP),
	O("udp_gro", IPPROTO_UDP, UDP_GRO, T_INT, INET | UDP),
	O("udp_no_check6_tx", IPPROTO_UDP, UDP_NO_CHECK6_TX, T_INT, V6 | UDP),
	O("udp_no_check6_rx", IPPROTO_UDP, UDP_NO_CHECK6_RX, T_INT, V6 | UDP),
	O("so_sndbuf", SOL_SOCKET, SO_SNDBUF, T_BUF, ANY | PROTOS),
	O("so_rcvbuf", SOL_SOCKET, SO_RCVBUF, T_BUF, ANY | PROTOS),
	O("so_priority", SOL_SOCKET, SO_PRIORITY, T_INT, ANY | PROTOS),
	O("so_mark", SOL_SOCKET, SO_MARK, T_INT, ANY | PROTOS),
	O("so_rcvlowat", SOL_SOCKET, SO_RCVLOWAT, T_INT, ANY | PROTOS),
	O("so_linger", SOL_SOCKET, SO_LINGER, T_LINGER, ANY | PROTOS),
	O("so_rcvtimeo", SOL_SOCKET, SO_RCVTIMEO_OLD, T_TIME, ANY | PROTOS),
	O("so_sndtimeo", SOL_SOCKET, SO_SNDTIMEO_OLD, T_TIME, ANY | PROTOS),
	O("so_dontroute", SOL_SOCKET, SO_DONTROUTE, T_INT, ANY | PROTOS),
	O("so_oobinline", SOL_SOCKET, SO_OOBINLINE, T_INT, INET | TCP),
	O("so_no_check", SOL_SOCKET, SO_NO_CHECK, T_INT, INET | UDP),
	O("so_passcred", SOL_SOCKET, SO_PASSCRED, T_INT, INET | TCP | UDP),
	O("so_passsec", SOL_SOCKET, SO_PASSSEC, T_INT, ANY | PROTOS),
	O("so_passpidfd", SOL_SOCKET, SO_PASSPIDFD, T_INT, UNIX | STREAM_DGRAM),
	O("so_passrights", SOL_SOCKET, SO_PASSRIGHTS, T_INT, UNIX | STREAM_DGRAM),
	O("so_timestamp", SOL_SOCKET, SO_TIMESTAMP_OLD, T_INT, ANY | PROTOS),
	O("so_timestampns", SOL_SOCKET, SO_TIMESTAMPNS_OLD, T_INT, ANY | PROTOS),
	O("so_timestamp_new", SOL_SOCKET, SO_TIMESTAMP_NEW, T_INT, ANY | PROTOS),
	O("so_timestampns_new", SOL_SOCKET, SO_TIMESTAMPNS_NEW, T_INT, ANY | PROTOS),
	O("so_timestamping", SOL_SOCKET, SO_TIMESTAMPING_OLD, T_INT, ANY | PROTOS),
	O("so_rxq_ovfl", SOL_SOCKET, SO_RXQ_OVFL, T_INT, ANY | PROTOS),
	O("so_wifi_status", SOL_SOCKET, SO_WIFI_STATUS, T_INT, ANY | PROTOS),
	O("so_select_err_queue", SOL_SOCKET, SO_SELECT_ERR_QUEUE, T_INT, ANY | PROTOS),
	O("so_busy_poll", SOL_SOCKET, SO_BUSY_POLL, T_INT, INET | TCP | UDP),
	O("so_prefer_busy_poll", SOL_SOCKET, SO_PREFER_BUSY_POLL, T_INT, INET | TCP | UDP),
	O("so_busy_poll_budget", SOL_SOCKET, SO_BUSY_POLL_BUDGET, T_INT, INET | TCP | UDP),
	O("so_max_pacing_rate", SOL_SOCKET, SO_MAX_PACING_RATE, T_U64, INET | TCP | UDP),
	O("so_zerocopy", SOL_SOCKET, SO_ZEROCOPY, T_INT, ANY | PROTOS),
	O("so_txtime", SOL_SOCKET, SO_TXTIME, T_TXTIME, INET | TCP | UDP),
	O("so_txrehash", SOL_SOCKET, SO_TXREHASH, T_INT, INET | TCP),
	O("so_rcvmark", SOL_SOCKET, SO_RCVMARK, T_INT, ANY | PROTOS),
	O("so_rcvpriority", SOL_SOCKET, SO_RCVPRIORITY, T_INT, ANY | PROTOS),
	O("so_reserve_mem", SOL_SOCKET, SO_RESERVE_MEM, T_INT, INET | TCP | UDP),
	O("so_lock_filter", SOL_SOCKET, SO_LOCK_FILTER, T_INT, ANY | PROTOS),
	O("so_bindtodevice", SOL_SOCKET, SO_BINDTODEVICE, T_NAME, INET | TCP | UDP),
	O_HOW("so_peek_off", SOL_SOCKET, SO_PEEK_OFF, T_INT, ANY | PROTOS, LATE),
};

#define NOPTS (sizeof(table) / sizeof(table[0]))

/* An option's value as getsockopt gives it. */
struct value {
	int ok;
	socklen_t len;
	union {
		int i;
		unsigned long u;
		struct linger l;
		struct timeval tv;
		struct sock_txtime tx;
		char name[IFNAMSIZ + 16];
	};
};

static int applies(const struct sockopt *o, int family, int type, int proto)
{
	int fam = family == AF_INET ? V4 : family == AF_INET6 ? V6 : family == AF_UNIX ? UNIX : 0;
	int pr = family == AF_UNIX ? STREAM_DGRAM :
		 proto == IPPROTO_TCP && type == SOCK_STREAM ? TCP :
		 proto == IPPROTO_UDP && type == SOCK_DGRAM ? UDP : 0;

	return (o->where & fam) && (o->where & pr);
}

static void get(int sk, const struct sockopt *o, struct value *v)
{
	memset(v, 0, sizeof(*v));
	v->len = o->type == T_NAME ? sizeof(v->name) - 1 : o->type == T_U64 ? sizeof(v->u) :
		 o->type == T_LINGER ? sizeof(v->l) : o->type == T_TIME ? sizeof(v->tv) :
		 o->type == T_TXTIME ? sizeof(v->tx) : sizeof(v->i);
	v->ok = getsockopt(sk, o->level, o->name, &v->name, &v->len) == 0;
	if (o->type == T_NAME)
		v->name[v->len < sizeof(v->name) ? v->len : sizeof(v->name) - 1] = 0;
}

static int same(const struct sockopt *o, const struct value *a, const struct value *b)
{
	if (a->ok != b->ok)
		return 0;
	return !a->ok || (o->type == T_NAME ? !strcmp(a->name, b->name) :
					    a->len == b->len && !memcmp(&a->name, &b->name, a->len));
}

/*
 * What a new socket of the kind has: one per kind and network namespace
 * (the snapshot is in the application's), made once.
 */
struct fresh {
	int family, type, proto;
	dev_t netns;
	ino_t netns_ino;
	struct value v[NOPTS];
};

static struct fresh *fresh_values(int family, int type, int proto)
{
	static struct fresh cache[8];
	static size_t n, next;
	struct stat ns;
	struct fresh *f;
	int sk;

	if (stat("/proc/thread-self/ns/net", &ns))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (cache[i].family == family && cache[i].type == type && cache[i].proto == proto &&
		    cache[i].netns == ns.st_dev && cache[i].netns_ino == ns.st_ino)
			return &cache[i];
	sk = socket(family, type | SOCK_CLOEXEC, family == AF_UNIX ? 0 : proto);
	if (sk < 0)
		return NULL;
	f = n < 8 ? &cache[n++] : &cache[next++ % 8];
	f->family = family;
	f->type = type;
	f->proto = proto;
	f->netns = ns.st_dev;
	f->netns_ino = ns.st_ino;
	for (size_t i = 0; i < NOPTS; i++)
		get(sk, &table[i], &f->v[i]);
	close(sk);
	return f;
}

static struct json_object *to_json(const struct sockopt *o, const struct value *v)
{
	struct json_object *a;

	switch (o->type) {
	case T_U64:
		return json_object_new_uint64(v->u);
	case T_NAME:
		return json_object_new_string(v->name);
	case T_LINGER:
	case T_TIME:
	case T_TXTIME:
		a = json_object_new_array();
		json_object_array_add(a, json_object_new_int64(o->type == T_LINGER ? v->l.l_onoff :
							       o->type == T_TIME ? v->tv.tv_sec :
										   v->tx.clockid));
		json_object_array_add(a, json_object_new_int64(o->type == T_LINGER ? v->l.l_linger :
							       o->type == T_TIME ? v->tv.tv_usec :
										   v->tx.flags));
		return a;
	default:
		return json_object_new_int64(v->i);
	}
}

/* What no option restores: refused, named. */
static int refusals(struct dump *d, int fd, int sk, const struct dump_sock *s, int family,
		    int type, int proto)
{
	const char *what = NULL;
	char buf[64];
	socklen_t l = 0;
	int inet = family == AF_INET || family == AF_INET6, tcp = inet && proto == IPPROTO_TCP;
	int v;

	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &l) ? errno != ENOPROTOOPT : l > 0)
		what = "a socket filter (SO_ATTACH_FILTER or SO_ATTACH_BPF)";
	else if (s && s->reuseport_prog)
		what = "a BPF program choosing in its SO_REUSEPORT group";
	else if (s && s->groups)
		what = "multicast or anycast group memberships, or IPv6 flow labels";
	else if (s && s->tcp_keys)
		what = "TCP MD5 or AO keys";
	else if (inet && (l = sizeof(buf), !getsockopt(sk, IPPROTO_IP, IP_OPTIONS, buf, &l)) && l)
		what = "IP options (IP_OPTIONS)";
	else if (tcp && (l = sizeof(buf), !getsockopt(sk, IPPROTO_TCP, TCP_ULP, buf, &l)) && l &&
		 buf[0])
		what = "an upper layer protocol (TCP_ULP: kTLS or another)";
	else if (inet && proto == IPPROTO_UDP &&
		 (l = sizeof(v), !getsockopt(sk, IPPROTO_UDP, UDP_ENCAP, &v, &l)) && v)
		what = "UDP encapsulation (UDP_ENCAP)";
	else if ((l = sizeof(v), !getsockopt(sk, SOL_SOCKET, SO_TIMESTAMPING_OLD, &v, &l)) &&
		 (v & (SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_BIND_PHC)))
		what = "timestamps with ids or a PHC (SO_TIMESTAMPING)";
	if (!what && family == AF_INET6) {
		static const int sticky[] = { IPV6_HOPOPTS, IPV6_RTHDR, IPV6_DSTOPTS,
					      IPV6_RTHDRDSTOPTS };

		for (size_t i = 0; i < sizeof(sticky) / sizeof(sticky[0]) && !what; i++)
			if ((l = sizeof(buf), !getsockopt(sk, IPPROTO_IPV6, sticky[i], buf, &l)) && l)
				what = "IPv6 sticky options (hop-by-hop, routing, destination)";
	}
	(void)type;
	if (!what)
		return 0;
	pr_err("pid %d fd %d is a socket with %s: appshot cannot save it yet", d->vpid, fd, what);
	return -ENOTSUP;
}

int sockopt_save(struct dump *d, int fd, int sk, const struct dump_sock *s, int listener,
		 struct json_object *o)
{
	int family, type, proto = 0, lock = 0;
	socklen_t l = sizeof(int);
	struct json_object *opts;
	struct fresh *f;
	int err;

	if (getsockopt(sk, SOL_SOCKET, SO_DOMAIN, &family, &l) ||
	    (l = sizeof(int), getsockopt(sk, SOL_SOCKET, SO_TYPE, &type, &l)) ||
	    (l = sizeof(int), getsockopt(sk, SOL_SOCKET, SO_PROTOCOL, &proto, &l)))
		return -errno;
	err = refusals(d, fd, sk, s, family, type, proto);
	if (err)
		return err;
	f = fresh_values(family, type, proto);
	if (!f) {
		err = -errno;
		pr_err("pid %d fd %d: cannot make a socket of its kind to compare its options "
		       "with: %s", d->vpid, fd, strerror(errno));
		return err;
	}
	l = sizeof(lock);
	getsockopt(sk, SOL_SOCKET, SO_BUF_LOCK, &lock, &l);
	opts = json_object_new_object();
	for (size_t i = 0; i < NOPTS; i++) {
		const struct sockopt *t = &table[i];
		struct value v;

		if (!applies(t, family, type, proto) || (!listener && (t->how & LISTENER)))
			continue;
		if (t->type == T_BUF &&
		    !(lock & (t->name == SO_SNDBUF ? SOCK_SNDBUF_LOCK : SOCK_RCVBUF_LOCK)))
			continue;
		if (t->how & USER_MSS) {
			if (s && s->user_mss)
				json_object_object_add(opts, t->key,
						       json_object_new_int64(s->user_mss));
			continue;
		}
		get(sk, t, &v);
		if (!v.ok || (t->type != T_BUF && same(t, &v, &f->v[i])))
			continue;
		json_object_object_add(opts, t->key, to_json(t, &v));
	}
	/* a TCP connection's is the kernel's (the interface its SYN came in on) */
	if (s && s->mc_index && family == AF_INET && proto == IPPROTO_UDP)
		json_object_object_add(opts, "ip_multicast_ifindex",
				       json_object_new_int64(s->mc_index));
	json_object_object_add(o, "opts", opts);
	return 0;
}

static const struct sockopt *find(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (!strcmp(table[i].key, key))
			return &table[i];
	return NULL;
}

static int pair_ok(struct json_object *v)
{
	return json_object_is_type(v, json_type_array) && ja_len(v) == 2 &&
	       json_object_is_type(ja_at(v, 0), json_type_int) &&
	       json_object_is_type(ja_at(v, 1), json_type_int);
}

int sockopt_check(struct json_object *opts, char *why, size_t len)
{
	if (!opts)
		return 0;
	if (!json_object_is_type(opts, json_type_object)) {
		snprintf(why, len, "its socket options are damaged");
		return -1;
	}
	json_object_object_foreach(opts, key, v) {
		const struct sockopt *t = find(key);
		int ok;

		if (!t && !strcmp(key, "ip_multicast_ifindex")) {
			ok = json_object_is_type(v, json_type_int);
		} else if (!t) {
			snprintf(why, len, "its socket has an option appshot does not know (%s): "
				 "made by a newer appshot?", key);
			return -1;
		} else if (t->type == T_NAME) {
			ok = json_object_is_type(v, json_type_string) &&
			     strlen(json_object_get_string(v)) < IFNAMSIZ + 16;
		} else if (t->type == T_LINGER || t->type == T_TIME || t->type == T_TXTIME) {
			ok = pair_ok(v);
		} else {
			ok = json_object_is_type(v, json_type_int);
		}
		if (!ok) {
			snprintf(why, len, "its socket option %s is damaged", key);
			return -1;
		}
	}
	return 0;
}

static int64_t at(struct json_object *a, size_t i)
{
	return json_object_get_int64(ja_at(a, i));
}

static int set(int sk, const struct sockopt *t, struct json_object *v)
{
	struct value x;
	int name = t->name;

	memset(&x, 0, sizeof(x));
	switch (t->type) {
	case T_BUF:
		/* getsockopt gives twice what was asked; as root, past [rw]mem_max as before */
		x.i = json_object_get_int(v) / 2;
		x.len = sizeof(x.i);
		name = t->name == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
		break;
	case T_U64:
		x.u = json_object_get_uint64(v);
		x.len = sizeof(x.u);
		break;
	case T_NAME:
		snprintf(x.name, sizeof(x.name), "%s", json_object_get_string(v));
		x.len = strlen(x.name);
		break;
	case T_LINGER:
		x.l.l_onoff = at(v, 0);
		x.l.l_linger = at(v, 1);
		x.len = sizeof(x.l);
		break;
	case T_TIME:
		x.tv.tv_sec = at(v, 0);
		x.tv.tv_usec = at(v, 1);
		x.len = sizeof(x.tv);
		break;
	case T_TXTIME:
		x.tx.clockid = at(v, 0);
		x.tx.flags = at(v, 1);
		x.len = sizeof(x.tx);
		break;
	default:
		x.i = json_object_get_int(v);
		x.len = sizeof(x.i);
	}
	return setsockopt(sk, t->level, name, &x.name, x.len) ? -errno : 0;
}

int sockopt_apply(int sk, struct json_object *opts, int late, char *why, size_t len)
{
	struct json_object *v;
	int err;

	if (!opts)
		return 0;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct sockopt *t = &table[i];

		if (!!(t->how & LATE) != !!late || !json_object_object_get_ex(opts, t->key, &v))
			continue;
		err = set(sk, t, v);
		if (err) {
			snprintf(why, len, "cannot set its socket option %s: %s", t->key,
				 strerror(-err));
			return err;
		}
	}
	if (!late && json_object_object_get_ex(opts, "ip_multicast_ifindex", &v)) {
		struct ip_mreqn m = { .imr_ifindex = json_object_get_int(v) };
		socklen_t l = sizeof(m.imr_address);

		getsockopt(sk, IPPROTO_IP, IP_MULTICAST_IF, &m.imr_address, &l);
		if (setsockopt(sk, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m))) {
			err = -errno;
			snprintf(why, len, "cannot set its socket option IP_MULTICAST_IF: %s",
				 strerror(errno));
			return err;
		}
	}
	return 0;
}
