// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals, at the return to user space. Only default actions so far: a
 * signal with a handler cannot be delivered yet and kills the task.
 */
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <asm/syscall.h>

void do_signal(struct pt_regs *regs)
{
	struct ksignal ksig;

	if (get_signal(&ksig)) {
		pr_warn_once("%s[%d]: signal handlers are not supported yet\n",
			     current->comm, task_pid_nr(current));
		force_sigsegv(ksig.sig);
		return;
	}
	restore_saved_sigmask();
}
