/* SPDX-License-Identifier: MIT */
/*
 * A program that computes without a system call. With no argument it
 * never stops (until killed). With "handler" it loops until a SIGUSR1
 * handler sets a flag: the signal must reach a program that makes no
 * system call.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t signalled;

static void on_usr1(int sig)
{
	signalled = sig;
}

int main(int argc, char **argv)
{
	volatile unsigned long n = 0;

	if (argc > 1 && !strcmp(argv[1], "handler")) {
		signal(SIGUSR1, on_usr1);
		puts("busy: waiting for SIGUSR1");
		fflush(stdout);
		while (!signalled)
			n++;
		printf("busy: handled signal %d, then went on\n", signalled);
		return 0;
	}
	for (;;)
		n++;
}
