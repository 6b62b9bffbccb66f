/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_MODULE_H
#define _ASM_WASM_MODULE_H

#include <linux/list.h>
#include <linux/types.h>
#include <asm-generic/module.h>

/*
 * A loaded module's code is a Wasm instance the host keeps
 * (arch/wasm/kernel/module.c); its functions fill the kernel's function
 * table from table_base on, so their "addresses" are indices from there.
 * With a host thread per task, every thread's kernel instance gets one:
 * the rest is what it is made from.
 */
struct mod_arch_specific {
	unsigned int id;		/* the host's name for it: no two loads share one */
	const char *name;		/* struct module's, for the host's stack traces */
	int table_base;
	void *wasm;			/* the side module */
	unsigned long wasm_size;
	unsigned long memory_base;	/* its data region */
	u32 *imports;			/* the values of its imports of the kernel */
	unsigned int count;
	struct list_head list;		/* in the loaded modules */
};

#ifdef CONFIG_MODULES
void wasm_modules_catch_up(void);
#else
static inline void wasm_modules_catch_up(void) { }
#endif

#endif /* _ASM_WASM_MODULE_H */
