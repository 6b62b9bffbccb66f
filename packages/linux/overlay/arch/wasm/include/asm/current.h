/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `current` is a global of the kernel module's instance, set when a task
 * first runs (arch/wasm/kernel/entry.c). With a host thread per task, each
 * thread's instance runs one task at a time and the global stays put; with
 * coroutines on one instance, __switch_to() sets it back for the task it
 * resumes (arch/wasm/kernel/process.c).
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

/* The C stack pointer (the module's __stack_pointer global). */
static __always_inline unsigned long wasm_stack_pointer(void)
{
	unsigned long sp;

	__asm__ volatile(".globaltype __stack_pointer, i32\n\t"
			 "global.get __stack_pointer\n\t"
			 "local.set %0" : "=r"(sp));
	return sp;
}

/*
 * Move the C stack to sp: for host entry points that take no stack frame
 * of their own, so that nothing is left behind on the stack they came in
 * on, and for a coroutine that resumes.
 */
static __always_inline void wasm_set_stack_pointer(unsigned long sp)
{
	__asm__ volatile(".globaltype __stack_pointer, i32\n\t"
			 "local.get %0\n\t"
			 "global.set __stack_pointer" : : "r"(sp));
}

#endif /* __ASSEMBLY__ */

#endif /* _ASM_WASM_CURRENT_H */
