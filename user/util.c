// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
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

char *u64_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/*
 * If t = value * 10^decimals, rounded to a double, is an integer below 2^50, the exact product
 * is within half an ulp of t (at most 1/8), so printf, which rounds the exact value to
 * `decimals` places, prints t's digits with the point put `decimals` from the end. Zeros, whole
 * counts and short fractions (most rates, shares and percentiles) take this path.
 */
char *fixed_exact(char *end, double value, int decimals)
{
	static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
	char *p = end;
	uint64_t n, frac;
	double t;

	if (decimals < 0 || decimals >= (int)ARRAY_LEN(pow10))
		return NULL;
	t = fabs(value) * (double)pow10[decimals];
	if (!(t < 0x1p50) || t != floor(t))
		return NULL;
	n = (uint64_t)t;
	frac = n % pow10[decimals];
	for (int i = 0; i < decimals; i++, frac /= 10)
		*--p = (char)('0' + frac % 10);
	if (decimals)
		*--p = '.';
	p = u64_digits(p, n / pow10[decimals]);
	/* printf keeps the sign of a negative value that rounds to zero, -0.0 included. */
	if (signbit(value))
		*--p = '-';
	return p;
}
