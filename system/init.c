/*
 * /init: mount what a Linux system expects, start the session, and power
 * off when it ends.
 *
 * The session is a login shell on the console, or with "linuxwasm.agent"
 * on the kernel command line, the agent that takes commands and files
 * from the host (agent.c). As process 1 it reaps every orphan, and it
 * does what BusyBox's halt, poweroff and reboot ask of init by signal.
 * (BusyBox's init is not used: it starts children with vfork(), which
 * does not work here.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session.h"

extern char **environ;

static void mount_or_warn(const char *source, const char *target, const char *type,
			  const char *options)
{
	mkdir(target, 0755);
	if (mount(source, target, type, MS_NOSUID, options) && errno != EBUSY)
		fprintf(stderr, "init: mount %s on %s: %s\n", type, target, strerror(errno));
}

static void set_hostname(void)
{
	char name[65] = "";
	FILE *f = fopen("/etc/hostname", "r");

	if (!f)
		return;
	if (fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = 0;
		sethostname(name, strlen(name));
	}
	fclose(f);
}

static int has_kernel_option(const char *option)
{
	char line[4096];
	size_t len = strlen(option);
	char *p;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	while (p && (p = strstr(p, option))) {
		if ((p == line || p[-1] == ' ') && (p[len] == 0 || p[len] == ' ' || p[len] == '\n'))
			return 1;
		p += len;
	}
	return 0;
}

/* The session's process: a new session whose terminal is tty. */
static pid_t start(const char *tty, char *const argv[])
{
	posix_spawn_file_actions_t files;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&files);
	/* Opened after setsid(): the terminal becomes the controlling one. */
	posix_spawn_file_actions_addopen(&files, 0, tty, O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&files, 0, 1);
	posix_spawn_file_actions_adddup2(&files, 0, 2);
	err = spawn_session(&pid, argv, &files);
	posix_spawn_file_actions_destroy(&files);
	if (err) {
		fprintf(stderr, "init: cannot start %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	return pid;
}

static void stop(int how)
{
	sync();
	reboot(how);
	_exit(1);
}

int main(void)
{
	static char *const shell[] = { "/bin/sh", "-l", NULL };
	static char *const agent[] = { "/sbin/linuxwasm-agent", NULL };
	sigset_t wanted;
	pid_t session;
	int sig;

	mount_or_warn("proc", "/proc", "proc", NULL);
	mount_or_warn("sysfs", "/sys", "sysfs", NULL);
	mount_or_warn("devtmpfs", "/dev", "devtmpfs", NULL);
	mount_or_warn("devpts", "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=666");
	mount_or_warn("tmpfs", "/tmp", "tmpfs", "mode=1777");
	mount_or_warn("tmpfs", "/run", "tmpfs", "mode=755");
	set_hostname();
	setenv("HOME", "/root", 0);
	setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
	chdir("/root");

	/* Signals are taken with sigwait(): block them first. */
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGCHLD);
	sigaddset(&wanted, SIGUSR1);	/* halt */
	sigaddset(&wanted, SIGUSR2);	/* poweroff */
	sigaddset(&wanted, SIGTERM);	/* reboot */
	sigprocmask(SIG_BLOCK, &wanted, NULL);

	if (has_kernel_option("linuxwasm.agent"))
		session = start("/dev/hvc1", agent);
	else
		session = start("/dev/hvc0", shell);
	if (session < 0)
		stop(RB_POWER_OFF);

	for (;;) {
		pid_t pid;

		if (sigwait(&wanted, &sig))
			continue;
		if (sig == SIGUSR1 || sig == SIGUSR2)
			stop(RB_POWER_OFF);
		if (sig == SIGTERM)
			stop(RB_AUTOBOOT);
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
			if (pid == session)
				stop(RB_POWER_OFF);
		}
	}
}
