// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's ruler: a program that does nothing. With kernel.bpf_stats_enabled, the run
 * time the kernel charges to it per run (BPF_PROG_TEST_RUN, many repetitions) is the floor that
 * the statistics themselves add to every program run on this machine (mostly the clock read),
 * so that the benchmark can report BPF run times with and without it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("socket")
int bench_nop(struct __sk_buff *skb)
{
	return 0;
}
