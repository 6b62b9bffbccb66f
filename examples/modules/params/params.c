// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module parameters of several types. Each is set on the insmod line
 * (insmod params.ko count=3 loud=1 names=a,b,c) and, with a mode, visible
 * afterwards in /sys/module/params/parameters/; a writable one (0644)
 * can be changed there by root while the module is loaded.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

static int count = 1;
module_param(count, int, 0644);
MODULE_PARM_DESC(count, "how many times to say it");

static bool loud;
module_param(loud, bool, 0444);
MODULE_PARM_DESC(loud, "shout");

static char *names[4];
static int nr_names;
module_param_array(names, charp, &nr_names, 0444);
MODULE_PARM_DESC(names, "up to four names, comma-separated");

static int __init params_init(void)
{
	int i;

	for (i = 0; i < count; i++)
		pr_info("params: %s %d of %d\n", loud ? "HELLO" : "hello", i + 1, count);
	for (i = 0; i < nr_names; i++)
		pr_info("params: name %d is %s\n", i, names[i]);
	return 0;
}

static void __exit params_exit(void)
{
	pr_info("params: count was %d at the end\n", count);
}

module_init(params_init);
module_exit(params_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Parameters of several types");
