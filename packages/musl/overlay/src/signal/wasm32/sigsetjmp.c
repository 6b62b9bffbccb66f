/*
 * sigsetjmp is a macro around setjmp on wasm32 (see include/setjmp.h):
 * this is its second half. Called with 0 when setjmp returns first, it
 * saves the signal mask if asked to; called with longjmp's value, it puts
 * that mask back.
 */
#include <setjmp.h>
#include <signal.h>
#include "syscall.h"

int __wasm_sigsetjmp_tail(sigjmp_buf jb, int ret)
{
	void *p = jb->__ss;

	if (jb->__fl)
		__syscall(SYS_rt_sigprocmask, SIG_SETMASK, ret ? p : 0, ret ? 0 : p, _NSIG / 8);
	return ret;
}
