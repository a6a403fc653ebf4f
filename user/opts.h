/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line parsing for the observing mode. Pure: returns errors, never prints or exits. */
#ifndef REUSETOP_OPTS_H
#define REUSETOP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tier.h"

#define RT_MAX_FILTER  64
#define RT_MIN_DELAY_S 0.05
#define RT_MAX_DELAY_S 3600.0
/* --retain-exited: how long exited tasks stay listed before their counts fold (seconds). */
#define RT_DEFAULT_RETAIN_EXITED_S 60
#define RT_MAX_RETAIN_EXITED_S	   86400

enum rt_output {
	RT_OUT_AUTO, /* the live view on a terminal, batch otherwise */
	RT_OUT_BATCH,
	RT_OUT_JSON,
};

/* --prometheus [ADDR:]PORT: where the exporter listens (family 0: no exporter). */
struct rt_listen_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	uint16_t port;
};

struct rt_options {
	enum rt_output output;
	double delay_s;
	unsigned long iterations; /* 0: until interrupted */
	int pids[RT_MAX_FILTER];
	size_t npids;
	uint16_t ports[RT_MAX_FILTER];
	size_t nports;
	enum rt_tier tier;
	struct rt_listen_addr prometheus;
	double retain_exited_s;
	bool verbose;
	bool help;
	bool version;
};

/* Returns 0, or -EINVAL with a one-line message (no trailing newline) in err. */
int opts_parse(int argc, char **argv, struct rt_options *o, char *err, size_t errlen);

/*
 * Format a one-line error into err and return -EINVAL. Control characters the user typed (and
 * the message quotes) become '?', so the line cannot break. Shared by every parser.
 */
int opts_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The message for what getopt_long (with opterr = 0 and a leading ':') returned instead of a
 * known option: '?' unknown, ':' missing value. name is argv[optind - 1].
 */
int opts_bad_option(int c, const char *name, char *err, size_t errlen);

/* The value parsers, exported for the tests: 0 or -EINVAL. */
int parse_delay(const char *s, double *out);
int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int parse_port_list(const char *s, uint16_t *ports, size_t *n);
int parse_pid_list(const char *s, int *pids, size_t *n);
int parse_tier(const char *s, enum rt_tier *out);
/* PORT (on 127.0.0.1), IPV4:PORT or [IPV6]:PORT; numeric only, port 1 to 65535. */
int parse_listen_addr(const char *s, struct rt_listen_addr *out);

extern const char rt_usage[];

#endif
