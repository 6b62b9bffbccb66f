// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals, delivered when a task leaves the kernel. A Wasm program cannot
 * be diverted to its handler by rewriting a saved program counter; instead
 * the kernel builds the signal frame on the user stack and asks the host
 * to call the handler right there, as a nested call into the program. When
 * the handler returns, the kernel does what rt_sigreturn does on other
 * ports. The host's user_call is a little Wasm (runtime/glue.js), so that
 * a handler's system calls may suspend the task like any other; a handler
 * that longjmps out unwinds through it, and the host puts the kernel's
 * stack back where it was.
 */
#include <linux/resume_user_mode.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <asm/host.h>
#include <asm/syscall.h>
#include <asm/ucontext.h>

struct rt_sigframe {
	struct siginfo info;
	struct ucontext uc;
};

static int setup_rt_frame(struct ksignal *ksig, sigset_t *set, struct pt_regs *regs,
			  struct rt_sigframe __user **framep)
{
	unsigned long sp = sigsp(wasm_host_user_sp(), ksig);
	struct rt_sigframe __user *frame;
	struct user_regs_struct uregs = {
		.syscall_nr = regs->syscall_nr,
		.sp = regs->sp,
	};
	int err = 0;

	memcpy(uregs.args, regs->args, sizeof(uregs.args));
	frame = (struct rt_sigframe __user *)((sp - sizeof(*frame)) & ~15UL);
	err |= copy_siginfo_to_user(&frame->info, &ksig->info);
	err |= __put_user(0, &frame->uc.uc_flags);
	err |= __put_user(NULL, &frame->uc.uc_link);
	err |= __save_altstack(&frame->uc.uc_stack, sp);
	err |= __copy_to_user(&frame->uc.uc_mcontext.regs, &uregs, sizeof(uregs));
	err |= __put_user(0, &frame->uc.uc_mcontext.pc);
	err |= __copy_to_user(&frame->uc.uc_sigmask, set, sizeof(*set));
	*framep = frame;
	return err ? -EFAULT : 0;
}

static void handle_signal(struct ksignal *ksig, struct pt_regs *regs)
{
	struct rt_sigframe __user *frame;
	struct pt_regs saved;
	sigset_t set;
	int ret;

	ret = setup_rt_frame(ksig, sigmask_to_save(), regs, &frame);
	signal_setup_done(ret, ksig, 0);
	if (ret)
		return;

	/* The handler's own system calls use the same pt_regs. */
	saved = *regs;
	current->thread.in_user = 1;
	wasm_host_user_call((unsigned long)ksig->ka.sa.sa_handler, ksig->sig,
			    &frame->info, &frame->uc, (unsigned long)frame);
	current->thread.in_user = 0;
	*regs = saved;

	/* Back from the handler: rt_sigreturn. */
	if (__copy_from_user(&set, &frame->uc.uc_sigmask, sizeof(set))) {
		force_sig(SIGSEGV);
		return;
	}
	set_current_blocked(&set);
	restore_altstack(&frame->uc.uc_stack);
}

void do_signal(struct pt_regs *regs)
{
	bool in_syscall = regs->syscall_nr >= 0;
	struct ksignal ksig;

	if (get_signal(&ksig)) {
		if (in_syscall) {
			switch (regs->ret) {
			case -ERESTART_RESTARTBLOCK:
			case -ERESTARTNOHAND:
				regs->ret = -EINTR;
				break;
			case -ERESTARTSYS:
				if (!(ksig.ka.sa.sa_flags & SA_RESTART)) {
					regs->ret = -EINTR;
					break;
				}
				fallthrough;
			case -ERESTARTNOINTR:
				regs->restart = 1;
				break;
			}
		}
		handle_signal(&ksig, regs);
		return;
	}

	if (in_syscall) {
		switch (regs->ret) {
		case -ERESTARTNOHAND:
		case -ERESTARTSYS:
		case -ERESTARTNOINTR:
			regs->restart = 1;
			break;
		case -ERESTART_RESTARTBLOCK:
			regs->syscall_nr = __NR_restart_syscall;
			regs->restart = 1;
			break;
		}
	}
	restore_saved_sigmask();
}
