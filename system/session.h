/*
 * What init and the agent both start: a program as the leader of a new
 * session, with no signal blocked (both block the ones they sigwait() or
 * poll for), and the standard files that `files` gives it.
 */
#ifndef SYSTEM_SESSION_H
#define SYSTEM_SESSION_H

#include <signal.h>
#include <spawn.h>
#include <unistd.h>

/* posix_spawn() as a session leader; 0 or an error number. */
static int spawn_session(pid_t *pid, char *const argv[], const posix_spawn_file_actions_t *files)
{
	posix_spawnattr_t attr;
	sigset_t none;
	int err;

	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	err = posix_spawn(pid, argv[0], files, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	return err;
}

#endif /* SYSTEM_SESSION_H */
