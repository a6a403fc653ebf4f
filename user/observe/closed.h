/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sockets that closed, or were never listed by sock_diag (a group that lived 10 ms): shown with
 * their final counts where they belong, from the identity BPF recorded when it first counted
 * them (struct rt_sock_id), marked closed, for the retention of exited tasks; then forgotten.
 * Pure: the collector reads the maps.
 */
#ifndef REUSETOP_CLOSED_H
#define REUSETOP_CLOSED_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

#include "observe/discovery.h"
#include "reusetop.h"

struct rt_closed;

int closed_new(struct rt_closed **out, double keep_s);
void closed_free(struct rt_closed *c);
/* Socket `inode` closed (found gone at now, CLOCK_MONOTONIC seconds); id is what BPF recorded. */
int closed_add(struct rt_closed *c, uint64_t inode, const struct rt_sock_id *id, double now);
bool closed_known(const struct rt_closed *c, uint64_t inode);
/* Known closed for the retention or longer: forget it (closed_remove) and its counters. */
bool closed_expired(const struct rt_closed *c, uint64_t inode, double now);
void closed_remove(struct rt_closed *c, uint64_t inode);
/*
 * The sample's listeners: discovery's l[0..n) (sorted as discovery sorts) and the closed ones,
 * sorted the same way. *out is l itself when nothing is closed, else storage of c valid until
 * the next call. 0 or -ENOMEM.
 */
int closed_merge(struct rt_closed *c, const struct rt_listener *l, size_t n,
		 const struct rt_listener **out, size_t *nout);

#endif
