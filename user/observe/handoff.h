/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collection of hand-offs (bpf/handoff.bpf.c): connections passed over Unix sockets, who
 * received them, who passed them, and how many are in flight. Receivers that exited are kept
 * with their final counts (exited) for the retention, then folded into one row per group end and
 * acceptor, as acceptors are (observe/retention.h). It also keeps the BPF filter of processes
 * to watch (handoff_pids) up to date. It never prints.
 */
#ifndef REUSETOP_HANDOFF_H
#define REUSETOP_HANDOFF_H

#include <stddef.h>

#include "observe/discovery.h"
#include "observe/model.h"

struct rt_handoffs;
struct handoff_bpf;

/* keep_s: how long an exited receiver stays listed before it folds. */
int handoffs_new(struct rt_handoffs **out, const struct handoff_bpf *skel, double keep_s);
void handoffs_free(struct rt_handoffs *h);
/* Read the maps now into s->handoffs, s->handed and s->flows (owned by h). 0 or -errno. */
int handoffs_read(struct rt_handoffs *h, double now, struct rt_sample *s);
/*
 * Watch the descendants of the processes BPF found passing connections (a cluster's workers,
 * forked before reusetop attached or before the master passed anything; BPF sees the later
 * ones fork), and stop watching processes that exited.
 */
int handoffs_watch(struct rt_handoffs *h);

#endif
