/*
 * The thread pointer is a Wasm global, private to each instance of the
 * program, and every thread runs in an instance of its own.
 */
static inline uintptr_t __get_tp(void)
{
	uintptr_t tp;

	__asm__(".globaltype __musl_tp, i32\n\t"
		"global.get __musl_tp\n\t"
		"local.set %0" : "=r"(tp));
	return tp;
}

/* No program counter to see: cancellation acts at cancellation points only. */
#define MC_PC __unused_pc
