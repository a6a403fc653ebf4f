// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * UDP servers (QUIC, DNS): datagrams queued to each socket and datagrams the application read.
 * Only server sockets are counted: sockets in a reuseport group, or bound to a port outside the
 * ephemeral range (a client's socket gets an ephemeral port and no reuseport group).
 *
 *   event     fentry tier                      kprobe tier                   tracepoint tier
 *   enqueue   fexit __udp_enqueue_schedule_skb  kprobe + kretprobe on it      raw_tp sk_data_ready
 *   receive   fexit udp_recvmsg/udpv6_recvmsg   syscalls:sys_exit_recv{from,msg,mmsg}
 *
 * The tracepoint tier's sk_data_ready program is ready.bpf.c's (shared with TCP enqueues and
 * wakeups); on a UDP socket that hook runs once per datagram queued.
 *
 * The syscall tiers resolve the fd like accept does; to keep that off the path of every recv
 * on the host, they only look at processes in `udp_pids`: the holders of the UDP sockets user
 * space lists, and, so that a server's first reads are not missed before a scan lists it, any
 * process that binds a UDP server socket (sys_exit_bind) and the children of one (fork). Reads with read(2) are not seen on those tiers. As for accept, the
 * fentry tier also runs the syscall exits, counting only the calls fexit missed because they
 * were already blocked in udp_recvmsg when the trampoline was attached.
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Processes holding UDP server sockets, for the syscall-exit programs (filled by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} udp_pids SEC(".maps");

/* kprobe tier: the socket of the __udp_enqueue_schedule_skb call running on this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sock *);
} enqueue_sk SEC(".maps");

/* Per (socket, reading task): what each task read (count_read). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_ACCEPTORS);
	__type(key, struct rt_acceptor_key);
	__type(value, struct rt_reader_counters);
} udp_readers SEC(".maps");

/*
 * fentry tier: threads whose receive fexit just counted, flipped in place (see accept_counted in
 * accept.bpf.c).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} recv_counted SEC(".maps");

RT_HEALTH_MAP;

#include "udp_count.bpf.h"

/*
 * n datagrams the current task read from server socket sk, per (socket, task) like accepts: the
 * socket's received is the sum of its readers' (user space reads both in one pass).
 */
static __always_inline void count_read(const struct sock *sk, __u64 n)
{
	struct rt_reader_counters zero = {}, *r;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct rt_acceptor_key key = {
		.inode = sk_inode(sk),
		.tgid = pid_tgid >> 32,
		.tid = (__u32)pid_tgid,
	};

	if (!key.inode)
		return;
	r = bpf_map_lookup_elem(&udp_readers, &key);
	if (!r) {
		note_sock_id(sk, key.inode);
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		r = lookup_or_init(&udp_readers, &key, &zero, &health, RT_STAT_ACCEPTOR_FULL);
		if (!r)
			return;
	}
	__sync_fetch_and_add(&r->received, n);
}

static __always_inline void count_received(const struct sock *sk, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1, *mark;

	if (ret < 0 || !udp_server_sock(sk))
		return;
	count_read(sk, 1);
	mark = bpf_map_lookup_elem(&recv_counted, &tid);
	if (mark)
		*mark = 1;
	else if (bpf_map_update_elem(&recv_counted, &tid, &one, BPF_ANY))
		health_inc(&health, RT_STAT_INFLIGHT_FULL);
}

/* ---- fentry tier ---------------------------------------------------------------------------- */

/* 0: queued; -ENOMEM / -ENOBUFS: dropped (the socket's drop counter has it). */
SEC("fexit/__udp_enqueue_schedule_skb")
int BPF_PROG(fexit_udp_enqueue, struct sock *sk, struct sk_buff *skb, int ret)
{
	if (!ret && udp_server_sock(sk))
		count_udp_enqueue(sk);
	return 0;
}

/* One pair per signature of the recvmsg handlers (core_fixes.bpf.h): (sk, msg, len, flags). */
SEC("fexit/udp_recvmsg")
int BPF_PROG(fexit_udp_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)
{
	count_received(sk, ret);
	return 0;
}

SEC("fexit/udpv6_recvmsg")
int BPF_PROG(fexit_udpv6_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int ret)
{
	count_received(sk, ret);
	return 0;
}

/* (sk, msg, len, flags, addr_len) */
SEC("fexit/udp_recvmsg")
int BPF_PROG(fexit_udp_recvmsg_old, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	count_received(sk, ret);
	return 0;
}

SEC("fexit/udpv6_recvmsg")
int BPF_PROG(fexit_udpv6_recvmsg_old, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	count_received(sk, ret);
	return 0;
}

/* (sk, msg, len, noblock, flags, addr_len) */
SEC("fexit/udp_recvmsg")
int BPF_PROG(fexit_udp_recvmsg_noblock, struct sock *sk, struct msghdr *msg, size_t len,
	     int noblock, int flags, int *addr_len, int ret)
{
	count_received(sk, ret);
	return 0;
}

SEC("fexit/udpv6_recvmsg")
int BPF_PROG(fexit_udpv6_recvmsg_noblock, struct sock *sk, struct msghdr *msg, size_t len,
	     int noblock, int flags, int *addr_len, int ret)
{
	count_received(sk, ret);
	return 0;
}

/* ---- kprobe tier ---------------------------------------------------------------------------- */

SEC("kprobe/__udp_enqueue_schedule_skb")
int BPF_KPROBE(kprobe_udp_enqueue, struct sock *sk)
{
	__u32 zero = 0;
	struct sock **slot = bpf_map_lookup_elem(&enqueue_sk, &zero);

	if (slot)
		*slot = sk;
	return 0;
}

/* Softirq, never sleeps: the kretprobe cannot run out of instances. */
SEC("kretprobe/__udp_enqueue_schedule_skb")
int BPF_KRETPROBE(kretprobe_udp_enqueue, int ret)
{
	__u32 zero = 0;
	struct sock **slot = bpf_map_lookup_elem(&enqueue_sk, &zero);
	struct sock *sk;

	if (!slot || !*slot)
		return 0;
	sk = *slot;
	*slot = NULL;
	if (!ret && udp_server_sock(sk))
		count_udp_enqueue(sk);
	return 0;
}

/* ---- which processes read UDP server sockets (the syscall tiers' filter) -------------------- */

static __always_inline void watch_process(__u32 tgid)
{
	__u8 one = 1;

	if (bpf_map_update_elem(&udp_pids, &tgid, &one, BPF_ANY))
		health_inc(&health, RT_STAT_INFLIGHT_FULL);
}

/*
 * A UDP server socket was bound: its entry and identity now, so that one that closes before a
 * scan without a datagram is still shown (closed.h); and its process will read it, so watch it
 * from now on, before any scan (the syscall tiers' filter; harmless on fentry).
 */
SEC("tracepoint/syscalls/sys_exit_bind")
int tp_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sock *sk;
	__u64 inode = 0;

	if (ctx->ret)
		return 0;
	sk = current_fd_sock((int)current_syscall_arg1(false), &inode);
	if (!sk || !inode || !udp_server_sock(sk))
		return 0;
	udp_counters_of(sk, inode);
	if (!bpf_map_lookup_elem(&udp_pids, &tgid))
		watch_process(tgid);
	return 0;
}

/* Workers forked by a watched process (nginx, unbound) inherit its sockets: watch them too. */
SEC("raw_tracepoint/sched_process_fork")
int raw_tp_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);

	if (ptgid != ctgid && bpf_map_lookup_elem(&udp_pids, &ptgid))
		watch_process(ctgid);
	return 0;
}

/* ---- syscall exits (kprobe and tracepoint tiers; the fentry tier's catch-up) ---------- */

/* A receive syscall returned `datagrams` messages (recvmmsg: its count; others: 1). */
static __always_inline void recv_exit(long ret, bool counts_messages, bool skip_counted)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct sock *sk;
	__u64 inode = 0;

	if (ret < 0 || !bpf_map_lookup_elem(&udp_pids, &tgid))
		return;
	/* fexit counted it, unless the call began before the trampoline was attached. */
	if (skip_counted) {
		__u8 *mark = bpf_map_lookup_elem(&recv_counted, &tid);

		if (mark && *mark) {
			*mark = 0;
			return;
		}
	}
	sk = current_fd_sock((int)current_syscall_arg1(false), &inode);
	if (sk && udp_server_sock(sk))
		count_read(sk, counts_messages ? (__u64)ret : 1);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	recv_exit(ctx->ret, false, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	recv_exit(ctx->ret, false, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int tp_exit_recvmmsg(struct trace_event_raw_sys_exit *ctx)
{
	recv_exit(ctx->ret, true, false);
	return 0;
}

/* The fentry tier's catch-up for receive calls in flight at attach time. */
SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_exit_recvfrom_missed(struct trace_event_raw_sys_exit *ctx)
{
	recv_exit(ctx->ret, false, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_exit_recvmsg_missed(struct trace_event_raw_sys_exit *ctx)
{
	recv_exit(ctx->ret, false, true);
	return 0;
}
