/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_STRING_H
#define _ASM_WASM_STRING_H

/* memory.copy and memory.fill (bulk memory) do these in one instruction. */
#define __HAVE_ARCH_MEMCPY
#define __HAVE_ARCH_MEMMOVE
#define __HAVE_ARCH_MEMSET

extern void *memcpy(void *dest, const void *src, __kernel_size_t n);
extern void *memmove(void *dest, const void *src, __kernel_size_t n);
extern void *memset(void *s, int c, __kernel_size_t n);

#endif /* _ASM_WASM_STRING_H */
