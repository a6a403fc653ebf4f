/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collection: reads the probes' counter maps into a sample (cumulative counters by socket inode
 * and by accepting task) and forgets map entries of sockets and tasks that are gone.
 * It never prints.
 */
#ifndef REUSETOP_COLLECTOR_H
#define REUSETOP_COLLECTOR_H

#include "observe/discovery.h"
#include "observe/loader.h"
#include "observe/model.h"

/* A socket missing from discovery this many scans in a row has its counters dropped. */
#define RT_STALE_SCANS 3

struct rt_collector;

/* Exited tasks stay listed for retain_exited_s seconds, then fold (observe/retention.h). */
int collector_new(struct rt_collector **out, const struct rt_probes *p, double retain_exited_s);
void collector_free(struct rt_collector *c);
/*
 * A sample in two steps, so that what the counters say can decide how much discovery does:
 * collector_read() reads the maps now (s->socks and s->acceptors); collector_finish(), given
 * the listeners discovery found (sorted; they tell which inodes are alive), forgets what is gone
 * and completes s. The arrays s points to are owned by c and valid until the next read. Both
 * return 0 or -errno.
 */
int collector_read(struct rt_collector *c, struct rt_sample *s);
int collector_finish(struct rt_collector *c, const struct rt_listener *listeners, size_t n,
		     struct rt_sample *s);

#endif
