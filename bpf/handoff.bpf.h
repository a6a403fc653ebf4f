/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What accept.bpf.c and handoff.bpf.c share about connections a process passes to another over
 * a Unix socket (SCM_RIGHTS): which processes to watch, and each passed connection's state from
 * its accept to its last receipt. handoff.bpf.c reuses accept.bpf.c's maps (user space hands
 * them over before loading it).
 */
#ifndef REUSETOP_HANDOFF_BPF_H
#define REUSETOP_HANDOFF_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "reusetop.h"
#include "sock.bpf.h"

/*
 * Processes whose system calls the hand-off programs look at: those that accept connections
 * (accept.bpf.c, at their first accept), the processes that received one (a broker may pass it
 * on), and the children and descendants of senders (fork; user space for those forked before).
 * On the tracepoint tier a recvmsg also counts when the caller's parent is a sender (workers
 * forked before their master passed anything). Every other process pays one lookup per sendmsg
 * and two per recvmsg (one on fentry and kprobe, where receipts need no filter).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} handoff_pids SEC(".maps");

/*
 * One accepted connection: the socket and its addresses and ports, so that a socket struct the
 * kernel reuses for a new connection is a new key. (Its established time would not do: the
 * child may still be turning ESTABLISHED on another CPU when inet_csk_accept() returns it.)
 */
struct rt_conn_key {
	__u64 sk;
	__u64 tuple;
};

/* What makes the connection on sk: ports and the peer's address (its last 32 bits for IPv6). */
static __always_inline __u64 conn_tuple(const struct sock *sk)
{
	__u32 ports = BPF_CORE_READ(sk, __sk_common.skc_portpair), peer;

	if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6)
		peer = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32[3]);
	else
		peer = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	return (__u64)ports << 32 | peer;
}

struct rt_conn_state {
	__u64 accepted_ns; /* bpf_ktime_get_ns() at its accept; 0: not seen */
	__u32 acceptor_tgid;
	__u32 acceptor_tid;
	__u32 hops; /* times it was passed on */
	__u32 wait_slot; /* the last receipt's wait slot; RT_WAIT_SLOTS: none */
	struct rt_handoff_key receiver; /* its last receiver; tid 0: not received yet */
};

/*
 * Connections accepted by processes that pass connections on, and connections passed on.
 * Least recently used entries go: a hand-off happens within moments of the accept, and an entry
 * that is gone only costs that connection's wait (or its receipt, if it was still in flight).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rt_conn_key);
	__type(value, struct rt_conn_state);
} handoff_conns SEC(".maps");

/* The histogram slot of a wait: 0 under 1 us, i for [2^(i-1), 2^i) us, the last one beyond. */
static __always_inline __u32 log2_slot(__u64 us)
{
	__u32 slot = 1;

	if (!us)
		return 0;
	/* floor(log2(us)) + 1 by halving the search: 6 steps, not a loop of up to 31 shifts. */
	for (__u32 shift = 32; shift; shift >>= 1) {
		if (us >> shift) {
			us >>= shift;
			slot += shift;
		}
	}
	return slot < RT_WAIT_SLOTS ? slot : RT_WAIT_SLOTS - 1;
}

/*
 * The current process accepted child: watch the process from now on (its first pass marks it a
 * sender), and when it is known to pass connections on, note when this one was accepted. One
 * lookup for every other process.
 */
static __always_inline void handoff_note_accept(const struct sock *child)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u8 *flags = bpf_map_lookup_elem(&handoff_pids, &tgid), watched = RT_HANDOFF_WATCHED;
	struct rt_conn_key key = {.sk = (__u64)child};
	struct rt_conn_state st = {.wait_slot = RT_WAIT_SLOTS};

	if (!flags) {
		bpf_map_update_elem(&handoff_pids, &tgid, &watched, BPF_NOEXIST);
		return;
	}
	if (!(*flags & RT_HANDOFF_SENDER) || !child)
		return;
	key.tuple = conn_tuple(child);
	st.accepted_ns = bpf_ktime_get_ns();
	st.acceptor_tgid = tgid;
	st.acceptor_tid = (__u32)pid_tgid;
	bpf_map_update_elem(&handoff_conns, &key, &st, BPF_ANY);
}

#endif
