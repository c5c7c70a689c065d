/*
 * Helpers shared by the shim's files (not part of the contract in mcshim.h, and not exported from the library).
 * One file per concept: shim_common.c (errors, socket options), rx_ring.c, tx_ring.c, netlink.c (routes,
 * neighbours, change events), nft_counters.c, interface.c.
 */
#ifndef MCSHIM_INTERNAL_H
#define MCSHIM_INTERNAL_H

#include "mcshim.h"

#include <stdint.h>
#include <linux/netlink.h>

#define MC_HIDDEN __attribute__((visibility("hidden")))

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef PACKET_QDISC_BYPASS
#define PACKET_QDISC_BYPASS 20
#endif

/* Records "step: strerror(err)" as the calling thread's last error and returns -err, so every failure site is one line. */
MC_HIDDEN int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* setsockopt of one int: 0 or -errno (the caller names the step with fail). */
MC_HIDDEN int set_int(int fd, int level, int name, int value);
MC_HIDDEN int attach_filter(int fd, const struct sock_filter *filter, uint16_t len);
MC_HIDDEN int bind_link(int fd, int ifindex, uint16_t protocol);

/* Sends a dump request and hands every reply message of type msg_type to on_msg until NLMSG_DONE. */
MC_HIDDEN int nl_dump(int fd, struct nlmsghdr *req, uint16_t msg_type, const char *what,
		      void (*on_msg)(struct nlmsghdr *h, void *ctx), void *ctx);

#endif
