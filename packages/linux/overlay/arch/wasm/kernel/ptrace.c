// SPDX-License-Identifier: GPL-2.0-only
/* No register access to offer: ptrace requests beyond the generic ones fail. */
#include <linux/ptrace.h>
#include <linux/sched.h>

void ptrace_disable(struct task_struct *child)
{
}

long arch_ptrace(struct task_struct *child, long request,
		 unsigned long addr, unsigned long data)
{
	return ptrace_request(child, request, addr, data);
}
