// SPDX-License-Identifier: GPL-2.0-only
/*
 * Traps, stack traces and the end of the machine on panic. Wasm keeps its
 * call stack out of reach, but the host can print it with function names.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/panic.h>
#include <linux/panic_notifier.h>
#include <linux/printk.h>
#include <linux/sched/debug.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <asm/host.h>
#include <asm/syscall.h>

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

/*
 * Where module code that dereferences NULL leaves the address it would
 * have reached, then a mark, before it traps: the host's rewrite of each
 * module's code (runtime/module-code.js) checks every access.
 */
static u32 wasm_null_fault[2];

__host_export(null_fault) u32 *wasm_null_fault_word(void)
{
	return wasm_null_fault;
}

static DEFINE_SPINLOCK(die_lock);

/*
 * The oops of a trap in kernel code, as die() on other ports: the report,
 * then the task ends and the kernel goes on, unless the trap hit an
 * interrupt handler or the user asked for panic_on_oops.
 */
static void __noreturn die(int sig)
{
	static char text[2048];	/* under die_lock */
	static int die_counter;
	const char *reason = text;
	unsigned long flags;
	char *trace;

	oops_enter();
	spin_lock_irqsave(&die_lock, flags);
	console_verbose();
	bust_spinlocks(1);
	wasm_host_fault_text(text, sizeof(text));
	trace = strchr(text, '\n');
	if (trace)
		*trace++ = '\0';
	if (READ_ONCE(wasm_null_fault[1])) {
		WRITE_ONCE(wasm_null_fault[1], 0);
		pr_alert("BUG: kernel NULL pointer dereference, address: %08x\n",
			 READ_ONCE(wasm_null_fault[0]));
		reason = "NULL pointer dereference";
	}
	pr_emerg("Oops: %s [#%d]%s\n", reason, ++die_counter,
		 IS_ENABLED(CONFIG_PREEMPTION) ? " PREEMPT" : "");
	print_modules();
	show_regs_print_info(KERN_EMERG);
	if (trace)
		pr_emerg("Call Trace:\n%s\n", trace);
	bust_spinlocks(0);
	add_taint(TAINT_DIE, LOCKDEP_NOW_UNRELIABLE);
	spin_unlock_irqrestore(&die_lock, flags);
	oops_exit();

	if (in_interrupt())
		panic("Fatal exception in interrupt");
	if (panic_on_oops)
		panic("Fatal exception");
	make_task_dead(sig);
}

/*
 * The host calls this when the task's Wasm trapped (unreachable, a memory
 * access out of bounds, a stack too deep...), at the top of the task's
 * kernel stack: the engine unwound every frame below. A trap in the user
 * program gets the signal a native CPU fault would give, SIGILL or
 * SIGSEGV, with its default action unless handled; one in the kernel or
 * a module is an oops.
 */
__host_export(fault) void wasm_fault(int sig)
{
	struct pt_regs *regs = current_pt_regs();

	if (!current->thread.in_user)
		die(SIGSEGV);
	current->thread.in_user = 0;
	regs->syscall_nr = -1;	/* not in a system call: nothing to restart */
	force_sig(sig);
	syscall_exit_to_user(regs);
}
