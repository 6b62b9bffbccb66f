/*
 * syscall(2) for wasm32: its arguments are read as long, not as
 * syscall_arg_t. A variadic int or pointer takes 4 bytes of a Wasm
 * va_list, and syscall_arg_t is 8 (a 64-bit value is one argument of the
 * kernel's syscall import): reading 8 would pair up the caller's
 * arguments. Callers of syscall() pass int, long or pointers, as on any
 * 32-bit target; each is zero-extended, as __scc() does.
 */
#define _BSD_SOURCE
#include <unistd.h>
#include "syscall.h"
#include <stdarg.h>

#undef syscall

long syscall(long n, ...)
{
	va_list ap;
	syscall_arg_t a, b, c, d, e, f;

	va_start(ap, n);
	a = (unsigned long)va_arg(ap, long);
	b = (unsigned long)va_arg(ap, long);
	c = (unsigned long)va_arg(ap, long);
	d = (unsigned long)va_arg(ap, long);
	e = (unsigned long)va_arg(ap, long);
	f = (unsigned long)va_arg(ap, long);
	va_end(ap);
	return __syscall_ret(__syscall(n, a, b, c, d, e, f));
}
