/* SPDX-License-Identifier: MIT */
/*
 * Control flow and faults: setjmp/longjmp across frames, and children
 * that crash (a wild pointer, a trap, a recursion without end, a trap in
 * the handler of a trap) and are reported to their parent as killed by
 * SIGSEGV, SIGILL, SIGSEGV and SIGILL while the system goes on. As /init
 * it runs all of it; from a shell, "faults setjmp", "faults segv",
 * "faults trap", "faults stack" or "faults handler" runs one part.
 */
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "finish.h"

extern char **environ;
static jmp_buf env;

static void deep(int n)
{
	if (n == 0)
		longjmp(env, 42);
	deep(n - 1);
}

static int bottomless(int n);
/* Called through this, the recursion cannot be made a loop. */
static int (*volatile again)(int) = bottomless;

/* Frames on the engine's call stack alone, until it overflows. */
static int bottomless(int n)
{
	return again(n + 1) + n;
}

/* Another trap while SIGILL is blocked: the kernel kills with it. */
static void trap_again(int sig)
{
	__builtin_trap();
}

static int crash(const char *how)
{
	if (strcmp(how, "segv") == 0)
		return *(volatile int *)0xfffffff0;	/* beyond any process memory */
	if (strcmp(how, "stack") == 0)
		return bottomless(0);
	if (strcmp(how, "handler") == 0)
		signal(SIGILL, trap_again);
	__builtin_trap();
}

static void spawn_and_report(const char *how)
{
	char *argv[] = { "/init", (char *)how, NULL };
	pid_t pid;
	int status;

	if (posix_spawn(&pid, "/init", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &status, 0) != pid) {
		perror(how);
		return;
	}
	if (WIFSIGNALED(status))
		printf("faults: %s child killed by %s\n", how, strsignal(WTERMSIG(status)));
	else
		printf("faults: %s child exited with %d\n", how, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	volatile int entries = 0;
	int value;

	if (argc > 1 && strcmp(argv[1], "setjmp") != 0)
		return crash(argv[1]);

	value = setjmp(env);
	entries++;
	if (value == 0)
		deep(10);
	printf("faults: setjmp returned %d after %d entries\n", value, entries);
	if (argc > 1)
		finish(value == 42 && entries == 2 ? 0 : 1);

	spawn_and_report("segv");
	spawn_and_report("trap");
	spawn_and_report("stack");
	spawn_and_report("handler");
	printf("faults: still running\n");
	finish(0);
}
