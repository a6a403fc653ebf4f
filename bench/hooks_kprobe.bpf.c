// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kprobe tier's ruler (bench/hooks.bpf.c is the tracepoint tier's): programs that do nothing,
 * on the hooks reusetop's kprobe tier attaches to for every event (not listen, bind or fork), as
 * many per hook and with the same attach types (user/observe/loader.c). Measured in the qemu VM
 * by bench/vm.sh: what attaching there costs at all, apart from what reusetop's programs do.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* accept.bpf.c: accepts, enqueues. */
SEC("tracepoint/syscalls/sys_exit_accept4")
int hooks_exit_accept4(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int hooks_exit_accept(void *ctx)
{
	return 0;
}

SEC("kretprobe/inet_csk_complete_hashdance")
int hooks_kret_hashdance(void *ctx)
{
	return 0;
}

SEC("kprobe/inet_csk_complete_hashdance")
int hooks_kprobe_hashdance(void *ctx)
{
	return 0;
}

SEC("kprobe/inet_csk_reqsk_queue_add")
int hooks_kprobe_queue_add(void *ctx)
{
	return 0;
}

/* handoff.bpf.c: hand-offs. */
SEC("kprobe/scm_detach_fds")
int hooks_kprobe_scm(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int hooks_enter_sendmsg(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int hooks_exit_sendmsg(void *ctx)
{
	return 0;
}

/* select.bpf.c: selections. */
SEC("kretprobe/reuseport_select_sock")
int hooks_kret_select(void *ctx)
{
	return 0;
}

/* wakeup.bpf.c: wakeups. */
SEC("kretprobe/tcp_child_process")
int hooks_kret_child(void *ctx)
{
	return 0;
}

SEC("kprobe/tcp_child_process")
int hooks_kprobe_child(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_waking")
int hooks_sched_waking(void *ctx)
{
	return 0;
}

/* udp.bpf.c: datagrams. */
SEC("kretprobe/__udp_enqueue_schedule_skb")
int hooks_kret_udp_enqueue(void *ctx)
{
	return 0;
}

SEC("kprobe/__udp_enqueue_schedule_skb")
int hooks_kprobe_udp_enqueue(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int hooks_exit_recvfrom(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int hooks_exit_recvmsg(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int hooks_exit_recvmmsg(void *ctx)
{
	return 0;
}
