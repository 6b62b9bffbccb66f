/*
 * fork() on wasm32. Wasm cannot copy a call stack, so a program that
 * forks is rewritten when it is linked (the compiler wrapper; linuxwasm's
 * forkable.py): every function on a path to the linux.fork import can
 * unwind, saving its locals to a buffer, and rewind, restoring them. The
 * host unwinds the calling thread's stack into the buffer below, has the
 * kernel make the child with a copy of the memory, which holds the
 * buffer, and then rewinds the stack in both processes, so that the import
 * returns twice: the child's pid in the parent, 0 in the child (or
 * -errno). _Fork() is the only caller, under __abort_lock, with every
 * signal blocked: one fork at a time per process.
 */
#include "syscall.h"

/* The saved locals of the calling thread's frames, as deep as they go. */
static char unwound[32768] __attribute__((aligned(16)));

long __wasm_fork_import(void *buf, unsigned long size)
	__attribute__((import_module("linux"), import_name("fork")));

hidden long __wasm_fork(void)
{
	return __wasm_fork_import(unwound, sizeof unwound);
}
