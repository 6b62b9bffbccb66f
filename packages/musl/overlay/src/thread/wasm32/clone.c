/*
 * clone: a child that shares the parent's memory starts in a new instance
 * of the program, on its own host thread, on the stack it was given. The
 * host calls the function found at the top of that stack with the word
 * after it (see the linuxwasm user ABI); here that is a trampoline that
 * gives the child its thread pointer first, since instance globals start
 * out zero.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include "pthread_impl.h"
#include "syscall.h"

struct clone_start {
	int (*func)(void *);
	void *arg;
	void *tp;
};

struct clone_stack_top {
	int (*entry)(void *);	/* what the host calls... */
	void *arg;		/* ...with this */
	struct clone_start start;
};

static int clone_entry(void *p)
{
	struct clone_start *start = p;

	__set_thread_area(start->tp);
	return start->func(start->arg);
}

int __clone(int (*func)(void *), void *stack, int flags, void *arg, ...)
{
	struct clone_stack_top *top;
	void *tls = 0;
	pid_t *ptid = 0, *ctid = 0;
	va_list ap;

	va_start(ap, arg);
	if (flags & (CLONE_PARENT_SETTID | CLONE_SETTLS | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID))
		ptid = va_arg(ap, pid_t *);
	if (flags & (CLONE_SETTLS | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID))
		tls = va_arg(ap, void *);
	if (flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID))
		ctid = va_arg(ap, pid_t *);
	va_end(ap);

	top = (struct clone_stack_top *)(((uintptr_t)stack - sizeof(*top)) & -16);
	top->entry = clone_entry;
	top->arg = &top->start;
	top->start.func = func;
	top->start.arg = arg;
	top->start.tp = (flags & CLONE_SETTLS) ? tls : (void *)__get_tp();
	/* The generic clone argument order: flags, stack, ptid, ctid, tls. */
	return __syscall(SYS_clone, flags, top, ptid, ctid, tls);
}
