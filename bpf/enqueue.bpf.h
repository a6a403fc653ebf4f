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
#include "sock_id.bpf.h"
#include "front.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct rt_sock_counters);
} sock_counters SEC(".maps");

/* sock_counters' front (front.bpf.h): the slot's listener inode, its counters, its claim. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sock_front_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, struct rt_sock_counters);
} sock_front SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
} sock_front_claims SEC(".maps");

/* The sampling epoch of the queue peaks (struct rt_sock_counters), advanced by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rt_epoch SEC(".maps");

static const struct rt_sock_counters zero_sock;

/*
 * The counters of listener sk (socket inode `inode`), in the front or the map, created on first
 * use, when its identity is recorded too (sock_id.bpf.h); NULL when the map is full.
 */
static __always_inline struct rt_sock_counters *sock_counters_of(const struct sock *sk, __u64 inode)
{
	__u32 slot = rt_front_slot(inode, 0);
	__u64 *owner = bpf_map_lookup_elem(&sock_front_owner, &slot);
	struct rt_sock_counters *c;

	if (!owner)
		return NULL;
	if (*owner == inode)
		return bpf_map_lookup_elem(&sock_front, &slot);
	c = bpf_map_lookup_elem(&sock_counters, &inode);
	if (c)
		return c;
	/* New: in the front when its slot is free (another CPU may have just taken it for us). */
	note_sock_id(sk, inode);
	if (!*owner && front_claim(&sock_front_claims, slot))
		*owner = inode;
	if (*owner == inode)
		return bpf_map_lookup_elem(&sock_front, &slot);
	return lookup_or_init(&sock_counters, &inode, &zero_sock, &health, RT_STAT_SOCK_FULL);
}

/* One connection queued on listener sk (inode `inode`); its queue is now `len` long. */
static __always_inline void count_enqueue(const struct sock *sk, __u64 inode, __u64 len)
{
	struct rt_sock_counters *c;
	__u32 zero = 0, half;
	__u64 *epoch, e;

	if (!inode) {
		health_inc(&health, RT_STAT_NO_INODE);
		return;
	}
	c = sock_counters_of(sk, inode);
	if (!c)
		return;
	__sync_fetch_and_add(&c->enqueued, 1);
	epoch = bpf_map_lookup_elem(&rt_epoch, &zero);
	e = epoch ? *epoch : 0;
	half = e & 1;
	/*
	 * Per-CPU, plain stores: an enqueue interrupting this one on the same CPU can at worst
	 * leave the peak one short; the count above is atomic.
	 */
	if (c->queue_epoch[half] != e) {
		c->queue_epoch[half] = e;
		c->queue_peak[half] = len;
	} else if (len > c->queue_peak[half]) {
		c->queue_peak[half] = len;
	}
}

#endif
