/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmarks, built both for the guest (musl, Wasm) and natively with
 * the host's compiler, so that linuxwasm bench can report ratios from one
 * run. Prints "name value unit" lines. As init (pid 1) it powers off at
 * the end; "bench true" exits at once (the program spawned). Built with
 * BENCH_NO_FORK it does not fork, so that it is not rewritten for fork
 * (src/linuxwasm/forkable.py): what that costs the compute loop.
 */
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void bench_getppid(void)
{
	const int n = 200000;
	double start = now_ns();

	for (int i = 0; i < n; i++)
		getppid();
	printf("getppid %.1f ns\n", (now_ns() - start) / n);
}

static void bench_spawn(const char *self)
{
	enum { N = 1000 };
	static double times[N];
	char *argv[] = { (char *)self, "true", NULL };

	for (int i = 0; i < N; i++) {
		double start = now_ns();
		pid_t pid;
		int status;

		if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0 ||
		    waitpid(pid, &status, 0) != pid) {
			printf("spawn failed\n");
			return;
		}
		times[i] = now_ns() - start;
	}
	qsort(times, N, sizeof(times[0]), compare);
	printf("spawn %.1f us\n", times[N / 2] / 1e3);
}

#ifndef BENCH_NO_FORK
/* fork, _exit in the child, waitpid: the median, with size bytes of memory in use. */
static void bench_fork(const char *name, size_t size, int n)
{
	static double times[1000];
	char *memory = size ? malloc(size) : NULL;

	if (size && !memory) {
		printf("fork: no memory\n");
		return;
	}
	for (size_t i = 0; i < size; i += 4096)
		memory[i] = 1;
	for (int i = 0; i < n; i++) {
		double start = now_ns();
		pid_t pid = fork();
		int status;

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			printf("fork failed\n");
			return;
		}
		times[i] = now_ns() - start;
	}
	qsort(times, n, sizeof(times[0]), compare);
	printf("%s %.1f us\n", name, times[n / 2] / 1e3);
	free(memory);
}
#endif

/*
 * A function of its own, as compute code usually is: inlined into main,
 * which is on the path to fork, it would be rewritten with it and run
 * about 40% slower (Asyncify flattens the functions it rewrites).
 */
static __attribute__((noinline)) void bench_compute(void)
{
	/* Integer work that the compiler cannot fold: a xorshift PRNG walk. */
	unsigned long long x = 88172645463325252ULL, sum = 0;
	double start = now_ns();

	for (int i = 0; i < 100000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum += x & 0xff;
	}
	printf("compute %.1f ms\n", (now_ns() - start) / 1e6);
	if (sum == 42)
		printf("(unlikely)\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "true") == 0)
		return 0;
	bench_getppid();
	bench_spawn(argv[0]);
#ifndef BENCH_NO_FORK
	bench_fork("fork", 0, 1000);
	bench_fork("fork64", 64 << 20, 20);
#endif
	bench_compute();
	fflush(stdout);
	if (getpid() == 1)
		reboot(RB_POWER_OFF);
	return 0;
}
