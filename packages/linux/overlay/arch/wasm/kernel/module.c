// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loadable modules. A wasm32 .ko (made by the linuxwasm build, in its
 * src/linuxwasm/modules.py) is an ELF relocatable file around a Wasm
 * side module:
 *  - its writable allocated sections are the side module's data region,
 *    in the region's order, their file offsets as far apart as their
 *    places in the region;
 *  - its symbols are what the side module imports from the kernel, in
 *    the order of its imports, all undefined;
 *  - its ".wasm" section is the side module, the module's code.
 * The generic loader lays the sections out in one block (they are all
 * writable data, nothing is code to it), resolves the symbols against
 * __ksymtab and checks licence and vermagic. module_finalize() makes sure
 * the block is the region byte for byte, then has the host instantiate
 * the code over it: the module's data is where the loader put it, and
 * struct module, its parameters and the rest are the loader's own.
 * What the module exports is in its __ksymtab and __ksymtab_gpl sections,
 * sorted here once the host has relocated them.
 */
#include <linux/elf.h>
#include <linux/export.h>
#include <linux/moduleloader.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <asm/host.h>

static const Elf_Shdr *find_section(const Elf_Ehdr *hdr, const Elf_Shdr *sechdrs,
				    const char *name)
{
	const Elf_Shdr *strings = &sechdrs[hdr->e_shstrndx];
	const char *names = (const char *)strings->sh_addr;
	unsigned int i;

	/* The loader checked that the table ends in a NUL, not every sh_name. */
	for (i = 1; i < hdr->e_shnum; i++)
		if (sechdrs[i].sh_name < strings->sh_size &&
		    !strcmp(names + sechdrs[i].sh_name, name))
			return &sechdrs[i];
	return NULL;
}

static bool in_region(const Elf_Shdr *s)
{
	return (s->sh_flags & (SHF_ALLOC | SHF_WRITE)) == (SHF_ALLOC | SHF_WRITE);
}

/*
 * The region's sections, where the loader placed them, keep the distances
 * their file offsets give. Returns the region's size, its start in *base;
 * 0 if it has none or the layout differs.
 */
static unsigned long region_layout(const Elf_Ehdr *hdr, const Elf_Shdr *sechdrs,
				   unsigned long *base)
{
	const Elf_Shdr *first = NULL;
	unsigned long end = 0;
	unsigned int i;

	for (i = 1; i < hdr->e_shnum; i++)
		if (in_region(&sechdrs[i]) && (!first || sechdrs[i].sh_offset < first->sh_offset))
			first = &sechdrs[i];
	if (!first)
		return 0;
	for (i = 1; i < hdr->e_shnum; i++) {
		const Elf_Shdr *s = &sechdrs[i];

		if (!in_region(s))
			continue;
		if (s->sh_addr - first->sh_addr != s->sh_offset - first->sh_offset)
			return 0;
		end = max_t(unsigned long, end, s->sh_offset - first->sh_offset + s->sh_size);
	}
	*base = first->sh_addr;
	return end;
}

/*
 * The loaded modules, and a number that changes at every load and unload
 * (and names each load). One CPU and no preemption: nothing else runs
 * between a change and its end, so a thread that takes the CPU sees the
 * list whole.
 */
static LIST_HEAD(wasm_modules);
static unsigned int wasm_module_generation;

static void forget_record(struct mod_arch_specific *arch)
{
	vfree(arch->wasm);
	kfree(arch->imports);
	arch->wasm = NULL;
	arch->imports = NULL;
}

static int symbol_order(const void *a, const void *b)
{
	return strcmp(((const struct kernel_symbol *)a)->name,
		      ((const struct kernel_symbol *)b)->name);
}

/*
 * find_symbol() bisects each table by name. The kernel's own are sorted
 * after its link; a module's entries are in link order, and their names
 * are pointers only once the module's relocations have run: sort them
 * now, before the loader looks anything up in them.
 */
static void sort_exports(struct module *me)
{
	sort((void *)me->syms, me->num_syms, sizeof(*me->syms), symbol_order, NULL);
	sort((void *)me->gpl_syms, me->num_gpl_syms, sizeof(*me->gpl_syms), symbol_order, NULL);
}

int module_finalize(const Elf_Ehdr *hdr, const Elf_Shdr *sechdrs, struct module *me)
{
	const Elf_Shdr *wasm = find_section(hdr, sechdrs, ".wasm");
	struct mod_arch_specific *arch = &me->arch;
	const Elf_Shdr *symtab = NULL;
	unsigned long size;
	const Elf_Sym *syms;
	char why[160] = "";
	unsigned int i;
	int table_base;

	if (!wasm || wasm->sh_type != SHT_PROGBITS || !wasm->sh_size) {
		pr_err("%s: no Wasm code in the module\n", me->name);
		return -ENOEXEC;
	}
	size = region_layout(hdr, sechdrs, &arch->memory_base);
	if (!size) {
		pr_err("%s: its data sections are not one region\n", me->name);
		return -ENOEXEC;
	}
	for (i = 1; i < hdr->e_shnum; i++)
		if (sechdrs[i].sh_type == SHT_SYMTAB)
			symtab = &sechdrs[i];
	/* The loader has checked the symbol table's bounds, and resolved it. */
	syms = (const Elf_Sym *)symtab->sh_addr;
	arch->count = symtab->sh_size / sizeof(*syms) - 1;
	/* Kept while the module is loaded, for other threads' instances. */
	arch->wasm_size = wasm->sh_size;
	arch->wasm = vmalloc(arch->wasm_size);
	arch->imports = kmalloc_array(max(arch->count, 1U), sizeof(*arch->imports), GFP_KERNEL);
	if (!arch->wasm || !arch->imports) {
		forget_record(arch);
		return -ENOMEM;
	}
	memcpy(arch->wasm, (const void *)wasm->sh_addr, arch->wasm_size);
	for (i = 0; i < arch->count; i++)
		arch->imports[i] = syms[i + 1].st_value;

	arch->id = ++wasm_module_generation;
	arch->name = me->name;
	table_base = wasm_host_module_load(arch->id, arch->name, arch->wasm, arch->wasm_size,
					   arch->memory_base, size, arch->imports, arch->count,
					   why, sizeof(why));
	if (table_base < 0) {
		forget_record(arch);
		why[sizeof(why) - 1] = '\0';
		pr_err("%s: %s\n", me->name, why);
		return table_base;
	}
	arch->table_base = table_base;
	sort_exports(me);
	list_add_tail(&arch->list, &wasm_modules);
	/* This thread's instance has it already. */
	current->thread.module_generation = wasm_module_generation;
	return 0;
}

/* Called once module_finalize() succeeded, when the module goes. */
void module_arch_cleanup(struct module *mod)
{
	struct mod_arch_specific *arch = &mod->arch;

	list_del(&arch->list);
	wasm_host_module_forget(arch->id);
	forget_record(arch);
	wasm_module_generation++;
	current->thread.module_generation = wasm_module_generation;
}

/*
 * With a host thread per task, a thread's kernel instance has the modules
 * of when it last held the CPU: bring it up to date before it runs
 * anything, as any function pointer may lead into a module loaded since.
 * Called by wasm_cpu_enter().
 */
void wasm_modules_catch_up(void)
{
	unsigned int generation = READ_ONCE(wasm_module_generation);
	struct mod_arch_specific *arch;

	if (likely(current->thread.module_generation == generation))
		return;
	list_for_each_entry(arch, &wasm_modules, list)
		wasm_host_module_attach(arch->id, arch->name, arch->wasm, arch->wasm_size,
					arch->memory_base, arch->imports, arch->count,
					arch->table_base);
	wasm_host_modules_attached();
	current->thread.module_generation = generation;
}
