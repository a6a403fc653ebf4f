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
 * How many processes have become senders (passed a connection on) since reusetop attached. An
 * array's lookup is a few inlined instructions: while it is 0, the usual case, an accept has no
 * hand-off to note and looks nothing else up.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} handoff_senders SEC(".maps");

static __always_inline bool handoff_senders_seen(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&handoff_senders, &zero);

	return n && *n;
}

/*
 * Process tgid accepts connections: watch it from now on (its first pass marks it a sender).
 * False when handoff_pids is full, so that its next accept tries again.
 */
static __always_inline bool handoff_watch_acceptor(__u32 tgid)
{
	__u8 watched = RT_HANDOFF_WATCHED;

	return !bpf_map_update_elem(&handoff_pids, &tgid, &watched, BPF_NOEXIST) ||
	       bpf_map_lookup_elem(&handoff_pids, &tgid);
}

/* The current task (pid_tgid) accepted child: when its process passes connections on, note when. */
static __always_inline void handoff_note_accept(const struct sock *child, __u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32;
	struct rt_conn_key key = {.sk = (__u64)child};
	struct rt_conn_state st = {.wait_slot = RT_WAIT_SLOTS};
	__u8 *flags;

	if (!child || !handoff_senders_seen())
		return;
	flags = bpf_map_lookup_elem(&handoff_pids, &tgid);
	if (!flags || !(*flags & RT_HANDOFF_SENDER))
		return;
	key.tuple = conn_tuple(child);
	st.accepted_ns = bpf_ktime_get_ns();
	st.acceptor_tgid = tgid;
	st.acceptor_tid = (__u32)pid_tgid;
	bpf_map_update_elem(&handoff_conns, &key, &st, BPF_ANY);
}

#endif
