/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * This CPU's runqueue and the task running on it, with plain loads (bpf_rdonly_cast, see
 * core_fixes.bpf.h). The helper call that finds the current task costs more than the loads of
 * the program around it on kernels that return through a mitigation thunk; the runqueue never
 * moves, so each CPU finds it once from the running task and keeps it here, and its curr is the
 * current task outside the scheduler's own switch (no program of ours runs there).
 */
#ifndef REUSETOP_CPU_BPF_H
#define REUSETOP_CPU_BPF_H

#include <bpf/bpf_helpers.h>
#include "core_fixes.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_rq SEC(".maps");

/*
 * This CPU's runqueue: the running task's se.cfs_rq->rq the first time, kept only when it is
 * this CPU's (a task of another class may point at a runqueue it left); NULL when not found.
 */
static __always_inline struct rq *this_cpu_rq(void)
{
	struct task_struct *task;
	struct cfs_rq *cfs;
	struct rq *rq;
	__u32 zero = 0;
	__u64 *kept = bpf_map_lookup_elem(&cpu_rq, &zero);

	if (!kept)
		return NULL;
	if (*kept)
		return RT_CAST(*kept, struct rq);
	task = RT_CAST(bpf_get_current_task(), struct task_struct);
	cfs = task->se.cfs_rq;
	if (!cfs)
		return NULL;
	rq = cfs->rq;
	if (!rq || rq->cpu != (int)bpf_get_smp_processor_id())
		return NULL;
	*kept = (unsigned long)rq;
	return rq;
}

/* The current task, read as this CPU's rq->curr; NULL when the runqueue was not found. */
static __always_inline struct task_struct *this_cpu_current(void)
{
	struct rq *rq = this_cpu_rq();

	return rq ? RT_CAST(rq->curr, struct task_struct) : NULL;
}

#endif
