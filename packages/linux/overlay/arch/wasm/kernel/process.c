// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tasks and the CPU. Wasm code cannot switch stacks by itself; the host
 * does it for the kernel in one of two ways, chosen at boot:
 *
 * - Coroutines: all tasks run on one host thread, over one instance of the
 *   kernel module, each on a stack of its own that the host suspends and
 *   resumes (JavaScript Promise Integration). __switch_to() asks the host
 *   to suspend prev and resume next; the module's globals (current, the
 *   stack pointer) are prev's own again when the call returns.
 * - Threads, where the engine cannot suspend a stack: every task runs on
 *   a host thread of its own, with its own instance of the module, and
 *   only the thread that holds the CPU runs kernel code. __switch_to()
 *   hands the CPU to the next task's thread and puts this one to sleep
 *   until someone hands it back.
 */
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/debug.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <asm/host.h>
#include <asm/switch_to.h>

/* init_task's stack: the boot runs on it, then the idle loop. */
unsigned long init_stack[THREAD_SIZE / sizeof(unsigned long)] __aligned(THREAD_SIZE);

/*
 * How many host threads run kernel code: exactly one, always. Checked on
 * every handover, since breaking it corrupts memory in ways seen only
 * much later.
 */
static int wasm_cpu_holders = 1;

static bool wasm_coroutines;

void __init wasm_tasks_init(void)
{
	wasm_coroutines = wasm_host_coroutines();
	pr_info("tasks run as %s\n", wasm_coroutines ?
		"coroutines on one host thread" : "host threads");
}

void wasm_cpu_enter(void)
{
	int holders = __atomic_add_fetch(&wasm_cpu_holders, 1, __ATOMIC_SEQ_CST);

	if (unlikely(holders != 1))
		wasm_host_halt(3, "more than one host thread holds the CPU");
	if (!wasm_coroutines)
		wasm_modules_catch_up();
}

/* The task that handed the CPU to current, for ret_from_fork(). */
struct task_struct *wasm_switch_last(void)
{
	return current->thread.last;
}

static void wasm_cpu_give(struct task_struct *prev, struct task_struct *next)
{
	struct thread_struct *thread = &next->thread;

	thread->last = prev;
	__atomic_sub_fetch(&wasm_cpu_holders, 1, __ATOMIC_SEQ_CST);
	if (!thread->started) {
		thread->started = 1;
		wasm_host_task_spawn(next, thread->user_clone);
		return;
	}
	__atomic_store_n(&thread->run, 1, __ATOMIC_SEQ_CST);
	__builtin_wasm_memory_atomic_notify(&thread->run, 1);
}

static void wasm_cpu_take(struct task_struct *task)
{
	int *run = &task->thread.run;

	/* Engines may wake a waiter spuriously: check the flag every time. */
	while (!__atomic_exchange_n(run, 0, __ATOMIC_SEQ_CST))
		__builtin_wasm_memory_atomic_wait32(run, 0, -1);
	wasm_cpu_enter();
}

/*
 * The host returns once another task switches back to prev. It never
 * returns to a dead task, whose stack it drops.
 */
static void wasm_coroutine_switch(struct task_struct *prev,
				  struct task_struct *next, bool dead)
{
	unsigned long sp = wasm_stack_pointer();

	next->thread.last = prev;
	__atomic_sub_fetch(&wasm_cpu_holders, 1, __ATOMIC_SEQ_CST);
	wasm_host_task_switch(next, dead);
	wasm_set_current(prev);
	wasm_set_stack_pointer(sp);
	wasm_cpu_enter();
}

struct task_struct *__switch_to(struct task_struct *prev,
				struct task_struct *next)
{
	/*
	 * A dead task's stack and task_struct are freed by the next task as
	 * soon as it runs: look at neither after the handover, and leave the
	 * host thread at once.
	 */
	bool dead = READ_ONCE(prev->__state) == TASK_DEAD;

	if (wasm_coroutines) {
		wasm_coroutine_switch(prev, next, dead);
		return prev->thread.last;
	}

	wasm_cpu_give(prev, next);
	if (unlikely(dead))
		wasm_host_task_exit();

	wasm_cpu_take(prev);
	return prev->thread.last;
}

int copy_thread(struct task_struct *p, const struct kernel_clone_args *args)
{
	struct pt_regs *childregs = task_pt_regs(p);

	memset(&p->thread, 0, sizeof(p->thread));
	if (unlikely(args->fn)) {
		memset(childregs, 0, sizeof(*childregs));
		p->thread.fn = args->fn;
		p->thread.fn_arg = args->fn_arg;
		return 0;
	}

	*childregs = *current_pt_regs();
	childregs->ret = 0;
	p->thread.user_clone = 1;
	/*
	 * fork: the host copies the process, whose calling thread has its
	 * stack unwound into its memory by now, and the child rewinds it
	 * there (runtime/fork.js). A program not rewritten for that cannot
	 * be copied mid-call: the host refuses with -ENOSYS.
	 */
	if (!(args->flags & CLONE_VM))
		return wasm_host_user_fork(p);
	/*
	 * A child that shares the parent's memory (vfork, posix_spawn,
	 * threads) starts in the parent's program on the stack it was given.
	 */
	if (!args->stack)
		return -EINVAL;
	childregs->sp = args->stack;
	wasm_host_user_clone(p, args->stack);
	return 0;
}

/* A clone that never ran (a fork that failed late): the host lets go of its program. */
void exit_thread(struct task_struct *tsk)
{
	if (tsk->thread.user_clone && !tsk->thread.started)
		wasm_host_user_forget(tsk);
}

void flush_thread(void)
{
}

void start_thread(struct pt_regs *regs, unsigned long pc, unsigned long sp)
{
	regs->user = 1;
	regs->sp = sp;
}

unsigned long __get_wchan(struct task_struct *p)
{
	/* No code addresses to report. */
	return 0;
}

void show_regs(struct pt_regs *regs)
{
	show_regs_print_info(KERN_DEFAULT);
	if (regs)
		pr_info("syscall %ld, user sp %08lx\n", regs->syscall_nr, regs->sp);
}
