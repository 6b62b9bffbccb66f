// SPDX-License-Identifier: GPL-2.0-only
/*
 * The smallest module worth loading: it greets when it is loaded and says
 * goodbye when it is removed, in the kernel log (dmesg).
 *
 *   insmod hello.ko who=reader
 *   dmesg | tail -1
 *   rmmod hello
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

/* A parameter: insmod hello.ko who=..., then /sys/module/hello/parameters/who. */
static char *who = "world";
module_param(who, charp, 0444);
MODULE_PARM_DESC(who, "whom to greet");

static int __init hello_init(void)
{
	pr_info("hello: hello, %s\n", who);
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("hello: goodbye, %s\n", who);
}

module_init(hello_init);
module_exit(hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Says hello and goodbye");
MODULE_AUTHOR("linuxwasm");
