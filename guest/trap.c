/* SPDX-License-Identifier: MIT */
/* An init that traps at once: the kernel must panic, not hang. */
void _start(void)
{
	__builtin_trap();
}
