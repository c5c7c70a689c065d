/*
 * mcshim RX ring: a packet socket bound to the interface with a TPACKET_V2 or V3 ring, a classic-BPF filter, and the
 * walk that hands captured frames to the caller.
 */
#define _GNU_SOURCE
#include "mcshim_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>

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
