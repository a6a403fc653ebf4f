/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Counting datagrams per UDP server socket. Shared by udp.bpf.c and ready.bpf.c (the tracepoint
 * tier's one sk_data_ready program), whose copy of udp_counters user space replaces with
 * udp.bpf.c's before loading it. The includer declares RT_HEALTH_MAP first.
 */
#ifndef REUSETOP_UDP_COUNT_BPF_H
#define REUSETOP_UDP_COUNT_BPF_H

#include "maps.bpf.h"
#include "reusetop.h"
#include "sock.bpf.h"
#include "sock_id.bpf.h"

/* /proc/sys/net/ipv4/ip_local_port_range, set by user space before load. */
const volatile __u16 ephemeral_lo = 32768;
const volatile __u16 ephemeral_hi = 60999;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct rt_udp_counters);
} udp_counters SEC(".maps");

/* A UDP socket a server holds: in a reuseport group, or bound outside the ephemeral range. */
static __always_inline bool udp_server_port(const struct sock *sk)
{
	__u16 port;

	if (BPF_CORE_READ(sk, sk_reuseport_cb))
		return true;
	port = BPF_CORE_READ(sk, __sk_common.skc_num);
	return port && (port < ephemeral_lo || port > ephemeral_hi);
}

static __always_inline bool udp_server_sock(const struct sock *sk)
{
	return sk_is_inet_proto(sk, IPPROTO_UDP) && udp_server_port(sk);
}

/*
 * The counters of UDP server socket sk (inode `inode`), created on first use, when its identity
 * is recorded too (sock_id.bpf.h); NULL when the map is full.
 */
static __always_inline struct rt_udp_counters *udp_counters_of(const struct sock *sk, __u64 inode)
{
	static const struct rt_udp_counters zero;
	struct rt_udp_counters *c = bpf_map_lookup_elem(&udp_counters, &inode);

	if (c)
		return c;
	note_sock_id(sk, inode);
	return lookup_or_init(&udp_counters, &inode, &zero, &health, RT_STAT_SOCK_FULL);
}

/* One datagram queued to server socket sk. Reads are counted per task (udp.bpf.c). */
static __always_inline void count_udp_enqueue(const struct sock *sk)
{
	struct rt_udp_counters *c;
	__u64 inode = sk_inode(sk);

	if (inode && (c = udp_counters_of(sk, inode)))
		__sync_fetch_and_add(&c->enqueued, 1);
}

#endif
