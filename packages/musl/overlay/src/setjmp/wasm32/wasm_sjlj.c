/*
 * setjmp/longjmp with Wasm exceptions. A Wasm function cannot be resumed
 * at an arbitrary point, so clang (-mllvm -wasm-enable-sjlj) rewrites each
 * setjmp and longjmp into calls to these three functions: setjmp records
 * which call of which function set the buffer, longjmp throws the C
 * longjmp exception (tag 1) with the buffer and the value, and the
 * rewritten caller catches it and asks whether the buffer is its own.
 */
#include <stdint.h>

struct wasm_jmp_buf {
	void *invocation;	/* the function call that called setjmp */
	uint32_t label;		/* which setjmp in it, never 0 */
	struct {
		void *env;
		int val;
	} thrown;		/* what longjmp throws */
};

_Static_assert(sizeof(struct wasm_jmp_buf) <= 64, "fits in musl's __jmp_buf");

void __wasm_setjmp(void *env, uint32_t label, void *invocation)
{
	struct wasm_jmp_buf *jb = env;

	jb->invocation = invocation;
	jb->label = label;
}

uint32_t __wasm_setjmp_test(void *env, void *invocation)
{
	struct wasm_jmp_buf *jb = env;

	return jb->invocation == invocation ? jb->label : 0;
}

void __wasm_longjmp(void *env, int val)
{
	struct wasm_jmp_buf *jb = env;

	jb->thrown.env = env;
	jb->thrown.val = val ? val : 1;	/* longjmp never makes setjmp return 0 */
	__builtin_wasm_throw(1, &jb->thrown);
}
