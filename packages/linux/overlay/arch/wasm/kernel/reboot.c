// SPDX-License-Identifier: GPL-2.0-only
/*
 * Power off, restart and halt all end the machine on the host, which is
 * told which it was: a restart's command (reboot(2)'s RESTART2) is the
 * reason, for init to name one (system/init.c).
 */
#include <linux/init.h>
#include <linux/pm.h>
#include <linux/reboot.h>
#include <asm/host.h>

void machine_power_off(void)
{
	do_kernel_power_off();
	wasm_host_halt(0, "the guest powered off");
}

void machine_halt(void)
{
	wasm_host_halt(0, "the guest halted");
}

void machine_restart(char *cmd)
{
	wasm_host_halt(0, cmd && *cmd ? cmd : "the guest rebooted");
}

static void wasm_power_off(void)
{
	wasm_host_halt(0, "the guest powered off");
}

/* Without a power-off handler, reboot(POWER_OFF) would only halt. */
static int __init wasm_power_off_init(void)
{
	return register_platform_power_off(wasm_power_off);
}
device_initcall(wasm_power_off_init);
