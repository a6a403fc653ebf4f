/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collection: reads the probes' counter maps into a sample (cumulative counters by socket inode
 * and by accepting task) and forgets map entries of sockets and tasks that are gone.
 * It never prints.
 */
#ifndef REUSETOP_COLLECTOR_H
#define REUSETOP_COLLECTOR_H

#include "discovery.h"
#include "loader.h"
#include "model.h"

/* A socket missing from discovery this many scans in a row has its counters dropped. */
#define RT_STALE_SCANS 3

struct rt_collector;

int collector_new(struct rt_collector **out, const struct rt_probes *p);
void collector_free(struct rt_collector *c);
/*
 * Read the maps now. listeners (sorted by discovery) tell which inodes are alive. Fills s; the
 * arrays it points to are owned by c and valid until the next call. Returns 0 or -errno.
 */
int collector_sample(struct rt_collector *c, const struct rt_listener *listeners, size_t n,
		     struct rt_sample *s);

#endif
