// SPDX-License-Identifier: MIT
/*
 * A user program for the chardev module's ioctls (not part of the module:
 * build it with build/bin/wasm32-linux-musl-cc chardev-ioctl.c -o chardev-ioctl).
 *
 *   chardev-ioctl /dev/chardev size     prints how many bytes it holds
 *   chardev-ioctl /dev/chardev clear    empties it
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CHARDEV_CLEAR	_IO('c', 1)
#define CHARDEV_SIZE	_IO('c', 2)

int main(int argc, char **argv)
{
	int fd, ret;

	if (argc != 3 || (strcmp(argv[2], "size") && strcmp(argv[2], "clear"))) {
		fprintf(stderr, "usage: %s DEVICE size|clear\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	ret = ioctl(fd, strcmp(argv[2], "size") ? CHARDEV_CLEAR : CHARDEV_SIZE);
	if (ret < 0) {
		perror("ioctl");
		return 1;
	}
	if (!strcmp(argv[2], "size"))
		printf("%d\n", ret);
	close(fd);
	return 0;
}
