// SPDX-License-Identifier: GPL-2.0-only
/*
 * Boot-time setup: the command line and the initramfs from the host, and
 * memory. Kernel memory is the one shared Wasm memory, "physical" address
 * = virtual address = offset in it. Below the kernel image lie the unused
 * first pages (so that NULL pointers point at nothing) and the image's
 * data; above it, everything is for memblock and then the page allocator.
 */
#include <linux/init.h>
#include <linux/initrd.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/of_fdt.h>
#include <linux/pfn.h>
#include <linux/seq_file.h>
#include <linux/sched/task.h>
#include <linux/start_kernel.h>
#include <asm/host.h>
#include <asm/switch_to.h>
#include <asm/sections.h>

unsigned long memory_start;
EXPORT_SYMBOL(memory_start);
unsigned long memory_end;
EXPORT_SYMBOL(memory_end);

/* The end of the image: the linker puts the heap (for us, memory) here. */
extern char __heap_base[];

#define WASM_PAGE_SIZE	65536

static void __init setup_memory(void)
{
	memory_start = PAGE_ALIGN((unsigned long)__heap_base);
	memory_end = __builtin_wasm_memory_size(0) * WASM_PAGE_SIZE;
	if (memory_end <= memory_start)
		panic("wasm: no memory above the kernel image (%lu bytes)\n",
		      memory_end);

	min_low_pfn = PFN_UP(0);
	max_low_pfn = max_pfn = PFN_DOWN(memory_end);
	max_mapnr = max_pfn;

	memblock_add(0, memory_end);
	memblock_reserve(0, memory_start);
}

static void __init setup_initrd(void)
{
	unsigned int size = wasm_host_initrd_size();
	void *initrd;

	if (!size)
		return;
	initrd = memblock_alloc(size, PAGE_SIZE);
	if (!initrd)
		panic("wasm: no memory for an initramfs of %u bytes\n", size);
	wasm_host_initrd_copy(initrd);
	initrd_start = (unsigned long)initrd;
	initrd_end = initrd_start + size;
}

static int show_cpuinfo(struct seq_file *m, void *v)
{
	seq_printf(m, "processor\t: 0\nmodel name\t: WebAssembly (wasm32)\n\n");
	return 0;
}

static void *c_start(struct seq_file *m, loff_t *pos)
{
	return *pos < 1 ? (void *)1 : NULL;
}

static void *c_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return NULL;
}

static void c_stop(struct seq_file *m, void *v)
{
}

const struct seq_operations cpuinfo_op = {
	.start	= c_start,
	.next	= c_next,
	.stop	= c_stop,
	.show	= show_cpuinfo,
};

void __init setup_arch(char **cmdline_p)
{
	wasm_host_cmdline(boot_command_line, COMMAND_LINE_SIZE);
	*cmdline_p = boot_command_line;

	init_mm.start_code = (unsigned long)_stext;
	init_mm.end_code = (unsigned long)_etext;
	init_mm.end_data = (unsigned long)_edata;
	init_mm.brk = (unsigned long)_end;

	wasm_tasks_init();
	setup_memory();
	parse_early_param();
	setup_initrd();
	paging_init();
}
