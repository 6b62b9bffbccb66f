/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_COMPILER_H
#define _ASM_WASM_COMPILER_H

/*
 * Wasm has no return addresses to read, and clang refuses the builtin for
 * wasm32-unknown-unknown. Its users (_RET_IP_, tracing, debug records)
 * only note a caller; they get NULL.
 */
#define __builtin_return_address(n)	((void *)0)

#endif
