/* SPDX-License-Identifier: MIT */
/*
 * TCP request/response round trips, for linuxwasm bench, built for the
 * guest and natively:
 *
 *	tcp-rr serve PORT	answer each byte of each connection with itself
 *	tcp-rr ADDRESS PORT N	N one-byte round trips over one connection;
 *				prints "rr MEDIAN us"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void no_delay(int s)
{
	int one = 1;

	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int serve(int port)
{
	struct sockaddr_in where = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (void *)&where, sizeof(where)) || listen(s, 4)) {
		perror("tcp-rr: bind");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		char byte;

		if (c < 0)
			continue;
		no_delay(c);
		while (read(c, &byte, 1) == 1 && write(c, &byte, 1) == 1)
			;
		close(c);
	}
}

static int measure(const char *address, int port, int n)
{
	struct sockaddr_in where = { .sin_family = AF_INET, .sin_port = htons(port) };
	double *times = calloc(n, sizeof(*times));
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char byte = 'x';

	if (!times || inet_pton(AF_INET, address, &where.sin_addr) != 1 ||
	    connect(s, (void *)&where, sizeof(where))) {
		perror("tcp-rr: connect");
		return 1;
	}
	no_delay(s);
	for (int i = 0; i < n; i++) {
		double start = now_us();

		if (write(s, &byte, 1) != 1 || read(s, &byte, 1) != 1) {
			perror("tcp-rr: round trip");
			return 1;
		}
		times[i] = now_us() - start;
	}
	qsort(times, n, sizeof(*times), compare);
	printf("rr %.1f us\n", times[n / 2]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc == 4)
		return measure(argv[1], atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: tcp-rr serve PORT | tcp-rr ADDRESS PORT N\n");
	return 2;
}
