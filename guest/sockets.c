/* SPDX-License-Identifier: MIT */
/*
 * Sockets in the guest, one line per check ("ok NAME" or "FAIL NAME: why"):
 * Unix stream and datagram sockets (by path and as a pair), TCP and UDP
 * over 127.0.0.1 and ::1, and poll, select and epoll waiting on them.
 * Run from the shell by tests/test_network.py; the exit status is the
 * count of failures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "finish.h"

static int failures;

static void check(const char *name, int ok, const char *why)
{
	if (ok) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s: %s (%s)\n", name, why, strerror(errno));
		failures++;
	}
}

/* Send "ping" on a, expect it on b, answer "pong" and expect that on a. */
static int ping_pong(int a, int b)
{
	char buf[8] = "";

	return write(a, "ping", 4) == 4 && read(b, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4) &&
	       write(b, "pong", 4) == 4 && read(a, buf, sizeof(buf)) == 4 && !memcmp(buf, "pong", 4);
}

static void unix_pairs(void)
{
	int sv[2];

	check("unix stream pair", !socketpair(AF_UNIX, SOCK_STREAM, 0, sv) && ping_pong(sv[0], sv[1]),
	      "socketpair");
	close(sv[0]);
	close(sv[1]);
	check("unix datagram pair", !socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) && ping_pong(sv[0], sv[1]),
	      "socketpair");
	close(sv[0]);
	close(sv[1]);
}

static void unix_paths(void)
{
	struct sockaddr_un where = { .sun_family = AF_UNIX, .sun_path = "/tmp/sockets-test.sock" };
	struct sockaddr_un from = { .sun_family = AF_UNIX, .sun_path = "/tmp/sockets-test-client.sock" };
	int server, client, peer = -1;

	unlink(where.sun_path);
	server = socket(AF_UNIX, SOCK_STREAM, 0);
	client = socket(AF_UNIX, SOCK_STREAM, 0);
	check("unix stream by path",
	      !bind(server, (void *)&where, sizeof(where)) && !listen(server, 4) &&
	      !connect(client, (void *)&where, sizeof(where)) &&
	      (peer = accept(server, NULL, NULL)) >= 0 && ping_pong(client, peer), "bind/connect/accept");
	close(peer);
	close(client);
	close(server);
	unlink(where.sun_path);

	server = socket(AF_UNIX, SOCK_DGRAM, 0);
	client = socket(AF_UNIX, SOCK_DGRAM, 0);
	unlink(from.sun_path);
	check("unix datagram by path",
	      !bind(server, (void *)&where, sizeof(where)) && !bind(client, (void *)&from, sizeof(from)) &&
	      !connect(client, (void *)&where, sizeof(where)) && !connect(server, (void *)&from, sizeof(from)) &&
	      ping_pong(client, server), "bind/connect");
	close(client);
	close(server);
	unlink(where.sun_path);
	unlink(from.sun_path);
}

/* A listening or bound socket of type on the loopback address of family; its address in where. */
static int bound(int family, int type, struct sockaddr_storage *where, socklen_t *len)
{
	int s = socket(family, type, 0);

	memset(where, 0, sizeof(*where));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)where;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)where;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		*len = sizeof(*in6);
	}
	if (s < 0 || bind(s, (void *)where, *len) || getsockname(s, (void *)where, len) ||
	    (type == SOCK_STREAM && listen(s, 8)))
		return -1;
	return s;
}

static void inet(int family, const char *name)
{
	struct sockaddr_storage where;
	socklen_t len;
	char label[64];
	int server, client, peer = -1;

	server = bound(family, SOCK_STREAM, &where, &len);
	client = socket(family, SOCK_STREAM, 0);
	snprintf(label, sizeof(label), "tcp %s", name);
	check(label, server >= 0 && !connect(client, (void *)&where, len) &&
	      (peer = accept(server, NULL, NULL)) >= 0 && ping_pong(client, peer), "listen/connect/accept");
	close(peer);
	close(client);
	close(server);

	server = bound(family, SOCK_DGRAM, &where, &len);
	client = socket(family, SOCK_DGRAM, 0);
	snprintf(label, sizeof(label), "udp %s", name);
	{
		struct sockaddr_storage mine;
		socklen_t mine_len = sizeof(mine);

		check(label, server >= 0 && !connect(client, (void *)&where, len) &&
		      !getsockname(client, (void *)&mine, &mine_len) &&
		      !connect(server, (void *)&mine, mine_len) && ping_pong(client, server), "bind/connect");
	}
	close(client);
	close(server);
}

/* Each way of waiting sees a socket become readable, and not before. */
static void waiting(void)
{
	struct epoll_event event = { .events = EPOLLIN }, got;
	struct pollfd pfd;
	struct timeval none = { 0, 0 };
	fd_set readable;
	int sv[2], ep;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pfd = (struct pollfd){ .fd = sv[1], .events = POLLIN };
	check("poll: nothing yet", poll(&pfd, 1, 0) == 0, "poll");
	write(sv[0], "x", 1);
	check("poll: readable", poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN), "poll");

	FD_ZERO(&readable);
	FD_SET(sv[1], &readable);
	check("select: readable", select(sv[1] + 1, &readable, NULL, NULL, &none) == 1 &&
	      FD_ISSET(sv[1], &readable), "select");

	ep = epoll_create1(0);
	event.data.fd = sv[1];
	check("epoll: readable", ep >= 0 && !epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &event) &&
	      epoll_wait(ep, &got, 1, 1000) == 1 && got.data.fd == sv[1], "epoll");
	read(sv[1], (char[1]){ 0 }, 1);
	check("epoll: drained", epoll_wait(ep, &got, 1, 0) == 0, "epoll");
	close(ep);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	unix_pairs();
	unix_paths();
	inet(AF_INET, "127.0.0.1");
	inet(AF_INET6, "::1");
	waiting();
	finish(failures);
	return failures;
}
