/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A call through a function pointer traps in Wasm unless the callee has
 * exactly the pointer's type. The system call table therefore holds only
 * functions of one type, long (*)(const struct pt_regs *), as on arm64 and
 * x86; these wrappers unpack the arguments. Arguments are 64 bits wide in
 * pt_regs, so a loff_t is one argument, as on 64-bit ports.
 */
#ifndef _ASM_WASM_SYSCALL_WRAPPER_H
#define _ASM_WASM_SYSCALL_WRAPPER_H

#include <asm/ptrace.h>

#define SC_WASM_REGS_TO_ARGS(x, ...)				\
	__MAP(x, __SC_ARGS					\
	      ,, regs->args[0],, regs->args[1],, regs->args[2]	\
	      ,, regs->args[3],, regs->args[4],, regs->args[5])

#define __SYSCALL_DEFINEx(x, name, ...)						\
	asmlinkage long __wasm_sys##name(const struct pt_regs *regs);		\
	ALLOW_ERROR_INJECTION(__wasm_sys##name, ERRNO);				\
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__));		\
	static inline long __do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__));	\
	asmlinkage long __wasm_sys##name(const struct pt_regs *regs)		\
	{									\
		return __se_sys##name(SC_WASM_REGS_TO_ARGS(x, __VA_ARGS__));	\
	}									\
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__))		\
	{									\
		long ret = __do_sys##name(__MAP(x, __SC_CAST, __VA_ARGS__));	\
		__MAP(x, __SC_TEST, __VA_ARGS__);				\
		__PROTECT(x, ret, __MAP(x, __SC_ARGS, __VA_ARGS__));		\
		return ret;							\
	}									\
	static inline long __do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))

#define SYSCALL_DEFINE0(sname)							\
	SYSCALL_METADATA(_##sname, 0);						\
	asmlinkage long __wasm_sys_##sname(const struct pt_regs *__unused);	\
	ALLOW_ERROR_INJECTION(__wasm_sys_##sname, ERRNO);			\
	asmlinkage long __wasm_sys_##sname(const struct pt_regs *__unused)

#define COND_SYSCALL(name)							\
	asmlinkage long __weak __wasm_sys_##name(const struct pt_regs *regs)	\
	{									\
		return sys_ni_syscall();					\
	}

/* No compat system calls; and aliases (.set) do not exist in Wasm. */
#define COND_SYSCALL_COMPAT(name)

#define SYS_NI(name)								\
	asmlinkage long __wasm_sys_##name(const struct pt_regs *regs)		\
	{									\
		return sys_ni_posix_timers();					\
	}

#endif /* _ASM_WASM_SYSCALL_WRAPPER_H */
