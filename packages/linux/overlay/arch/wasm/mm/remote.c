// SPDX-License-Identifier: GPL-2.0-only
/*
 * Another process's memory. On NOMMU the kernel reaches every process's
 * memory at its own addresses; here each process's memory is a Wasm
 * memory of its own, which only the host thread running that process can
 * reach. So the kernel reads and writes the current process's memory
 * (through uaccess), and of other processes only what it kept itself: the
 * argument and environment strings that exec laid out, for
 * /proc/PID/cmdline and /proc/PID/environ (ps, top, pgrep -f).
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/mmu_context.h>

/* Enough for ps and pgrep; a longer tail is left out. */
#define WASM_ARGS_KEPT	(16 * 1024)

/* exec, once mm's arg_start..env_end are set: keep a copy of the strings. */
void wasm_keep_args(struct mm_struct *mm)
{
	unsigned long size = min(mm->env_end - mm->arg_start, (unsigned long)WASM_ARGS_KEPT);
	char *args = kmalloc(size, GFP_KERNEL | __GFP_NOWARN);

	if (args && copy_from_user(args, (const void __user *)mm->arg_start, size)) {
		kfree(args);
		args = NULL;
	}
	kfree(mm->context.args);
	mm->context.args = args;
	mm->context.args_size = args ? size : 0;
}

int wasm_access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf,
			  int len, unsigned int gup_flags)
{
	unsigned long kept_end = mm->arg_start + mm->context.args_size;

	if (len <= 0)
		return 0;
	if (mm == current->mm) {
		if (gup_flags & FOLL_WRITE)
			return len - copy_to_user((void __user *)addr, buf, len);
		return len - copy_from_user(buf, (const void __user *)addr, len);
	}
	if ((gup_flags & FOLL_WRITE) || addr < mm->arg_start || addr >= kept_end)
		return 0;
	len = min_t(unsigned long, len, kept_end - addr);
	memcpy(buf, mm->context.args + (addr - mm->arg_start), len);
	return len;
}
