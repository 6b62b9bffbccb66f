// SPDX-License-Identifier: GPL-2.0-only
/*
 * The console: an hvc device whose characters go to and come from the
 * host. Output is synchronous; input is announced with IRQ_CONSOLE.
 */
#include <linux/init.h>
#include <linux/irq.h>
#include <asm/host.h>

#include "hvc_console.h"

static int hvc_wasm_put_chars(uint32_t vtermno, const char *buf, int count)
{
	wasm_host_console_write(buf, count);
	return count;
}

static int hvc_wasm_get_chars(uint32_t vtermno, char *buf, int count)
{
	return wasm_host_console_read(buf, count);
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
	return PTR_ERR_OR_ZERO(hvc_alloc(0, IRQ_CONSOLE, &hvc_wasm_ops, 256));
}
device_initcall(hvc_wasm_init);
