/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Counting a connection put on a listener's accept queue. Shared by accept.bpf.c (the fentry and
 * kprobe tiers) and ready.bpf.c (the tracepoint tier's one sk_data_ready program), whose copies
 * of these maps user space replaces with accept.bpf.c's before loading it. The includer declares
 * RT_HEALTH_MAP first.
 */
#ifndef REUSETOP_ENQUEUE_BPF_H
#define REUSETOP_ENQUEUE_BPF_H

#include "maps.bpf.h"
#include "reusetop.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct rt_sock_counters);
} sock_counters SEC(".maps");

/* Per listener, the longest accept queue seen since user space last took the value. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, __u64);
} queue_peak SEC(".maps");

static const struct rt_sock_counters zero_sock;

/* One connection queued on the listener with socket inode `inode`; its queue is now `len` long. */
static __always_inline void count_enqueue(__u64 inode, __u64 len)
{
	static const __u64 zero;
	struct rt_sock_counters *c;
	__u64 *peak;

	if (!inode) {
		health_inc(&health, RT_STAT_NO_INODE);
		return;
	}
	c = lookup_or_init(&sock_counters, &inode, &zero_sock, &health, RT_STAT_SOCK_FULL);
	if (c)
		__sync_fetch_and_add(&c->enqueued, 1);
	peak = lookup_or_init(&queue_peak, &inode, &zero, &health, RT_STAT_SOCK_FULL);
	/* Per-CPU and a task never migrates mid-program: no lost update. */
	if (peak && len > *peak)
		*peak = len;
}

#endif
