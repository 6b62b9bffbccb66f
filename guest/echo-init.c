/* SPDX-License-Identifier: MIT */
/* An init that reads lines from the console and says what it got, until "off". */
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>

int main(void)
{
	char line[256];

	printf("echo: ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (strcmp(line, "off") == 0)
			break;
		printf("echo: got '%s'\n", line);
		fflush(stdout);
	}
	reboot(RB_POWER_OFF);
	return 1;
}
