/*
 * mcshim netlink: route and neighbour queries, route change events, and the dump loop nft_counters.c shares.
 */
#define _GNU_SOURCE
#include "mcshim_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

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

int nl_dump(int fd, struct nlmsghdr *req, uint16_t msg_type, const char *what,
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
