/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Everything reusetop's BPF programs know about the CPU architecture, in one place: the numbers
 * of the system calls a task waits for sockets in, where a blocked task's user registers are
 * and which system call they say it is in, and which register holds a system call's first
 * argument. One part per architecture (x86-64, arm64); on any other the blocked-call check
 * answers "unknown" (-1), so that every woken task is counted.
 *
 * The x86-64 part reads vmlinux.h's struct pt_regs. The arm64 part names the fields it reads in
 * a ___flavour struct, which CO-RE matches to the running kernel's struct pt_regs, so that it
 * also compiles against the x86 vmlinux.h.
 */
#ifndef REUSETOP_ARCH_BPF_H
#define REUSETOP_ARCH_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "core_fixes.bpf.h"

#if defined(__TARGET_ARCH_x86)

/* x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
#define RT_NR_accept	     43
#define RT_NR_accept4	     288
#define RT_NR_epoll_wait     232
#define RT_NR_epoll_pwait    281
#define RT_NR_epoll_pwait2   441
#define RT_NR_poll	     7
#define RT_NR_ppoll	     271
#define RT_NR_select	     23
#define RT_NR_pselect6	     270
#define RT_NR_io_uring_enter 426

static __always_inline bool arch_syscall_waits_for_sockets(long nr)
{
	return nr == RT_NR_accept || nr == RT_NR_accept4 || nr == RT_NR_epoll_wait ||
	       nr == RT_NR_epoll_pwait || nr == RT_NR_epoll_pwait2 || nr == RT_NR_poll ||
	       nr == RT_NR_ppoll || nr == RT_NR_select || nr == RT_NR_pselect6 ||
	       nr == RT_NR_io_uring_enter;
}

/*
 * A task entering the kernel from user space saves its registers (struct pt_regs) at the top of
 * its kernel stack: 16 KiB, 32 KiB with KASAN, less 16 bytes of padding with FRED ("x86/fred:
 * Reserve space for the FRED stack frame", 65c9cc9e2c14). The candidate that holds the user
 * code and stack segments (__USER_CS, __USER_DS) is the one; orig_ax holds the system call.
 * ("x86/ptrace: Cleanup the definition of the pt_regs structure" put cs and ss in unions: CO-RE
 * finds them by name either way.)
 */
#define ARCH_USER_REGS_KNOWN
static const __u32 arch_stack_sizes[] = {16384, 32768}, arch_stack_pads[] = {0, 16};

/* Whether the registers at `at` are a 64-bit task's user registers; *nr its system call. */
static __always_inline bool arch_user_regs_syscall(unsigned long at, bool direct, long *nr)
{
	struct pt_regs *regs = (struct pt_regs *)at;
	__u64 cs = 0, ss = 0;

	if (direct) {
		regs = RT_CAST(at, struct pt_regs);
		cs = regs->cs;
		ss = regs->ss;
	} else {
		bpf_probe_read_kernel(&cs, sizeof(cs), &regs->cs);
		bpf_probe_read_kernel(&ss, sizeof(ss), &regs->ss);
	}
	if ((cs & 0xffff) != 0x33 || (ss & 0xffff) != 0x2b)
		return false;
	*nr = direct ? (long)regs->orig_ax : (long)BPF_CORE_READ(regs, orig_ax);
	return true;
}

/* The system call ABI passes the first argument in rdi, which still holds it at exit. */
static __always_inline unsigned long arch_syscall_arg1_direct(const struct pt_regs *regs)
{
	return regs->di;
}

#elif defined(__TARGET_ARCH_arm64)

/*
 * arm64 system call numbers: the generic table (include/uapi/asm-generic/unistd.h), which has
 * no epoll_wait, poll or select (libc calls epoll_pwait, ppoll and pselect6).
 */
#define RT_NR_accept	     202
#define RT_NR_accept4	     242
#define RT_NR_epoll_pwait    22
#define RT_NR_epoll_pwait2   441
#define RT_NR_ppoll	     73
#define RT_NR_pselect6	     72
#define RT_NR_io_uring_enter 426

static __always_inline bool arch_syscall_waits_for_sockets(long nr)
{
	return nr == RT_NR_accept || nr == RT_NR_accept4 || nr == RT_NR_epoll_pwait ||
	       nr == RT_NR_epoll_pwait2 || nr == RT_NR_ppoll || nr == RT_NR_pselect6 ||
	       nr == RT_NR_io_uring_enter;
}

struct pt_regs___arm64_user {
	__u64 pc;
	__u64 pstate;
	__u64 orig_x0;
	__s32 syscallno;
} __attribute__((preserve_access_index));

/*
 * struct pt_regs is at the very top of the kernel stack (task_pt_regs()): 16 KiB, 32 KiB with
 * KASAN, 64 KiB with 64 KiB pages and vmapped stacks. The candidate whose pstate says EL0t in
 * AArch64 state (mode and execution state bits clear) with a user pc is the one; syscallno
 * holds the system call (NO_SYSCALL, -1, outside one).
 */
#define ARCH_USER_REGS_KNOWN
static const __u32 arch_stack_sizes[] = {16384, 32768, 65536}, arch_stack_pads[] = {0};

/* Whether the registers at `at` are a 64-bit task's user registers; *nr its system call. */
static __always_inline bool arch_user_regs_syscall(unsigned long at, bool direct, long *nr)
{
	struct pt_regs___arm64_user *regs = (struct pt_regs___arm64_user *)at;
	__u64 pstate, pc;

	if (direct) {
		regs = RT_CAST(at, struct pt_regs___arm64_user);
		pstate = regs->pstate;
		pc = regs->pc;
	} else {
		pstate = BPF_CORE_READ(regs, pstate);
		pc = BPF_CORE_READ(regs, pc);
	}
	/* PSR_MODE32_BIT | PSR_MODE_MASK; user addresses are below 2^52 */
	if ((pstate & 0x1f) != 0 || !pc || (pc >> 52))
		return false;
	*nr = direct ? (long)regs->syscallno : (long)BPF_CORE_READ(regs, syscallno);
	return true;
}

/* x0 holds the return value once the call returned; entry kept the first argument in orig_x0. */
static __always_inline unsigned long arch_syscall_arg1_direct(const struct pt_regs *regs)
{
	return ((const struct pt_regs___arm64_user *)regs)->orig_x0;
}

#else

/* No known layout: blocked_syscall() answers "unknown". */
static __always_inline bool arch_syscall_waits_for_sockets(long nr)
{
	return false;
}

static __always_inline unsigned long arch_syscall_arg1_direct(const struct pt_regs *regs)
{
	return PT_REGS_PARM1_SYSCALL(regs);
}
#endif

/*
 * Where the user registers of task p are saved (the top of its kernel stack), or 0 when not
 * found; *nr the system call they say it is in. direct: p comes from RT_CAST and is read with
 * plain loads.
 */
static __always_inline unsigned long user_regs_of(struct task_struct *p, bool direct, long *nr)
{
#ifdef ARCH_USER_REGS_KNOWN
	const int nsizes = sizeof(arch_stack_sizes) / sizeof(arch_stack_sizes[0]);
	const int npads = sizeof(arch_stack_pads) / sizeof(arch_stack_pads[0]);
	__u32 regs_size = bpf_core_type_size(struct pt_regs);
	char *stack = direct ? p->stack : BPF_CORE_READ(p, stack);

	if (!stack)
		return 0;
	for (int i = 0; i < nsizes; i++) {
		for (int j = 0; j < npads; j++) {
			unsigned long at = (unsigned long)stack + arch_stack_sizes[i] -
					   arch_stack_pads[j] - regs_size;

			if (arch_user_regs_syscall(at, direct, nr))
				return at;
		}
	}
#endif
	return 0;
}

/* The system call task p, blocked from user space, is waiting in, or -1 when not found. */
static __always_inline long blocked_syscall(struct task_struct *p, bool direct)
{
	long nr = -1;

	return user_regs_of(p, direct, &nr) ? nr : -1;
}

/*
 * The first argument of the current task's system call, from its saved user registers (still
 * there at the call's exit tracepoint). direct: with a plain load, which the verifier allows on
 * what bpf_task_pt_regs() returns; otherwise with a CO-RE read, the registers found by the
 * helper where the kernel has it (task_pt_regs_helper, core_fixes.bpf.h) or on the stack.
 */
static __always_inline unsigned long current_syscall_arg1(bool direct)
{
	struct pt_regs *regs;
	long nr;

	if (direct || task_pt_regs_helper) {
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		return direct ? arch_syscall_arg1_direct(regs) : PT_REGS_PARM1_CORE_SYSCALL(regs);
	}
	regs = (struct pt_regs *)user_regs_of((struct task_struct *)bpf_get_current_task(), false,
					      &nr);
	/* Not found: an fd no task has. */
	return regs ? PT_REGS_PARM1_CORE_SYSCALL(regs) : (unsigned long)-1;
}

/*
 * Where task_pt_regs() is from a task's stack (task_struct.stack), found once per object by
 * matching what bpf_task_pt_regs() returns against the architecture's candidates (see
 * user_regs_of); -1 when none matched (the helper is then called every time). Plain loads from
 * there cost a few instructions where the helper call costs more than the rest of the lookup.
 */
static long rt_regs_from_stack;

/*
 * current_syscall_arg1(true) for the current task as bpf_get_current_task_btf() gave it, so
 * that one call serves the registers, the fd table and the ids (accept.bpf.c).
 */
static __always_inline unsigned long current_syscall_arg1_of(struct task_struct *task)
{
	unsigned long stack = (unsigned long)task->stack;
	long off = rt_regs_from_stack;

	if (off > 0)
		return arch_syscall_arg1_direct(RT_CAST(stack + off, struct pt_regs));
	if (off < 0)
		return arch_syscall_arg1_direct((struct pt_regs *)bpf_task_pt_regs(task));
#ifdef ARCH_USER_REGS_KNOWN
	{
		const int nsizes = sizeof(arch_stack_sizes) / sizeof(arch_stack_sizes[0]);
		const int npads = sizeof(arch_stack_pads) / sizeof(arch_stack_pads[0]);
		__u32 regs_size = bpf_core_type_size(struct pt_regs);
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

		off = -1;
		for (int i = 0; i < nsizes; i++)
			for (int j = 0; j < npads; j++)
				if ((unsigned long)regs ==
				    stack + arch_stack_sizes[i] - arch_stack_pads[j] - regs_size)
					off = arch_stack_sizes[i] - arch_stack_pads[j] - regs_size;
	}
#else
	off = -1;
#endif
	rt_regs_from_stack = off;
	return arch_syscall_arg1_direct((struct pt_regs *)bpf_task_pt_regs(task));
}

/* The current system call's second argument, at its exit: 0 when its registers were not found. */
static __always_inline unsigned long current_syscall_arg2(void)
{
	struct pt_regs *regs;
	long nr;

	if (task_pt_regs_helper)
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	else
		regs = (struct pt_regs *)user_regs_of((struct task_struct *)bpf_get_current_task(),
						      false, &nr);
	return regs ? PT_REGS_PARM2_CORE_SYSCALL(regs) : 0;
}

#endif
