// SPDX-License-Identifier: GPL-2.0-only
/* Memory zones for a NOMMU machine whose memory is one Wasm memory. */
#include <linux/init.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <asm/pgtable.h>

unsigned long empty_zero_page[PAGE_SIZE / sizeof(unsigned long)] __page_aligned_bss;
EXPORT_SYMBOL(empty_zero_page);

void __init paging_init(void)
{
	unsigned long max_zone_pfn[MAX_NR_ZONES] = { 0 };

	max_zone_pfn[ZONE_NORMAL] = max_low_pfn;
	free_area_init(max_zone_pfn);
}

void __init mem_init(void)
{
	high_memory = (void *)memory_end;
	memblock_free_all();
}

/*
 * Init code is Wasm code, outside memory, and init data is spread over
 * many segments: there is no contiguous init section to give back.
 */
void free_initmem(void)
{
}
