// SPDX-License-Identifier: GPL-2.0-only
/*
 * With bulk memory, clang turns these builtins into memory.copy and
 * memory.fill rather than calls, which also handle overlap and length 0.
 */
#include <linux/export.h>
#include <linux/string.h>

void *memcpy(void *dest, const void *src, size_t n)
{
	__builtin_memmove(dest, src, n);
	return dest;
}
EXPORT_SYMBOL(memcpy);

void *memmove(void *dest, const void *src, size_t n)
{
	__builtin_memmove(dest, src, n);
	return dest;
}
EXPORT_SYMBOL(memmove);

void *memset(void *s, int c, size_t n)
{
	__builtin_memset(s, c, n);
	return s;
}
EXPORT_SYMBOL(memset);
