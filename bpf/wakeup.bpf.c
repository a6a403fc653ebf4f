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
 *   tracepoint tier  from sock:sk_data_ready on a listener until the softirq ends, another
 *                    socket's sk_data_ready, or `window_ns` passes, whichever comes first: no
 *                    tracepoint marks the callback's end.
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The tracepoint tier's bracket limit: long enough for a CPU stalled mid-callback (busy, or a
 * virtual CPU the host preempted); the blocked-call check keeps strangers out.
 */
const volatile __u64 window_ns = 1000000;
/* Only count tasks blocked in a call that waits for a socket (see below). */
const volatile bool filter_waiters = false;

struct bracket {
	__u64 inode; /* listener whose callback is running on this CPU, 0 when none */
	__u64 start_ns; /* tracepoint tier only */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bracket);
} brackets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct rt_wakeup_counters);
} wakeup_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_ACCEPTORS);
	__type(key, struct rt_acceptor_key);
	__type(value, struct rt_task_wakeups);
} task_wakeups SEC(".maps");

RT_HEALTH_MAP;

static __always_inline struct bracket *this_cpu_bracket(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&brackets, &zero);
}

static __always_inline void open_bracket(const struct sock *listener, bool timed)
{
	struct bracket *b = this_cpu_bracket();

	if (!b)
		return;
	b->inode = sk_inode(listener);
	b->start_ns = timed ? bpf_ktime_get_ns() : 0;
}

static __always_inline void close_bracket(void)
{
	struct bracket *b = this_cpu_bracket();

	if (b)
		b->inode = 0;
}

/*
 * An interrupt inside a bracket can wake an unrelated task (a timer's sleeper), and the
 * tracepoint tier's bracket is loose besides (another packet of the same softirq). A task a
 * listener wakes is blocked in accept or in a call that waits for socket readiness: read the
 * syscall it is blocked in from the user registers at the top of its kernel stack. The stack
 * layout is found by the user code and stack segments the registers must hold (x86-64: 16 or
 * 32 KiB stacks, with or without FRED's 16 bytes of padding); with no match the task is counted
 * rather than guessed away.
 */
static __always_inline bool blocked_waiting_for_sockets(struct task_struct *p)
{
#if defined(__TARGET_ARCH_x86)
	static const __u32 sizes[2] = {16384, 32768}, pads[2] = {0, 16};
	__u32 regs_size = bpf_core_type_size(struct pt_regs);
	char *stack = BPF_CORE_READ(p, stack);

	/* Kernel threads (PF_KTHREAD) never wait in a system call. */
	if (BPF_CORE_READ(p, flags) & 0x00200000)
		return false;
	if (!stack)
		return true;
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			struct pt_regs *regs =
				(struct pt_regs *)(stack + sizes[i] - pads[j] - regs_size);
			__u64 cs = 0, ss = 0, nr = 0;

			bpf_probe_read_kernel(&cs, sizeof(cs), &regs->cs);
			bpf_probe_read_kernel(&ss, sizeof(ss), &regs->ss);
			if ((cs & 0xffff) != 0x33 || (ss & 0xffff) != 0x2b)
				continue;
			nr = BPF_CORE_READ(regs, orig_ax);
			/* accept, accept4, epoll_wait, epoll_pwait, epoll_pwait2, poll, ppoll,
			 * select, pselect6, io_uring_enter */
			return nr == 43 || nr == 288 || nr == 232 || nr == 281 || nr == 441 ||
			       nr == 7 || nr == 271 || nr == 23 || nr == 270 || nr == 426;
		}
	}
#endif
	return true;
}

static __always_inline void count_wakeup(struct task_struct *p)
{
	static const struct rt_wakeup_counters zero_listener;
	struct rt_task_wakeups zero_task = {}, *t;
	struct rt_acceptor_key key = {};
	struct rt_wakeup_counters *c;
	struct bracket *b = this_cpu_bracket();

	if (!b || !b->inode)
		return;
	if (b->start_ns && bpf_ktime_get_ns() - b->start_ns > window_ns) {
		b->inode = 0;
		return;
	}
	if (filter_waiters && !blocked_waiting_for_sockets(p))
		return;
	c = lookup_or_init(&wakeup_counters, &b->inode, &zero_listener, &health, RT_STAT_SOCK_FULL);
	if (c)
		__sync_fetch_and_add(&c->wakeups, 1);
	key.inode = b->inode;
	key.tgid = BPF_CORE_READ(p, tgid);
	key.tid = BPF_CORE_READ(p, pid);
	t = bpf_map_lookup_elem(&task_wakeups, &key);
	if (!t) {
		BPF_CORE_READ_STR_INTO(&zero_task.comm, p, comm);
		t = lookup_or_init(&task_wakeups, &key, &zero_task, &health, RT_STAT_ACCEPTOR_FULL);
		if (!t)
			return;
	}
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
	count_wakeup((struct task_struct *)ctx->args[0]);
	return 0;
}

/* ---- fentry tier ---------------------------------------------------------------------------- */

SEC("fentry/tcp_child_process")
int BPF_PROG(fentry_tcp_child_process, struct sock *parent)
{
	open_bracket(parent, false);
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
	open_bracket(parent, false);
	return 0;
}

SEC("kretprobe/tcp_child_process")
int BPF_KRETPROBE(kretprobe_tcp_child_process)
{
	close_bracket();
	return 0;
}

/* ---- tracepoint tier ------------------------------------------------------------------------ */

SEC("raw_tracepoint/sk_data_ready")
int raw_tp_wakeup_data_ready(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];

	if (sk_is_tcp_listener(sk))
		open_bracket(sk, true);
	else
		close_bracket();
	return 0;
}

SEC("raw_tracepoint/softirq_exit")
int raw_tp_softirq_exit(struct bpf_raw_tracepoint_args *ctx)
{
	close_bracket();
	return 0;
}
