/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers shared by reusetop's BPF objects. */
#ifndef REUSETOP_MAPS_BPF_H
#define REUSETOP_MAPS_BPF_H

#include <bpf/bpf_helpers.h>
#include "reusetop.h"

/* Every object declares its own `health` array with this shape; user space sums the CPUs. */
#define RT_HEALTH_MAP                                    \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, RT_STAT_MAX);        \
		__type(key, __u32);                      \
		__type(value, __u64);                    \
	} health SEC(".maps")

static __always_inline void health_inc(void *health_map, __u32 what)
{
	__u64 *v = bpf_map_lookup_elem(health_map, &what);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * Look up key; insert init when absent. A full map is not an error to the kernel path being
 * traced, only to us: count it so user space can say that numbers are incomplete.
 */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init,
					    void *health_map, __u32 full_stat)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	/* EEXIST from a racing insert on another CPU is fine: the lookup below finds it. */
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		health_inc(health_map, full_stat);
	return v;
}

#endif
