/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_MMU_H
#define _ASM_WASM_MMU_H

#include <linux/list.h>

/* Wasm memory grows in pages of 64 KiB. */
#define WASM_PAGE_SIZE	0x10000UL

/*
 * A process's user memory is a Wasm memory of its own, addresses 0 to its
 * maximum size. Below mm->start_brk lies the program (its data, its C
 * stack); the brk area grows up from there and mappings go in the lowest
 * gap above it (see arch/wasm/mm/usermem.c).
 */
typedef struct {
	unsigned long		end_brk;	/* the memory's maximum size */
	struct list_head	regions;	/* mappings, by address */
	unsigned long		reached;	/* the memory's size now */
	struct list_head	reserve;	/* kernel pages held for it */
	unsigned long		reserved;	/* how many */
	char			*args;		/* exec's argument and environment strings (mm/remote.c) */
	unsigned long		args_size;
} mm_context_t;

#define INIT_MM_CONTEXT(name) \
	.context.regions = LIST_HEAD_INIT(name.context.regions),

#endif
