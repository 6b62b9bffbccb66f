/*
 * System calls: one import from the kernel, bound by the host straight to
 * the kernel's syscall export. Arguments are 64 bits wide, so a 64-bit
 * value (off_t) is one argument, as on x32.
 */
#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

/*
 * Zero-extend 32-bit values (the kernel truncates them again), keep 64-bit
 * ones. "+ 0" lets an array argument decay to a pointer before sizeof.
 */
#define __scc(X) __builtin_choose_expr(sizeof((X) + 0) > 4, (long long)(X), \
				       (long long)(unsigned long)(X))
typedef long long syscall_arg_t;

long __wasm_syscall(long, long long, long long, long long, long long, long long, long long)
	__attribute__((__import_module__("linux"), __import_name__("syscall")));

static __inline long __syscall0(long n)
{
	return __wasm_syscall(n, 0, 0, 0, 0, 0, 0);
}

static __inline long __syscall1(long n, long long a)
{
	return __wasm_syscall(n, a, 0, 0, 0, 0, 0);
}

static __inline long __syscall2(long n, long long a, long long b)
{
	return __wasm_syscall(n, a, b, 0, 0, 0, 0);
}

static __inline long __syscall3(long n, long long a, long long b, long long c)
{
	return __wasm_syscall(n, a, b, c, 0, 0, 0);
}

static __inline long __syscall4(long n, long long a, long long b, long long c, long long d)
{
	return __wasm_syscall(n, a, b, c, d, 0, 0);
}

static __inline long __syscall5(long n, long long a, long long b, long long c, long long d,
				long long e)
{
	return __wasm_syscall(n, a, b, c, d, e, 0);
}

static __inline long __syscall6(long n, long long a, long long b, long long c, long long d,
				long long e, long long f)
{
	return __wasm_syscall(n, a, b, c, d, e, f);
}

#define SYSCALL_MMAP2_UNIT 4096ULL
#define SYSCALL_NO_TLS 1
