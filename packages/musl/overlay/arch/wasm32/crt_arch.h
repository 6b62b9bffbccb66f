/*
 * The kernel starts a program with __stack_pointer at argc (see the
 * linuxwasm user ABI). _start takes no stack frame of its own, so it reads
 * that pointer before anything moves it.
 */
/* No prototype: the static-PIE start code declares it otherwise. */
void _start_c();

/*
 * clang names a program's main by its signature on Wasm (main(int, char **)
 * becomes __main_argc_argv, main(void) __main_void), and a call through a
 * pointer must match the callee's type exactly: crt1 starts the program
 * through a shim that calls whichever main it has (src/env/wasm32/).
 */
#define main __wasm32_main

void _start(void)
{
	long *p;

	__asm__(".globaltype __stack_pointer, i32\n\t"
		"global.get __stack_pointer\n\t"
		"local.set %0" : "=r"(p));
	_start_c(p);
}
