/*
 * A detached thread frees its own stack and exits. Unmapping only tells
 * the kernel the range is free; the memory stays addressable until the
 * thread is gone, so this needs no special stack.
 */
#include "pthread_impl.h"
#include "syscall.h"

void __unmapself(void *base, size_t size)
{
	__syscall(SYS_munmap, base, size);
	for (;;)
		__syscall(SYS_exit, 0);
}
