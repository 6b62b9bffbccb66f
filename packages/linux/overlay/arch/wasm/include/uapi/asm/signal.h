/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
#ifndef _UAPI_ASM_WASM_SIGNAL_H
#define _UAPI_ASM_WASM_SIGNAL_H

/*
 * struct sigaction has the sa_restorer field that libcs fill in, as on
 * most ports. It is never called: a handler returns straight to the
 * kernel that called it (arch/wasm/kernel/signal.c).
 */
#define SA_RESTORER	0x04000000

#include <asm-generic/signal.h>

#endif
