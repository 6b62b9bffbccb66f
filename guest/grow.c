/* SPDX-License-Identifier: MIT */
/*
 * A hostile program: it grows its memory by itself (memory.grow, not brk
 * or mmap, so the kernel is never asked) and touches every page, until
 * the memory is at its maximum. The host must stop the machine instead of
 * holding all of that.
 */
#include <stdio.h>

#define WASM_PAGE 65536

int main(void)
{
	unsigned long grown = 0;
	long old;

	while ((old = __builtin_wasm_memory_grow(0, 16)) >= 0) {
		volatile char *p = (char *)(old * WASM_PAGE);

		for (unsigned long i = 0; i < 16 * WASM_PAGE; i += 4096)
			p[i] = 1;
		grown += 16;
	}
	printf("grew by %lu MiB\n", grown / 16);
	return 0;
}
