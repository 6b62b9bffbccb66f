// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interrupts. The host (a timer firing, console input) sets bit n of
 * wasm_irq_pending and wakes the CPU's thread if it sleeps in idle; the
 * kernel handles the bits whenever interrupts are enabled again.
 */
#include <linux/hardirq.h>
#include <linux/init.h>
#include <linux/irq.h>
#include <linux/irqchip/chained_irq.h>
#include <linux/irqdesc.h>
#include <linux/export.h>
#include <asm/host.h>

unsigned long wasm_irq_enabled;
unsigned int wasm_irq_pending;
/* local_irq_save() and the rest are inline (asm/irqflags.h), in modules too. */
EXPORT_SYMBOL(wasm_irq_enabled);
EXPORT_SYMBOL(wasm_irq_pending);

/*
 * What an interrupt interrupted: always kernel code, since the host never
 * stops a user program to deliver one. A task's own pt_regs say "user"
 * while it is in a system call, which would let the tick report an RCU
 * quiescent state in the middle of a read-side section.
 */
static struct pt_regs wasm_irq_regs;

void wasm_irq_dispatch(void)
{
	struct pt_regs *old_regs;
	unsigned int pending;

	wasm_irq_enabled = ARCH_IRQ_DISABLED;
	while ((pending = __atomic_exchange_n(&wasm_irq_pending, 0,
					      __ATOMIC_SEQ_CST))) {
		old_regs = set_irq_regs(&wasm_irq_regs);
		irq_enter();
		while (pending) {
			unsigned int irq = __ffs(pending);

			pending &= ~(1U << irq);
			generic_handle_irq(irq);
		}
		irq_exit();
		set_irq_regs(old_regs);
	}
	wasm_irq_enabled = ARCH_IRQ_ENABLED;
}
EXPORT_SYMBOL(wasm_irq_dispatch);

/* Sleep until the host raises an interrupt, then handle it. */
void arch_cpu_idle(void)
{
	wasm_host_idle(&wasm_irq_pending);
	raw_local_irq_enable();
}

static void wasm_irq_noop(struct irq_data *d)
{
}

static struct irq_chip wasm_irq_chip = {
	.name		= "wasm",
	.irq_mask	= wasm_irq_noop,
	.irq_unmask	= wasm_irq_noop,
};

void __init init_IRQ(void)
{
	unsigned int irq;

	for (irq = 1; irq < NR_IRQS; irq++)
		irq_set_chip_and_handler(irq, &wasm_irq_chip, handle_simple_irq);
	wasm_host_irq_init(&wasm_irq_pending);
}
