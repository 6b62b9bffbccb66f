/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
#ifndef _UAPI_ASM_WASM_PTRACE_H
#define _UAPI_ASM_WASM_PTRACE_H

#ifndef __ASSEMBLY__
#include <linux/types.h>

/*
 * A Wasm program has no visible registers. What the kernel keeps of a
 * user task is the system call being made: its number and six arguments,
 * each 64 bits wide so that a loff_t travels in one argument, and the
 * user stack pointer (the program's __stack_pointer global).
 */
struct user_regs_struct {
	__u64 args[6];
	__s32 syscall_nr;
	__u32 sp;
};
#endif

#endif
