/* SPDX-License-Identifier: MIT */
/*
 * An init for the leak test: on "go" it starts and reaps 500 short-lived
 * children (itself, as "/init child"), then waits for "off". The host
 * measures its own memory before and after.
 */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	char *child_argv[] = { "/init", "child", NULL };
	char line[64];
	int ok = 0;

	if (argc > 1)
		return 0;
	mount("proc", "/proc", "proc", 0, NULL);
	printf("spawn: ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "go", 2) == 0) {
			ok = 0;
			for (int i = 0; i < 500; i++) {
				pid_t pid;
				int status;

				if (posix_spawn(&pid, "/init", NULL, NULL, child_argv, environ) == 0 &&
				    waitpid(pid, &status, 0) == pid && WIFEXITED(status))
					ok++;
			}
			printf("spawn: done %d\n", ok);
			{
				FILE *f = fopen("/proc/meminfo", "r");
				char l[128];

				while (f && fgets(l, sizeof(l), f))
					if (!strncmp(l, "MemFree", 7) || !strncmp(l, "Slab", 4))
						printf("spawn: %s", l);
				if (f)
					fclose(f);
			}
			fflush(stdout);
		} else if (strncmp(line, "off", 3) == 0) {
			break;
		}
	}
	reboot(RB_POWER_OFF);
	return 1;
}
