/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_MMU_CONTEXT_H
#define _ASM_WASM_MMU_CONTEXT_H

#include <linux/mm_types.h>

int init_new_context(struct task_struct *tsk, struct mm_struct *mm);
#define init_new_context init_new_context

void destroy_context(struct mm_struct *mm);
#define destroy_context destroy_context

/* Called by exec once the new program's memory is the task's. */
void wasm_user_memory_init(struct mm_struct *mm);

/* Another process's memory (mm/remote.c). */
void wasm_keep_args(struct mm_struct *mm);
int wasm_access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf,
			  int len, unsigned int gup_flags);

#include <asm-generic/nommu_context.h>

#endif
