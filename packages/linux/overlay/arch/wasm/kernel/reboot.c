// SPDX-License-Identifier: GPL-2.0-only
/* Power off, restart and halt all end the machine on the host. */
#include <linux/pm.h>
#include <linux/reboot.h>
#include <asm/host.h>

void (*pm_power_off)(void);
EXPORT_SYMBOL(pm_power_off);

void machine_power_off(void)
{
	wasm_host_halt(0, "power off");
}

void machine_halt(void)
{
	wasm_host_halt(0, "halt");
}

void machine_restart(char *cmd)
{
	wasm_host_halt(0, "restart");
}
