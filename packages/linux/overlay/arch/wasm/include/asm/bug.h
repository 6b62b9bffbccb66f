/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_BUG_H
#define _ASM_WASM_BUG_H

#include <linux/compiler.h>
#include <linux/kern_levels.h>

/*
 * BUG() as other CPUs have it: a trap, which becomes an oops that ends
 * the task (kernel/traps.c), where the generic BUG() panics. Wasm keeps no
 * table from trap site to source line, so the line is printed first.
 */
#define HAVE_ARCH_BUG
#define BUG() do {							\
	printk(KERN_CRIT "kernel BUG at %s:%d!\n", __FILE__, __LINE__);	\
	barrier_before_unreachable();					\
	__builtin_trap();						\
} while (0)

#include <asm-generic/bug.h>

#endif /* _ASM_WASM_BUG_H */
