/* SPDX-License-Identifier: MIT */
/*
 * An init built with musl: stdio, malloc (large blocks come from mmap),
 * the environment, files, posix_spawn of a child program and waitpid,
 * then power off. Run as "/init child" it is the child.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int child(void)
{
	printf("child: pid %d, parent %d\n", getpid(), getppid());
	return 5;
}

int main(int argc, char **argv)
{
	struct utsname uts;
	char line[200], *big;
	char *child_argv[] = { "/init", "child", NULL };
	FILE *f;
	pid_t pid;
	int status;

	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();

	uname(&uts);
	printf("musl init: %s %s, argc %d, TERM=%s\n", uts.sysname, uts.release, argc, getenv("TERM"));

	big = malloc(4 << 20);
	memset(big, 'x', 4 << 20);
	printf("malloc: 4 MiB %s\n", big && big[(4 << 20) - 1] == 'x' ? "ok" : "FAILED");
	free(big);

	if (mount("proc", "/proc", "proc", 0, NULL) != 0)
		perror("mount /proc");
	f = fopen("/proc/version", "r");
	if (!f || !fgets(line, sizeof(line), f))
		perror("/proc/version");
	else
		printf("fopen: %.13s\n", line);
	if (f)
		fclose(f);

	if (posix_spawn(&pid, "/init", NULL, NULL, child_argv, environ) != 0) {
		perror("posix_spawn");
	} else if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
	} else {
		printf("posix_spawn: child %d exited with %d\n", pid, WEXITSTATUS(status));
	}

	printf("powering off\n");
	fflush(stdout);
	reboot(RB_POWER_OFF);
	return 1;
}
