// SPDX-License-Identifier: GPL-2.0-only
/*
 * A file in /proc: /proc/procfile says how often it was read. seq_file
 * does the buffering, so the show function only prints.
 *
 *   insmod procfile.ko; cat /proc/procfile; cat /proc/procfile
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static struct proc_dir_entry *entry;
static atomic_t reads = ATOMIC_INIT(0);

static int procfile_show(struct seq_file *m, void *v)
{
	seq_printf(m, "read %d times\n", atomic_inc_return(&reads));
	return 0;
}

static int __init procfile_init(void)
{
	entry = proc_create_single("procfile", 0444, NULL, procfile_show);
	return entry ? 0 : -ENOMEM;
}

static void __exit procfile_exit(void)
{
	proc_remove(entry);
}

module_init(procfile_init);
module_exit(procfile_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A file in /proc");
