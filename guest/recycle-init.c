/* SPDX-License-Identifier: MIT */
/*
 * A process never sees an earlier one's data. The host may give a new
 * program the memory of one that ended (runtime/memories.js): children
 * that scribble over everything they can reach (their static data, brk,
 * mappings, and past brk) alternate with children that check that theirs
 * reads as zeros. One line per check round, then power off.
 */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "finish.h"

#define ROUNDS	4
#define HEAP	(1 << 20)
#define MAPPED	(3 << 20)

extern char **environ;
static char data[64 << 10];

static int all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Each of the areas a program can write, in the same order each time. */
static int areas(int scribble)
{
	/* brk itself: musl's sbrk() only reports where it is. */
	char *heap = (char *)syscall(SYS_brk, 0);
	char *mapped = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int clean = 1;

	if ((char *)syscall(SYS_brk, heap + HEAP) != heap + HEAP || mapped == MAP_FAILED)
		return 2;
	if (scribble) {
		memset(data, 0xaa, sizeof(data));
		memset(heap, 0xaa, HEAP);
		memset(mapped, 0xaa, MAPPED);
		/* Past brk: no mapping, but Wasm memory has no holes. */
		memset(heap + HEAP, 0xaa, 4096);
		return 0;
	}
	clean &= all_zero(data, sizeof(data));
	clean &= all_zero(heap, HEAP);
	clean &= all_zero(mapped, MAPPED);
	return clean ? 0 : 1;
}

static int child(char *self, char *what)
{
	char *argv[] = { self, what, NULL };
	pid_t pid;
	int status;

	if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc > 1)
		return areas(strcmp(argv[1], "scribble") == 0);
	for (int round = 0; round < ROUNDS; round++) {
		int scribbled = child(argv[0], "scribble");
		int checked = child(argv[0], "check");

		printf("%s: round %d: scribble %d, check %d\n",
		       scribbled == 0 && checked == 0 ? "ok" : "FAILED", round, scribbled, checked);
		failed |= scribbled != 0 || checked != 0;
	}
	printf("recycle checks done\n");
	finish(failed);
	return failed;
}
