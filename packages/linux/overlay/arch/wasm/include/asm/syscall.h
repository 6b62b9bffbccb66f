/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_SYSCALL_H
#define _ASM_WASM_SYSCALL_H

#include <linux/err.h>
#include <linux/sched.h>
#include <uapi/linux/audit.h>
#include <asm/elf.h>
#include <asm/ptrace.h>

typedef long (*syscall_fn_t)(const struct pt_regs *regs);

extern const syscall_fn_t sys_call_table[];

void syscall_exit_to_user(struct pt_regs *regs);
void do_signal(struct pt_regs *regs);

static inline int syscall_get_nr(struct task_struct *task, struct pt_regs *regs)
{
	return regs->syscall_nr;
}

static inline long syscall_get_return_value(struct task_struct *task,
					    struct pt_regs *regs)
{
	return regs->ret;
}

static inline void syscall_get_arguments(struct task_struct *task,
					 struct pt_regs *regs,
					 unsigned long *args)
{
	int i;

	for (i = 0; i < 6; i++)
		args[i] = regs->args[i];
}

static inline int syscall_get_arch(struct task_struct *task)
{
	return EM_WASM | __AUDIT_ARCH_LE;
}

#endif /* _ASM_WASM_SYSCALL_H */
