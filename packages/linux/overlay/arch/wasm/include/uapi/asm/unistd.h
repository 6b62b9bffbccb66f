/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */

/* No fork(): a new process starts with clone(), clone3() or vfork(). */
#define __ARCH_WANT_SYS_CLONE
#define __ARCH_WANT_SYS_CLONE3
#define __ARCH_WANT_SYS_VFORK
/* musl calls renameat (it has no rename system call on generic archs). */
#define __ARCH_WANT_RENAMEAT
#define __ARCH_WANT_STAT64
#define __ARCH_WANT_SET_GET_RLIMIT
#define __ARCH_WANT_TIME32_SYSCALLS

#include <asm-generic/unistd.h>
