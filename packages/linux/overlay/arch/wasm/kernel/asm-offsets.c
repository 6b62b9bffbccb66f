// SPDX-License-Identifier: GPL-2.0-only
/* No assembly code in this port: nothing needs structure offsets. */
#include <linux/kbuild.h>

int main(void)
{
	return 0;
}
