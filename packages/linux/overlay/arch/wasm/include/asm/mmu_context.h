/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_MMU_CONTEXT_H
#define _ASM_WASM_MMU_CONTEXT_H

#include <linux/mm_types.h>

int init_new_context(struct task_struct *tsk, struct mm_struct *mm);
#define init_new_context init_new_context

void destroy_context(struct mm_struct *mm);
#define destroy_context destroy_context

/* Kernel pages held for the first bytes of mm's user memory; 0 or -ENOMEM. */
int wasm_user_memory_reserve(struct mm_struct *mm, unsigned long bytes);
/* Called by exec once the new program's memory is the task's; 0 or -ENOMEM. */
int wasm_user_memory_init(struct mm_struct *mm);

/* Another process's memory (mm/remote.c). */
void wasm_keep_args(struct mm_struct *mm);
int wasm_access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf,
			  int len, unsigned int gup_flags);

/*
 * The generic NOMMU hooks (asm-generic/nommu_context.h), but for
 * arch_dup_mmap() and arch_exit_mmap() (mm/usermem.c; kernel patches
 * 0016 and 0012 call them on NOMMU): a fork child's address space gets
 * the layout of its parent's user memory, which the host copies, and
 * kernel pages held for it; when an address space goes, those pages go
 * too. The mm itself may outlive that for long: the OOM killer holds its
 * victim's until the victim is reaped.
 */
int arch_dup_mmap(struct mm_struct *oldmm, struct mm_struct *mm);
void arch_exit_mmap(struct mm_struct *mm);

static inline void arch_unmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
}

static inline bool arch_vma_access_permitted(struct vm_area_struct *vma, bool write,
					     bool execute, bool foreign)
{
	return true;
}

static inline void switch_mm(struct mm_struct *prev, struct mm_struct *next,
			     struct task_struct *tsk)
{
}

#include <asm-generic/mmu_context.h>

#endif
