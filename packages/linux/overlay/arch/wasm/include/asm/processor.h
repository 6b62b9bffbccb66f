/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_PROCESSOR_H
#define _ASM_WASM_PROCESSOR_H

#include <linux/types.h>
#include <asm/ptrace.h>

/*
 * User memory is a separate Wasm memory per process, addressed from 0:
 * any 32-bit address may be a user address. Whether it is mapped is
 * decided by the host when it copies (see asm/uaccess.h).
 */
#define TASK_SIZE		0xffffffffUL
#define TASK_UNMAPPED_BASE	0
#define STACK_TOP		TASK_SIZE
#define STACK_TOP_MAX		STACK_TOP

#ifndef __ASSEMBLY__

/*
 * What switching to a task needs. A task's host thread sleeps on `run`
 * until another task sets it in __switch_to(); `started` says whether the
 * task has a host thread yet.
 */
struct thread_struct {
	int			run;
	int			started;
	/* The task that last handed the CPU to this one. */
	struct task_struct	*last;
	/* An exec replaced the user program during the current system call. */
	int			exec_done;
	/* A clone or fork of a user program (not a kernel thread). */
	int			user_clone;
	/* A kernel thread's function and argument, for ret_from_fork(). */
	int			(*fn)(void *);
	void			*fn_arg;
	/* The modules' generation this task's host thread last caught up with. */
	unsigned int		module_generation;
	/*
	 * The task runs its user program, not the kernel: where a trap the
	 * host reports happened (traps.c). Set on each way out to user code,
	 * cleared on each way in.
	 */
	int			in_user;
};

#define INIT_THREAD { .run = 0, .started = 1, }

#define task_pt_regs(tsk) \
	((struct pt_regs *)(task_stack_page(tsk) + THREAD_SIZE) - 1)

#define KSTK_EIP(tsk)		0
#define KSTK_ESP(tsk)		(task_pt_regs(tsk)->sp)

static inline void cpu_relax(void)
{
	barrier();
}

struct task_struct;
unsigned long __get_wchan(struct task_struct *p);
void start_thread(struct pt_regs *regs, unsigned long pc, unsigned long sp);

#define prepare_to_copy(tsk)	do { } while (0)

#endif /* __ASSEMBLY__ */

#endif /* _ASM_WASM_PROCESSOR_H */
