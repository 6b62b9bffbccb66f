/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_WASM_LINKAGE_H
#define _ASM_WASM_LINKAGE_H

/*
 * Wasm code is not in memory: there is no address of an instruction to
 * take (&&label does not compile). Code that records where it was called
 * from gets 0; see also asm/compiler.h.
 */
#define _THIS_IP_	0UL

#endif
