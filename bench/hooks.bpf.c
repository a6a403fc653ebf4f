// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's second ruler: programs that do nothing, on the hooks reusetop's tracepoint
 * tier attaches to for every event (not listen, bind or fork), as many per hook and with the
 * same attach types. What the "hooks" variant costs is what attaching there costs at all (the
 * syscall tracepoints put every system call of every task on the slow path; each hook hit
 * dispatches a program), whatever the programs do; what "observe" costs beyond it is reusetop's
 * own work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tracepoint/syscalls/sys_exit_accept")
int hooks_exit_accept(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int hooks_exit_accept4(void *ctx)
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

SEC("raw_tracepoint/sk_data_ready")
int hooks_sk_data_ready(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_waking")
int hooks_sched_waking(void *ctx)
{
	return 0;
}

/* The hand-off programs' (handoff.bpf.c): sendmsg's entry and exit, a second recvmsg exit. */
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

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int hooks_handoff_recvmsg(void *ctx)
{
	return 0;
}
