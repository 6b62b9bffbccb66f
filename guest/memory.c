/* SPDX-License-Identifier: MIT */
/*
 * An init that exercises the kernel's layout of user memory: brk, anonymous
 * mmap (zero-filled, reused after munmap), a private file mapping, and the
 * memory growing underneath. One line per check, then power off.
 */
#include "syscall.h"

#define NR_brk		214
#define NR_munmap	215
#define NR_mmap2	222
#define PROT_RW		3
#define MAP_PRIVATE	0x02
#define MAP_ANONYMOUS	0x20
#define AT_FDCWD	-100

static void print(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	syscall3(NR_write, 1, s, n);
}

static void check(const char *what, int ok)
{
	print(ok ? "ok: " : "FAILED: ");
	print(what);
	print("\n");
}

static char *map(unsigned long len)
{
	return (char *)__linux_syscall(NR_mmap2, 0, len, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static int all_zero(const char *p, unsigned long len)
{
	for (unsigned long i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

void _start(void)
{
	unsigned long brk0 = syscall3(NR_brk, 0, 0, 0), brk1;
	char *a, *b, *c, *f;
	long fd;

	check("brk starts at the end of the initial memory", brk0 > 0 && brk0 % 65536 == 0);
	brk1 = syscall3(NR_brk, brk0 + 100000, 0, 0);
	check("brk grows", brk1 == brk0 + 100000);
	((char *)brk0)[99999] = 1;	/* the memory is really there */
	check("brk below its start is refused", syscall3(NR_brk, 16, 0, 0) == brk1);

	a = map(3 << 20);
	check("mmap of 3 MiB", (long)a > 0 && (unsigned long)a > brk1);
	check("new mapping reads as zeros", all_zero(a, 3 << 20));
	a[0] = 'x';
	a[(3 << 20) - 1] = 'y';
	b = map(4096);
	check("second mapping in the lowest gap, above the first", b >= a + (3 << 20));
	check("munmap", syscall3(NR_munmap, a, 3 << 20, 0) == 0);
	c = map(3 << 20);
	check("unmapped space is reused", c == a);
	check("reused space reads as zeros", all_zero(c, 3 << 20));
	check("a huge mapping fails with ENOMEM", (long)map(1UL << 30) == -12);

	fd = syscall3(NR_openat, AT_FDCWD, "/init", 0);
	f = (char *)__linux_syscall(NR_mmap2, 0, 8192, PROT_RW, MAP_PRIVATE, fd, 0);
	check("private file mapping holds the file", (long)f > 0 && f[0] == 0 && f[1] == 'a'
	      && f[2] == 's' && f[3] == 'm');
	syscall3(NR_close, fd, 0, 0);

	print("memory checks done\n");
	syscall5(NR_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0);
}
