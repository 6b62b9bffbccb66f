/* Wasm setjmp/longjmp keep their state in the engine; the buffer holds an id. */
typedef unsigned long long __jmp_buf[8];
