/*
 * The guest agent: runs commands and moves files for the host, over the
 * agent channel /dev/agent (its stdin and stdout, set up by init.c), which
 * the kernel lets it alone open (arch/wasm/drivers/agent.c). The Python
 * side is src/linuxwasm/agent.py; keep the two in step.
 *
 * Every message is a header line of words, then as many payload bytes as
 * its LEN word says:
 *
 *   host to guest                 guest to host
 *   run ID LEN [INPUT]  command   out ID LEN    bytes of its stdout
 *                                 err ID LEN    bytes of its stderr
 *                                 exit ID CODE  0-255, or 128 + signal
 *   in ID LEN    bytes for stdin  ack ID 0      (ready for the next in)
 *   kill ID SIG                   (the running command's process group)
 *   put ID MODE LEN  path NUL data   done ID 0
 *   get ID LEN   path             data ID LEN   the file's bytes, a piece at a time,
 *                                 done ID 0     then this
 *                                 error ID LEN  a message, for any request
 *   bye ID 0     (the agent ends, a running command killed, and init powers off)
 *   and once at start:            ready 0 LEN   what went wrong at boot (init.c's
 *                                               notices, a line each), often nothing
 *
 * A command runs as /bin/sh -c in a session of its own, and in a control
 * group of its own, which limits how many processes it may have at once
 * (COMMAND_PIDS_MAX) and through which kill ID 9 ends all of them, those
 * that left the session included; what it leaves running goes on when it
 * ends. Its stdin is /dev/null, or with INPUT 1 a pipe that the host
 * fills with in messages of at most IN_MAX bytes, one at a time: the host
 * sends the next only after the ack, so that the agent holds at most one
 * while the command does not read. in ID 0 closes the pipe. One request
 * at a time: the host waits for the answer (another meanwhile gets an
 * error). get and put take regular files only, and never wait: a FIFO or
 * a device is refused.
 *
 * The agent stays out of its commands' way: the OOM killer never picks
 * it, and it runs at a higher priority than they do, so that a kill comes
 * through even while a command forks without end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session.h"

#define HEADER_MAX 256
#define CHUNK 4096
#define IN_MAX 65536
#define DRAIN_MAX 65536
#define NOTICES_MAX 1024

#define CGROUPS "/sys/fs/cgroup"
#define COMMAND_PIDS_MAX "256"
/* Command groups still holding what a command left running. */
#define LEFT_RUNNING_MAX 64

extern char **environ;

static char inbuf[CHUNK];
static size_t inlen, inpos;
static int child_exited[2];	/* self-pipe: SIGCHLD wakes poll() */

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);	/* the host is gone */
		p += n;
		len -= n;
	}
}

static void send(const char *kind, unsigned long id, unsigned long word, const void *data, size_t len)
{
	char header[HEADER_MAX];
	int n = snprintf(header, sizeof(header), "%s %lu %lu\n", kind, id, word);

	write_all(1, header, n);
	if (len)
		write_all(1, data, len);
}

static void send_error(unsigned long id, const char *format, ...)
{
	char message[512];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(message))
		n = sizeof(message) - 1;	/* cut short, as vsnprintf() did */
	send("error", id, n, message, n);
}

/* An error about a file: a long path is cut short, so that why fits. */
static void file_error(unsigned long id, const char *path, const char *why)
{
	send_error(id, "%.200s%s: %s", path, strlen(path) > 200 ? "..." : "", why);
}

/* Fill inbuf from the channel; 0 at its end. */
static int fill(void)
{
	ssize_t n;

	do
		n = read(0, inbuf, sizeof(inbuf));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	inlen = n;
	inpos = 0;
	return 1;
}

static int read_byte(void)
{
	if (inpos == inlen && !fill())
		return -1;
	return (unsigned char)inbuf[inpos++];
}

static int read_exact(char *data, size_t len)
{
	while (len) {
		size_t n;

		if (inpos == inlen && !fill())
			return 0;
		n = inlen - inpos < len ? inlen - inpos : len;
		memcpy(data, inbuf + inpos, n);
		inpos += n;
		data += n;
		len -= n;
	}
	return 1;
}

static int read_header(char *line)
{
	size_t n = 0;
	int c;

	while ((c = read_byte()) != '\n') {
		if (c < 0)
			return 0;
		if (n < HEADER_MAX - 1)
			line[n++] = c;
	}
	line[n] = 0;
	return 1;
}

static void on_sigchld(int sig)
{
	int saved = errno;

	write(child_exited[1], "", 1);
	errno = saved;
}

/* Forward what fd has; returns 0 at its end. */
static int forward(int fd, const char *kind, unsigned long id)
{
	char data[CHUNK];
	ssize_t n = read(fd, data, sizeof(data));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	send(kind, id, n, data, n);
	return 1;
}

/*
 * What fd has now, without waiting for more, and no more than a pipe
 * holds: a background job may go on writing.
 */
static void drain(int fd, const char *kind, unsigned long id)
{
	char data[CHUNK];
	ssize_t n;

	if (fd < 0)
		return;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < DRAIN_MAX / CHUNK && (n = read(fd, data, sizeof(data))) > 0; i++)
		send(kind, id, n, data, n);
}

/* Skip a payload that has no taker; 0 if the channel ended. */
static int skip(unsigned long len)
{
	char scratch[CHUNK];

	while (len) {
		size_t n = len < sizeof(scratch) ? len : sizeof(scratch);

		if (!read_exact(scratch, n))
			return 0;
		len -= n;
	}
	return 1;
}

/* The command's stdin: one in message at a time on its way to the pipe. */
struct input {
	int fd;			/* the pipe's end, -1 once closed */
	char data[IN_MAX];
	size_t len, pos;	/* pos < len: waiting for room in the pipe */
};

static void input_close(struct input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	in->len = in->pos = 0;
}

/* An in message for the running command: into the pipe as room allows. */
static int input_take(struct input *in, unsigned long id, unsigned long len)
{
	if (in->len || len > IN_MAX || in->fd < 0) {
		/* Not ours to hold (no pipe, or more than one at a time): drop it. */
		if (!skip(len))
			return 0;
		if (len && in->fd >= 0 && !in->len)
			send("ack", id, 0, NULL, 0);
		return 1;
	}
	if (!len) {
		input_close(in);
		return 1;
	}
	if (!read_exact(in->data, len))
		return 0;
	in->len = len;
	in->pos = 0;
	return 1;
}

/* Room in the pipe: write what is waiting; ack once all of it is in. */
static void input_flush(struct input *in, unsigned long id)
{
	ssize_t n = write(in->fd, in->data + in->pos, in->len - in->pos);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* The command closed its stdin: what it did not read is dropped. */
		in->pos = in->len;
	} else {
		in->pos += n;
	}
	if (in->pos == in->len) {
		in->len = in->pos = 0;
		send("ack", id, 0, NULL, 0);
	}
}

static struct input input = { .fd = -1 };

/* Write a short value to a control file; 0 or -1. */
static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	return close(fd) || !ok ? -1 : 0;
}

static int have_cgroups;
static char left_running[LEFT_RUNNING_MAX][48];

static void cgroup_path(char *path, size_t size, unsigned long id, const char *file)
{
	snprintf(path, size, CGROUPS "/command-%lu%s%s", id, file ? "/" : "", file ? file : "");
}

/* The control groups' file system, with the process limit for commands' groups. */
static void cgroups_init(void)
{
	if (mount("cgroup2", CGROUPS, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) &&
	    errno != EBUSY)
		return;
	have_cgroups = !write_file(CGROUPS "/cgroup.subtree_control", "+pids");
}

/*
 * Spawn a command in a new group: the agent joins the group to start it
 * (a child starts in its parent's group), and goes back.
 */
static int spawn_in_group(unsigned long id, pid_t *pid, char *argv[],
			  posix_spawn_file_actions_t *files)
{
	char path[64], self[16];
	int err;

	if (!have_cgroups)
		return spawn_session(pid, argv, files);
	cgroup_path(path, sizeof(path), id, NULL);
	if (mkdir(path, 0755))
		return errno;
	snprintf(self, sizeof(self), "%d", getpid());
	cgroup_path(path, sizeof(path), id, "pids.max");
	if (write_file(path, COMMAND_PIDS_MAX))
		return errno;
	cgroup_path(path, sizeof(path), id, "cgroup.procs");
	if (write_file(path, self))
		return errno;
	err = spawn_session(pid, argv, files);
	if (write_file(CGROUPS "/cgroup.procs", self))
		_exit(1);	/* the agent would count against the command's limit */
	return err;
}

/* Kill every process of the command's group: whatever session they are in. */
static void kill_group(unsigned long id, pid_t pid)
{
	char path[64];

	cgroup_path(path, sizeof(path), id, "cgroup.kill");
	if (have_cgroups)
		write_file(path, "1");
	/* Also those in its process group that left the cgroup (root may). */
	kill(-pid, SIGKILL);
}

/*
 * After a kill: wait (a few seconds at most) until every process of the
 * group has exited, so that the next command finds none of them.
 */
static void wait_group_empty(unsigned long id)
{
	char path[64], events[128];

	cgroup_path(path, sizeof(path), id, "cgroup.events");
	for (int tries = 0; have_cgroups && tries < 250; tries++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, events, sizeof(events) - 1);

		if (fd >= 0)
			close(fd);
		if (n < 0)
			return;
		events[n] = 0;
		if (strstr(events, "populated 0"))
			return;
		usleep(20000);
	}
}

/*
 * A command has ended: remove its group, and any earlier one that what it
 * left running has left since. Those still in use are tried again later.
 */
static void groups_tidy(unsigned long id)
{
	char path[64];
	int i;

	if (!have_cgroups)
		return;
	cgroup_path(path, sizeof(path), id, NULL);
	for (i = 0; i < LEFT_RUNNING_MAX; i++) {
		if (left_running[i][0] && !rmdir(left_running[i]))
			left_running[i][0] = 0;
	}
	if (!rmdir(path))
		return;
	for (i = 0; i < LEFT_RUNNING_MAX; i++) {
		if (!left_running[i][0]) {
			strcpy(left_running[i], path);
			return;
		}
	}
}

/* A new process of the agent's: back to the OOM killer's usual view of it. */
static void oom_adjust(pid_t pid, const char *value)
{
	char path[48];

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	write_file(path, value);
}

static void run(unsigned long id, const char *command, int with_input)
{
	char *argv[] = { "/bin/sh", "-c", (char *)command, NULL };
	posix_spawn_file_actions_t files;
	int out[2], err[2], in[2] = { -1, -1 }, status, open_pipes = 2, done = 0, code, killed = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || (with_input && pipe2(in, O_CLOEXEC))) {
		send_error(id, "pipe: %s", strerror(errno));
		return;
	}
	posix_spawn_file_actions_init(&files);
	if (with_input)
		posix_spawn_file_actions_adddup2(&files, in[0], 0);
	else
		posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&files, out[1], 1);
	posix_spawn_file_actions_adddup2(&files, err[1], 2);
	code = spawn_in_group(id, &pid, argv, &files);
	posix_spawn_file_actions_destroy(&files);
	if (!code)
		oom_adjust(pid, "0");
	close(out[1]);
	close(err[1]);
	if (with_input) {
		close(in[0]);
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	}
	input.fd = in[1];
	if (code) {
		close(out[0]);
		close(err[0]);
		input_close(&input);
		groups_tidy(id);
		send_error(id, "cannot start /bin/sh: %s", strerror(code));
		return;
	}

	/*
	 * Until the shell has exited and both pipes are at their end. A
	 * background job may keep a pipe open: once the shell has exited,
	 * what is left is read without waiting for it.
	 */
	while (open_pipes || !done) {
		struct pollfd fds[] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = err[0], .events = POLLIN },
			{ .fd = child_exited[0], .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
			{ .fd = input.len ? input.fd : -1, .events = POLLOUT },
		};
		char line[HEADER_MAX], scratch[64], kind[16];
		unsigned long other_id, len, b;
		int sig, words;

		if (done) {
			drain(out[0], "out", id);
			drain(err[0], "err", id);
			break;
		}
		/* A request already read into inbuf does not make fd 0 readable. */
		if (poll(fds, 5, inpos < inlen ? 0 : -1) < 0)
			continue;
		if (fds[0].revents && !forward(out[0], "out", id)) {
			close(out[0]);
			out[0] = -1;
			open_pipes--;
		}
		if (fds[1].revents && !forward(err[0], "err", id)) {
			close(err[0]);
			err[0] = -1;
			open_pipes--;
		}
		if (fds[2].revents) {
			read(child_exited[0], scratch, sizeof(scratch));
			if (waitpid(pid, &status, WNOHANG) == pid)
				done = 1;
		}
		if (fds[4].revents)
			input_flush(&input, id);
		if ((fds[3].revents || inpos < inlen) && read_header(line)) {
			words = sscanf(line, "%15s %lu %lu %lu", kind, &other_id, &len, &b);
			if (words < 3)
				continue;
			if (!strcmp(kind, "kill")) {
				sig = len;
				if (other_id != id)
					continue;
				if (sig == SIGKILL) {
					kill_group(id, pid);
					killed = 1;
				} else {
					kill(-pid, sig);
				}
			} else if (!strcmp(kind, "bye")) {
				/* The host is leaving: so does the command. */
				kill_group(id, pid);
				_exit(0);
			} else if (!strcmp(kind, "in")) {
				if (!(other_id == id ? input_take(&input, id, len) : skip(len)))
					_exit(1);	/* the channel ended inside a message */
			} else {
				/* One request at a time: this one is refused. */
				if (!skip(!strcmp(kind, "put") && words == 4 ? b : len))
					_exit(1);
				send_error(other_id, "busy: a command is running");
			}
		}
	}
	input_close(&input);
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	if (killed)
		wait_group_empty(id);
	groups_tidy(id);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	send("exit", id, code, NULL, 0);
}

/* Whether fd is a regular file; if not, the host is told. */
static int regular(int fd, unsigned long id, const char *path)
{
	struct stat st;

	if (fstat(fd, &st)) {
		file_error(id, path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		file_error(id, path, "not a regular file");
		return 0;
	}
	return 1;
}

/*
 * put: the path, then the data straight from the channel into the file, a
 * chunk at a time (the agent's memory never shrinks: it holds no file).
 * len is what is left of the payload; 0 if the channel ended.
 */
static int put(unsigned long id, unsigned int mode, unsigned long len)
{
	char path[PATH_MAX], data[CHUNK];
	size_t path_len = 0;
	int c = -1, fd, err = 0;

	while (len) {
		c = read_byte();
		if (c < 0)
			return 0;
		len--;
		if (!c)
			break;
		if (path_len == sizeof(path) - 1)
			err = ENAMETOOLONG;
		else
			path[path_len++] = c;
	}
	path[path_len] = 0;
	if (c) {
		send_error(id, "put: no path");
		return 1;
	}
	if (err) {
		send_error(id, "put: %s", strerror(err));
		return skip(len);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0) {
		file_error(id, path, strerror(errno));
		return skip(len);
	}
	if (!regular(fd, id, path)) {
		close(fd);
		return skip(len);
	}
	fchmod(fd, mode);
	while (len) {
		size_t n = len < sizeof(data) ? len : sizeof(data);

		if (!read_exact(data, n))
			return 0;
		len -= n;
		for (char *p = data; !err && p < data + n;) {
			ssize_t done = write(fd, p, data + n - p);

			if (done < 0 && errno == EINTR)
				continue;
			if (done <= 0)
				err = done < 0 ? errno : ENOSPC;
			else
				p += done;
		}
	}
	if (close(fd) && !err)
		err = errno;
	if (err)
		file_error(id, path, strerror(err));
	else
		send("done", id, 0, NULL, 0);
	return 1;
}

/* get: the file in data messages of at most CHUNK bytes, then done. */
static void get(unsigned long id, const char *path)
{
	char data[CHUNK];
	/* Never waiting: a FIFO opens at once, and /proc/kmsg reads at once. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		file_error(id, path, strerror(errno));
		return;
	}
	if (!regular(fd, id, path)) {
		close(fd);
		return;
	}
	/* Until the end: files in /proc say they are empty. */
	for (;;) {
		ssize_t n = read(fd, data, sizeof(data));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			file_error(id, path, errno == EAGAIN ? "it would have to wait for data" : strerror(errno));
			break;
		}
		if (n == 0) {
			send("done", id, 0, NULL, 0);
			break;
		}
		send("data", id, n, data, n);
	}
	close(fd);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART };
	struct sched_param normal = { 0 };
	sigset_t pipe_signal;
	const char *notices;
	size_t notices_len;

	/* Out of the OOM killer's reach, and ahead of the commands for the CPU. */
	oom_adjust(getpid(), "-1000");
	/* musl's sched_setscheduler() is a stub: the system call itself. */
	syscall(SYS_sched_setscheduler, 0, SCHED_OTHER | SCHED_RESET_ON_FORK, &normal);
	setpriority(PRIO_PROCESS, 0, -10);
	cgroups_init();
	if (pipe2(child_exited, O_CLOEXEC | O_NONBLOCK))
		return 1;
	/* A command that closes its stdin gives EPIPE, not the agent's death. */
	sigemptyset(&pipe_signal);
	sigaddset(&pipe_signal, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_signal, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	notices = getenv("LINUXWASM_NOTICES");
	notices_len = notices ? strnlen(notices, NOTICES_MAX) : 0;
	send("ready", 0, notices_len, notices, notices_len);
	unsetenv("LINUXWASM_NOTICES");

	for (;;) {
		char line[HEADER_MAX], kind[16], *payload;
		unsigned long id, a, b = 0;
		int words;

		if (!read_header(line))
			return 0;
		words = sscanf(line, "%15s %lu %lu %lu", kind, &id, &a, &b);
		if (words < 3) {
			send_error(0, "bad request: %s", line);
			continue;
		}
		if (!strcmp(kind, "kill"))
			continue;	/* for a command that has ended already */
		if (!strcmp(kind, "in")) {
			if (!skip(a))	/* input for a command that has ended */
				return 1;
			continue;
		}
		if (!strcmp(kind, "bye"))
			return 0;
		if (!strcmp(kind, "put")) {
			/* put ID MODE LEN: its payload goes to the file as it comes. */
			if (words < 4 ? !skip(a) : !put(id, a & 07777, b))
				return 1;
			if (words < 4)
				send_error(id, "put: no mode");
			continue;
		}
		/* Without the payload the stream cannot go on: stop. */
		payload = malloc(a + 1);
		if (!payload || !read_exact(payload, a))
			return 1;
		payload[a] = 0;
		if (strlen(payload) != a)
			send_error(id, "%s: a NUL byte in the request", kind);
		else if (!strcmp(kind, "run"))
			run(id, payload, words == 4 && b == 1);
		else if (!strcmp(kind, "get"))
			get(id, payload);
		else
			send_error(id, "unknown request: %s", kind);
		free(payload);
	}
}
