/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_IRQ_H
#define _ASM_WASM_IRQ_H

/*
 * Interrupts are bits in a word that the host sets (asm/irqflags.h), one
 * bit per line. Line 0 stays unused: much code reads irq 0 as "none".
 */
#define IRQ_TIMER	1
#define IRQ_CONSOLE	2
#define IRQ_AGENT	3	/* input on the agent channel, /dev/agent */
#define IRQ_RESIZE	4	/* the console's window size changed */
#define IRQ_LOG		5	/* input on the kernel log terminal, /dev/hvc2 */
/*
 * Lines 8 to 31 are the virtio devices', one each, as the host names them
 * on the command line (virtio_mmio.device=SIZE@ADDRESS:LINE).
 */
#define IRQ_VIRTIO_FIRST 8
#define NR_IRQS		32

#include <asm-generic/irq.h>

#endif /* _ASM_WASM_IRQ_H */
