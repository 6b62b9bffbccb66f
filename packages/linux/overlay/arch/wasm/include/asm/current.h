/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every task runs in an instance of the kernel module of its own, on a
 * host thread of its own, for its whole life. A Wasm global is private to
 * an instance, so `current` is simply a global set once when the task's
 * instance starts (see arch/wasm/kernel/entry.c).
 */
#ifndef _ASM_WASM_CURRENT_H
#define _ASM_WASM_CURRENT_H

#ifndef __ASSEMBLY__

struct task_struct;

static __always_inline struct task_struct *get_current(void)
{
	struct task_struct *task;

	__asm__ volatile(".globaltype wasm_current_task, i32\n\t"
			 "global.get wasm_current_task\n\t"
			 "local.set %0" : "=r"(task));
	return task;
}

static __always_inline void wasm_set_current(struct task_struct *task)
{
	__asm__ volatile(".globaltype wasm_current_task, i32\n\t"
			 "local.get %0\n\t"
			 "global.set wasm_current_task" : : "r"(task));
}

#define current get_current()

/*
 * Move this thread's C stack (the module's __stack_pointer global) to sp.
 * Only for host entry points that take no stack frame of their own, so
 * that nothing is left behind on the stack they came in on.
 */
static __always_inline void wasm_set_stack_pointer(unsigned long sp)
{
	__asm__ volatile(".globaltype __stack_pointer, i32\n\t"
			 "local.get %0\n\t"
			 "global.set __stack_pointer" : : "r"(sp));
}

#endif /* __ASSEMBLY__ */

#endif /* _ASM_WASM_CURRENT_H */
