// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Accept queue accounting per listening TCP socket: connections the kernel queued (enqueued),
 * connections accept() took (accepted), accept calls that found nothing (eagain), and the same per
 * accepting task. Each event has one program per attach tier; user space loads the programs of
 * the tier it chose and leaves the others unloaded:
 *
 *   event    fentry tier                        kprobe tier                 tracepoint tier
 *   enqueue  fexit inet_csk_complete_hashdance  kretprobe on the same        raw_tp sk_data_ready
 *            + fexit inet_csk_reqsk_queue_add   + kprobe ..._queue_add
 *   accept   fexit inet_csk_accept              syscalls:sys_exit_accept{,4}  the same
 *
 * The tracepoint tier's sk_data_ready program is ready.bpf.c's, which also serves wakeups and
 * UDP: one program on a hook that fires for every socket's incoming data.
 *
 * Enqueue: the usual path is the 3WHS completing (inet_csk_complete_hashdance, which every
 * kernel keeps out of line as it is called across files), where compilers inline
 * inet_csk_reqsk_queue_add; Fast Open and SYN cookies call inet_csk_reqsk_queue_add directly. A
 * per-CPU depth counter keeps the out-of-line copy, where it is called from the hashdance, from
 * counting a connection twice.
 *
 * Accept: the kprobe tier does not use a kretprobe on inet_csk_accept: it sleeps, so with many
 * workers blocked in accept the kretprobe instances run out and returns are missed. The syscall
 * exit resolves the listening fd from the syscall's saved registers, so an accept that was
 * already blocked when reusetop attached is counted when it returns. The fentry tier gets the
 * same for those calls by letting the syscall exit count the calls fexit did not see (a call
 * already inside inet_csk_accept when the trampoline was attached returns past it), and, with
 * the old inet_csk_accept() signature, the calls that returned no connection (core_fixes.bpf.h).
 * User space attaches the accept programs before the enqueue programs, so every connection
 * counted as enqueued is counted again when accepted.
 *
 * Queue health: at each enqueue the listener's accept queue length (sk_ack_backlog) feeds a
 * high-water mark that user space takes and resets each interval; when a child is accepted,
 * the time it spent queued goes into the listener's log2 histogram (count_wait).
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
#include "cpu.bpf.h"
#include "front.bpf.h"

#define EAGAIN 11

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct hashdance_state {
	__u64 depth;
	struct sock *listener; /* the kprobe tier's kretprobe cannot see arguments */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_ACCEPTORS);
	__type(key, struct rt_acceptor_key);
	__type(value, struct rt_acceptor_counters);
} acceptors SEC(".maps");

/*
 * fentry tier: threads whose accept fexit just counted (value 1), so that the accept syscall's
 * exit does not count it again; a syscall exit without a mark was a call fexit missed. A thread's
 * entry stays and is flipped with plain stores: two lookups per accept instead of an insert and
 * a delete. Least recently used entries (threads that stopped accepting) make room; a thread
 * between its fexit and its syscall's exit has just been used.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} accept_counted SEC(".maps");

/* Per CPU: inside inet_csk_complete_hashdance (softirq, so calls on one CPU never interleave). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hashdance_state);
} hashdance SEC(".maps");

RT_HEALTH_MAP;

#include "enqueue.bpf.h"

static __always_inline struct hashdance_state *hashdance_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hashdance, &zero);
}

/* A new acceptor's first value, built per CPU: too big for the stack beside the caller's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_acceptor_counters);
} acceptor_init SEC(".maps");

/*
 * acceptors' front (front.bpf.h): the slot's key, its counters, its claim. Only the task itself
 * writes its slot, as its entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, struct rt_acceptor_key);
} acceptor_front_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, struct rt_acceptor_counters);
} acceptor_front SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
} acceptor_front_claims SEC(".maps");

/* The counters of key in its front slot when it owns it, else in acceptors; NULL when new. */
static __always_inline struct rt_acceptor_counters *acceptor_of(const struct rt_acceptor_key *key,
								__u32 slot)
{
	if (front_task_owns(&acceptor_front_owner, slot, key))
		return bpf_map_lookup_elem(&acceptor_front, &slot);
	return bpf_map_lookup_elem(&acceptors, key);
}

/* The slot of a new acceptor (key) in the front, named, when it was free; NULL otherwise. */
static __always_inline struct rt_acceptor_counters *
claim_acceptor_slot(const struct rt_acceptor_key *key, __u32 slot)
{
	struct rt_acceptor_key *owner =
		front_task_claim(&acceptor_front_owner, &acceptor_front_claims, slot);
	struct rt_acceptor_counters *a;

	if (!owner)
		return NULL;
	a = bpf_map_lookup_elem(&acceptor_front, &slot);
	if (a)
		bpf_get_current_comm(a->comm, sizeof(a->comm));
	front_task_own(owner, key);
	return a;
}

/*
 * The first accept of a task from listener sk: its entry (front slot `slot` or the map), created
 * with the task's name, and the listener's identity recorded (one that only ever saw EAGAIN has
 * no other); NULL when full.
 */
static __noinline struct rt_acceptor_counters *
new_acceptor(const struct sock *sk, const struct rt_acceptor_key *key, __u32 slot)
{
	struct rt_acceptor_counters *init;
	__u32 zero = 0;

	note_sock_id(sk, key->inode);
	init = claim_acceptor_slot(key, slot);
	if (init)
		return init;
	init = bpf_map_lookup_elem(&acceptor_init, &zero);
	if (!init)
		return NULL;
	/* Only the name is ever written here: the counts stay 0. */
	bpf_get_current_comm(init->comm, sizeof(init->comm));
	return lookup_or_init(&acceptors, key, init, &health, RT_STAT_ACCEPTOR_FULL);
}

/*
 * A child was accepted by task a: how long did it wait in the queue? The kernel already noted
 * when (queued_us, read by the caller from the child): tcp_init_buffer_space() sets
 * rcvq_space.time (tcp_clock_us, the monotonic clock in microseconds) as the child turns
 * ESTABLISHED, right after it was queued, and nothing moves it before the application reads. A
 * Fast Open child accepted before its handshake completed has no time yet.
 */
static __always_inline void count_wait(struct rt_acceptor_counters *a, __u64 queued_us)
{
	__u64 now_ns = bpf_ktime_get_ns(), queued_ns = queued_us * 1000, waited_ns, waited_us;

	if (!queued_us || queued_ns > now_ns) {
		health_inc(&health, RT_STAT_WAIT_UNKNOWN);
		return;
	}
	/* floor(now_ns / 1000) - queued_us, by multiplying below 2^32 ns as compilers do. */
	waited_ns = now_ns - queued_ns;
	waited_us = waited_ns < (1ULL << 32) ? (waited_ns * 0x10624DD3ULL) >> 38 : waited_ns / 1000;
	a->wait[log2_slot(waited_us) & (RT_WAIT_SLOTS - 1)]++;
}

/*
 * One accept call on listener `inode` by the current task (pid_tgid) ended: with a connection
 * (child, when known; queued_us: when it was queued, 0 when unknown), with an empty queue
 * (eagain), or otherwise (not counted). One lookup: the task's entry holds all of it.
 */
static __always_inline void count_accept(const struct sock *sk, __u64 inode, __u64 pid_tgid,
					 bool ok, bool eagain, const struct sock *child,
					 __u64 queued_us)
{
	struct rt_acceptor_counters *a;
	struct rt_acceptor_key key = {};
	__u32 slot;

	if (!ok && !eagain)
		return;
	if (ok)
		handoff_note_accept(child, pid_tgid);

	key.inode = inode;
	key.tgid = pid_tgid >> 32;
	key.tid = (__u32)pid_tgid;
	slot = rt_front_slot(inode, pid_tgid);
	a = acceptor_of(&key, slot);
	if (!a) {
		a = new_acceptor(sk, &key, slot);
		if (!a)
			return;
	}
	if (!ok) {
		a->eagain++;
		return;
	}
	if (!a->handoff_watched)
		a->handoff_watched = handoff_watch_acceptor(key.tgid);
	a->accepted++;
	count_wait(a, queued_us);
}

/* ---- fentry tier ---------------------------------------------------------------------------- */

SEC("fentry/inet_csk_complete_hashdance")
int BPF_PROG(fentry_hashdance, struct sock *sk)
{
	struct hashdance_state *st = hashdance_state();

	if (st)
		st->depth++;
	return 0;
}

/* Returns the child when it was queued to sk, NULL when another CPU won the request. */
SEC("fexit/inet_csk_complete_hashdance")
int BPF_PROG(fexit_hashdance, struct sock *sk, struct sock *child, struct request_sock *req,
	     bool own_req, struct sock *ret)
{
	struct hashdance_state *st = hashdance_state();

	if (st && st->depth)
		st->depth--;
	if (ret && sk_is_inet_proto_btf(sk, IPPROTO_TCP))
		count_enqueue(sk, sk_inode_btf(sk), sk->sk_ack_backlog);
	return 0;
}

/* Returns the child on success, NULL when the listener stopped listening (child dropped). */
SEC("fexit/inet_csk_reqsk_queue_add")
int BPF_PROG(fexit_reqsk_queue_add, struct sock *sk, struct request_sock *req, struct sock *child,
	     struct sock *ret)
{
	struct hashdance_state *st = hashdance_state();

	if (ret && (!st || !st->depth) && sk_is_inet_proto_btf(sk, IPPROTO_TCP))
		count_enqueue(sk, sk_inode_btf(sk), sk->sk_ack_backlog);
	return 0;
}

/*
 * Accepts by io_uring or in-kernel callers leave a mark no syscall exit takes: harmless, the
 * thread's next accept syscall goes through fexit again and replaces it.
 */
static __always_inline void mark_accept_counted(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1, *mark = bpf_map_lookup_elem(&accept_counted, &tid);

	if (mark)
		*mark = 1;
	else if (bpf_map_update_elem(&accept_counted, &tid, &one, BPF_ANY))
		health_inc(&health, RT_STAT_INFLIGHT_FULL);
}

/* inet_csk_accept(sk, arg): see core_fixes.bpf.h for the two signatures. */
SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept, struct sock *sk, struct proto_accept_arg___new *arg,
	     struct sock *ret)
{
	__u64 inode;

	/* Plain loads: the arguments are BTF pointers (the child's tcp_sock is not: CO-RE read). */
	if (!sk_is_inet_proto_btf(sk, IPPROTO_TCP))
		return 0;
	inode = sk_inode_btf(sk);
	if (!inode)
		return 0;
	count_accept(sk, inode, bpf_get_current_pid_tgid(), ret != NULL,
		     !ret && inet_csk_accept_error(arg) == -EAGAIN, ret,
		     ret ? BPF_CORE_READ((struct tcp_sock *)ret, rcvq_space.time) : 0);
	mark_accept_counted();
	return 0;
}

/*
 * inet_csk_accept(sk, flags, err, kern), the older signature: err is not read (core_fixes.bpf.h),
 * so a call that returned no connection is not marked and the syscall's exit counts it.
 */
SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept_old, struct sock *sk, int flags, int *err, bool kern,
	     struct sock *ret)
{
	__u64 inode;

	if (!ret || !sk_is_inet_proto_btf(sk, IPPROTO_TCP))
		return 0;
	inode = sk_inode_btf(sk);
	if (!inode)
		return 0;
	count_accept(sk, inode, bpf_get_current_pid_tgid(), true, false, ret,
		     BPF_CORE_READ((struct tcp_sock *)ret, rcvq_space.time));
	mark_accept_counted();
	return 0;
}

/* ---- kprobe tier ---------------------------------------------------------------------------- */

SEC("kprobe/inet_csk_complete_hashdance")
int BPF_KPROBE(kprobe_hashdance, struct sock *sk)
{
	struct hashdance_state *st = hashdance_state();

	if (st) {
		st->depth++;
		st->listener = sk;
	}
	return 0;
}

/* Never sleeps (softirq), so its kretprobe instances cannot run out. */
SEC("kretprobe/inet_csk_complete_hashdance")
int BPF_KRETPROBE(kretprobe_hashdance, struct sock *ret)
{
	struct hashdance_state *st = hashdance_state();
	struct sock *sk;

	if (!st || !st->depth)
		return 0;
	st->depth--;
	sk = st->listener;
	if (ret && sk && sk_is_inet_proto(sk, IPPROTO_TCP))
		count_enqueue(sk, sk_inode(sk), BPF_CORE_READ(sk, sk_ack_backlog));
	return 0;
}

/* Fast Open and SYN cookies. It refuses (NULL) only when the listener stopped listening. */
SEC("kprobe/inet_csk_reqsk_queue_add")
int BPF_KPROBE(kprobe_reqsk_queue_add, struct sock *sk)
{
	struct hashdance_state *st = hashdance_state();

	if ((!st || !st->depth) && sk_is_tcp_listener(sk))
		count_enqueue(sk, sk_inode(sk), BPF_CORE_READ(sk, sk_ack_backlog));
	return 0;
}

/* ---- tracepoint tier ------------------------------------------------------------------------ */

/*
 * An accept syscall returned: find the listener from the fd argument, which the syscall's saved
 * registers still hold at exit, so that a call already blocked when reusetop attached counts too.
 * Helper calls are most of what a program costs here: the direct path finds the task as this
 * CPU's rq->curr (cpu.bpf.h) once the registers' place on the stack is known, and reads its
 * registers, fd table and ids with plain loads.
 */
static __always_inline void accept_exit(long ret, bool skip_counted, bool direct)
{
	struct sock *sk, *child = NULL;
	struct task_struct *task;
	struct fd_table fds;
	__u64 inode = 0, queued_us = 0;
	int fd;

	if (ret < 0 && ret != -EAGAIN)
		return;
	if (skip_counted) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u8 *mark = bpf_map_lookup_elem(&accept_counted, &tid);

		/* fexit counted it, unless the call began before the trampoline was attached. */
		if (mark && *mark) {
			*mark = 0;
			return;
		}
	}
	if (direct) {
		task = rt_regs_from_stack > 0 ? this_cpu_current() : NULL;
		if (task)
			fd = (int)arch_syscall_arg1_direct(RT_CAST(
				(unsigned long)task->stack + rt_regs_from_stack, struct pt_regs));
		else
			fd = (int)current_syscall_arg1_of(task = bpf_get_current_task_btf());
		if (!task_fd_table_direct(task, &fds))
			return;
		sk = fd_table_sock_direct(&fds, fd, &inode);
		if (!sk || !inode || !sk_is_tcp_listener_direct(sk))
			return;
		if (ret >= 0 && (child = fd_table_sock_direct(&fds, (int)ret, NULL)))
			queued_us = RT_CAST(child, struct tcp_sock)->rcvq_space.time;
		count_accept(sk, inode, (__u64)task->tgid << 32 | (__u32)task->pid, ret >= 0,
			     ret == -EAGAIN, child, queued_us);
		return;
	}
	fd = (int)current_syscall_arg1(false);
	if (!current_fd_table(&fds))
		return;
	sk = fd_table_sock(&fds, fd, &inode);
	if (!sk || !inode || !sk_is_tcp_listener(sk))
		return;
	if (ret >= 0 && (child = fd_table_sock(&fds, (int)ret, NULL)))
		queued_us = BPF_CORE_READ((struct tcp_sock *)child, rcvq_space.time);
	count_accept(sk, inode, bpf_get_current_pid_tgid(), ret >= 0, ret == -EAGAIN, child,
		     queued_us);
}

/*
 * A listener started listening: its entry and identity now, so that one that closes before a
 * scan without a connection (a test's group, a crash loop) is still shown (closed.h).
 */
SEC("tracepoint/syscalls/sys_exit_listen")
int tp_exit_listen(struct trace_event_raw_sys_exit *ctx)
{
	struct sock *sk;
	__u64 inode = 0;

	if (ctx->ret)
		return 0;
	sk = current_fd_sock((int)current_syscall_arg1(false), &inode);
	if (sk && inode && sk_is_tcp_listener(sk))
		sock_counters_of(sk, inode);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx->ret, false, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx->ret, false, false);
	return 0;
}

/* The same with plain loads, on kernels with bpf_rdonly_cast (see core_fixes.bpf.h). */
SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4_direct(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx->ret, false, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept_direct(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx->ret, false, true);
	return 0;
}

/* The fentry tier's catch-up for calls in flight at attach time (see accept_counted). */
SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4_missed(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx->ret, true, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept_missed(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx->ret, true, false);
	return 0;
}
