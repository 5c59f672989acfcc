/* SPDX-License-Identifier: GPL-2.0-only */
/* The endpoints whose traffic is held while their application is away. */
#ifndef APPSHOT_HOLD_H
#define APPSHOT_HOLD_H

#define HOLD_MAX 4096
#define HOLD_INET 2 /* AF_INET */
#define HOLD_INET6 10 /* AF_INET6 */
#define HOLD_TCP 6
#define HOLD_UDP 17
/* the mark (SO_MARK) of packets the restore sends an application itself: never held */
#define HOLD_PASS_MARK 0xa5500001u

/* A local address and port (host order) of TCP or UDP; an address of zeroes is any. */
struct hold_key {
	__u8 family;
	__u8 proto;
	__u16 port;
	__u8 addr[16];
};

#endif /* APPSHOT_HOLD_H */
