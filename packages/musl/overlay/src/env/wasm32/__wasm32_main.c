/*
 * The program's main, whatever its signature (see arch/wasm32/crt_arch.h):
 * clang emits main(int, char **) as __main_argc_argv and main(void) as
 * __main_void. __libc_start_main calls this with (argc, argv, envp).
 */
#include "libc.h"

weak int __main_argc_argv(int, char **);
weak int __main_void(void);

hidden int __wasm32_main(int argc, char **argv, char **envp)
{
	if (__main_argc_argv)
		return __main_argc_argv(argc, argv);
	return __main_void();
}
