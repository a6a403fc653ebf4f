/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line parsing for the observing mode. Pure: returns errors, never prints or exits. */
#ifndef REUSETOP_OPTS_H
#define REUSETOP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tier.h"

#define RT_MAX_FILTER 64
#define RT_MIN_DELAY_S 0.05
#define RT_MAX_DELAY_S 3600.0

enum rt_output {
	RT_OUT_AUTO, /* the live view on a terminal, batch otherwise */
	RT_OUT_BATCH,
	RT_OUT_JSON,
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
	bool verbose;
	bool help;
	bool version;
};

/* Returns 0, or -EINVAL with a one-line message (no trailing newline) in err. */
int opts_parse(int argc, char **argv, struct rt_options *o, char *err, size_t errlen);

/* The value parsers, exported for the tests: 0 or -EINVAL. */
int parse_delay(const char *s, double *out);
int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int parse_port_list(const char *s, uint16_t *ports, size_t *n);
int parse_pid_list(const char *s, int *pids, size_t *n);
int parse_tier(const char *s, enum rt_tier *out);

extern const char rt_usage[];

#endif
