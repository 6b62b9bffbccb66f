// SPDX-License-Identifier: GPL-2.0-only
/*
 * A module that other modules build on: it keeps a running total and
 * exports what works on it, as drivers export helpers to each other.
 * tally_user.c (in this folder) uses them.
 *
 *   insmod tally.ko
 *   insmod tally_user.ko add=5
 *   lsmod                      (tally is "used by" tally_user)
 *   rmmod tally                (refused while tally_user is loaded)
 *   rmmod tally_user; rmmod tally
 */
#include <linux/export.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/printk.h>

#include "tally.h"

static DEFINE_MUTEX(tally_lock);

/* Data can be exported too; users read it, tally_add() writes it. */
long tally_total;
EXPORT_SYMBOL_GPL(tally_total);

/* Adds n to the total and returns the new total. */
long tally_add(long n)
{
	long total;

	mutex_lock(&tally_lock);
	tally_total += n;
	total = tally_total;
	mutex_unlock(&tally_lock);
	return total;
}
EXPORT_SYMBOL(tally_add);

/* Sets the total back to zero and returns what it was. */
long tally_reset(void)
{
	long was;

	mutex_lock(&tally_lock);
	was = tally_total;
	tally_total = 0;
	mutex_unlock(&tally_lock);
	return was;
}
EXPORT_SYMBOL_GPL(tally_reset);

static int __init tally_init(void)
{
	pr_info("tally: ready, total %ld\n", tally_total);
	return 0;
}

static void __exit tally_exit(void)
{
	pr_info("tally: gone, total was %ld\n", tally_total);
}

module_init(tally_init);
module_exit(tally_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keeps a total that other modules add to");
MODULE_AUTHOR("linuxwasm");
