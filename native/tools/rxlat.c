/*
 * rxlat: capture latency of an mcshim RX ring, for choosing TPACKET_V2 vs V3.
 * A sender thread sends timestamped UDP multicast out of <ifname> at <pps>; the ring captures the outgoing frames
 * (as the server engine does) and the delay from sendto to user space is reported as percentiles.
 * Build: gcc -O2 -pthread -o rxlat native/tools/rxlat.c native/*.c -Inative
 * Run:   rxlat <ifname> <2|3> <block_size> <block_count> <frame_size> <tov_ms> <pps> <count>
 */
#define _GNU_SOURCE
#include "mcshim.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ifname;
static long pps, count;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void *sender(void *arg)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ip_mreqn m = { .imr_ifindex = (int)if_nametoindex(ifname) };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(5000) };
	uint64_t gap = 1000000000ull / (uint64_t)pps, next = now_ns() + 50000000ull;
	(void)arg;
	to.sin_addr.s_addr = inet_addr("239.1.2.3");
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m));
	for (long i = 0; i < count; i++) {
		while (now_ns() < next)
			usleep(50);
		uint64_t ts = now_ns();
		sendto(fd, &ts, sizeof(ts), 0, (struct sockaddr *)&to, sizeof(to));
		next += gap;
	}
	close(fd);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		{ 0x20, 0, 0, 0xfffff004 }, { 0x15, 0, 7, 4 },  /* pkttype == OUTGOING */
		{ 0x28, 0, 0, 12 },         { 0x15, 0, 5, 0x800 },
		{ 0x30, 0, 0, 23 },         { 0x15, 0, 3, 17 },
		{ 0x20, 0, 0, 30 },         { 0x15, 0, 1, 0xef010203 },
		{ 0x06, 0, 0, 0x40000 },    { 0x06, 0, 0, 0 },
	};
	struct mc_frame frames[64];
	struct mc_rx *rx;
	pthread_t t;
	uint64_t *lat;
	long got = 0;
	int err;

	if (argc != 9) {
		fprintf(stderr, "usage: rxlat ifname version block_size block_count frame_size tov_ms pps count\n");
		return 2;
	}
	ifname = argv[1];
	pps = atol(argv[7]);
	count = atol(argv[8]);
	lat = calloc((size_t)count, sizeof(*lat));
	err = mc_rx_open((int)if_nametoindex(ifname), atoi(argv[2]), (uint32_t)atol(argv[3]), (uint32_t)atol(argv[4]),
			 (uint32_t)atol(argv[5]), (uint32_t)atol(argv[6]), f, sizeof(f) / sizeof(f[0]), 0, &rx);
	if (err) {
		fprintf(stderr, "%s\n", mc_last_error());
		return 1;
	}
	pthread_create(&t, NULL, sender, NULL);
	uint64_t deadline = now_ns() + (uint64_t)count * 1000000000ull / (uint64_t)pps + 2000000000ull;
	while (got < count && now_ns() < deadline) {
		int n = mc_rx_walk(rx, frames, 64);
		if (n == 0) {
			mc_rx_wait(rx, 100);
			continue;
		}
		uint64_t t_now = now_ns();
		for (int i = 0; i < n && got < count; i++) {
			uint64_t ts;
			memcpy(&ts, frames[i].data + frames[i].net_offset + 28, sizeof(ts));
			lat[got++] = t_now - ts;
		}
		mc_rx_release(rx);
	}
	pthread_join(t, NULL);
	qsort(lat, (size_t)got, sizeof(*lat), cmp);
	if (got == 0) {
		printf("nothing captured\n");
		return 1;
	}
	printf("v%s block %s x %s tov %s pps %ld: n=%ld p50=%.1fus p90=%.1fus p99=%.1fus max=%.1fus\n", argv[2], argv[3],
	       argv[4], argv[6], pps, got, lat[got / 2] / 1e3, lat[got * 9 / 10] / 1e3, lat[got * 99 / 100] / 1e3,
	       lat[got - 1] / 1e3);
	mc_rx_close(rx);
	return 0;
}
