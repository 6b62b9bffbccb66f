/* SPDX-License-Identifier: MIT */
/*
 * fork() as POSIX says, for tests/test_fork.py: each argument names a
 * case, which prints what it saw, one line per fact, and exits 0 if all
 * went as it should (1 and a "FAIL" line otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		putchar('\n');						\
		failures++;						\
	}								\
} while (0)

/* The child's exit status, or -1 if it did not exit normally. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int global = 1;

/* Return values, the parent's pid, and memory copied both ways. */
static void basic(void)
{
	int *heap = malloc(sizeof(*heap));
	int local = 10;
	pid_t parent = getpid(), pid;
	int fds[2];
	char c;

	*heap = 100;
	CHECK(pipe(fds) == 0, "pipe");
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int ok = getppid() == parent && getpid() != parent &&
			 global == 1 && *heap == 100 && local == 10;

		global = 2;
		*heap = 200;
		local = 20;
		/* The parent changes its copy once this one has changed its own. */
		write(fds[1], "x", 1);
		read(fds[0], &c, 1);
		sleep(0);
		_exit(ok && global == 2 && *heap == 200 && local == 20 ? 42 : 1);
	}
	read(fds[0], &c, 1);
	global = 3;
	*heap = 300;
	write(fds[1], "y", 1);
	CHECK(reap(pid) == 42, "the child saw its parent's memory and its own changes");
	CHECK(global == 3 && *heap == 300 && local == 10, "the parent kept its own: %d %d %d",
	      global, *heap, local);
	printf("fork returned %s in the parent, 0 in the child\n", pid > 0 ? "the pid" : "?");
}

/* Each child forks again, to depth levels; the exit statuses add up. */
static int nest(int levels)
{
	pid_t pid;

	if (levels == 0)
		return 1;
	pid = fork();
	if (pid == 0)
		_exit(nest(levels - 1));
	return 1 + reap(pid);
}

static void nested(void)
{
	int depth = nest(10);

	CHECK(depth == 11, "nested forks: %d", depth);
	printf("nested 10 deep\n");
}

/* Deep frames to unwind: fork at the bottom of a recursion. */
static int deep(int n)
{
	volatile int here = n;
	pid_t pid;

	if (n > 0)
		return deep(n - 1) + here - n;
	pid = fork();
	if (pid == 0)
		_exit(7);
	return reap(pid);
}

static void in_a_loop(int count)
{
	int i, wrong = 0;

	for (i = 0; i < count; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(i & 0xff);
		if (pid < 0 || reap(pid) != (i & 0xff))
			wrong++;
	}
	CHECK(wrong == 0, "%d of %d forks went wrong", wrong, count);
	CHECK(deep(300) == 7, "a fork 300 calls deep");
	printf("%d forks in a row\n", count);
}

/* A pipe across the fork, both ways, and EOF once every writer closed. */
static void pipes(void)
{
	int down[2], up[2];
	char buf[64] = "";
	ssize_t n;
	pid_t pid;

	CHECK(pipe(down) == 0 && pipe(up) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		n = read(down[0], buf, sizeof(buf) - 1);
		dprintf(up[1], "child read %zd bytes: %s", n, buf);
		_exit(read(down[0], buf, 1) == 0 ? 0 : 1);
	}
	close(down[0]);
	close(up[1]);
	write(down[1], "hello", 5);
	close(down[1]);
	n = read(up[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("%s\n", buf);
	CHECK(reap(pid) == 0, "the child saw EOF");
}

/* An open file is shared: one offset for both. */
static void files(void)
{
	char buf[32] = "";
	int fd = open("/tmp/fork-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	pid_t pid;

	CHECK(fd >= 0, "open");
	pid = fork();
	if (pid == 0) {
		write(fd, "child,", 6);
		_exit(0);
	}
	reap(pid);
	write(fd, "parent", 6);
	pread(fd, buf, sizeof(buf) - 1, 0);
	printf("file: %s\n", buf);
	CHECK(!strcmp(buf, "child,parent"), "one offset");
	close(fd);
	unlink("/tmp/fork-file");
}

static void exec(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/echo", "echo", "exec'd in the child", (char *)NULL);
		_exit(127);
	}
	CHECK(reap(pid) == 0, "echo in the child");
}

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	got = sig;
}

/* A handler set before the fork runs in both; pending signals are not inherited. */
static void handlers(void)
{
	int fds[2];
	pid_t pid;
	char c;

	signal(SIGUSR1, on_signal);
	pipe(fds);
	pid = fork();
	if (pid == 0) {
		int own;

		raise(SIGUSR1);
		own = got == SIGUSR1;
		got = 0;
		write(fds[1], "r", 1);
		/* Then the parent's signal. */
		while (!got)
			usleep(1000);
		_exit(own && got == SIGUSR1 ? 0 : 1);
	}
	read(fds[0], &c, 1);
	kill(pid, SIGUSR1);
	CHECK(reap(pid) == 0, "the child's handler");
	raise(SIGUSR1);
	CHECK(got == SIGUSR1, "the parent's handler");
	printf("handlers run in parent and child\n");
}

long raw_fork(void *buf, unsigned long size) __attribute__((import_module("linux"), import_name("fork")));

/*
 * What a hostile program could try: the fork import with buffers outside
 * its memory, clone without CLONE_VM while not forking, and a clone child
 * whose function is no function of the table. Each fails; nothing else does.
 */
static void hostile(void)
{
	static unsigned int stack[256] __attribute__((aligned(16)));
	unsigned int *top = stack + 252;
	int status = 0;
	long pid;

	CHECK(raw_fork((void *)0xfffffff0, 4096) == -EFAULT, "a buffer past the memory");
	CHECK(raw_fork((void *)(stack + 1) + 1, 64) == -EFAULT, "a misaligned buffer");
	CHECK(raw_fork(stack, 4) == -EFAULT, "a buffer too small");
	CHECK(syscall(SYS_clone, SIGCHLD, 0) == -1 && errno == ENOSYS, "clone(SIGCHLD): %s", strerror(errno));
	top[0] = 0x7fffffff;	/* the function to run: no table has so many */
	top[1] = 0;
	pid = syscall(SYS_clone, CLONE_VM | SIGCHLD, top, 0, 0, 0);
	CHECK(pid > 0, "clone: %s", strerror(errno));
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status), "the child died: status %#x", status);
	printf("hostile forks and clones refused; the child died of %s\n", strsignal(WTERMSIG(status)));
}

static int handler_fork_errno;

static void fork_in_handler(int sig)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	handler_fork_errno = pid < 0 ? errno : 0;
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* A signal handler's frames lie below the kernel's, which cannot unwind: ENOSYS. */
static void in_handler(void)
{
	signal(SIGUSR2, fork_in_handler);
	raise(SIGUSR2);
	printf("fork in a signal handler: %s\n", strerror(handler_fork_errno));
	CHECK(reap(fork() ?: (_exit(0), 0)) == 0, "a fork after it");
}

static void at_exit(void)
{
	printf("atexit handler in %s\n", getenv("FORK_ROLE"));
	fflush(stdout);
}

/* atexit handlers run in the child that exits; unflushed stdio is copied. */
static void exits(void)
{
	pid_t pid;

	atexit(at_exit);
	setenv("FORK_ROLE", "the parent", 1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setenv("FORK_ROLE", "the child", 1);
		exit(0);
	}
	reap(pid);
	printf("buffered before the fork, ");
	pid = fork();
	if (pid == 0) {
		printf("then in the child\n");
		_exit(0);	/* no flush: this line is lost */
	}
	reap(pid);
	pid = fork();
	if (pid == 0) {
		printf("then in the second child\n");
		fflush(stdout);
		_exit(0);
	}
	reap(pid);
	printf("then in the parent\n");
}

static void *blocked(void *arg)
{
	char c;

	read(*(int *)arg, &c, 1);
	return NULL;
}

static void *forking(void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(getpid() == gettid() ? 9 : 1);
	return (void *)(long)reap(pid);
}

/* Only the calling thread goes on in the child; a thread may fork too. */
static void threads(void)
{
	pthread_t other;
	int fds[2];
	void *status;
	pid_t pid;

	pipe(fds);
	pthread_create(&other, NULL, blocked, &fds[0]);
	pid = fork();
	if (pid == 0) {
		char line[256];
		int threads = -1;
		FILE *f = fopen("/proc/self/status", "r");

		while (f && fgets(line, sizeof(line), f))
			sscanf(line, "Threads: %d", &threads);
		_exit(threads);
	}
	CHECK(reap(pid) == 1, "one thread in the child");
	write(fds[1], "x", 1);
	pthread_join(other, NULL);
	pthread_create(&other, NULL, forking, NULL);
	pthread_join(other, &status);
	CHECK((long)status == 9, "a thread's fork: %ld", (long)status);
	printf("the child has one thread, and a thread can fork\n");
}

/* A zombie until its parent waits. */
static void zombie(void)
{
	char path[64], line[256], state = '?';
	pid_t pid = fork();
	FILE *f;

	if (pid == 0)
		_exit(0);
	usleep(100 * 1000);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f))
		state = strrchr(line, ')')[2];
	if (f)
		fclose(f);
	CHECK(state == 'Z', "state %c before the wait", state);
	CHECK(reap(pid) == 0 && access(path, F_OK) != 0, "reaped");
	printf("a zombie until reaped\n");
}

/* Over RLIMIT_NPROC, fork fails with EAGAIN (not for root: it drops to a user). */
static void limit(void)
{
	struct rlimit few = { 4, 4 };
	pid_t pids[16];
	int n, errors = 0, err = 0;

	CHECK(setuid(1000) == 0, "setuid");
	CHECK(setrlimit(RLIMIT_NPROC, &few) == 0, "setrlimit");
	for (n = 0; n < 16; n++) {
		pids[n] = fork();
		if (pids[n] == 0) {
			pause();
			_exit(0);
		}
		if (pids[n] < 0) {
			err = errno;
			errors++;
		}
	}
	for (n = 0; n < 16; n++) {
		if (pids[n] > 0) {
			kill(pids[n], SIGKILL);
			waitpid(pids[n], NULL, 0);
		}
	}
	CHECK(errors > 0 && err == EAGAIN, "%d forks failed, the last with %s", errors, strerror(err));
	printf("fork over the limit: %s\n", strerror(err));
}

/* A large process: its memory is copied, and the child sees all of it. */
static void large(void)
{
	size_t size = 64 << 20, i;
	unsigned char *big = malloc(size);
	pid_t pid;

	CHECK(big != NULL, "malloc");
	for (i = 0; i < size; i += 4096)
		big[i] = i >> 12;
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < size; i += 4096) {
			if (big[i] != (unsigned char)(i >> 12))
				_exit(1);
		}
		_exit(0);
	}
	CHECK(reap(pid) == 0, "the child's copy of 64 MiB");
	printf("64 MiB copied\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i];

		if (!strcmp(name, "basic"))
			basic();
		else if (!strcmp(name, "nested"))
			nested();
		else if (!strcmp(name, "loop"))
			in_a_loop(i + 1 < argc ? atoi(argv[++i]) : 100);
		else if (!strcmp(name, "pipes"))
			pipes();
		else if (!strcmp(name, "files"))
			files();
		else if (!strcmp(name, "exec"))
			exec();
		else if (!strcmp(name, "handlers"))
			handlers();
		else if (!strcmp(name, "in-handler"))
			in_handler();
		else if (!strcmp(name, "hostile"))
			hostile();
		else if (!strcmp(name, "exits"))
			exits();
		else if (!strcmp(name, "threads"))
			threads();
		else if (!strcmp(name, "zombie"))
			zombie();
		else if (!strcmp(name, "limit"))
			limit();
		else if (!strcmp(name, "large"))
			large();
		else {
			printf("FAIL: no case %s\n", name);
			failures++;
		}
		fflush(stdout);
	}
	return failures ? 1 : 0;
}
