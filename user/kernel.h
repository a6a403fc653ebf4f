/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers that reusetop's programs depend on, read once from its BTF
 * (/sys/kernel/btf/vmlinux): every question about kernel differences is answered here, by what
 * the kernel has, never by its version number.
 */
#ifndef REUSETOP_KERNEL_H
#define REUSETOP_KERNEL_H

#include <stdbool.h>

struct rt_kernel {
	bool btf; /* the kernel's BTF could be read; everything below is false without it */
	/* inet_csk_accept(sk, struct proto_accept_arg *) since 6.10: the fexit signature differs */
	bool proto_accept_arg;
	/* bpf_rdonly_cast (6.2): programs may read kernel memory with plain loads (RT_CAST) */
	bool rdonly_cast;
	/* bpf_get_current_task_btf and bpf_task_pt_regs (5.15): a task's user registers by helper */
	bool task_pt_regs;
	/* parameters of udp_recvmsg(): 6, 5 or 4 (bpf/core_fixes.bpf.h); -1 when not in the BTF */
	int udp_recvmsg_params;
	/* BPF_SK_REUSEPORT_SELECT_OR_MIGRATE (5.14): a closing member's requests can be migrated */
	bool reuseport_migrate;
	/*
	 * Where this CPU's softnet_data, kstat and __preempt_count are relative to its runqueue in
	 * the per-CPU section (bpf/bracket.bpf.h says why); cpu_marks is false when the kernel lacks
	 * one of them, the path to the runqueue (sched_entity.cfs_rq, cfs_rq.rq) or rdonly_cast.
	 */
	bool cpu_marks;
	long softnet_data_from_rq, kstat_from_rq, preempt_count_from_rq;
};

/* The running kernel's features: parsed on the first call (milliseconds), then remembered. */
const struct rt_kernel *kernel_features(void);

#endif
