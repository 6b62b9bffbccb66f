// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stack traces and the end of the machine on panic. Wasm keeps its call
 * stack out of reach, but the host can print it with function names.
 */
#include <linux/init.h>
#include <linux/notifier.h>
#include <linux/panic_notifier.h>
#include <linux/printk.h>
#include <linux/sched/debug.h>
#include <linux/slab.h>
#include <asm/host.h>

void show_stack(struct task_struct *task, unsigned long *sp, const char *loglvl)
{
	static char buf[2048];

	if (task && task != current) {
		printk("%s(no stack trace for another task)\n", loglvl);
		return;
	}
	wasm_host_backtrace(buf, sizeof(buf));
	printk("%sCall Trace:\n%s\n", loglvl, buf);
}

/* panic() would spin forever once done; end the machine with its message. */
static int wasm_panic_event(struct notifier_block *nb, unsigned long event, void *msg)
{
	wasm_host_halt(1, msg);
}

static struct notifier_block wasm_panic_block = {
	.notifier_call	= wasm_panic_event,
	.priority	= INT_MIN,	/* after everyone else */
};

static int __init wasm_panic_init(void)
{
	atomic_notifier_chain_register(&panic_notifier_list, &wasm_panic_block);
	return 0;
}
early_initcall(wasm_panic_init);
