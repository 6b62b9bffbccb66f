/*
 * /init: mount what a Linux system expects, start the session, and power
 * off when it ends.
 *
 * The session is a login shell on the console, or with "linuxwasm.agent"
 * on the kernel command line, the agent that takes commands and files
 * from the host (agent.c). As process 1 it reaps every orphan, and it
 * does what BusyBox's halt, poweroff and reboot ask of init by signal.
 *
 * Every file system here but the host's disks lives in memory, so each
 * has a size (a share of memory, as tmpfs has by default): filling one
 * gives ENOSPC, and the machine goes on. The disks are mounted where the
 * host says (linuxwasm.disks=), and unmounted cleanly before the machine
 * stops, so that their file systems are clean in the host's image.
 * (BusyBox's init is not used: it starts children with vfork(), which
 * does not work here.)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/reboot.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmp.h>
#include <utmpx.h>

#include "session.h"
#include "network.h"

extern char **environ;

static void mount_or_warn(const char *source, const char *target, const char *type,
			  const char *options)
{
	mkdir(target, 0755);
	if (mount(source, target, type, MS_NOSUID, options) && errno != EBUSY)
		fprintf(stderr, "init: mount %s on %s: %s\n", type, target, strerror(errno));
}

/* Copy the tree at from into the folder to (both exist); 0 or -1. */
static int copy_tree(const char *from, const char *to)
{
	DIR *dir = opendir(from);
	struct dirent *entry;
	int failed = 0;

	if (!dir)
		return -1;
	while ((entry = readdir(dir))) {
		char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, entry->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, entry->d_name);
		if (lstat(src, &st)) {
			failed = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, st.st_mode & 07777) || chmod(dst, st.st_mode & 07777) ||
			    copy_tree(src, dst))
				failed = -1;
		} else if (S_ISLNK(st.st_mode)) {
			n = readlink(src, target, sizeof(target) - 1);
			if (n >= 0)
				target[n] = 0;
			if (n < 0 || symlink(target, dst))
				failed = -1;
		} else if (S_ISREG(st.st_mode)) {
			int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 07777);
			char buf[16384];

			while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
				if (write(out, buf, n) != n)
					n = -1, failed = -1;
			if (in < 0 || out < 0 || n < 0 || fchmod(out, st.st_mode & 07777))
				failed = -1;
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
		}
		if (!failed && unlink(src))
			rmdir(src);
	}
	closedir(dir);
	return failed;
}

static int is_empty(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;
	int empty = 1;

	while (dir && (entry = readdir(dir)))
		if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
			empty = 0;
	if (dir)
		closedir(dir);
	return empty;
}

/*
 * A tmpfs at target. What the host copied there (an archive appended to
 * the initramfs, src/linuxwasm/copies.py) would be hidden under it: it
 * is moved in.
 */
static void mount_tmpfs(const char *target, const char *options)
{
	static const char kept[] = "/.init-kept";

	if (is_empty(target)) {
		mount_or_warn("tmpfs", target, "tmpfs", options);
		return;
	}
	if (rename(target, kept)) {
		fprintf(stderr, "init: %s: %s\n", target, strerror(errno));
		return;
	}
	mount_or_warn("tmpfs", target, "tmpfs", options);
	if (copy_tree(kept, target))
		fprintf(stderr, "init: could not move all of %s's files into its tmpfs\n", target);
	rmdir(kept);
}

static char cmdline[4096];

static void read_cmdline(void)
{
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return;
	if (!fgets(cmdline, sizeof(cmdline), f))
		cmdline[0] = 0;
	cmdline[strcspn(cmdline, "\n")] = 0;
	fclose(f);
}

/*
 * Whether the kernel command line has option as a word of its own or
 * followed by '='; its value ("" for a bare option) goes to value unless
 * that is NULL.
 */
static int kernel_option(const char *option, char *value, size_t size)
{
	size_t len = strlen(option);
	const char *p = cmdline;

	while ((p = strstr(p, option))) {
		if ((p == cmdline || p[-1] == ' ') && (p[len] == 0 || p[len] == ' ' || p[len] == '=')) {
			size_t n = p[len] == '=' ? strcspn(p + len + 1, " ") : 0;

			if (!value)
				return 1;
			if (n >= size)
				return 0;
			memcpy(value, p + len + 1, n);
			value[n] = 0;
			return 1;
		}
		p += len;
	}
	return 0;
}

/* The host's name for this machine (linuxwasm.hostname=, one of several), else /etc/hostname. */
static void set_hostname(void)
{
	char name[65] = "";
	FILE *f;

	if (kernel_option("linuxwasm.hostname", name, sizeof(name)) && name[0]) {
		sethostname(name, strlen(name));
		return;
	}
	f = fopen("/etc/hostname", "r");
	if (!f)
		return;
	if (fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = 0;
		sethostname(name, strlen(name));
	}
	fclose(f);
}

/*
 * The host's time zone (linuxwasm.tz=Europe/Paris, which the host runtime
 * adds) as /etc/localtime, where every program's libc looks for it.
 */
static void set_time_zone(void)
{
	static const char zoneinfo[] = "/usr/share/zoneinfo/";
	char zone[128], path[sizeof(zoneinfo) + sizeof(zone)];

	if (!kernel_option("linuxwasm.tz", zone, sizeof(zone)) || !zone[0])
		return;
	if (strstr(zone, "..") || zone[0] == '/')
		return;
	snprintf(path, sizeof(path), "%s%s", zoneinfo, zone);
	if (access(path, R_OK)) {
		fprintf(stderr, "init: time zone %s: not in %s\n", zone, zoneinfo);
		return;
	}
	unlink("/etc/localtime");
	if (symlink(path, "/etc/localtime"))
		fprintf(stderr, "init: /etc/localtime: %s\n", strerror(errno));
}

/* A login record in utmp (who, users) and wtmp (last), as getty and login keep them. */
static void record(short type, const char *line, const char *user, pid_t pid)
{
	struct utmpx entry = { .ut_type = type, .ut_pid = pid };
	struct timeval now;

	gettimeofday(&now, NULL);
	entry.ut_tv.tv_sec = now.tv_sec;
	entry.ut_tv.tv_usec = now.tv_usec;
	strncpy(entry.ut_line, line, sizeof(entry.ut_line));
	strncpy(entry.ut_id, line + (strlen(line) > 4 ? strlen(line) - 4 : 0), sizeof(entry.ut_id));
	strncpy(entry.ut_user, user, sizeof(entry.ut_user));
	setutxent();
	pututxline(&entry);
	endutxent();
	updwtmpx(_PATH_WTMP, &entry);
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

/*
 * What went wrong at boot that the user should hear of, one line each:
 * the agent hands it to the host (agent.c), the shell's user sees it on
 * the console.
 */
static char notices[1024];

static void notice(const char *fmt, ...)
{
	char line[300];
	size_t used = strlen(notices);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(notices + used, sizeof(notices) - used, "%s\n", line);
	fprintf(stderr, "init: %s\n", line);
}

/* The notices, on the user's terminal too when the kernel's console is elsewhere (console=hvc2). */
static void tell_console(void)
{
	char active[64] = "", *line, *save;
	FILE *tty = fopen("/sys/class/tty/console/active", "r");

	if (tty) {
		if (!fgets(active, sizeof(active), tty))
			active[0] = 0;
		fclose(tty);
	}
	/* With console=hvc0, init's stderr said it already. */
	if (!notices[0] || strstr(active, "hvc0") || !(tty = fopen("/dev/hvc0", "w")))
		return;
	for (line = strtok_r(notices, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(tty, "\033[33mlinuxwasm: %s\033[0m\r\n", line);
	fclose(tty);
}

/* The kernel's last log line that names device (as "(vda)"), for a failed mount's cause. */
static void kernel_says(const char *device, char *out, size_t size)
{
	static char log[16384];
	char tag[32], *line, *found = NULL;
	int n = klogctl(3, log, sizeof(log) - 1);	/* SYSLOG_ACTION_READ_ALL */

	out[0] = 0;
	if (n <= 0)
		return;
	log[n] = 0;
	snprintf(tag, sizeof(tag), "(%s)", device);
	for (line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, tag))
			found = line;
	if (found) {
		/* Past the "<3>[    0.123456] " prefix. */
		char *text = strchr(found, ']');

		snprintf(out, size, " (%s)", text ? text + 1 + (text[1] == ' ') : found);
	}
}

#define DISKS_MAX 24
static char mounted[DISKS_MAX][256];
static int nr_mounted;

static void mkdir_parents(const char *path)
{
	char part[256];
	size_t i;

	for (i = 1; path[i] && i < sizeof(part); i++) {
		if (path[i] != '/')
			continue;
		memcpy(part, path, i);
		part[i] = 0;
		mkdir(part, 0755);
	}
	mkdir(path, 0755);
}

/*
 * linuxwasm.disks=vda:/root:rw,vdb:/data:ro (src/linuxwasm/disks.py, or
 * the page's vda:/root:rw:commit=1+nodelalloc with mount options of its own): each
 * disk's ext4 file system where the host asked; and
 * linuxwasm.shares=share0:/mnt/project:rw (src/linuxwasm/shares.py): each
 * host folder over 9p. One that does not mount leaves the folder as it
 * was, and says why.
 */
static void mount_from_host(const char *option, const char *type)
{
	/*
	 * 9p: the guest checks permissions itself (the server does not know
	 * the guest's users), and no request is larger than the kernel's
	 * buffers of 128 KiB.
	 */
	static const char ninep[] = "trans=virtio,version=9p2000.L,access=client,msize=131072";
	int is_9p = !strcmp(type, "9p"), read_only;
	char spec[1024], *entry, *save;

	if (!kernel_option(option, spec, sizeof(spec)))
		return;
	for (entry = strtok_r(spec, ",", &save); entry; entry = strtok_r(NULL, ",", &save)) {
		char *dir = strchr(entry, ':'), *mode, *options = NULL, device[64], why[200];

		if (!dir || !(mode = strchr(dir + 1, ':')))
			continue;
		*dir++ = 0;
		*mode++ = 0;
		/* A disk's own mount options may follow, '+' between them ("commit=1+nodelalloc"). */
		if ((options = strchr(mode, ':'))) {
			char *plus = ++options;

			options[-1] = 0;
			while ((plus = strchr(plus, '+')))
				*plus = ',';
		}
		if (dir[0] != '/' || strstr(dir, "..") || nr_mounted == DISKS_MAX)
			continue;
		snprintf(device, sizeof(device), is_9p ? "%s" : "/dev/%s", entry);
		mkdir_parents(dir);
		read_only = !strcmp(mode, "ro");
		if (mount(device, dir, type, read_only ? MS_RDONLY : 0, is_9p ? ninep : options)) {
			int err = errno;

			kernel_says(entry, why, sizeof(why));
			/*
			 * A read-only disk whose journal needs replaying (it was
			 * not unmounted cleanly, or another machine has it) can
			 * be mounted as its last checkpoint left it.
			 */
			if (!is_9p && read_only && !mount(device, dir, type, MS_RDONLY, "noload")) {
				notice("%s on %s: its journal was not replayed (it was not unmounted cleanly, "
				       "or is in use): what was written last may be missing", device, dir);
			} else {
				notice("cannot mount %s on %s: %s%s", device, dir, strerror(err), why);
				continue;
			}
		}
		snprintf(mounted[nr_mounted++], sizeof(mounted[0]), "%s", dir);
	}
}

/*
 * Before the machine stops: every other process ends, and each disk is
 * unmounted (or at least made read-only), which writes out what is
 * cached and leaves its journal clean. The root too, if it is a disk.
 */
static void release_disks(void)
{
	int i;

	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	sync();
	for (i = nr_mounted - 1; i >= 0; i--)
		if (umount(mounted[i]))
			mount(NULL, mounted[i], NULL, MS_REMOUNT | MS_RDONLY, NULL);
	mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

static void stop(int how)
{
	release_disks();
	reboot(how);
	_exit(1);
}

/*
 * The agent ended without being asked to: stop, and tell the host why
 * (a restart with a reason is how a system names one to its platform).
 */
static void stop_for(const char *what, int status)
{
	char reason[128];

	if (WIFSIGNALED(status))
		snprintf(reason, sizeof(reason), "%s was killed by signal %d (%s)",
			 what, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(reason, sizeof(reason), "%s exited with status %d", what,
			 WEXITSTATUS(status));
	release_disks();
	syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		LINUX_REBOOT_CMD_RESTART2, reason);
	_exit(1);
}

int main(void)
{
	static char *const shell[] = { "/bin/sh", "-l", NULL };
	static char *const agent[] = { "/sbin/linuxwasm-agent", NULL };
	struct statfs root;
	char agent_mode[16] = "", networks[512];
	sigset_t wanted;
	pid_t session, helper = -1;
	int sig, status, with_agent;

	mount_or_warn("proc", "/proc", "proc", NULL);
	mount_or_warn("sysfs", "/sys", "sysfs", NULL);
	mount_or_warn("devtmpfs", "/dev", "devtmpfs", NULL);
	/*
	 * Booted from a disk, which has no /dev/console of its own, the
	 * kernel could open none for init: the console's is there now.
	 */
	if (fcntl(2, F_GETFD) < 0) {
		int console = open("/dev/console", O_RDWR);

		if (console >= 0) {
			dup2(console, 0);
			dup2(console, 1);
			dup2(console, 2);
			if (console > 2)
				close(console);
		}
	}
	mount_or_warn("devpts", "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=666");
	/* The initramfs, unless the root is a disk (root=/dev/vda). */
	if (!statfs("/", &root) && root.f_type == RAMFS_MAGIC &&
	    mount(NULL, "/", NULL, MS_REMOUNT, "size=50%"))
		fprintf(stderr, "init: size of /: %s\n", strerror(errno));
	mount_tmpfs("/tmp", "mode=1777,size=50%");
	mount_tmpfs("/run", "mode=755,size=20%");
	read_cmdline();
	set_hostname();
	set_time_zone();
	mount_from_host("linuxwasm.disks", "ext4");
	mount_from_host("linuxwasm.shares", "9p");
	if (!kernel_option("linuxwasm.net", networks, sizeof(networks)))
		networks[0] = 0;
	bring_up_network(networks, notice);
	/* The kernel starts init with HOME=/; the session is root's. */
	setenv("HOME", "/root", 1);
	setenv("USER", "root", 1);
	setenv("LOGNAME", "root", 1);
	setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
	chdir("/root");

	/* Signals are taken with sigwait(): block them first. */
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGCHLD);
	sigaddset(&wanted, SIGUSR1);	/* halt */
	sigaddset(&wanted, SIGUSR2);	/* poweroff */
	sigaddset(&wanted, SIGTERM);	/* reboot */
	sigprocmask(SIG_BLOCK, &wanted, NULL);

	close(open(_PATH_WTMP, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	record(BOOT_TIME, "~", "reboot", 0);
	/*
	 * linuxwasm.agent: the agent is the session. linuxwasm.agent=beside
	 * (the page): the shell is, and the agent moves files for the host
	 * beside it (uploads, downloads).
	 */
	with_agent = kernel_option("linuxwasm.agent", agent_mode, sizeof(agent_mode));
	if (with_agent && !strcmp(agent_mode, "beside")) {
		with_agent = 0;
		helper = start("/dev/agent", agent);
		setenv("LINUXWASM_PAGE", "1", 1);	/* for download(1) */
	}
	if (with_agent) {
		/* For the agent's ready message; its commands do not inherit it. */
		setenv("LINUXWASM_NOTICES", notices, 1);
		session = start("/dev/agent", agent);
		unsetenv("LINUXWASM_NOTICES");
	} else {
		tell_console();
		session = start("/dev/hvc0", shell);
		if (session > 0)
			record(USER_PROCESS, "hvc0", "root", session);
	}
	if (session < 0)
		stop(RB_POWER_OFF);

	for (;;) {
		pid_t pid;

		if (sigwait(&wanted, &sig))
			continue;
		if (sig == SIGUSR1)
			stop(RB_HALT_SYSTEM);
		if (sig == SIGUSR2)
			stop(RB_POWER_OFF);
		if (sig == SIGTERM)
			stop(RB_AUTOBOOT);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == helper) {
				fprintf(stderr, "init: the file channel's agent ended: uploads and downloads stop\n");
				helper = -1;
			}
			if (pid != session)
				continue;
			/* The agent ends cleanly only when the host says bye. */
			if (with_agent && status)
				stop_for("the guest agent", status);
			stop(RB_POWER_OFF);
		}
	}
}
