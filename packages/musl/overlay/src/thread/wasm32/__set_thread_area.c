/* The thread pointer is an instance global (arch/wasm32/pthread_arch.h). */
#include "pthread_impl.h"

__asm__(".globaltype __musl_tp, i32\n"
	".globl __musl_tp\n"
	"__musl_tp:\n");

int __set_thread_area(void *p)
{
	__asm__ volatile(".globaltype __musl_tp, i32\n\t"
			 "local.get %0\n\t"
			 "global.set __musl_tp" : : "r"(p));
	return 0;
}
