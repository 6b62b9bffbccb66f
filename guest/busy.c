/* SPDX-License-Identifier: MIT */
/* A program that never makes a system call: it computes until killed. */
int main(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}
