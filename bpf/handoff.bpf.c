// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hand-offs: connections a process accepted and passed to another over a Unix socket
 * (SCM_RIGHTS), as Node.js cluster's primary and other masters do. For each group: which task
 * received them (each connection counted once, at its last receiver: a broker that passes it on
 * again gives its count to the next one), from which acceptor, how long after the accept, and
 * how many were passed and not received yet (pending).
 *
 *   event     fentry tier                kprobe tier              tracepoint tier
 *   pass      syscalls:sys_{enter,exit}_sendmsg on every tier
 *   receipt   fentry scm_detach_fds      kprobe scm_detach_fds    syscalls:sys_exit_recvmsg
 *
 * scm_detach_fds() installs the received files in the receiver: on fentry and kprobe every
 * receive path is seen (recvmsg, recvmmsg, io_uring). The tracepoint tier reads the control
 * message recvmsg(2) returned; it misses recvmmsg(2) and io_uring. Passing is seen at
 * sendmsg(2) only (not sendmmsg(2) or io_uring): at its entry, before a receiver can have the
 * connection, each passed connection gets its state (and its acceptor, the sender, when the
 * accept was not timed); at its exit, when the call succeeded, it counts as sent. The syscall
 * programs look only at processes in handoff_pids (handoff.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "reusetop.h"
#include "maps.bpf.h"
#include "sock.bpf.h"
#include "core_fixes.bpf.h"
#include "arch.bpf.h"
#include "handoff.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SOL_SOCKET	1
#define SCM_RIGHTS	1
#define MSG_CMSG_COMPAT 0x80000000U

/* Looked at per message: the first control messages, the first passed descriptors. */
#define RT_HANDOFF_CMSGS 4
#define RT_HANDOFF_FDS	 8

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_ACCEPTORS);
	__type(key, struct rt_handoff_key);
	__type(value, struct rt_handoff_counters);
} handoff_receivers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_ACCEPTORS);
	__type(key, struct rt_handed_key);
	__type(value, __u64);
} handoff_handed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, struct rt_endpoint);
	__type(value, struct rt_handoff_flow);
} handoff_flows SEC(".maps");

RT_HEALTH_MAP;

/* A connection that can be a listener's child: TCP, IPv4 or IPv6, not listening. */
static __always_inline bool tcp_connection(const struct sock *sk)
{
	return sk && sk_is_inet_proto(sk, IPPROTO_TCP) &&
	       BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN;
}

static __always_inline void conn_key_of(const struct sock *sk, struct rt_conn_key *key)
{
	key->sk = (__u64)sk;
	key->tuple = conn_tuple(sk);
}

static __always_inline void endpoint_of(const struct sock *sk, struct rt_endpoint *ep)
{
	ep->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	ep->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ep->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (ep->family == AF_INET6) {
		BPF_CORE_READ_INTO(&ep->addr, sk, __sk_common.skc_v6_rcv_saddr);
	} else {
		__u32 addr4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		__builtin_memcpy(ep->addr, &addr4, sizeof(addr4));
	}
}

static __always_inline struct rt_handoff_flow *flow_of(const struct rt_endpoint *ep)
{
	struct rt_handoff_flow zero = {};

	return lookup_or_init(&handoff_flows, ep, &zero, &health, RT_STAT_SOCK_FULL);
}

/* A process became a sender: accepts start noting their connections (handoff_senders). */
static __always_inline void count_sender(__u8 old, __u8 flags)
{
	__u32 zero = 0;
	__u64 *n;

	if (!(flags & RT_HANDOFF_SENDER) || (old & RT_HANDOFF_SENDER))
		return;
	n = bpf_map_lookup_elem(&handoff_senders, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void watch(__u32 tgid, __u8 flags)
{
	__u8 *f = bpf_map_lookup_elem(&handoff_pids, &tgid);

	/* Flags are only ever set, by the process's own calls: a plain store is enough. */
	if (f) {
		if ((*f & flags) != flags) {
			count_sender(*f, flags);
			*f |= flags;
		}
		return;
	}
	flags |= RT_HANDOFF_WATCHED;
	if (!bpf_map_update_elem(&handoff_pids, &tgid, &flags, BPF_NOEXIST)) {
		count_sender(0, flags);
	} else if ((f = bpf_map_lookup_elem(&handoff_pids, &tgid))) {
		count_sender(*f, flags);
		*f |= flags;
	}
}

/* A receipt taken back: its connection was passed on again and counts at the next receiver. */
static __always_inline void undo_receipt(const struct rt_conn_state *st)
{
	struct rt_handoff_counters *prev;

	if (!st->receiver.tid)
		return;
	prev = bpf_map_lookup_elem(&handoff_receivers, &st->receiver);
	if (!prev)
		return;
	__sync_fetch_and_add(&prev->received, -1);
	if (st->wait_slot < RT_WAIT_SLOTS)
		__sync_fetch_and_add(&prev->wait[st->wait_slot], -1);
}

/* The current task received connection sk over a Unix socket. */
static __always_inline void note_receipt(const struct sock *sk)
{
	struct rt_handoff_counters zero = {}, *r;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct rt_handoff_key rkey = {};
	struct rt_conn_state *st;
	struct rt_handoff_flow *flow;
	struct rt_conn_key key;
	__u32 slot = RT_WAIT_SLOTS;

	if (!tcp_connection(sk))
		return;
	conn_key_of(sk, &key);
	st = bpf_map_lookup_elem(&handoff_conns, &key);
	if (!st)
		return; /* not passed by a process reusetop watches */
	endpoint_of(sk, &rkey.ep);
	rkey.tgid = pid_tgid >> 32;
	rkey.tid = (__u32)pid_tgid;
	rkey.from_tgid = st->acceptor_tgid;
	undo_receipt(st);
	r = bpf_map_lookup_elem(&handoff_receivers, &rkey);
	if (!r) {
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		r = lookup_or_init(&handoff_receivers, &rkey, &zero, &health,
				   RT_STAT_ACCEPTOR_FULL);
	}
	if (st->accepted_ns)
		slot = log2_slot((bpf_ktime_get_ns() - st->accepted_ns) / 1000) &
		       (RT_WAIT_SLOTS - 1);
	if (r) {
		__sync_fetch_and_add(&r->received, 1);
		if (slot < RT_WAIT_SLOTS)
			__sync_fetch_and_add(&r->wait[slot], 1);
		st->receiver = rkey;
		st->wait_slot = slot;
	} else {
		st->receiver.tid = 0;
	}
	flow = flow_of(&rkey.ep);
	if (flow)
		__sync_fetch_and_add(&flow->received, 1);
	/* It may pass the connection on again. */
	watch(rkey.tgid, 0);
}

/* ---- receipt: fentry and kprobe tiers ------------------------------------------------------- */

/* The files scm_detach_fds(msg, scm) installs: as many as fit in the control buffer. */
static __always_inline void detach_fds(struct msghdr *msg, struct scm_cookie *scm)
{
	struct scm_fp_list *fpl = BPF_CORE_READ(scm, fp);
	__u64 room = BPF_CORE_READ(msg, msg_controllen);
	int count, fit;

	if (!fpl || (BPF_CORE_READ(msg, msg_flags) & MSG_CMSG_COMPAT))
		return;
	count = BPF_CORE_READ(fpl, count);
	/* CMSG_LEN(0) is 16 bytes on 64-bit. */
	fit = room > 16 ? (int)((room - 16) / sizeof(int)) : 0;
	if (count > fit)
		count = fit;
	for (int i = 0; i < RT_HANDOFF_FDS; i++) {
		struct file *file;
		struct socket *sock;
		struct inode *ino;

		if (i >= count)
			break;
		file = BPF_CORE_READ(fpl, fp[i]);
		ino = file ? BPF_CORE_READ(file, f_inode) : NULL;
		if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
			continue;
		sock = BPF_CORE_READ(file, private_data);
		if (sock)
			note_receipt(BPF_CORE_READ(sock, sk));
	}
}

SEC("fentry/scm_detach_fds")
int BPF_PROG(fentry_scm_detach_fds, struct msghdr *msg, struct scm_cookie *scm)
{
	detach_fds(msg, scm);
	return 0;
}

SEC("kprobe/scm_detach_fds")
int BPF_KPROBE(kprobe_scm_detach_fds, struct msghdr *msg, struct scm_cookie *scm)
{
	detach_fds(msg, scm);
	return 0;
}

/* ---- the system calls: passing (every tier), receipt (tracepoint tier) ---------------------- */

struct cmsg_head {
	__u64 len;
	int level;
	int type;
};

/*
 * The descriptors of the SCM_RIGHTS control message in the user's msghdr at umsg (at most
 * RT_HANDOFF_FDS): how many. sendmsg leaves msg_controllen as the caller set it; recvmsg sets it
 * to what it wrote.
 */
static __always_inline int user_scm_rights(const void *umsg, int *fds)
{
	struct user_msghdr m;
	__u64 off = 0;

	if (!umsg || bpf_probe_read_user(&m, sizeof(m), umsg) || !m.msg_control)
		return 0;
	for (int i = 0; i < RT_HANDOFF_CMSGS; i++) {
		struct cmsg_head h;
		__u64 n;

		if (off + sizeof(h) > m.msg_controllen ||
		    bpf_probe_read_user(&h, sizeof(h), m.msg_control + off))
			return 0;
		if (h.len < sizeof(h) || off + h.len > m.msg_controllen)
			return 0;
		if (h.level == SOL_SOCKET && h.type == SCM_RIGHTS) {
			n = (h.len - sizeof(h)) / sizeof(int);
			if (n > RT_HANDOFF_FDS)
				n = RT_HANDOFF_FDS;
			if (!n || bpf_probe_read_user(fds, (n & 15) * sizeof(int),
						      m.msg_control + off + sizeof(h)))
				return 0;
			return (int)n;
		}
		off += (h.len + 7) & ~7ULL; /* CMSG_ALIGN */
	}
	return 0;
}

static __always_inline bool watched(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&handoff_pids, &tgid) != NULL;
}

/* Before the message is queued: each passed connection has its state, the sender is marked. */
static __always_inline void pass_begin(struct sock *sk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct rt_conn_state st = {.wait_slot = RT_WAIT_SLOTS};
	struct rt_conn_key key;

	conn_key_of(sk, &key);
	if (bpf_map_lookup_elem(&handoff_conns, &key))
		return;
	/* Its accept was not timed (the sender was not known to pass connections on yet). */
	st.acceptor_tgid = pid_tgid >> 32;
	st.acceptor_tid = (__u32)pid_tgid;
	bpf_map_update_elem(&handoff_conns, &key, &st, BPF_NOEXIST);
}

/* The message was queued: the connection was sent, and handed off by its acceptor if first. */
static __always_inline void pass_done(struct sock *sk)
{
	struct rt_handed_key hk = {};
	struct rt_handoff_flow *flow;
	struct rt_conn_state *st;
	struct rt_conn_key key;
	__u64 zero = 0, *handed;

	conn_key_of(sk, &key);
	st = bpf_map_lookup_elem(&handoff_conns, &key);
	if (!st)
		return;
	endpoint_of(sk, &hk.ep);
	/*
	 * One sender passes a connection at a time: a plain increment (an atomic that returns
	 * the old value needs 5.12).
	 */
	if (st->hops++ == 0) {
		hk.tgid = st->acceptor_tgid;
		hk.tid = st->acceptor_tid;
		handed =
			lookup_or_init(&handoff_handed, &hk, &zero, &health, RT_STAT_ACCEPTOR_FULL);
		if (handed)
			__sync_fetch_and_add(handed, 1);
	}
	flow = flow_of(&hk.ep);
	if (flow)
		__sync_fetch_and_add(&flow->sent, 1);
}

enum conn_step { PASS_BEGIN, PASS_DONE, RECEIPT };

/* One step for each connection behind the current task's descriptors fds[0..n): how many. */
static __always_inline int each_conn(const int *fds, int n, enum conn_step step)
{
	struct fd_table t;
	int conns = 0;

	if (!n || !current_fd_table(&t))
		return 0;
	for (int i = 0; i < RT_HANDOFF_FDS; i++) {
		struct sock *sk;

		if (i >= n)
			break;
		sk = fd_table_sock(&t, fds[i], NULL);
		if (!tcp_connection(sk))
			continue;
		conns++;
		if (step == PASS_BEGIN)
			pass_begin(sk);
		else if (step == PASS_DONE)
			pass_done(sk);
		else
			note_receipt(sk);
	}
	return conns;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	int fds[RT_HANDOFF_FDS] = {}, n;

	if (!watched())
		return 0;
	n = user_scm_rights((const void *)ctx->args[1], fds);
	/* Passing connections (not pipes or other files) makes it a sender. */
	if (each_conn(fds, n, PASS_BEGIN))
		watch(bpf_get_current_pid_tgid() >> 32, RT_HANDOFF_SENDER);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int tp_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	int fds[RT_HANDOFF_FDS] = {}, n;

	if (ctx->ret < 0 || !watched())
		return 0;
	n = user_scm_rights((const void *)current_syscall_arg2(), fds);
	each_conn(fds, n, PASS_DONE);
	return 0;
}

/* A receiver: a watched process, or the child of a sender (forked before it passed anything). */
static __always_inline bool may_receive(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ptgid;
	__u8 *flags;

	if (watched())
		return true;
	ptgid = BPF_CORE_READ(task, real_parent, tgid);
	flags = bpf_map_lookup_elem(&handoff_pids, &ptgid);
	return flags && (*flags & RT_HANDOFF_SENDER);
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	int fds[RT_HANDOFF_FDS] = {}, n;

	if (ctx->ret < 0 || !may_receive())
		return 0;
	n = user_scm_rights((const void *)current_syscall_arg2(), fds);
	each_conn(fds, n, RECEIPT);
	return 0;
}

/*
 * Workers a sender forks (a cluster's primary replacing one) receive what it passes, and so do
 * their children.
 */
SEC("raw_tracepoint/sched_process_fork")
int raw_tp_handoff_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u8 *pflags, flags = RT_HANDOFF_WATCHED;

	if (ptgid == ctgid || !(pflags = bpf_map_lookup_elem(&handoff_pids, &ptgid)))
		return 0;
	if (*pflags & (RT_HANDOFF_SENDER | RT_HANDOFF_DESCENDANT)) {
		flags |= RT_HANDOFF_DESCENDANT;
		bpf_map_update_elem(&handoff_pids, &ctgid, &flags, BPF_NOEXIST);
	}
	return 0;
}
