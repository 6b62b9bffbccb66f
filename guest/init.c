/* SPDX-License-Identifier: MIT */
/*
 * The first user program, with no libc: it exercises the system calls a
 * shell needs first (write, uname, mount, open/read, clone, wait4, reboot)
 * and says what it got, one line each.
 */
#include "syscall.h"

#define AT_FDCWD		-100
#define CLONE_VM		0x00000100
#define CLONE_VFORK		0x00004000
#define SIGCHLD			17
#define REBOOT_MAGIC1		0xfee1dead
#define REBOOT_MAGIC2		672274793
#define REBOOT_POWER_OFF	0x4321fedc

static unsigned long length(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void print(const char *s)
{
	syscall3(NR_write, 1, s, length(s));
}

static void print_number(long value)
{
	char buf[24], *p = buf + sizeof(buf) - 1;
	int negative = value < 0;
	unsigned long v = negative ? -value : value;

	*p = 0;
	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	if (negative)
		*--p = '-';
	print(p);
}

static void fail(const char *what, long err)
{
	print("init: ");
	print(what);
	print(" failed: ");
	print_number(err);
	print("\n");
	syscall3(NR_exit_group, 1, 0, 0);
}

static int child(void *arg)
{
	print("child pid ");
	print_number(syscall3(NR_getpid, 0, 0, 0));
	print("\n");
	return 7;
}

static char child_stack[16384] __attribute__((aligned(16)));

static long spawn(int (*fn)(void *), void *arg)
{
	/* Where the host finds what the child runs: [sp] = fn, [sp + 4] = arg. */
	unsigned int *sp = (unsigned int *)(child_stack + sizeof(child_stack) - 16);

	sp[0] = (unsigned int)fn;
	sp[1] = (unsigned int)arg;
	return syscall5(NR_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, sp, 0, 0, 0);
}

static __attribute__((noinline)) void start(long *stack)
{
	char uts[6 * 65], buf[256];
	long fd, n, pid, status = 0, i, argc = stack[0];
	char **argv = (char **)(stack + 1), **envp = argv + argc + 1;

	print("hello from wasm userspace\n");
	for (i = 0; i < argc; i++) {
		print("argv: ");
		print(argv[i]);
		print("\n");
	}
	for (; *envp; envp++) {
		print("env: ");
		print(*envp);
		print("\n");
	}

	if ((n = syscall3(NR_uname, uts, 0, 0)) < 0)
		fail("uname", n);
	print("uname release: ");
	print(uts + 2 * 65);
	print("\n");

	if ((n = syscall5(NR_mount, "proc", "/proc", "proc", 0, 0)) < 0)
		fail("mount /proc", n);
	if ((fd = syscall3(NR_openat, AT_FDCWD, "/proc/version", 0)) < 0)
		fail("open /proc/version", fd);
	if ((n = syscall3(NR_read, fd, buf, sizeof(buf) - 1)) < 0)
		fail("read /proc/version", n);
	syscall3(NR_close, fd, 0, 0);
	for (i = 0; i < n && buf[i] != '\n'; i++)
		;
	buf[i] = 0;
	print("proc version: ");
	print(buf);
	print("\n");

	if ((pid = spawn(child, 0)) < 0)
		fail("clone", pid);
	if ((n = syscall5(NR_wait4, pid, &status, 0, 0, 0)) != pid)
		fail("wait4", n);
	print("child ");
	print_number(pid);
	print(" exited with status ");
	print_number((status >> 8) & 0xff);
	print("\n");

	print("powering off\n");
	n = syscall5(NR_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, REBOOT_POWER_OFF, 0, 0);
	fail("reboot", n);
}

/*
 * The kernel starts the program with its stack pointer at argc (see
 * runtime/user-abi.js). _start takes no stack frame, so it reads that
 * pointer before anything moves it.
 */
void _start(void)
{
	long *stack;

	__asm__(".globaltype __stack_pointer, i32\n\t"
		"global.get __stack_pointer\n\t"
		"local.set %0" : "=r"(stack));
	start(stack);
}
