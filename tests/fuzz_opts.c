// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the command-line parsers: the input is split at NUL bytes into an argv,
 * which opts_parse and steer_parse must each either accept or refuse with a one-line message;
 * the sanitizers catch any memory or undefined-behaviour error on the way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "steer/steer.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	struct steer_options so;
	struct rt_options o;
	char err[512];
	int argc = 1;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "reusetop";
	for (size_t i = 0, start = 0; i <= size && argc <= MAX_ARGS; i++) {
		if (buf[i] == '\0') {
			argv[argc++] = &buf[start];
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	err[0] = '\0';
	if (opts_parse(argc, argv, &o, err, sizeof(err))) {
		/* A refusal always says why, on one line. */
		if (!err[0] || strchr(err, '\n'))
			abort();
	} else if (o.delay_s < RT_MIN_DELAY_S || o.delay_s > RT_MAX_DELAY_S ||
		   o.nports > RT_MAX_FILTER || o.npids > RT_MAX_FILTER) {
		abort();
	}
	err[0] = '\0';
	if (steer_parse(argc, argv, &so, err, sizeof(err)) && (!err[0] || strchr(err, '\n')))
		abort();
	free(buf);
	return 0;
}
