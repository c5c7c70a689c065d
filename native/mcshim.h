/*
 * mcshim: AF_PACKET ring plumbing for the multicast proxy.
 *
 * Mechanism only: sockets, rings, filters, netlink queries. Every decision (what to capture, where to send, what to
 * do when a ring is full) is made by the managed caller. Functions return 0 or a count on success and a negative
 * errno on failure; mc_last_error() then describes the failing step (thread-local, valid until the next failure).
 */
#ifndef MCSHIM_H
#define MCSHIM_H

#include <stdint.h>
#include <linux/filter.h>

#define MC_FRAME_CSUM_NOT_READY 0x1 /* TP_STATUS_CSUMNOTREADY: L4 checksum left to offload, field is partial */
#define MC_FRAME_TRUNCATED      0x2 /* snaplen < len: the frame did not fit the ring frame */

/* One received frame, as handed to the caller by mc_rx_walk. */
struct mc_frame {
	uint8_t *data;       /* first byte of the link-layer header */
	uint32_t len;        /* bytes captured at data */
	uint16_t net_offset; /* network header = data + net_offset */
	uint16_t flags;      /* MC_FRAME_* */
	uint32_t ts_sec;     /* when the kernel captured it (CLOCK_REALTIME, the ring header's tp_sec/tp_nsec) */
	uint32_t ts_nsec;
};

struct mc_rx_stats {
	uint64_t packets; /* PACKET_STATISTICS since the last call (the kernel resets on read) */
	uint64_t drops;
};

struct mc_tx_stats {
	uint64_t queued;        /* frames marked ready */
	uint64_t kicks;         /* successful sendto kicks */
	uint64_t kick_again;    /* EAGAIN/EWOULDBLOCK: frames stay queued for the next kick */
	uint64_t kick_nobufs;   /* ENOBUFS: the device queue refused (the kernel drops the frame) */
	uint64_t kick_errors;   /* any other sendto error */
	uint64_t ring_full;     /* mc_tx_frame found no free frame */
	uint64_t wrong_format;  /* frames the kernel rejected (TP_STATUS_WRONG_FORMAT) */
	int32_t last_errno;
	int32_t reserved;
};

struct mc_route {
	uint32_t gateway; /* network order; 0 = on-link */
	uint32_t prefsrc; /* network order; 0 = none given */
	int32_t oif;
	uint8_t type;     /* RTN_* */
	uint8_t reserved[3];
};

struct mc_neigh {
	uint32_t ip;      /* network order */
	uint16_t state;   /* NUD_* */
	uint8_t mac_len;
	uint8_t reserved;
	uint8_t mac[8];
};

struct mc_rx;
struct mc_tx;

const char *mc_last_error(void);

/* RX ring. version: 2 or 3. For V2, frames are frame_size bytes, block_size / frame_size per block; for V3,
 * block_timeout_ms is tp_retire_blk_tov. The filter is attached before the socket is bound to a protocol, so no
 * unfiltered frame ever reaches the ring. ignore_outgoing: ask for PACKET_IGNORE_OUTGOING; refusal is not fatal
 * (see mc_rx_ignore_outgoing). */
int mc_rx_open(int ifindex, int version, uint32_t block_size, uint32_t block_count, uint32_t frame_size,
	       uint32_t block_timeout_ms, const struct sock_filter *filter, uint16_t filter_len, int ignore_outgoing,
	       struct mc_rx **out);
int mc_rx_fd(const struct mc_rx *rx);
/* 1 = applied, 0 = not requested, negative errno = refused by this kernel. */
int mc_rx_ignore_outgoing(const struct mc_rx *rx);
int mc_rx_set_filter(struct mc_rx *rx, const struct sock_filter *filter, uint16_t filter_len);
/* 1 = frames may be ready, 0 = timeout or signal, negative errno = socket error (reported once, then cleared). */
int mc_rx_wait(struct mc_rx *rx, int timeout_ms);
/* Fills up to max frames owned by user space; returns the count (0 = none ready). The frames stay valid until
 * mc_rx_release. Calling walk again without release continues where the previous walk stopped (V3) or returns the
 * same frames (V2). */
int mc_rx_walk(struct mc_rx *rx, struct mc_frame *frames, int max);
/* Gives the frames of the last walk back to the kernel (a V3 block once all of its frames were walked). */
void mc_rx_release(struct mc_rx *rx);
int mc_rx_stats(struct mc_rx *rx, struct mc_rx_stats *stats);
void mc_rx_close(struct mc_rx *rx);

/* TX ring (TPACKET_V2, fixed-size frames), bound to ifindex with protocol 0 so it never receives. */
int mc_tx_open(int ifindex, uint32_t frame_size, uint32_t frame_count, int qdisc_bypass, struct mc_tx **out);
int mc_tx_fd(const struct mc_tx *tx);
/* 1 = PACKET_QDISC_BYPASS applied, 0 = not requested, negative errno = refused. */
int mc_tx_qdisc_bypass(const struct mc_tx *tx);
/* 1 = frames are copied linear into the skb (PACKET_VNET_HDR), negative errno = refused, sent zero copy. */
int mc_tx_linear(const struct mc_tx *tx);
/* Bytes available in each frame for the link-layer frame. */
uint32_t mc_tx_capacity(const struct mc_tx *tx);
/* Data pointer of the next free frame, or NULL when the ring is full. Calling it again without mc_tx_ready returns
 * the same frame. */
uint8_t *mc_tx_frame(struct mc_tx *tx);
/* Marks the frame returned by the last mc_tx_frame as ready to send with len bytes. */
void mc_tx_ready(struct mc_tx *tx, uint32_t len);
/* Transmits ready frames in the caller's context without blocking. Returns bytes sent (0 when nothing was queued)
 * or a negative errno (counted; queued frames are retried by the next kick). */
int mc_tx_kick(struct mc_tx *tx);
/* For a full ring, after a kick: waits up to timeout_us for the next frame to be free again (its copy sent).
 * Returns 1 when it is, 0 on timeout. */
int mc_tx_wait(struct mc_tx *tx, uint32_t timeout_us);
/* Frames marked ready since the last successful kick. */
uint32_t mc_tx_pending(const struct mc_tx *tx);
void mc_tx_stats(const struct mc_tx *tx, struct mc_tx_stats *stats);
void mc_tx_close(struct mc_tx *tx);

struct mc_if {
	int32_t index;
	int32_t mtu;
	uint8_t mac[8];
	uint8_t mac_len;
	uint8_t reserved[7];
};

/* Interface facts by name, through ioctls on a socket of the calling thread's network namespace (sysfs shows the
 * namespace it was mounted in, which need not be the caller's). */
int mc_if_get(const char *name, struct mc_if *info);

/* Netlink route socket; its namespace is the caller's at open time, whatever thread queries it later. Queries on
 * one fd must not run concurrently. */
int mc_nl_open(void);
/* A non-blocking netlink socket that hears of IPv4 route, rule, address and link changes (caller's namespace). */
int mc_nl_open_route_events(void);
/* 1 if any change was heard since the last call (the events are drained), 0 if none, or a negative errno. */
int mc_nl_route_events(int fd);
/* The kernel's route for one IPv4 destination (network order). */
int mc_route_get(int nl, uint32_t destination, struct mc_route *route);
/* IPv4 neighbours on ifindex (0 = all); returns how many were written to out (at most max). */
int mc_neigh_list(int nl, int ifindex, struct mc_neigh *out, int max);

/* One nftables rule's counter, keyed by the rule's comment. */
struct mc_nft_counter {
	char comment[64];
	uint64_t packets;
	uint64_t bytes;
};

/* Netlink netfilter socket (namespace: the caller's at open time). */
int mc_nft_open(void);
/* The counters of the rules of one chain that carry a comment and a counter (a NFT_MSG_GETRULE dump: no process, no
 * JSON). Returns how many were written to out (at most max; none when the table or chain does not exist), or a
 * negative errno. */
int mc_nft_rule_counters(int nft, int family, const char *table, const char *chain, struct mc_nft_counter *out, int max);

/* Closes an fd the shim opened (the netlink socket). */
void mc_fd_close(int fd);

#endif
