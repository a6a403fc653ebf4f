/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Structures shared by the BPF programs and user space. Only fixed-width types with explicit
 * padding, so both sides agree on the layout.
 */
#ifndef REUSETOP_H
#define REUSETOP_H

/* Sizes of the counter maps; an insert that finds a map full is counted in RT_STAT_*_FULL. */
#define RT_MAX_SOCKETS	 16384
#define RT_MAX_ACCEPTORS 16384

/*
 * The direct-mapped fronts of sock_counters and acceptors (bpf/front.bpf.h): a key's slot,
 * computed the same way by BPF and user space. task is (tgid << 32 | tid), 0 for a socket.
 */
#define RT_FRONT_BITS  10
#define RT_FRONT_SLOTS (1U << RT_FRONT_BITS)

static inline __u32 rt_front_slot(__u64 inode, __u64 task)
{
	return (__u32)(((inode + task * 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL) >>
		       (64 - RT_FRONT_BITS));
}

/* Queue wait histogram: slot 0 counts waits under 1 us, slot i waits in [2^(i-1), 2^i) us. */
#define RT_WAIT_SLOTS 32

/*
 * Per listening socket, keyed by socket inode. Per-CPU: user space sums the CPUs. Everything an
 * enqueue counts about one listener is in one value, so that it looks up one entry. Its accepts,
 * EAGAINs, queue waits and wakeups are not here: user space sums them from the tasks' entries
 * (rt_acceptor_key), read in the same pass, so that the tasks always add up to the listener, and
 * an accept looks up only its task's entry.
 */
struct rt_sock_counters {
	__u64 enqueued; /* connections put on the accept queue */
	/*
	 * The longest accept queue seen at an enqueue during sampling epoch queue_epoch[e & 1]
	 * (rt_epoch): user space starts epoch e + 1 and reads epoch e's peak from the other half,
	 * which no enqueue writes any more. Nothing is ever reset from user space.
	 */
	__u64 queue_peak[2];
	__u64 queue_epoch[2];
};

/* Wakeups the scheduler made for a listener's readiness callback, per woken task, keyed like
 * acceptors (struct rt_acceptor_key). */
struct rt_task_wakeups {
	__u64 wakeups;
	char comm[16];
};

/* Per UDP socket, keyed by socket inode (per-CPU). */
struct rt_udp_counters {
	__u64 enqueued; /* datagrams put on the receive queue */
};

/* Datagrams one task read from one UDP socket, keyed like acceptors (struct rt_acceptor_key). */
struct rt_reader_counters {
	__u64 received;
	char comm[16];
};

/* What identifies a socket's group, by socket inode (bpf/sock_id.bpf.h). */
struct rt_sock_id {
	__u64 netns; /* the inode of its network namespace */
	__u8 family;
	__u8 proto;
	__u8 state; /* at the time: TCP_LISTEN, or a UDP socket's */
	__s8 v6only; /* IPv6: IPV6_V6ONLY; IPv4: -1 */
	__u16 port; /* host order */
	__u16 pad;
	__u32 bound_ifindex;
	__u32 uid;
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes */
	/*
	 * Which reuseport group it was in: the inode of the socket that made the group (the
	 * kernel reuses its reuseport_id values), 0 when it was in none. Successive groups on one
	 * address differ.
	 */
	__u64 group;
};

/* Per (listener, accepting task). */
struct rt_acceptor_key {
	__u64 inode; /* the listener accepted from */
	__u32 tgid;
	__u32 tid;
};

/* Only the task itself writes its entry, one accept at a time: plain increments. */
struct rt_acceptor_counters {
	__u64 accepted;
	__u64 eagain;
	char comm[16];
	__u8 handoff_watched; /* BPF's own: its process is in handoff_pids */
	__u8 pad[7];
	__u64 wait[RT_WAIT_SLOTS]; /* its accepted connections by time spent queued */
};

/*
 * The local end of an accepted connection: its listener's group is found by it in user space
 * (the connection itself does not point back to the listener it came from).
 */
struct rt_endpoint {
	__u64 netns; /* the inode of its network namespace */
	__u8 family;
	__u8 pad;
	__u16 port; /* host order */
	__u32 pad2;
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/* Connections one task received over a Unix socket (SCM_RIGHTS), per group and acceptor. */
struct rt_handoff_key {
	struct rt_endpoint ep;
	__u32 tgid; /* the receiving task */
	__u32 tid;
	__u32 from_tgid; /* the process that accepted them */
	__u32 pad;
};

struct rt_handoff_counters {
	__u64 received; /* each connection once, at its last receiver */
	__u64 wait[RT_WAIT_SLOTS]; /* by time from accept to receipt, where the accept was seen */
	char comm[16];
};

/* The flags of a process in the hand-off programs' filter (bpf/handoff.bpf.h's handoff_pids). */
#define RT_HANDOFF_WATCHED    1 /* its sendmsg and recvmsg calls are looked at */
#define RT_HANDOFF_SENDER     2 /* it passed a connection on: its accepts are timed */
#define RT_HANDOFF_DESCENDANT 4 /* forked from a sender, or from such a descendant */

/* Connections a task accepted and passed on, keyed by group endpoint and task. */
struct rt_handed_key {
	struct rt_endpoint ep;
	__u32 tgid;
	__u32 tid;
};

/* Per group endpoint: hand-offs sent to a Unix socket and received; the difference is pending. */
struct rt_handoff_flow {
	__u64 sent;
	__u64 received;
};

/* Per socket the kernel's reuseport selection picked, keyed by socket inode (per-CPU). */
struct rt_select_counters {
	__u64 selected;
};

/* Indexes into each object's per-CPU `health` array: what the probes could not record. */
enum rt_health {
	RT_STAT_SOCK_FULL, /* a listener could not get a map entry */
	RT_STAT_ACCEPTOR_FULL, /* an acceptor could not get a map entry */
	RT_STAT_INFLIGHT_FULL, /* an accept call could not be tracked from entry to exit */
	RT_STAT_NO_INODE, /* a socket without an inode (kernel socket): not attributable */
	RT_STAT_WAIT_UNKNOWN, /* an accepted connection whose queueing time was not seen */
	RT_STAT_MAX,
};

#endif
