// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host's terminals, as hvc devices: hvc0 is the console, hvc1 the
 * channel over which the host's guest agent takes commands and files (the
 * linuxwasm Python API). Output is synchronous; input is announced with
 * an interrupt line per terminal.
 */
#include <linux/init.h>
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

static const struct hv_ops hvc_wasm_ops = {
	.get_chars	 = hvc_wasm_get_chars,
	.put_chars	 = hvc_wasm_put_chars,
	.notifier_add	 = notifier_add_irq,
	.notifier_del	 = notifier_del_irq,
	.notifier_hangup = notifier_hangup_irq,
};

static int __init hvc_wasm_console_init(void)
{
	hvc_instantiate(0, 0, &hvc_wasm_ops);
	return 0;
}
console_initcall(hvc_wasm_console_init);

static int __init hvc_wasm_init(void)
{
	/* The agent's data is bulk: a larger output buffer per write. */
	struct hvc_struct *console = hvc_alloc(0, IRQ_CONSOLE, &hvc_wasm_ops, 256);
	struct hvc_struct *agent = hvc_alloc(1, IRQ_AGENT, &hvc_wasm_ops, 4096);

	return PTR_ERR_OR_ZERO(IS_ERR(console) ? console : agent);
}
device_initcall(hvc_wasm_init);
