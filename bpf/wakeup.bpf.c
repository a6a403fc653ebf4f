// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Wakeups caused by listeners: how often the scheduler woke a task because a connection arrived
 * on a listener, per listener and per woken task. A worker woken in epoll_wait whose event was
 * already taken by a sibling goes back to sleep inside the kernel; its application never sees
 * that wakeup, yet it cost a context switch. Counting it is what shows a thundering herd.
 *
 * Attribution: the listener's readiness callback runs the wakeups synchronously, on this CPU,
 * so every sched_waking inside a bracket around it is charged to that listener:
 *
 *   fentry tier      fentry/fexit tcp_child_process (the caller of the listener's
 *                    sk_data_ready for every completed handshake)
 *   kprobe tier      kprobe/kretprobe tcp_child_process (softirq, never sleeps)
 *   tracepoint tier  from sock:sk_data_ready on a listener (ready.bpf.c) until the packet or
 *                    the softirq ends or another socket's sk_data_ready, whichever comes
 *                    first: no tracepoint marks the callback's end. A bracket opened in process
 *                    context (a backlog processed by release_sock) also ends after `window_ns`.
 *
 * On every tier the woken task must also be blocked in a call that waits for sockets
 * (blocked_waiting_for_sockets), so that an interrupt's wakeup inside a bracket is not counted.
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
#include "front.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The tracepoint tier's limit for a bracket opened in process context: long enough for a CPU
 * stalled mid-callback (busy, or a virtual CPU the host preempted); the blocked-call check
 * keeps strangers out.
 */
const volatile __u64 window_ns = 1000000;
/* Only count tasks blocked in a call that waits for a socket (see below). */
const volatile bool filter_waiters = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_ACCEPTORS);
	__type(key, struct rt_acceptor_key);
	__type(value, struct rt_task_wakeups);
} task_wakeups SEC(".maps");

/* task_wakeups' front (front.bpf.h): the slot's task, its wakeups, its claim. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, struct rt_acceptor_key);
} wakeup_front_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, struct rt_task_wakeups);
} wakeup_front SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
} wakeup_front_claims SEC(".maps");

RT_HEALTH_MAP;

#include "bracket.bpf.h"

/*
 * An interrupt inside a bracket can wake an unrelated task (a timer's sleeper), and the
 * tracepoint tier's bracket is loose besides (another packet of the same softirq). A task a
 * listener wakes is blocked in accept or in a call that waits for socket readiness: the system
 * call it is blocked in is read from the user registers at the top of its kernel stack
 * (arch.bpf.h). Where they were not found the task is counted rather than guessed away.
 */
static __always_inline bool blocked_waiting_for_sockets(struct task_struct *p, bool direct)
{
	long nr;

	/* Kernel threads (PF_KTHREAD) never wait in a system call. */
	if ((direct ? p->flags : BPF_CORE_READ(p, flags)) & 0x00200000)
		return false;
	nr = blocked_syscall(p, direct);
	return nr == -1 || arch_syscall_waits_for_sockets(nr);
}

/*
 * The wakeups of task p (key) in its front slot when it owns it or takes it now, else in
 * task_wakeups, created; NULL when full. Wakers on other CPUs may create the same key at once:
 * it may then be in both, and user space adds them up.
 */
static __always_inline struct rt_task_wakeups *task_wakeups_of(struct task_struct *p,
							       const struct rt_acceptor_key *key)
{
	__u32 slot = rt_front_slot(key->inode, (__u64)key->tgid << 32 | key->tid);
	struct rt_task_wakeups zero_task = {}, *t;
	struct rt_acceptor_key *owner;

	if (front_task_owns(&wakeup_front_owner, slot, key))
		return bpf_map_lookup_elem(&wakeup_front, &slot);
	t = bpf_map_lookup_elem(&task_wakeups, key);
	if (t)
		return t;
	owner = front_task_claim(&wakeup_front_owner, &wakeup_front_claims, slot);
	if (owner) {
		t = bpf_map_lookup_elem(&wakeup_front, &slot);
		if (t)
			BPF_CORE_READ_STR_INTO(&t->comm, p, comm);
		front_task_own(owner, key);
		return t;
	}
	BPF_CORE_READ_STR_INTO(&zero_task.comm, p, comm);
	return lookup_or_init(&task_wakeups, key, &zero_task, &health, RT_STAT_ACCEPTOR_FULL);
}

/* direct: p comes from RT_CAST and is read with plain loads (see core_fixes.bpf.h). */
static __always_inline void count_wakeup(struct task_struct *p, bool direct)
{
	struct rt_task_wakeups *t;
	struct rt_acceptor_key key = {};
	__u64 inode = bracket_listener(window_ns);

	if (!inode)
		return;
	if (filter_waiters && !blocked_waiting_for_sockets(p, direct))
		return;
	key.inode = inode;
	key.tgid = direct ? p->tgid : BPF_CORE_READ(p, tgid);
	key.tid = direct ? p->pid : BPF_CORE_READ(p, pid);
	t = task_wakeups_of(p, &key);
	if (t)
		__sync_fetch_and_add(&t->wakeups, 1);
}

/*
 * sched_waking, not sched_wakeup: a wakeup of a task on another CPU is queued to that CPU and
 * sched_wakeup fires there, outside the bracket; sched_waking fires here, in the waker. It fires
 * only for a task in a sleeping state, so wakeups of running tasks are not counted.
 */
SEC("raw_tracepoint/sched_waking")
int raw_tp_sched_waking(struct bpf_raw_tracepoint_args *ctx)
{
	count_wakeup((struct task_struct *)ctx->args[0], false);
	return 0;
}

/* The same with plain loads, on kernels with bpf_rdonly_cast. */
SEC("raw_tracepoint/sched_waking")
int raw_tp_sched_waking_direct(struct bpf_raw_tracepoint_args *ctx)
{
	count_wakeup(RT_CAST(ctx->args[0], struct task_struct), true);
	return 0;
}

/* ---- fentry tier ---------------------------------------------------------------------------- */

SEC("fentry/tcp_child_process")
int BPF_PROG(fentry_tcp_child_process, struct sock *parent)
{
	open_bracket(sk_inode_btf(parent), false);
	return 0;
}

SEC("fexit/tcp_child_process")
int BPF_PROG(fexit_tcp_child_process)
{
	close_bracket();
	return 0;
}

/* ---- kprobe tier ---------------------------------------------------------------------------- */

SEC("kprobe/tcp_child_process")
int BPF_KPROBE(kprobe_tcp_child_process, struct sock *parent)
{
	open_bracket(sk_inode(parent), false);
	return 0;
}

SEC("kretprobe/tcp_child_process")
int BPF_KRETPROBE(kretprobe_tcp_child_process)
{
	close_bracket();
	return 0;
}

/* ---- tracepoint tier: ready.bpf.c opens the bracket ----------------------------------------- */

SEC("raw_tracepoint/softirq_exit")
int raw_tp_softirq_exit(struct bpf_raw_tracepoint_args *ctx)
{
	close_bracket();
	return 0;
}
