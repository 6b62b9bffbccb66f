/*
 * The program's main, whatever its signature (see arch/wasm32/crt_arch.h):
 * clang emits main(int, char **) as __main_argc_argv and main(void) as
 * __main_void. __libc_start_main calls this with (argc, argv, envp).
 *
 * The reference to __main_argc_argv is strong so that it pulls main out
 * of an archive (BusyBox keeps main in libbb/lib.a); a program whose main
 * takes no arguments gets libc's weak one (__main_argc_argv.c), which
 * calls __main_void.
 */
#include "libc.h"

int __main_argc_argv(int, char **);

hidden int __wasm32_main(int argc, char **argv, char **envp)
{
	return __main_argc_argv(argc, argv);
}
