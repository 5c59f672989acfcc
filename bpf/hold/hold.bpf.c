// SPDX-License-Identifier: GPL-2.0-only
/*
 * Holding an application's traffic while it is away (between its snapshot
 * and its restore): a TC ingress program drops the TCP and UDP packets that
 * come to the addresses and ports its sockets had, so that no peer is
 * answered with a reset or a port-unreachable; peers retransmit, and once
 * the application is back (and the entries gone) their packets reach it.
 * What the restore itself sends the application (the datagrams it had
 * waiting) carries HOLD_PASS_MARK and goes through.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "hold.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_HLEN 14

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOLD_MAX);
	__type(key, struct hold_key);
	__type(value, __u32); /* the application's AID */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} held SEC(".maps");

/* Is this local address (or the wildcard one) and port held? */
static __always_inline int is_held(struct hold_key *k)
{
	if (bpf_map_lookup_elem(&held, k))
		return 1;
	__builtin_memset(k->addr, 0, sizeof(k->addr));
	return bpf_map_lookup_elem(&held, k) != NULL;
}

SEC("tc")
int hold_ingress(struct __sk_buff *skb)
{
	struct hold_key k = {};
	__u16 port;
	__u8 proto, ihl;
	__u32 l4;

	if (skb->mark == HOLD_PASS_MARK)
		return TC_ACT_OK;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ihl, 1) ||
		    bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1) ||
		    bpf_skb_load_bytes(skb, ETH_HLEN + 16, k.addr, 4))
			return TC_ACT_OK;
		k.family = HOLD_INET;
		l4 = ETH_HLEN + (ihl & 0x0f) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &proto, 1) ||
		    bpf_skb_load_bytes(skb, ETH_HLEN + 24, k.addr, 16))
			return TC_ACT_OK;
		k.family = HOLD_INET6;
		l4 = ETH_HLEN + 40;
	} else {
		return TC_ACT_OK;
	}
	if (proto != HOLD_TCP && proto != HOLD_UDP)
		return TC_ACT_OK;
	/* the destination port: the same place in TCP and UDP headers */
	if (bpf_skb_load_bytes(skb, l4 + 2, &port, 2))
		return TC_ACT_OK;
	k.proto = proto;
	k.port = bpf_ntohs(port);
	return is_held(&k) ? TC_ACT_SHOT : TC_ACT_OK;
}
