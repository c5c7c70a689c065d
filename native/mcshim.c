/*
 * mcshim: AF_PACKET RX/TX rings, classic-BPF filters and two netlink queries. See mcshim.h for the contract.
 * Written for this project; setup / walk / teardown are kept as short named steps so each failure names its step.
 */
#define _GNU_SOURCE
#include "mcshim.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <endian.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef PACKET_QDISC_BYPASS
#define PACKET_QDISC_BYPASS 20
#endif

static __thread char last_error[256];

const char *mc_last_error(void)
{
	return last_error;
}

/* Records "step: strerror" and returns -err, so every failure site is one line. */
static int fail(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(last_error))
		snprintf(last_error + n, sizeof(last_error) - n, ": %s", strerror(err));
	return -err;
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

static int attach_filter(int fd, const struct sock_filter *filter, uint16_t len)
{
	struct sock_fprog prog = { .len = len, .filter = (struct sock_filter *)filter };

	if (len == 0 || filter == NULL)
		return fail(EINVAL, "SO_ATTACH_FILTER: empty program");
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		return fail(errno, "SO_ATTACH_FILTER (%u instructions)", len);
	return 0;
}

static int bind_link(int fd, int ifindex, uint16_t protocol)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(protocol);
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		return fail(errno, "bind ifindex %d protocol 0x%04x", ifindex, protocol);
	return 0;
}

/* ------------------------------------------------------------------------------------------------------------ RX */

/*
 * Version choice, measured with native/tools/rxlat.c (veth, kernel 6.18, 2 cores; sendto -> frame in user space):
 *   V2 (2 KiB frames)            100 pps p50 58 us p90 78 us | 1k pps p50 25 us p90 40 us | 10k pps p50 20 us p90 42 us
 *   V3 8 KiB blocks, tov 1 ms    100 pps p50 591 us p90 645  | 1k pps p50 133 p90 1032    | 10k pps p50 556 p90 982
 *   V3 64 KiB blocks, tov 1 ms   100 pps p50 332 us p90 392  | 1k pps p50 674 p90 731     | 10k pps p50 577 p90 994
 *   V3 8 KiB blocks, tov 4 ms    p50 2.1-2.5 ms at every rate
 * V3 hands a block over only when it fills or tp_retire_blk_tov expires, so at the rates a proxy sees most of the
 * time every packet waits for the timer; V2 wakes the reader per frame. The engines default to V2; V3 stays
 * selectable for very high capture rates where per-block wakeups matter more than latency.
 */
struct mc_rx {
	int fd;
	int version;
	int ignore_outgoing;
	uint8_t *map;
	size_t map_len;
	uint32_t block_size;
	uint32_t block_count;
	uint32_t frame_size;
	uint32_t frame_count;
	uint32_t head;    /* V2: next frame index; V3: current block index */
	uint32_t walked;  /* V2: frames handed out by the last walk */
	int block_open;   /* V3: the current block is owned by user space */
	uint32_t left;    /* V3: frames of the open block not walked yet */
	uint8_t *next;    /* V3: next frame header in the open block */
};

static int rx_setup_ring(struct mc_rx *rx, uint32_t timeout_ms)
{
	int err;

	err = set_int(rx->fd, SOL_PACKET, PACKET_VERSION, rx->version == 3 ? TPACKET_V3 : TPACKET_V2);
	if (err)
		return fail(-err, "PACKET_VERSION %d", rx->version);
	if (rx->version == 3) {
		struct tpacket_req3 req;

		memset(&req, 0, sizeof(req));
		req.tp_block_size = rx->block_size;
		req.tp_block_nr = rx->block_count;
		req.tp_frame_size = rx->frame_size;
		req.tp_frame_nr = rx->frame_count;
		req.tp_retire_blk_tov = timeout_ms;
		if (setsockopt(rx->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
			return fail(errno, "PACKET_RX_RING v3 (%u blocks of %u)", rx->block_count, rx->block_size);
	} else {
		struct tpacket_req req;

		memset(&req, 0, sizeof(req));
		req.tp_block_size = rx->block_size;
		req.tp_block_nr = rx->block_count;
		req.tp_frame_size = rx->frame_size;
		req.tp_frame_nr = rx->frame_count;
		if (setsockopt(rx->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
			return fail(errno, "PACKET_RX_RING v2 (%u frames of %u)", rx->frame_count, rx->frame_size);
	}
	rx->map_len = (size_t)rx->block_size * rx->block_count;
	rx->map = mmap(NULL, rx->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, rx->fd, 0);
	if (rx->map == MAP_FAILED) {
		/* MAP_LOCKED fails under a low RLIMIT_MEMLOCK; the ring works unlocked, just may page. */
		rx->map = mmap(NULL, rx->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, rx->fd, 0);
		if (rx->map == MAP_FAILED) {
			rx->map = NULL;
			return fail(errno, "mmap RX ring (%zu bytes)", rx->map_len);
		}
	}
	return 0;
}

int mc_rx_open(int ifindex, int version, uint32_t block_size, uint32_t block_count, uint32_t frame_size,
	       uint32_t block_timeout_ms, const struct sock_filter *filter, uint16_t filter_len, int ignore_outgoing,
	       struct mc_rx **out)
{
	struct mc_rx *rx;
	int err;

	*out = NULL;
	if ((version != 2 && version != 3) || block_size == 0 || block_count == 0 || frame_size < TPACKET_ALIGNMENT ||
	    frame_size % TPACKET_ALIGNMENT != 0 || block_size % frame_size != 0)
		return fail(EINVAL, "mc_rx_open: bad geometry (v%d, block %u x %u, frame %u)", version, block_size,
			    block_count, frame_size);
	rx = calloc(1, sizeof(*rx));
	if (rx == NULL)
		return fail(ENOMEM, "mc_rx_open");
	rx->version = version;
	rx->block_size = block_size;
	rx->block_count = block_count;
	rx->frame_size = frame_size;
	rx->frame_count = block_size / frame_size * block_count;

	/* Protocol 0: no packet hook until the final bind, so nothing arrives before the filter is in place. */
	rx->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (rx->fd < 0) {
		err = fail(errno, "socket(AF_PACKET, SOCK_RAW)");
		free(rx);
		return err;
	}
	err = attach_filter(rx->fd, filter, filter_len);
	if (err)
		goto out;
	if (ignore_outgoing) {
		err = set_int(rx->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
		rx->ignore_outgoing = err ? err : 1;
	}
	err = rx_setup_ring(rx, block_timeout_ms);
	if (err)
		goto out;
	err = bind_link(rx->fd, ifindex, ETH_P_ALL);
	if (err)
		goto out;
	*out = rx;
	return 0;
out:
	mc_rx_close(rx);
	return err;
}

int mc_rx_fd(const struct mc_rx *rx)
{
	return rx->fd;
}

int mc_rx_ignore_outgoing(const struct mc_rx *rx)
{
	return rx->ignore_outgoing;
}

int mc_rx_set_filter(struct mc_rx *rx, const struct sock_filter *filter, uint16_t filter_len)
{
	/* The kernel swaps the program atomically; frames already in the ring passed the old one. */
	return attach_filter(rx->fd, filter, filter_len);
}

int mc_rx_wait(struct mc_rx *rx, int timeout_ms)
{
	struct pollfd pfd = { .fd = rx->fd, .events = POLLIN | POLLRDNORM | POLLERR };
	int n, soerr = 0;
	socklen_t len = sizeof(soerr);

	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : fail(errno, "poll");
	if (n == 0)
		return 0;
	if (pfd.revents & POLLERR) {
		/* Reading SO_ERROR clears it, so a one-off error (e.g. ENETDOWN) does not make poll spin. */
		if (getsockopt(rx->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0)
			return fail(soerr, "RX socket error");
	}
	return 1;
}

static void fill_frame(struct mc_frame *f, uint8_t *hdr, uint16_t mac, uint16_t net, uint32_t snaplen, uint32_t len,
		       uint32_t status, uint32_t sec, uint32_t nsec)
{
	f->data = hdr + mac;
	f->ts_sec = sec;
	f->ts_nsec = nsec;
	f->len = snaplen;
	f->net_offset = (uint16_t)(net - mac);
	f->flags = ((status & TP_STATUS_CSUMNOTREADY) ? MC_FRAME_CSUM_NOT_READY : 0) |
		   (snaplen < len ? MC_FRAME_TRUNCATED : 0);
}

static int rx_walk_v2(struct mc_rx *rx, struct mc_frame *frames, int max)
{
	uint32_t idx = rx->head;
	int n = 0;

	while (n < max) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(rx->map + (size_t)idx * rx->frame_size);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			break;
		fill_frame(&frames[n++], (uint8_t *)h, h->tp_mac, h->tp_net, h->tp_snaplen, h->tp_len, status, h->tp_sec,
			   h->tp_nsec);
		if (++idx == rx->frame_count)
			idx = 0;
		if (idx == rx->head)
			break;
	}
	rx->walked = (uint32_t)n;
	return n;
}

static struct tpacket_block_desc *rx_block(struct mc_rx *rx, uint32_t idx)
{
	return (struct tpacket_block_desc *)(rx->map + (size_t)idx * rx->block_size);
}

static void rx_return_block(struct mc_rx *rx)
{
	__atomic_store_n(&rx_block(rx, rx->head)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	rx->block_open = 0;
	if (++rx->head == rx->block_count)
		rx->head = 0;
}

static int rx_walk_v3(struct mc_rx *rx, struct mc_frame *frames, int max)
{
	int n = 0;

	while (!rx->block_open) {
		struct tpacket_block_desc *b = rx_block(rx, rx->head);

		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			return 0;
		rx->block_open = 1;
		rx->left = b->hdr.bh1.num_pkts;
		rx->next = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
		if (rx->left == 0)
			rx_return_block(rx);
	}
	while (n < max && rx->left > 0) {
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)rx->next;

		fill_frame(&frames[n++], (uint8_t *)h, h->tp_mac, h->tp_net, h->tp_snaplen, h->tp_len, h->tp_status,
			   h->tp_sec, h->tp_nsec);
		rx->next += h->tp_next_offset;
		rx->left--;
	}
	return n;
}

int mc_rx_walk(struct mc_rx *rx, struct mc_frame *frames, int max)
{
	if (max <= 0)
		return 0;
	return rx->version == 3 ? rx_walk_v3(rx, frames, max) : rx_walk_v2(rx, frames, max);
}

void mc_rx_release(struct mc_rx *rx)
{
	if (rx->version == 3) {
		if (rx->block_open && rx->left == 0)
			rx_return_block(rx);
		return;
	}
	for (uint32_t i = 0; i < rx->walked; i++) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(rx->map + (size_t)rx->head * rx->frame_size);

		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		if (++rx->head == rx->frame_count)
			rx->head = 0;
	}
	rx->walked = 0;
}

int mc_rx_stats(struct mc_rx *rx, struct mc_rx_stats *stats)
{
	union {
		struct tpacket_stats v2;
		struct tpacket_stats_v3 v3;
	} s;
	socklen_t len = rx->version == 3 ? sizeof(s.v3) : sizeof(s.v2);

	memset(&s, 0, sizeof(s));
	if (getsockopt(rx->fd, SOL_PACKET, PACKET_STATISTICS, &s, &len) != 0)
		return fail(errno, "PACKET_STATISTICS");
	/* tp_packets and tp_drops sit at the same offsets in both layouts. */
	stats->packets = s.v2.tp_packets;
	stats->drops = s.v2.tp_drops;
	return 0;
}

void mc_rx_close(struct mc_rx *rx)
{
	if (rx == NULL)
		return;
	if (rx->map)
		munmap(rx->map, rx->map_len);
	if (rx->fd >= 0)
		close(rx->fd);
	free(rx);
}

/* ------------------------------------------------------------------------------------------------------------ TX */

/*
 * TX uses TPACKET_V2: a V3 TX ring has the same fixed-size frame semantics (blocks do not apply to TX) but needs a
 * newer kernel and zeroed V3-only fields; V2 works everywhere AF_PACKET TX rings do.
 */
#define TX_DATA_OFFSET (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
#ifndef PACKET_VNET_HDR
#define PACKET_VNET_HDR 15
#endif
/*
 * Without a virtio-net header the kernel sends a TX ring frame as page fragments pointing into the ring (zero
 * copy). Every receiver that is not a real NIC (veth, the bridge, a local socket) must then copy the fragments out
 * (skb_copy_ubufs) and pull the headers linear again: measured at ~8 % of the server's time for 100-byte datagrams.
 * A header whose hdr_len covers the frame makes the kernel copy that many bytes into the skb's linear area once.
 * Frames longer than this stay zero copy past it: a larger linear area would be a high-order allocation.
 */
#define TX_LINEAR_MAX 2048
#define TX_VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
#define TX_BUSY (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)

struct mc_tx {
	int fd;
	int qdisc_bypass;
	int linear;
	uint8_t *map;
	size_t map_len;
	uint32_t frame_size;
	uint32_t frame_count;
	uint32_t head;
	uint32_t pending;
	int retry;
	struct mc_tx_stats stats;
};

static struct tpacket2_hdr *tx_hdr(struct mc_tx *tx, uint32_t idx)
{
	return (struct tpacket2_hdr *)(tx->map + (size_t)idx * tx->frame_size);
}

static int tx_setup_ring(struct mc_tx *tx)
{
	struct tpacket_req req;
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	int err;

	err = set_int(tx->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2);
	if (err)
		return fail(-err, "PACKET_VERSION 2 (TX)");
	/* A malformed frame is skipped instead of stopping the ring at TP_STATUS_WRONG_FORMAT forever. */
	err = set_int(tx->fd, SOL_PACKET, PACKET_LOSS, 1);
	if (err)
		return fail(-err, "PACKET_LOSS");
	memset(&req, 0, sizeof(req));
	/* Order-0-ish blocks: large contiguous allocations fail on fragmented hosts. */
	req.tp_block_size = tx->frame_size > page ? tx->frame_size : page;
	req.tp_frame_size = tx->frame_size;
	req.tp_frame_nr = tx->frame_count;
	req.tp_block_nr = tx->frame_count / (req.tp_block_size / tx->frame_size);
	if (setsockopt(tx->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) != 0)
		return fail(errno, "PACKET_TX_RING (%u frames of %u)", tx->frame_count, tx->frame_size);
	tx->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	tx->map = mmap(NULL, tx->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, tx->fd, 0);
	if (tx->map == MAP_FAILED) {
		tx->map = NULL;
		return fail(errno, "mmap TX ring (%zu bytes)", tx->map_len);
	}
	return 0;
}

int mc_tx_open(int ifindex, uint32_t frame_size, uint32_t frame_count, int qdisc_bypass, struct mc_tx **out)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	struct mc_tx *tx;
	int err;

	*out = NULL;
	/* Power-of-two frames tile pages exactly, so frame i sits at i * frame_size. */
	if (frame_size <= TX_DATA_OFFSET || (frame_size & (frame_size - 1)) != 0 || frame_count == 0 ||
	    (frame_size < page && frame_count % (page / frame_size) != 0))
		return fail(EINVAL, "mc_tx_open: bad geometry (%u frames of %u)", frame_count, frame_size);
	tx = calloc(1, sizeof(*tx));
	if (tx == NULL)
		return fail(ENOMEM, "mc_tx_open");
	tx->frame_size = frame_size;
	tx->frame_count = frame_count;
	tx->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (tx->fd < 0) {
		err = fail(errno, "socket(AF_PACKET, SOCK_RAW) for TX");
		free(tx);
		return err;
	}
	if (qdisc_bypass) {
		err = set_int(tx->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
		tx->qdisc_bypass = err ? err : 1;
	}
	/* Must precede the ring. Refused (old kernel): frames go out zero copy, correct but slower on virtual links. */
	err = set_int(tx->fd, SOL_PACKET, PACKET_VNET_HDR, 1);
	tx->linear = err ? err : 1;
	err = tx_setup_ring(tx);
	if (err)
		goto out;
	/* Protocol 0 binds the device for sending without registering a receive hook. */
	err = bind_link(tx->fd, ifindex, 0);
	if (err)
		goto out;
	*out = tx;
	return 0;
out:
	mc_tx_close(tx);
	return err;
}

int mc_tx_fd(const struct mc_tx *tx)
{
	return tx->fd;
}

int mc_tx_qdisc_bypass(const struct mc_tx *tx)
{
	return tx->qdisc_bypass;
}

int mc_tx_linear(const struct mc_tx *tx)
{
	return tx->linear;
}

static uint32_t tx_prefix(const struct mc_tx *tx)
{
	return (uint32_t)TX_DATA_OFFSET + (tx->linear == 1 ? TX_VNET_LEN : 0);
}

uint32_t mc_tx_capacity(const struct mc_tx *tx)
{
	return tx->frame_size - tx_prefix(tx);
}

uint8_t *mc_tx_frame(struct mc_tx *tx)
{
	struct tpacket2_hdr *h = tx_hdr(tx, tx->head);
	uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

	if (status & TX_BUSY) {
		tx->stats.ring_full++;
		return NULL;
	}
	if (status & TP_STATUS_WRONG_FORMAT)
		tx->stats.wrong_format++;
	return (uint8_t *)h + tx_prefix(tx);
}

void mc_tx_ready(struct mc_tx *tx, uint32_t len)
{
	struct tpacket2_hdr *h = tx_hdr(tx, tx->head);

	if (tx->linear == 1) {
		struct virtio_net_hdr *v = (struct virtio_net_hdr *)((uint8_t *)h + TX_DATA_OFFSET);

		memset(v, 0, sizeof(*v));
		v->gso_type = VIRTIO_NET_HDR_GSO_NONE;
		v->hdr_len = htole16((uint16_t)(len < TX_LINEAR_MAX ? len : TX_LINEAR_MAX));
		len += TX_VNET_LEN;
	}
	h->tp_len = len;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	if (++tx->head == tx->frame_count)
		tx->head = 0;
	tx->pending++;
	tx->stats.queued++;
}

int mc_tx_kick(struct mc_tx *tx)
{
	ssize_t n;
	int err;

	if (tx->pending == 0 && !tx->retry)
		return 0;
	n = sendto(tx->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	if (n >= 0) {
		tx->stats.kicks++;
		tx->pending = 0;
		tx->retry = 0;
		return (int)(n > 0x7fffffff ? 0x7fffffff : n);
	}
	err = errno;
	tx->retry = 1;
	tx->stats.last_errno = err;
	if (err == EAGAIN || err == EWOULDBLOCK)
		tx->stats.kick_again++;
	else if (err == ENOBUFS)
		tx->stats.kick_nobufs++;
	else
		tx->stats.kick_errors++;
	return fail(err, "TX kick");
}

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int mc_tx_wait(struct mc_tx *tx, uint32_t timeout_us)
{
	struct tpacket2_hdr *h = tx_hdr(tx, tx->head);
	uint64_t deadline = 0;

	/*
	 * A frame is free again once the kernel has freed its skb: within the kick on virtual links, at the NIC's TX
	 * completion on real ones. poll() is no use here: a packet socket reports POLLOUT whenever its send buffer has
	 * room, ring or not. So yield until the frame is free: the thread has nothing else to do until it is.
	 */
	while (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TX_BUSY) {
		uint64_t now = monotonic_us();

		if (deadline == 0)
			deadline = now + timeout_us;
		else if (now >= deadline)
			return 0;
		sched_yield();
	}
	return 1;
}

uint32_t mc_tx_pending(const struct mc_tx *tx)
{
	return tx->pending;
}

void mc_tx_stats(const struct mc_tx *tx, struct mc_tx_stats *stats)
{
	*stats = tx->stats;
}

void mc_tx_close(struct mc_tx *tx)
{
	if (tx == NULL)
		return;
	if (tx->map)
		munmap(tx->map, tx->map_len);
	if (tx->fd >= 0)
		close(tx->fd);
	free(tx);
}

/* ------------------------------------------------------------------------------------------------------- netlink */

static int nl_open(int protocol, const char *what)
{
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return fail(errno, "socket(AF_NETLINK, %s)", what);
	/* A lost reply must not hang the resolver thread. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		int err = fail(errno, "SO_RCVTIMEO (netlink %s)", what);
		close(fd);
		return err;
	}
	return fd;
}

int mc_nl_open(void)
{
	return nl_open(NETLINK_ROUTE, "route");
}

int mc_nl_open_route_events(void)
{
	/* Routes, rules, addresses (they add and remove prefix routes) and links (down, up, gone). */
	struct sockaddr_nl local = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE | RTMGRP_IPV4_IFADDR | RTMGRP_LINK,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int err;

	if (fd < 0)
		return fail(errno, "socket(AF_NETLINK, route events)");
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
		err = fail(errno, "bind netlink route events");
		close(fd);
		return err;
	}
	return fd;
}

int mc_nl_route_events(int fd)
{
	char buf[8192];
	int any = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			any = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* The socket overflowed: events were lost, so something changed. */
		if (n < 0 && errno == ENOBUFS) {
			any = 1;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(errno, "netlink route events");
		return any;
	}
}

int mc_nft_open(void)
{
	return nl_open(NETLINK_NETFILTER, "netfilter");
}

static uint32_t nl_seq;

/* Drops replies to earlier, abandoned requests (after a timeout) so they cannot answer the next one. */
static void nl_drain(int fd)
{
	char junk[4096];

	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

static int nl_send(int fd, struct nlmsghdr *msg)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(fd, msg, msg->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return fail(errno, "netlink send");
	return 0;
}

static int nl_recv(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(errno, "netlink recv");
	return (int)n;
}

/* Sends a dump request and hands every reply message of type msg_type to on_msg until NLMSG_DONE. */
static int nl_dump(int fd, struct nlmsghdr *req, uint16_t msg_type, const char *what,
		   void (*on_msg)(struct nlmsghdr *h, void *ctx), void *ctx)
{
	union {
		struct nlmsghdr n;
		char raw[32768];
	} buf;
	int len, err, done = 0;
	struct nlmsghdr *h;

	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req->nlmsg_seq = __atomic_add_fetch(&nl_seq, 1, __ATOMIC_RELAXED);
	nl_drain(fd);
	err = nl_send(fd, req);
	while (!err && !done) {
		len = nl_recv(fd, buf.raw, sizeof(buf.raw));
		if (len < 0)
			return len;
		for (h = &buf.n; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error ? fail(-e->error, "%s", what) : 0;
				done = 1;
				break;
			}
			if (h->nlmsg_type == msg_type)
				on_msg(h, ctx);
		}
	}
	return err;
}

int mc_route_get(int fd, uint32_t destination, struct mc_route *route)
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		struct rtattr a;
		uint32_t dst;
	} req;
	union {
		struct nlmsghdr n;
		char raw[8192];
	} buf;
	int len, err = 0;
	struct nlmsghdr *h;

	memset(route, 0, sizeof(*route));
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = sizeof(req);
	req.n.nlmsg_type = RTM_GETROUTE;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = __atomic_add_fetch(&nl_seq, 1, __ATOMIC_RELAXED);
	req.r.rtm_family = AF_INET;
	req.r.rtm_dst_len = 32;
	req.a.rta_len = RTA_LENGTH(sizeof(uint32_t));
	req.a.rta_type = RTA_DST;
	req.dst = destination;

	nl_drain(fd);
	err = nl_send(fd, &req.n);
	if (err)
		return err;
	len = nl_recv(fd, buf.raw, sizeof(buf.raw));
	if (len < 0)
		return len;
	err = fail(ENOMSG, "RTM_GETROUTE: no route message");
	for (h = &buf.n; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_seq != req.n.nlmsg_seq)
			continue;
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			err = e->error ? fail(-e->error, "RTM_GETROUTE") : 0;
			break;
		}
		if (h->nlmsg_type == RTM_NEWROUTE) {
			struct rtmsg *r = NLMSG_DATA(h);
			int alen = RTM_PAYLOAD(h);
			struct rtattr *a;

			route->type = r->rtm_type;
			for (a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4)
					memcpy(&route->gateway, RTA_DATA(a), 4);
				else if (a->rta_type == RTA_PREFSRC && RTA_PAYLOAD(a) == 4)
					memcpy(&route->prefsrc, RTA_DATA(a), 4);
				else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == 4)
					memcpy(&route->oif, RTA_DATA(a), 4);
			}
			err = 0;
			break;
		}
	}
	return err;
}

struct neigh_ctx {
	int ifindex;
	struct mc_neigh *out;
	int max;
	int count;
};

static void neigh_parse(struct nlmsghdr *h, void *ctx)
{
	struct neigh_ctx *c = ctx;
	struct ndmsg *nd = NLMSG_DATA(h);
	int alen = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd));
	struct rtattr *a;
	struct mc_neigh n;
	int have_ip = 0;

	if (nd->ndm_family != AF_INET || (c->ifindex != 0 && nd->ndm_ifindex != c->ifindex) || c->count >= c->max)
		return;
	memset(&n, 0, sizeof(n));
	n.state = nd->ndm_state;
	for (a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) {
			memcpy(&n.ip, RTA_DATA(a), 4);
			have_ip = 1;
		} else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) <= sizeof(n.mac)) {
			n.mac_len = (uint8_t)RTA_PAYLOAD(a);
			memcpy(n.mac, RTA_DATA(a), n.mac_len);
		}
	}
	if (have_ip)
		c->out[c->count++] = n;
}

int mc_neigh_list(int fd, int ifindex, struct mc_neigh *out, int max)
{
	struct {
		struct nlmsghdr n;
		struct ndmsg nd;
	} req;
	struct neigh_ctx ctx = { .ifindex = ifindex, .out = out, .max = max };
	int err;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = sizeof(req);
	req.n.nlmsg_type = RTM_GETNEIGH;
	req.nd.ndm_family = AF_INET;
	err = nl_dump(fd, &req.n, RTM_NEWNEIGH, "RTM_GETNEIGH", neigh_parse, &ctx);
	return err ? err : ctx.count;
}

/* ------------------------------------------------------------------------------------------- nftables counters */

#define NLA_OK_(a, rem) ((rem) >= (int)sizeof(struct nlattr) && (a)->nla_len >= sizeof(struct nlattr) && (int)(a)->nla_len <= (rem))
#define NLA_NEXT_(a, rem) ((rem) -= NLA_ALIGN((a)->nla_len), (struct nlattr *)((char *)(a) + NLA_ALIGN((a)->nla_len)))
#define NLA_DATA_(a) ((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_LEN_(a) ((int)(a)->nla_len - NLA_HDRLEN)
#define NLA_TYPE_(a) ((a)->nla_type & NLA_TYPE_MASK)
/* libnftnl's rule userdata: type-length-value records; type 0 is the rule's comment, NUL-terminated. */
#define NFT_UDATA_RULE_COMMENT 0

static void nla_put_str(char *buf, size_t *off, uint16_t type, const char *value)
{
	struct nlattr *a = (struct nlattr *)(buf + *off);
	size_t len = strlen(value) + 1;

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(NLA_DATA_(a), value, len);
	*off += NLA_ALIGN(a->nla_len);
}

/* Within one NFTA_LIST_ELEM: the counter expression's packets and bytes. */
static int nft_expr_counter(struct nlattr *elem, struct mc_nft_counter *c)
{
	struct nlattr *a, *data = NULL;
	int rem = NLA_LEN_(elem), is_counter = 0;

	for (a = NLA_DATA_(elem); NLA_OK_(a, rem); a = NLA_NEXT_(a, rem)) {
		if (NLA_TYPE_(a) == NFTA_EXPR_NAME)
			is_counter = NLA_LEN_(a) >= 8 && memcmp(NLA_DATA_(a), "counter", 8) == 0;
		else if (NLA_TYPE_(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!is_counter || data == NULL)
		return 0;
	rem = NLA_LEN_(data);
	for (a = NLA_DATA_(data); NLA_OK_(a, rem); a = NLA_NEXT_(a, rem)) {
		uint64_t v;

		if (NLA_LEN_(a) != 8)
			continue;
		memcpy(&v, NLA_DATA_(a), 8);
		if (NLA_TYPE_(a) == NFTA_COUNTER_PACKETS)
			c->packets = be64toh(v);
		else if (NLA_TYPE_(a) == NFTA_COUNTER_BYTES)
			c->bytes = be64toh(v);
	}
	return 1;
}

static int nft_rule_comment(struct nlattr *udata, struct mc_nft_counter *c)
{
	const uint8_t *p = NLA_DATA_(udata);
	int rem = NLA_LEN_(udata);

	while (rem >= 2 && p[1] <= rem - 2) {
		if (p[0] == NFT_UDATA_RULE_COMMENT && p[1] > 0) {
			size_t n = strnlen((const char *)p + 2, p[1]);

			if (n >= sizeof(c->comment))
				n = sizeof(c->comment) - 1;
			memcpy(c->comment, p + 2, n);
			c->comment[n] = 0;
			return 1;
		}
		rem -= 2 + p[1];
		p += 2 + p[1];
	}
	return 0;
}

struct nft_ctx {
	struct mc_nft_counter *out;
	int max;
	int count;
};

static void nft_rule_parse(struct nlmsghdr *h, void *ctx)
{
	struct nft_ctx *x = ctx;
	struct nfgenmsg *g = NLMSG_DATA(h);
	int rem = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*g));
	struct mc_nft_counter c;
	int have_counter = 0, have_comment = 0;
	struct nlattr *a;

	memset(&c, 0, sizeof(c));
	for (a = (struct nlattr *)((char *)g + NLMSG_ALIGN(sizeof(*g))); NLA_OK_(a, rem); a = NLA_NEXT_(a, rem)) {
		if (NLA_TYPE_(a) == NFTA_RULE_EXPRESSIONS) {
			struct nlattr *e;
			int erem = NLA_LEN_(a);

			for (e = NLA_DATA_(a); NLA_OK_(e, erem); e = NLA_NEXT_(e, erem))
				if (NLA_TYPE_(e) == NFTA_LIST_ELEM && !have_counter)
					have_counter = nft_expr_counter(e, &c);
		} else if (NLA_TYPE_(a) == NFTA_RULE_USERDATA) {
			have_comment = nft_rule_comment(a, &c);
		}
	}
	if (have_counter && have_comment && x->count < x->max)
		x->out[x->count++] = c;
}

int mc_nft_rule_counters(int fd, int family, const char *table, const char *chain, struct mc_nft_counter *out, int max)
{
	struct {
		struct nlmsghdr n;
		struct nfgenmsg g;
		char attrs[2 * (NLA_HDRLEN + 256)];
	} req;
	struct nft_ctx ctx = { .out = out, .max = max };
	size_t off = 0;
	int err;

	if (strlen(table) > 255 || strlen(chain) > 255)
		return fail(EINVAL, "nftables table or chain name too long");
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
	req.g.nfgen_family = (uint8_t)family;
	req.g.version = NFNETLINK_V0;
	/* The kernel filters the dump to this table and chain. */
	nla_put_str(req.attrs, &off, NFTA_RULE_TABLE, table);
	nla_put_str(req.attrs, &off, NFTA_RULE_CHAIN, chain);
	req.n.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(req.g)) + off);
	err = nl_dump(fd, &req.n, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, "NFT_MSG_GETRULE", nft_rule_parse, &ctx);
	return err ? err : ctx.count;
}

/* ------------------------------------------------------------------------------------------------- interface */

int mc_if_get(const char *name, struct mc_if *info)
{
	struct ifreq ifr;
	int fd, err = 0;

	memset(info, 0, sizeof(*info));
	if (strlen(name) >= IFNAMSIZ)
		return fail(EINVAL, "interface name '%s'", name);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(AF_INET) for ioctl");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
		err = fail(errno, "interface '%s'", name);
		goto out;
	}
	info->index = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFMTU, &ifr) != 0) {
		err = fail(errno, "SIOCGIFMTU '%s'", name);
		goto out;
	}
	info->mtu = ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		err = fail(errno, "SIOCGIFHWADDR '%s'", name);
		goto out;
	}
	if (ifr.ifr_hwaddr.sa_family == 1 /* ARPHRD_ETHER */) {
		memcpy(info->mac, ifr.ifr_hwaddr.sa_data, 6);
		info->mac_len = 6;
	}
out:
	close(fd);
	return err;
}

void mc_fd_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
