/* SPDX-License-Identifier: MIT */
/*
 * Direct I/O (O_DIRECT) on buffers the kernel has a vma for: a private
 * file mapping and an anonymous one. The kernel cannot pin a wasm
 * process's pages (they are not in its memory), so each must fail with
 * EFAULT, and the file and the kernel stay as they were. Prints one line
 * per try: "NAME: RESULT".
 *
 *   direct FILE   (FILE on a disk, at least 8 KiB)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE 8192

static void report(const char *what, ssize_t n)
{
	if (n < 0)
		printf("%s: %s\n", what, strerror(errno));
	else
		printf("%s: %zd bytes\n", what, n);
}

int main(int argc, char **argv)
{
	int fd, direct;
	char *mapped, *anonymous;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDWR);
	direct = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || direct < 0) {
		perror(argv[1]);
		return 1;
	}
	mapped = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	anonymous = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mapped == MAP_FAILED || anonymous == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(anonymous, 'a', 1 << 20);
	report("write from a file mapping", pwrite(direct, mapped, 4096, 4096));
	report("read into a file mapping", pread(direct, mapped, 4096, 0));
	report("write from an anonymous mapping", pwrite(direct, anonymous, 4096, 4096));
	report("read into an anonymous mapping", pread(direct, anonymous, 4096, 0));
	return 0;
}
