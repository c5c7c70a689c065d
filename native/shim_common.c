/*
 * mcshim: the last error of the calling thread, and the socket steps the RX and TX rings share. Written for this
 * project; setup / walk / teardown are kept as short named steps so each failure names its step.
 */
#define _GNU_SOURCE
#include "mcshim_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

static __thread char last_error[256];

const char *mc_last_error(void)
{
	return last_error;
}

int fail(int err, const char *fmt, ...)
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

int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

int attach_filter(int fd, const struct sock_filter *filter, uint16_t len)
{
	struct sock_fprog prog = { .len = len, .filter = (struct sock_filter *)filter };

	if (len == 0 || filter == NULL)
		return fail(EINVAL, "SO_ATTACH_FILTER: empty program");
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		return fail(errno, "SO_ATTACH_FILTER (%u instructions)", len);
	return 0;
}

int bind_link(int fd, int ifindex, uint16_t protocol)
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

void mc_fd_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
