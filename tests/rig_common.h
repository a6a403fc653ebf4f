/* SPDX-License-Identifier: GPL-2.0 */
/* What rig_server and rig_client share: strict option parsing, addresses, one-line errors. */
#ifndef RIG_COMMON_H
#define RIG_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RIG_EXIT_FAIL  1
#define RIG_EXIT_USAGE 2

/* Where rig_log() writes: stderr, except in a server worker (or thread) that is still starting. */
static __thread int rig_log_fd = STDERR_FILENO;

/*
 * "<prog>: <message>\n" in one write(), so that lines from several processes (the server's
 * workers) never interleave.
 */
__attribute__((format(printf, 2, 3))) static inline void rig_log(const char *prog, const char *fmt,
								 ...)
{
	char line[512];
	size_t room = sizeof(line) - 1; /* one byte kept for the newline */
	size_t len = 0;
	va_list ap;
	int n;

	n = snprintf(line, room, "%s: ", prog);
	if (n > 0)
		len = (size_t)n < room - 1 ? (size_t)n : room - 1;
	va_start(ap, fmt);
	n = vsnprintf(line + len, room - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n < room - len - 1 ? (size_t)n : room - len - 1;
	line[len++] = '\n';
	if (write(rig_log_fd, line, len) < 0)
		return;
}

/* One line naming the option and the value it refused; -EINVAL. */
static inline int rig_bad_arg(const char *prog, const char *opt, const char *val)
{
	rig_log(prog, "failed to parse %s: invalid value '%s'", opt, val ? val : "");
	return -EINVAL;
}

/* A number in [min, max] with nothing before or after it; 0 or -EINVAL. */
static inline int rig_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !((*s >= '0' && *s <= '9') || *s == '-'))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "LO-HI" with 1 <= LO <= HI <= 65535; 0 or -EINVAL. */
static inline int rig_parse_port_range(const char *s, long *lo, long *hi)
{
	const char *dash = strchr(s, '-');
	char first[8];
	size_t n;

	if (!dash || dash == s)
		return -EINVAL;
	n = (size_t)(dash - s);
	if (n >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, n);
	first[n] = '\0';
	if (rig_parse_long(first, 1, 65535, lo) || rig_parse_long(dash + 1, 1, 65535, hi) ||
	    *lo > *hi)
		return -EINVAL;
	return 0;
}

/* A numeric IPv4 or IPv6 address and a port; 0 or -EINVAL. */
static inline int rig_parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss,
				 socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

/* The wildcard address of ss's family with the given port (a client's source address). */
static inline void rig_any_addr(const struct sockaddr_storage *ss, uint16_t port,
				struct sockaddr_storage *out, socklen_t *len)
{
	memset(out, 0, sizeof(*out));
	out->ss_family = ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
		((struct sockaddr_in6 *)out)->sin6_addr = in6addr_any;
		*len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)out)->sin_port = htons(port);
		((struct sockaddr_in *)out)->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(struct sockaddr_in);
	}
}

static inline int64_t rig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
