/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * There is no interrupt line into a running Wasm thread: the host sets a
 * bit in wasm_irq_pending and the CPU looks at it whenever interrupts are
 * enabled again, and in the idle loop (arch/wasm/kernel/irq.c).
 */
#ifndef _ASM_WASM_IRQFLAGS_H
#define _ASM_WASM_IRQFLAGS_H

#define ARCH_IRQ_DISABLED	0UL
#define ARCH_IRQ_ENABLED	1UL

extern unsigned long wasm_irq_enabled;
extern unsigned int wasm_irq_pending;
void wasm_irq_dispatch(void);

static inline unsigned long arch_local_save_flags(void)
{
	return *(volatile unsigned long *)&wasm_irq_enabled;
}
#define arch_local_save_flags arch_local_save_flags

static inline void arch_local_irq_restore(unsigned long flags)
{
	*(volatile unsigned long *)&wasm_irq_enabled = flags;
	if (flags == ARCH_IRQ_ENABLED &&
	    __atomic_load_n(&wasm_irq_pending, __ATOMIC_RELAXED))
		wasm_irq_dispatch();
}
#define arch_local_irq_restore arch_local_irq_restore

static inline unsigned long arch_local_irq_save(void)
{
	unsigned long flags = arch_local_save_flags();

	*(volatile unsigned long *)&wasm_irq_enabled = ARCH_IRQ_DISABLED;
	return flags;
}

#define arch_local_irq_save arch_local_irq_save

#include <asm-generic/irqflags.h>

#endif /* _ASM_WASM_IRQFLAGS_H */
