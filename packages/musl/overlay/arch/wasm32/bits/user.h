/* A Wasm program has no registers to show (see the kernel's asm/ptrace.h). */
struct user_regs_struct {
	unsigned long long args[6];
	int syscall_nr;
	unsigned int sp;
};
