// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <netinet/in.h>

#include "util.h"

int reserve_array(void *arrp, size_t *cap, size_t need, size_t size)
{
	void **arr = arrp;
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / size || !(p = realloc(*arr, n * size)))
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool sleep_until(double t, volatile sig_atomic_t *stop)
{
	struct timespec ts = {.tv_sec = (time_t)t,
			      .tv_nsec = (long)((t - (double)(time_t)t) * 1e9)};

	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!*stop) {
		int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);

		if (!err)
			return !*stop;
		if (err != EINTR)
			return false;
	}
	return false;
}

const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "?";
}

const char *family_name(uint8_t family)
{
	return family == AF_INET6 ? "inet6" : "inet";
}

const char *endpoint_str(uint8_t family, const uint8_t *addr, const char *dev, uint16_t port,
			 char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool v6 = family == AF_INET6;

	addr_str(family, addr, a, sizeof(a));
	snprintf(buf, len, "%s%s%s%s%s:%u", v6 ? "[" : "", a, dev && *dev ? "%" : "",
		 dev ? dev : "", v6 ? "]" : "", port);
	return buf;
}

const char *addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}
