/* SPDX-License-Identifier: MIT */
/*
 * System calls without a libc, for the guest test programs: the kernel's
 * import, arguments 64 bits wide (see runtime/user-abi.js).
 */
#ifndef GUEST_SYSCALL_H
#define GUEST_SYSCALL_H

long __linux_syscall(long nr, long long a0, long long a1, long long a2,
		     long long a3, long long a4, long long a5)
	__attribute__((import_module("linux"), import_name("syscall")));

#define syscall3(nr, a, b, c) \
	__linux_syscall(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define syscall5(nr, a, b, c, d, e) \
	__linux_syscall(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* asm-generic/unistd.h */
#define NR_openat	56
#define NR_close	57
#define NR_read		63
#define NR_write	64
#define NR_exit		93
#define NR_exit_group	94
#define NR_reboot	142
#define NR_uname	160
#define NR_getpid	172
#define NR_clone	220
#define NR_wait4	260
#define NR_mount	40

#endif
