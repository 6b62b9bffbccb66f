/*
 * For a program whose main takes no arguments (clang names it
 * __main_void): see __wasm32_main.c. A program's own main(int, char **)
 * overrides this.
 */
#include "libc.h"

int __main_void(void);

weak int __main_argc_argv(int argc, char **argv)
{
	return __main_void();
}
