/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every difference between the kernels reusetop targets (5.10 to 6.18) that its BPF programs
 * handle, in one place, each named for the kernel change that made it: never a version number in
 * code, since a distribution's kernel can carry a change earlier or later than its version says.
 *
 * Two kinds:
 *   - CO-RE decides when the program loads: an accessor asks the running kernel's BTF
 *     (bpf_core_field_exists(), bpf_core_type_exists()) and reads accordingly. Its ___flavour
 *     structs name only the fields it reads, so the programs also compile against a vmlinux.h
 *     from either side of the change.
 *   - User space decides: a change to a function's signature, or to what a program may call,
 *     needs one program per side (an fexit program's return value follows the arguments).
 *     user/kernel.c's kernel_features() answers from the kernel's BTF, read once, and
 *     user/observe/loader.c (user/steer/load.c for steering) loads the matching variant or sets
 *     the rodata before loading. Those are listed here too, with their variants, so that this
 *     file tells the whole story; where the choice lives is said with each.
 *
 * What differs between architectures (system call numbers, register layouts) is in arch.bpf.h,
 * and so are the kernel differences of one architecture only (x86's FRED stack layout).
 */
#ifndef REUSETOP_CORE_FIXES_BPF_H
#define REUSETOP_CORE_FIXES_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/*
 * "bpf: Add a kfunc for generic type cast" (a35b9af4ec2c): any program can cast a kernel pointer
 * to its BTF type (bpf_rdonly_cast) and read it with plain loads that the verifier guards like
 * bpf_probe_read_kernel, at a fraction of a helper call's cost. The tracepoint tier's hot
 * programs have such variants (the *_direct programs of accept.bpf.c, steer.bpf.c and
 * wakeup.bpf.c; ready.bpf.c only exists in that form, its hook being younger than the kfunc).
 * User space loads them where rt_kernel.rdonly_cast; the kfunc is weak, so the other programs
 * load without it.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define RT_CAST(p, type) \
	((type *)bpf_rdonly_cast((const void *)(unsigned long)(p), bpf_core_type_id_kernel(type)))

/*
 * "bpf: Add bpf_task_pt_regs() helper" (dd6e10fbd9fb), with bpf_get_current_task_btf() from
 * "bpf: Implement get_current_task_btf and RET_PTR_TO_BTF_ID" (3ca1032ab7ab): the current
 * task's saved user registers in two calls. The system call exits (accept.bpf.c, udp.bpf.c, steering's load
 * tracker) read the call's first argument there. User space sets task_pt_regs_helper where the
 * kernel's BTF lists both in enum bpf_func_id (rt_kernel.task_pt_regs); elsewhere
 * current_syscall_arg1() (arch.bpf.h) finds the registers at the top of the task's kernel stack,
 * like blocked_syscall() for a sleeping task. The verifier follows only the branch the constant
 * takes, so older kernels never see the helpers they lack.
 */
const volatile bool task_pt_regs_helper;

/*
 * "net: change proto and proto_ops accept type" (92ef0fd55ac8): inet_csk_accept(sk, flags, err,
 * kern) became inet_csk_accept(sk, arg), the three now in struct proto_accept_arg. accept.bpf.c
 * has an fexit program per signature (fexit_inet_csk_accept for the new one,
 * fexit_inet_csk_accept_old); user space loads the one rt_kernel.proto_accept_arg (the struct is
 * in the kernel's BTF) says. The new one reads the error through inet_csk_accept_error().
 *
 * The old one does not read its int *err: verifiers before "bpf: Allow access to int pointer
 * arguments in tracing programs" (bb6728d75611) refuse a tracing program that loads an argument
 * pointing to anything but a struct. It counts the calls that returned a connection and leaves
 * the others to the accept system call's exit (tp_exit_accept*_missed), which has the call's
 * return value (-EAGAIN), so that one program serves the old signature on every kernel.
 */
struct proto_accept_arg___new {
	int err;
} __attribute__((preserve_access_index));

static __always_inline int inet_csk_accept_error(const struct proto_accept_arg___new *arg)
{
	return BPF_CORE_READ(arg, err);
}

/*
 * udp_recvmsg() and udpv6_recvmsg() changed twice:
 *   (sk, msg, len, noblock, flags, addr_len)  until "net: remove noblock parameter from recvmsg()
 *                                             entities" (ec095263a965)
 *   (sk, msg, len, flags, addr_len)           until "net: remove addr_len argument of recvmsg()
 *                                             handlers" (8341c989ac77)
 *   (sk, msg, len, flags)
 * udp.bpf.c has an fexit pair per signature (fexit_udp{,v6}_recvmsg_noblock, ..._old, and the
 * plain names for the newest); user space loads the pair whose parameter count the kernel's BTF
 * gives (rt_kernel.udp_recvmsg_params).
 */

/*
 * "bpf: Support socket migration by eBPF." (d5e4ddaeb6ab) added the select-or-migrate attach
 * type, which user space uses where rt_kernel.reuseport_migrate (plain select before), and
 * sk_reuseport_md.migrating_sk: the socket whose requests are being migrated. Before it nothing
 * migrated, and with the plain select type the field is always NULL.
 */
struct sk_reuseport_md___migrate {
	struct bpf_sock *migrating_sk;
} __attribute__((preserve_access_index));

static __always_inline bool reuseport_md_migrating(struct sk_reuseport_md *md)
{
	struct sk_reuseport_md___migrate *m = (void *)md;

	if (bpf_core_field_exists(m->migrating_sk))
		return m->migrating_sk != NULL;
	return false;
}

/*
 * "soreuseport: Fix socket selection for SO_INCOMING_CPU." (6.1) added sock_reuseport.incoming_cpu:
 * while a member has SO_INCOMING_CPU set, the kernel's hash choice prefers a member of the
 * receiving CPU, which shadow mode's count of the hash's choice (steer.bpf.c) does not follow.
 * Before it the preference did not exist. reuse comes from RT_CAST (plain loads).
 */
struct sock_reuseport___incoming {
	__u16 incoming_cpu;
} __attribute__((preserve_access_index));

static __always_inline bool reuseport_incoming_cpu_direct(const struct sock_reuseport *reuse)
{
	const struct sock_reuseport___incoming *r = (const void *)reuse;

	if (bpf_core_field_exists(r->incoming_cpu))
		return r->incoming_cpu;
	return false;
}

/*
 * "tcp: Add num_closed_socks to struct sock_reuseport." (5c040eaf5d17), for "tcp: Keep
 * TCP_CLOSE sockets in the reuseport group.": a closed member stays in its group until its
 * queued connections have migrated. Before, a closed socket left its group at once: none.
 */
struct sock_reuseport___closed {
	__u16 num_closed_socks;
} __attribute__((preserve_access_index));

static __always_inline __u16 reuseport_num_closed_socks(const struct sock_reuseport *reuse)
{
	const struct sock_reuseport___closed *r = (const void *)reuse;

	if (bpf_core_field_exists(r->num_closed_socks))
		return BPF_CORE_READ(r, num_closed_socks);
	return 0;
}

/*
 * "net/sock: Introduce trace_sk_data_ready()" (40e0b0908142) added the sock:sk_data_ready
 * tracepoint the tracepoint tier counts enqueues, wakeups and datagrams from (ready.bpf.c) and
 * steering resyncs its least-loaded estimate from (steer.bpf.c's steer_ready). Without it user
 * space reports those as unknown; nothing to choose in BPF.
 *
 * The tracepoint tier's wakeup bracket (bracket.bpf.h) reads this CPU's softnet_data, kstat and
 * preempt count, which user space finds in the kernel's BTF as per-CPU variables and hands over
 * as rodata (rt_kernel.cpu_marks, cpu_marks_known). Where one is missing the bracket is closed
 * by raw_tp_softirq_exit (wakeup.bpf.c) instead: kernels without CONFIG_FAIR_GROUP_SCHED (no
 * sched_entity.cfs_rq), or whose preempt count is no variable of its own (x86 kernels between
 * "x86/percpu: Move preempt_count next to current_task", which put it in struct pcpu_hot, and
 * the dissolution of that struct; other architectures keep it in thread_info).
 */

#endif
