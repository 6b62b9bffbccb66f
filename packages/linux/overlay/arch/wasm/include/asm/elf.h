/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User programs are Wasm modules, not ELF files (arch/wasm/kernel/
 * binfmt_wasm.c); these definitions exist for the generic headers and for
 * core-dump-free ELF note code only.
 */
#ifndef _ASM_WASM_ELF_H
#define _ASM_WASM_ELF_H

#include <asm/ptrace.h>

#define EM_WASM			0x4157	/* unofficial */
#define ELF_ARCH		EM_WASM
#define ELF_CLASS		ELFCLASS32
#define ELF_DATA		ELFDATA2LSB

typedef unsigned long elf_greg_t;
#define ELF_NGREG (sizeof(struct user_regs_struct) / sizeof(elf_greg_t))
typedef elf_greg_t elf_gregset_t[ELF_NGREG];
typedef struct { } elf_fpregset_t;

#define elf_check_arch(x)	((x)->e_machine == EM_WASM)
#define ELF_EXEC_PAGESIZE	PAGE_SIZE
#define ELF_HWCAP		0
#define ELF_PLATFORM		NULL
#define ELF_ET_DYN_BASE		0

#endif /* _ASM_WASM_ELF_H */
