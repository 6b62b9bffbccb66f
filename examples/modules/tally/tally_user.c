// SPDX-License-Identifier: GPL-2.0-only
/*
 * A module that uses another's exports (tally.c): loading it before
 * tally.ko fails with "Unknown symbol", and while it is loaded tally.ko
 * cannot be removed. It adds its parameter to the total when loaded and
 * takes it back when removed.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "tally.h"

static long add = 1;
module_param(add, long, 0444);
MODULE_PARM_DESC(add, "what to add to the total");

static int __init tally_user_init(void)
{
	pr_info("tally_user: added %ld, total %ld\n", add, tally_add(add));
	return 0;
}

static void __exit tally_user_exit(void)
{
	long total = tally_add(-add);

	pr_info("tally_user: took %ld back, total %ld (tally_total says %ld)\n", add, total, tally_total);
}

module_init(tally_user_init);
module_exit(tally_user_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Adds to the total of tally.ko");
MODULE_AUTHOR("linuxwasm");
