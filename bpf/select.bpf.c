// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which member of a reuseport group the kernel selected, per TCP SYN (or cookie ACK) and per UDP
 * datagram: the return value of reuseport_select_sock(), after any steering program ran. Only the
 * fentry and kprobe tiers can see it; no tracepoint sits on this path.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "reusetop.h"
#include "maps.bpf.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct rt_select_counters);
} select_counters SEC(".maps");

RT_HEALTH_MAP;

static const struct rt_select_counters zero_select;

/* btf: selected is a BTF pointer (fexit), read with plain loads. */
static __always_inline void count_selected(const struct sock *selected, bool btf)
{
	struct rt_select_counters *c;
	__u64 inode;

	/* NULL: not in a group; an error pointer: a steering program dropped the packet. */
	if (RT_IS_ERR_OR_NULL(selected))
		return;
	inode = btf ? sk_inode_btf(selected) : sk_inode(selected);
	if (!inode) {
		health_inc(&health, RT_STAT_NO_INODE);
		return;
	}
	c = lookup_or_init(&select_counters, &inode, &zero_select, &health, RT_STAT_SOCK_FULL);
	if (c)
		__sync_fetch_and_add(&c->selected, 1);
}

SEC("fexit/reuseport_select_sock")
int BPF_PROG(fexit_reuseport_select_sock, struct sock *sk, u32 hash, struct sk_buff *skb,
	     int hdr_len, struct sock *ret)
{
	count_selected(ret, true);
	return 0;
}

/* Runs in softirq and never sleeps, so a kretprobe here does not run out of instances. */
SEC("kretprobe/reuseport_select_sock")
int BPF_KRETPROBE(kretprobe_reuseport_select_sock, struct sock *ret)
{
	count_selected(ret, false);
	return 0;
}
