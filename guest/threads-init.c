/* SPDX-License-Identifier: MIT */
/*
 * An init with four POSIX threads: a mutex-protected counter, a condition
 * variable the threads wait on until main starts them, per-thread errno,
 * and pthread_join results. One line per check, then power off.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "finish.h"

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int started, counter;

static void *worker(void *arg)
{
	long id = (long)arg;

	pthread_mutex_lock(&lock);
	while (!started)
		pthread_cond_wait(&go, &lock);
	pthread_mutex_unlock(&lock);

	errno = 100 + id;	/* errno is per thread */
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(id * 10 + (errno == 100 + id));
}

int main(void)
{
	pthread_t threads[THREADS];
	int joined_ok = 1;

	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	pthread_mutex_lock(&lock);
	started = 1;
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&lock);

	errno = 0;
	for (long i = 0; i < THREADS; i++) {
		void *result;

		if (pthread_join(threads[i], &result) != 0 || (long)result != i * 10 + 1)
			joined_ok = 0;
	}
	printf("threads: counter %d of %d\n", counter, THREADS * ROUNDS);
	printf("threads: joined with their results and errno values: %s\n", joined_ok ? "ok" : "FAILED");
	printf("threads: main's errno untouched: %s\n", errno == 0 ? "ok" : "FAILED");
	finish(counter == THREADS * ROUNDS && joined_ok && errno == 0 ? 0 : 1);
}
