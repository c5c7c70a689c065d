/*
 * mcshim interface facts by name: index, MTU and MAC, through ioctls.
 */
#define _GNU_SOURCE
#include "mcshim_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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
