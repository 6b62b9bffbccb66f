// SPDX-License-Identifier: GPL-2.0-only
/*
 * linuxwasm bench: what a call from a module into the kernel costs (an
 * imported function of another instance), against the same call to a
 * function of the module itself. Both do what jiffies_to_msecs() does.
 */
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/timekeeping.h>

static int rounds = 4000000;
module_param(rounds, int, 0444);

static noinline unsigned int module_to_msecs(const unsigned long j)
{
	return (MSEC_PER_SEC / HZ) * j;
}

static int __init callbench_init(void)
{
	volatile unsigned int sink = 0;
	u64 start, kernel_ns, module_ns;
	int i;

	start = ktime_get_ns();
	for (i = 0; i < rounds; i++)
		sink += jiffies_to_msecs(i);
	kernel_ns = ktime_get_ns() - start;
	start = ktime_get_ns();
	for (i = 0; i < rounds; i++)
		sink += module_to_msecs(i);
	module_ns = ktime_get_ns() - start;
	pr_info("callbench: kernel %llu ps, module %llu ps\n",
		kernel_ns * 1000 / rounds, module_ns * 1000 / rounds);
	return 0;
}

static void __exit callbench_exit(void)
{
}

module_init(callbench_init);
module_exit(callbench_exit);
MODULE_LICENSE("GPL");
