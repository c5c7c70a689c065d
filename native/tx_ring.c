/*
 * mcshim TX ring: a TPACKET_V2 ring of fixed-size frames that the caller fills, and the kick that sends them.
 */
#define _GNU_SOURCE
#include "mcshim_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/mman.h>
#include <sys/socket.h>

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
