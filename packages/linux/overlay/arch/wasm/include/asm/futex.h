/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Futex operations on user memory. The threads of a process run their user
 * code at the same time, each on its own host thread, while the kernel
 * runs on one: disabling preemption does not make a read-modify-write of
 * user memory atomic here. The host does each operation as one atomic
 * instruction on the process's shared memory.
 */
#ifndef _ASM_WASM_FUTEX_H
#define _ASM_WASM_FUTEX_H

#include <linux/futex.h>
#include <linux/uaccess.h>
#include <asm/errno.h>
#include <asm/host.h>

static inline int
arch_futex_atomic_op_inuser(int op, u32 oparg, int *oval, u32 __user *uaddr)
{
	switch (op) {
	case FUTEX_OP_SET:
	case FUTEX_OP_ADD:
	case FUTEX_OP_OR:
	case FUTEX_OP_ANDN:
	case FUTEX_OP_XOR:
		return wasm_host_user_atomic_op(op, oparg, oval, uaddr);
	default:
		return -ENOSYS;
	}
}

static inline int
futex_atomic_cmpxchg_inatomic(u32 *uval, u32 __user *uaddr, u32 oldval, u32 newval)
{
	return wasm_host_user_cmpxchg(uval, uaddr, oldval, newval);
}

#endif /* _ASM_WASM_FUTEX_H */
