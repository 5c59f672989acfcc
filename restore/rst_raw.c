// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packets a restored socket must receive again, sent to it as its peer
 * would have: a raw IPv4 or IPv6 packet with the peer's address, built
 * here with its UDP or TCP checksum, marked (HOLD_PASS_MARK) so that the
 * traffic hold lets it through. The datagrams a UDP socket had waiting and
 * the FIN a TCP connection had received come back this way.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/types.h>
#include <json-c/json.h>

#include "hold.h"
#include "rst.h"

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

int rst_raw_open(int family)
{
	int raw = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (raw < 0)
		return -errno;
	if (setsockopt(raw, SOL_SOCKET, SO_MARK, &(int){ (int)HOLD_PASS_MARK }, sizeof(int))) {
		close(raw);
		return -errno;
	}
	return raw;
}

/* l4 (a UDP or TCP header and its payload) from one address to another, checksummed here. */
static int raw_send(int raw, int family, const char *from, const char *to, int proto, void *l4,
		    size_t len)
{
	static uint8_t pkt[sizeof(struct ip6_hdr) + 65536];
	struct sockaddr_storage dst = { .ss_family = family };
	size_t hl = family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	uint16_t *check = (uint16_t *)((uint8_t *)l4 + (proto == IPPROTO_UDP ? 6 : 16));
	uint32_t sum = proto + len;
	socklen_t dl;

	if (len > 65535 - hl)
		return -EMSGSIZE;
	memset(pkt, 0, hl);
	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;
		struct sockaddr_in *d = (struct sockaddr_in *)&dst;

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = proto;
		ip->tot_len = htons(hl + len);
		if (inet_pton(AF_INET, from, &ip->saddr) != 1 ||
		    inet_pton(AF_INET, to, &ip->daddr) != 1)
			return -EINVAL;
		sum = csum_add(sum, &ip->saddr, 8);
		d->sin_addr.s_addr = ip->daddr;
		dl = sizeof(*d);
	} else {
		struct ip6_hdr *ip = (struct ip6_hdr *)pkt;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&dst;

		ip->ip6_flow = htonl(6u << 28);
		ip->ip6_plen = htons(len);
		ip->ip6_nxt = proto;
		ip->ip6_hlim = 64;
		if (inet_pton(AF_INET6, from, &ip->ip6_src) != 1 ||
		    inet_pton(AF_INET6, to, &ip->ip6_dst) != 1)
			return -EINVAL;
		sum = csum_add(sum, &ip->ip6_src, 32);
		d->sin6_addr = ip->ip6_dst;
		dl = sizeof(*d);
	}
	*check = 0;
	*check = htons(csum_fold(csum_add(sum, l4, len)) ?: (proto == IPPROTO_UDP ? 0xffff : 0));
	memcpy(pkt + hl, l4, len);
	if (sendto(raw, pkt, hl + len, 0, (struct sockaddr *)&dst, dl) != (ssize_t)(hl + len))
		return -errno;
	return 0;
}

int rst_raw_udp(int raw, int family, const char *from, int from_port, const char *to, int port,
		const void *bytes, size_t len)
{
	static uint8_t l4[sizeof(struct udphdr) + 65536];
	struct udphdr *u = (struct udphdr *)l4;

	if (len > 65535 - sizeof(*u))
		return -EMSGSIZE;
	memset(u, 0, sizeof(*u));
	u->source = htons(from_port);
	u->dest = htons(port);
	u->len = htons(sizeof(*u) + len);
	memcpy(u + 1, bytes, len);
	return raw_send(raw, family, from, to, IPPROTO_UDP, l4, sizeof(*u) + len);
}

int rst_raw_tcp_fin(int raw, const struct rst_inet *in, uint32_t seq, uint32_t ack)
{
	struct tcphdr t = {
		.source = htons(in->peer_port),
		.dest = htons(in->port),
		.seq = htonl(seq),
		.ack_seq = htonl(ack),
		.doff = sizeof(struct tcphdr) / 4,
		.fin = 1,
		.ack = 1,
		.window = htons(in->options & TCPI_OPT_WSCALE ? in->snd_wnd >> in->snd_wscale :
							       in->snd_wnd),
	};

	return raw_send(raw, in->family, in->peer, in->addr, IPPROTO_TCP, &t, sizeof(t));
}

/* Packets go through the loopback's backlog: wait (bounded, 1 s) till arrived() says they are in. */
int rst_raw_wait(int (*arrived)(int fd, const struct rst_inet *in), int fd,
		 const struct rst_inet *in)
{
	for (int tries = 0; tries < 1000; tries++) {
		if (arrived(fd, in))
			return 0;
		usleep(1000);
	}
	return arrived(fd, in) ? 0 : -ETIMEDOUT;
}
