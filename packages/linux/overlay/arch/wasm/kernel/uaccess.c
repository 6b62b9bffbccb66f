// SPDX-License-Identifier: GPL-2.0-only
/*
 * The string helpers of uaccess: one host call each instead of the generic
 * word-at-a-time loop, which would cost a host call per word.
 */
#include <linux/export.h>
#include <linux/uaccess.h>

long strncpy_from_user(char *dst, const char __user *src, long count)
{
	return wasm_host_strncpy_from_user(dst, src, count);
}
EXPORT_SYMBOL(strncpy_from_user);

long strnlen_user(const char __user *src, long n)
{
	return wasm_host_strnlen_user(src, n);
}
EXPORT_SYMBOL(strnlen_user);
