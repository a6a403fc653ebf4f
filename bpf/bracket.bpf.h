/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wakeup bracket (see wakeup.bpf.c): which listener's readiness callback is running on this
 * CPU. wakeup.bpf.c opens and closes it on the fentry and kprobe tiers and charges wakeups
 * inside it; on the tracepoint tier ready.bpf.c opens it from sock:sk_data_ready, sharing this
 * map (user space hands it wakeup.bpf.c's map before loading).
 *
 * No tracepoint marks the end of the tracepoint tier's callback. Its bracket records where this
 * CPU was when it opened: packets received (softnet_data.processed, one per packet in
 * __netif_receive_skb_core), softirq handlers run (kstat.softirqs) and the interrupt context
 * (preempt_count). The callback's wakeups run synchronously within the same packet; once any
 * of the three moved, the callback is over. These per-CPU variables are found from this CPU's
 * runqueue (cpu.bpf.h) plus their distance to `runqueues` in the per-CPU section,
 * which user space reads from the kernel's BTF: a kernel built without data symbols in
 * kallsyms has no other way to them. Where that fails, a program on softirq_exit closes the
 * bracket instead (wakeup.bpf.c). Either way another socket's sk_data_ready closes it too,
 * and it is timed.
 */
#ifndef REUSETOP_BRACKET_BPF_H
#define REUSETOP_BRACKET_BPF_H

#include <bpf/bpf_helpers.h>
#include "sock.bpf.h"
#include "core_fixes.bpf.h"
#include "cpu.bpf.h"

/* Distances in the per-CPU section from `runqueues` (set by user space when cpu_marks_known). */
const volatile bool cpu_marks_known;
const volatile long softnet_data_from_rq, kstat_from_rq, preempt_count_from_rq;

/* Of preempt_count: serving a softirq, hardirq and NMI depth; not the disable depths. */
#define RT_IRQ_CONTEXT_MASK 0x00ff0100

struct cpu_marks {
	__u32 processed; /* softnet_data.processed */
	__u32 softirqs; /* sum of kstat.softirqs[] */
	__u32 context; /* preempt_count & RT_IRQ_CONTEXT_MASK */
};

/* How an open bracket ends, besides another socket's callback or the tier's closing probe. */
enum bracket_bound {
	BRACKET_CLOSED_BY_PROBE, /* fentry and kprobe tiers: fexit/kretprobe closes it */
	BRACKET_TIMED, /* tracepoint tier: at limit_ns, or when the marks moved */
	/*
	 * Tracepoint tier in a softirq or interrupt: when the marks move. The handler being
	 * served, and with it the packet, is over once they do; no clock needed.
	 */
	BRACKET_BY_MARKS,
};

struct bracket {
	__u64 inode; /* listener whose callback is running on this CPU, 0 when none */
	__u64 start_ns; /* BRACKET_TIMED: when it opened */
	struct cpu_marks marks; /* tracepoint tier with cpu_marks_known: where this CPU was */
	__u32 bound; /* enum bracket_bound */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bracket);
} brackets SEC(".maps");

static __always_inline struct bracket *this_cpu_bracket(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&brackets, &zero);
}

/* Where this CPU (runqueue rq) is now (RT_CAST reads: the tracepoint tier with bpf_rdonly_cast). */
static __always_inline void read_cpu_marks(unsigned long rq, struct cpu_marks *m)
{
	struct kernel_stat *ks;
	int pc;

	m->processed = m->softirqs = m->context = 0;
	if (!rq)
		return;
	m->processed = RT_CAST(rq + softnet_data_from_rq, struct softnet_data)->processed;
	ks = RT_CAST(rq + kstat_from_rq, struct kernel_stat);
	for (int i = 0; i < NR_SOFTIRQS; i++)
		m->softirqs += ks->softirqs[i];
	/*
	 * An int, which bpf_rdonly_cast cannot type: read it as the one int of a struct that is
	 * nothing but an atomic_t (a helper call would cost more than all the loads above).
	 */
	pc = RT_CAST(rq + preempt_count_from_rq, struct refcount_struct)->refs.counter;
	m->context = pc & RT_IRQ_CONTEXT_MASK;
}

static __always_inline void open_bracket(__u64 listener_inode, bool timed)
{
	struct bracket *b = this_cpu_bracket();

	if (!b)
		return;
	b->inode = listener_inode;
	b->bound = BRACKET_CLOSED_BY_PROBE;
	if (!timed)
		return;
	if (cpu_marks_known) {
		read_cpu_marks((unsigned long)this_cpu_rq(), &b->marks);
		if (b->marks.context) {
			b->bound = BRACKET_BY_MARKS;
			return;
		}
	}
	b->bound = BRACKET_TIMED;
	b->start_ns = bpf_ktime_get_ns();
}

static __always_inline void close_bracket(void)
{
	struct bracket *b = this_cpu_bracket();

	/* Read before writing: most calls find it closed, and a store would dirty the line. */
	if (b && b->inode)
		b->inode = 0;
}

/* The listener whose callback this CPU is running, or 0 (a timed bracket lasts limit_ns). */
static __always_inline __u64 bracket_listener(__u64 limit_ns)
{
	struct bracket *b = this_cpu_bracket();
	struct cpu_marks now;

	if (!b || !b->inode)
		return 0;
	if (b->bound == BRACKET_CLOSED_BY_PROBE)
		return b->inode;
	if (cpu_marks_known) {
		read_cpu_marks((unsigned long)this_cpu_rq(), &now);
		if (now.processed != b->marks.processed || now.softirqs != b->marks.softirqs ||
		    now.context != b->marks.context) {
			b->inode = 0;
			return 0;
		}
	}
	if (b->bound == BRACKET_TIMED && bpf_ktime_get_ns() - b->start_ns > limit_ns) {
		b->inode = 0;
		return 0;
	}
	return b->inode;
}

#endif
