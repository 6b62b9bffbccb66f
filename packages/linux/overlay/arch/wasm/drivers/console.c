// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host's terminals, as hvc devices: hvc0 is the user's terminal, hvc2
 * a terminal for the kernel log alone ("console=hvc2"), which a host can
 * show apart from the user's (the browser page does). The host's third
 * stream, its agent's channel, is no terminal (agent.c). Output is synchronous; input is announced with an
 * interrupt line per terminal, and a new window size of the host's
 * terminal with IRQ_RESIZE (the tty layer then sends SIGWINCH).
 */
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <asm/host.h>

#include "hvc_console.h"

static int hvc_wasm_put_chars(uint32_t vtermno, const char *buf, int count)
{
	wasm_host_console_write(vtermno, buf, count);
	return count;
}

static int hvc_wasm_get_chars(uint32_t vtermno, char *buf, int count)
{
	return wasm_host_console_read(vtermno, buf, count);
}

static struct hvc_struct *hvc_wasm_console;
static void hvc_wasm_resize(void);

/* On first open: a size set while no tty was open would be lost. */
static int hvc_wasm_notifier_add(struct hvc_struct *hp, int irq)
{
	int err = notifier_add_irq(hp, irq);

	if (!err && hp == hvc_wasm_console)
		hvc_wasm_resize();
	return err;
}

static const struct hv_ops hvc_wasm_ops = {
	.get_chars	 = hvc_wasm_get_chars,
	.put_chars	 = hvc_wasm_put_chars,
	.notifier_add	 = hvc_wasm_notifier_add,
	.notifier_del	 = notifier_del_irq,
	.notifier_hangup = notifier_hangup_irq,
};

/* hvcN is vterm N; either can be the kernel's console. */
static int __init hvc_wasm_console_init(void)
{
	hvc_instantiate(0, 0, &hvc_wasm_ops);
	hvc_instantiate(2, 2, &hvc_wasm_ops);
	return 0;
}
console_initcall(hvc_wasm_console_init);

static void hvc_wasm_resize(void)
{
	unsigned int size = wasm_host_console_size(0);
	struct winsize ws = { .ws_row = size >> 16, .ws_col = size & 0xffff };

	if (size)
		hvc_resize(hvc_wasm_console, ws);
}

static irqreturn_t hvc_wasm_resize_interrupt(int irq, void *dev_id)
{
	hvc_wasm_resize();
	return IRQ_HANDLED;
}

static int __init hvc_wasm_init(void)
{
	struct hvc_struct *log;

	hvc_wasm_console = hvc_alloc(0, IRQ_CONSOLE, &hvc_wasm_ops, 256);
	if (IS_ERR(hvc_wasm_console))
		return PTR_ERR(hvc_wasm_console);
	/* A tty too, so that /dev/console opens when it is hvc2. */
	log = hvc_alloc(2, IRQ_LOG, &hvc_wasm_ops, 256);
	if (IS_ERR(log))
		return PTR_ERR(log);
	return request_irq(IRQ_RESIZE, hvc_wasm_resize_interrupt, 0, "hvc-resize", NULL);
}
device_initcall(hvc_wasm_init);
