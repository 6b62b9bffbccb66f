/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User memory is another Wasm memory: the kernel cannot address it, the
 * host copies for it. A copy that leaves the process's memory is not an
 * exception to fix up but a short count returned by the host.
 */
#ifndef _ASM_WASM_UACCESS_H
#define _ASM_WASM_UACCESS_H

#include <asm/host.h>

static inline __must_check unsigned long
raw_copy_from_user(void *to, const void __user *from, unsigned long n)
{
	return wasm_host_copy_from_user(to, from, n);
}

static inline __must_check unsigned long
raw_copy_to_user(void __user *to, const void *from, unsigned long n)
{
	return wasm_host_copy_to_user(to, from, n);
}

#define INLINE_COPY_FROM_USER
#define INLINE_COPY_TO_USER

static inline __must_check unsigned long __clear_user(void __user *to, unsigned long n)
{
	return wasm_host_clear_user(to, n);
}
#define __clear_user __clear_user

/*
 * Kernel memory is ordinary memory: read it directly. The generic
 * fallback would go through copy_from_user(), which here reads the user
 * program's memory. An address past the end of memory, the one thing
 * that traps, is the fault.
 */
#define wasm_kernel_range_ok(addr, size) \
	((unsigned long)(addr) + (size) >= (unsigned long)(addr) && \
	 (unsigned long)(addr) + (size) <= __builtin_wasm_memory_size(0) * 65536UL)

#define __get_kernel_nofault(dst, src, type, err_label)			\
do {									\
	if (!wasm_kernel_range_ok(src, sizeof(type)))			\
		goto err_label;						\
	__builtin_memcpy((dst), (const void *)(src), sizeof(type));	\
} while (0)

#define __put_kernel_nofault(dst, src, type, err_label)			\
do {									\
	if (!wasm_kernel_range_ok(dst, sizeof(type)))			\
		goto err_label;						\
	__builtin_memcpy((void *)(dst), (src), sizeof(type));		\
} while (0)

#include <asm-generic/uaccess.h>

#endif /* _ASM_WASM_UACCESS_H */
