/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One CPU, but not alone: the host's device models read and write virtio
 * rings in kernel memory from another thread while the kernel runs, so
 * the barriers that order ring accesses (virt_mb() and friends, which are
 * the __smp_* ones) must be real fences. Wasm has one, atomic.fence.
 */
#ifndef _ASM_WASM_BARRIER_H
#define _ASM_WASM_BARRIER_H

#define mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)

#include <asm-generic/barrier.h>

#endif /* _ASM_WASM_BARRIER_H */
