/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _UAPI_ASM_WASM_SETUP_H
#define _UAPI_ASM_WASM_SETUP_H

/*
 * The host puts its devices on the command line, one
 * virtio_mmio.device= of about 40 bytes each: more room than 512.
 */
#define COMMAND_LINE_SIZE	2048

#endif /* _UAPI_ASM_WASM_SETUP_H */
