/* SPDX-License-Identifier: MIT */
/*
 * An init that checks signal delivery: a handler for a signal sent to
 * itself, a handler interrupting pause(), SA_RESTART around a blocking
 * read (the handler itself makes system calls), longjmp out of a handler,
 * and a child killed by SIGTERM's default action. One line per check.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile sig_atomic_t got;
static int pipefd[2];
static jmp_buf escape;

static void note(int sig)
{
	got = sig;
}

static void feed_pipe(int sig)
{
	got = sig;
	write(pipefd[1], "x", 1);	/* a system call inside the handler */
}

static void jump_out(int sig)
{
	longjmp(escape, sig);
}

static void on(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void check(const char *what, int ok)
{
	printf("signals: %s: %s\n", what, ok ? "ok" : "FAILED");
}

int main(int argc, char **argv)
{
	char *child_argv[] = { "/init", "child", NULL };
	sigset_t unblock;
	pid_t pid;
	int status, value;
	char c;

	if (argc > 1) {	/* the child: wait to be killed */
		for (;;)
			pause();
	}

	on(SIGUSR1, note, 0);
	kill(getpid(), SIGUSR1);
	check("handler runs before kill() returns", got == SIGUSR1);

	got = 0;
	on(SIGALRM, note, 0);
	alarm(1);
	check("pause() interrupted by a handled SIGALRM", pause() == -1 && errno == EINTR && got == SIGALRM);

	got = 0;
	pipe(pipefd);
	on(SIGALRM, feed_pipe, SA_RESTART);
	alarm(1);
	check("SA_RESTART restarts read(), the handler's write feeds it",
	      read(pipefd[0], &c, 1) == 1 && c == 'x' && got == SIGALRM);

	on(SIGUSR2, jump_out, 0);
	value = setjmp(escape);
	if (value == 0) {
		raise(SIGUSR2);
		check("longjmp out of a handler", 0);
	} else {
		sigemptyset(&unblock);
		sigaddset(&unblock, SIGUSR2);
		sigprocmask(SIG_UNBLOCK, &unblock, NULL);
		check("longjmp out of a handler", value == SIGUSR2 && getpid() == 1);
	}

	if (posix_spawn(&pid, "/init", NULL, NULL, child_argv, environ) == 0) {
		usleep(100000);
		kill(pid, SIGTERM);
		check("child killed by SIGTERM", waitpid(pid, &status, 0) == pid &&
		      WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	} else {
		check("child killed by SIGTERM", 0);
	}

	fflush(stdout);
	reboot(RB_POWER_OFF);
	return 1;
}
