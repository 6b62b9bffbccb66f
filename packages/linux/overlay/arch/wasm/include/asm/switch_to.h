/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_SWITCH_TO_H
#define _ASM_WASM_SWITCH_TO_H

struct task_struct;

struct task_struct *__switch_to(struct task_struct *prev,
				struct task_struct *next);

#define switch_to(prev, next, last) \
	((last) = __switch_to((prev), (next)))

/* How the host runs tasks: asks it once, at boot (process.c). */
void wasm_tasks_init(void);

/* Called by a thread that starts running kernel code (process.c). */
void wasm_cpu_enter(void);

/* The task that handed the CPU to the one now running. */
struct task_struct *wasm_switch_last(void);

#endif /* _ASM_WASM_SWITCH_TO_H */
