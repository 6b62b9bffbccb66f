/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * There is no device memory: a device's registers are the host's, and
 * every MMIO access is a host call (the arch/lkl pattern). With no MMU,
 * ioremap() returns the bus address itself, which the host decodes
 * (runtime/virtio/transport.js). Everything else, readl() and friends
 * with their barriers included, is asm-generic's on top of these.
 */
#ifndef _ASM_WASM_IO_H
#define _ASM_WASM_IO_H

#include <linux/types.h>
#include <asm/host.h>

#define __raw_readb __raw_readb
static inline u8 __raw_readb(const volatile void __iomem *addr)
{
	return wasm_host_mmio_read((unsigned long)addr, 1);
}

#define __raw_readw __raw_readw
static inline u16 __raw_readw(const volatile void __iomem *addr)
{
	return wasm_host_mmio_read((unsigned long)addr, 2);
}

#define __raw_readl __raw_readl
static inline u32 __raw_readl(const volatile void __iomem *addr)
{
	return wasm_host_mmio_read((unsigned long)addr, 4);
}

#define __raw_writeb __raw_writeb
static inline void __raw_writeb(u8 value, volatile void __iomem *addr)
{
	wasm_host_mmio_write((unsigned long)addr, 1, value);
}

#define __raw_writew __raw_writew
static inline void __raw_writew(u16 value, volatile void __iomem *addr)
{
	wasm_host_mmio_write((unsigned long)addr, 2, value);
}

#define __raw_writel __raw_writel
static inline void __raw_writel(u32 value, volatile void __iomem *addr)
{
	wasm_host_mmio_write((unsigned long)addr, 4, value);
}

#include <asm-generic/io.h>

#endif /* _ASM_WASM_IO_H */
