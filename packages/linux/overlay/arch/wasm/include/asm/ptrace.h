/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_PTRACE_H
#define _ASM_WASM_PTRACE_H

#include <uapi/asm/ptrace.h>

#ifndef __ASSEMBLY__

/*
 * Saved at the top of each task's kernel stack, as on other ports. For a
 * task in a system call it holds the call; `sp` is the user stack pointer.
 * `user` is 0 for kernel threads, which never return to user space.
 */
struct pt_regs {
	u64		args[6];
	long		syscall_nr;
	unsigned long	sp;
	unsigned long	user;
	long		ret;
	int		restart;	/* run the system call again */
};

#define user_mode(regs)			((regs)->user)
#define instruction_pointer(regs)	0UL
#define profile_pc(regs)		instruction_pointer(regs)
#define user_stack_pointer(regs)	((regs)->sp)
#define current_pt_regs()		task_pt_regs(current)

static inline long regs_return_value(struct pt_regs *regs)
{
	return regs->ret;
}

#endif /* __ASSEMBLY__ */

#endif /* _ASM_WASM_PTRACE_H */
