// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where the host enters the kernel on a new thread: the boot, and a new
 * task's first run (system calls enter in syscall.c). Each host thread
 * holds one instance of the kernel module for one task, so `current` is
 * an instance global (asm/current.h) that is set here once, before any
 * other kernel code runs on the thread.
 */
#include <linux/init.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/start_kernel.h>
#include <linux/syscalls.h>
#include <asm/host.h>
#include <asm/switch_to.h>
#include <asm/syscall.h>

/* The instance global behind `current`; zero until an entry sets it. */
__asm__(".globaltype wasm_current_task, i32\n"
	".globl wasm_current_task\n"
	"wasm_current_task:\n");

__host_export(boot) void wasm_boot(void)
{
	wasm_set_current(&init_task);
	wasm_set_stack_pointer((unsigned long)task_pt_regs(&init_task));
	start_kernel();
}

/*
 * A task's first run on its new host thread: finish the switch that
 * created it, run a kernel thread's function, then return to the host,
 * which starts the user program that the task has exec'd by then.
 */
static noinline void ret_from_fork(void)
{
	struct task_struct *task = current;

	wasm_cpu_enter();
	schedule_tail(wasm_switch_last());
	if (task->thread.fn) {
		/* Returns only once kernel_execve() has made it a user task. */
		task->thread.fn(task->thread.fn_arg);
	}
	syscall_exit_to_user(task_pt_regs(task));
	task->thread.exec_done = 0;
	task->thread.in_user = 1;
}

/*
 * Before the host starts one of the task's user programs: other tasks may
 * have run on this instance since the task last left the kernel, so its
 * globals are made the task's again. Returns the kernel stack pointer of
 * the task in user space, the top of its kernel stack.
 */
__host_export(user_enter) unsigned long wasm_user_enter(struct task_struct *task)
{
	wasm_set_current(task);
	wasm_set_stack_pointer((unsigned long)task_pt_regs(task));
	return (unsigned long)task_pt_regs(task);
}

/* The boot task, which becomes the idle task: the host's coroutines know it. */
__host_export(init_task) struct task_struct *wasm_init_task(void)
{
	return &init_task;
}

/* For the host's error messages: the name of this thread's task. */
__host_export(current_comm) const char *wasm_current_comm(void)
{
	return current ? current->comm : "boot";
}

__host_export(task_entry) void wasm_task_entry(struct task_struct *task)
{
	wasm_set_current(task);
	wasm_set_stack_pointer((unsigned long)task_pt_regs(task));
	ret_from_fork();
}
