/* SPDX-License-Identifier: MIT */
/*
 * How a test program ends: as /init it powers the machine off, as a
 * program run from the shell it exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/reboot.h>
#include <unistd.h>

static inline void finish(int status)
{
	fflush(stdout);
	if (getpid() == 1)
		reboot(RB_POWER_OFF);
	exit(status);
}
