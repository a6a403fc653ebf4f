// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's ruler for steering: the least a steering program does, loaded with
 * `reusetop steer --object`: pick an eligible member from the flow hash and select it. What the
 * "steer-floor" variant costs per decision is the cost of being an sk_reuseport program that
 * selects at all (mostly bpf_sk_select_reuseport() itself); a built-in policy's cost beyond it is
 * the policy's own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "steer.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

STEER_ABI_MAPS;

SEC("sk_reuseport/migrate")
int select_floor(struct sk_reuseport_md *md)
{
	struct steer_members *set;
	__u32 zero = 0, n, pos;

	set = bpf_map_lookup_elem(&steer_members, &zero);
	if (!set)
		return SK_PASS;
	n = set->n;
	if (!n || n > STEER_MAX_MEMBERS)
		return SK_PASS;
	pos = (__u32)(((__u64)md->hash * n) >> 32);
	bpf_sk_select_reuseport(md, &members, &set->slot[pos & (STEER_MAX_MEMBERS - 1)], 0);
	return SK_PASS;
}
