// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fentry tier's ruler (bench/hooks.bpf.c is the tracepoint tier's): programs that do nothing,
 * on the hooks reusetop's fentry tier attaches to for every event (not listen, bind or fork), as
 * many per hook and with the same attach types (user/observe/loader.c). Measured in the qemu VM
 * by bench/vm.sh: what attaching there costs at all, apart from what reusetop's programs do.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* accept.bpf.c: accepts, enqueues. */
SEC("fexit/inet_csk_accept")
int hooks_fexit_accept(void *ctx)
{
	return 0;
}

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

SEC("fexit/inet_csk_complete_hashdance")
int hooks_fexit_hashdance(void *ctx)
{
	return 0;
}

SEC("fentry/inet_csk_complete_hashdance")
int hooks_fentry_hashdance(void *ctx)
{
	return 0;
}

SEC("fexit/inet_csk_reqsk_queue_add")
int hooks_fexit_queue_add(void *ctx)
{
	return 0;
}

/* handoff.bpf.c: hand-offs. */
SEC("fentry/scm_detach_fds")
int hooks_fentry_scm(void *ctx)
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
SEC("fexit/reuseport_select_sock")
int hooks_fexit_select(void *ctx)
{
	return 0;
}

/* wakeup.bpf.c: wakeups. */
SEC("fexit/tcp_child_process")
int hooks_fexit_child(void *ctx)
{
	return 0;
}

SEC("fentry/tcp_child_process")
int hooks_fentry_child(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_waking")
int hooks_sched_waking(void *ctx)
{
	return 0;
}

/* udp.bpf.c: datagrams. */
SEC("fexit/__udp_enqueue_schedule_skb")
int hooks_fexit_udp_enqueue(void *ctx)
{
	return 0;
}

SEC("fexit/udp_recvmsg")
int hooks_fexit_udp_recvmsg(void *ctx)
{
	return 0;
}

SEC("fexit/udpv6_recvmsg")
int hooks_fexit_udpv6_recvmsg(void *ctx)
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
