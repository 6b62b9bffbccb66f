// SPDX-License-Identifier: GPL-2.0-only
/*
 * System calls. A user program imports its system call function from the
 * kernel and the host binds that import straight to wasm_syscall() of the
 * task's kernel instance: no JavaScript on the way in or out.
 */
#include <linux/resume_user_mode.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <asm/host.h>
#include <asm/syscall.h>

asmlinkage long sys_ni_syscall(void);

asmlinkage long __wasm_sys_ni_syscall(const struct pt_regs *__unused)
{
	return sys_ni_syscall();
}

/*
 * User memory is laid out by arch/wasm/mm/usermem.c, not by the generic
 * NOMMU code, which hands out kernel memory. mremap is not offered (libc
 * falls back to copying).
 */
#define __wasm_sys_brk			__wasm_sys_wasm_brk
#define __wasm_sys_munmap		__wasm_sys_wasm_munmap
#define __wasm_sys_mprotect		__wasm_sys_wasm_mprotect
#define __wasm_sys_mremap		__wasm_sys_ni_syscall
/* A signal handler returns to the kernel that called it (signal.c). */
#define __wasm_sys_rt_sigreturn		__wasm_sys_ni_syscall

#undef __SYSCALL
#define __SYSCALL(nr, sym)	asmlinkage long __wasm_##sym(const struct pt_regs *);
#include <asm/unistd.h>

#undef __SYSCALL
#define __SYSCALL(nr, sym)	[nr] = __wasm_##sym,

const syscall_fn_t sys_call_table[__NR_syscalls] = {
	[0 ... __NR_syscalls - 1] = __wasm_sys_ni_syscall,
#include <asm/unistd.h>
};

/* The work due before a task goes back to user space, as on other ports. */
void syscall_exit_to_user(struct pt_regs *regs)
{
	unsigned long flags;

	local_irq_disable();
	while ((flags = READ_ONCE(current_thread_info()->flags)) & _TIF_WORK_MASK) {
		local_irq_enable();
		if (flags & _TIF_NEED_RESCHED)
			schedule();
		if (flags & (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL))
			do_signal(regs);
		if (flags & _TIF_NOTIFY_RESUME)
			resume_user_mode_work(regs);
		local_irq_disable();
	}
	local_irq_enable();
}

/*
 * The program's system call import. Entries nest: a signal handler that
 * the kernel calls on the way out may make system calls of its own, on
 * the kernel stack below the frames of the call that runs it.
 */
__host_export(syscall) long wasm_syscall(long nr, u64 a0, u64 a1, u64 a2,
					 u64 a3, u64 a4, u64 a5)
{
	struct pt_regs *regs = current_pt_regs();

	current->thread.in_user = 0;
	/*
	 * Interrupts that came while the program ran: the program held the
	 * CPU, nobody could take them. A program yields for them at its
	 * preemption points (the host's preempt.js).
	 */
	if (unlikely(__atomic_load_n(&wasm_irq_pending, __ATOMIC_RELAXED)))
		arch_local_irq_restore(ARCH_IRQ_ENABLED);

	regs->syscall_nr = nr;
	regs->args[0] = a0;
	regs->args[1] = a1;
	regs->args[2] = a2;
	regs->args[3] = a3;
	regs->args[4] = a4;
	regs->args[5] = a5;

	do {
		regs->restart = 0;
		if (likely((unsigned long)regs->syscall_nr < NR_syscalls))
			regs->ret = sys_call_table[regs->syscall_nr](regs);
		else
			regs->ret = -ENOSYS;
		/* Signals: a handler runs here, and may ask for a restart. */
		syscall_exit_to_user(regs);
	} while (regs->restart);
	current->thread.in_user = 1;
	if (current->thread.exec_done) {
		current->thread.exec_done = 0;
		wasm_host_user_restart();
	}
	return regs->ret;
}
