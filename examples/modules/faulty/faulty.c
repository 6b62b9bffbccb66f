// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bugs on purpose, to see what a bug in a module does: the kernel prints
 * an oops naming the module and the function (dmesg), the task that ran
 * into it is killed, and the system goes on. Write the name of a bug to
 * /proc/faulty:
 *
 *   insmod faulty.ko
 *   sh -c 'echo null > /proc/faulty'     # a write through a NULL pointer
 *   sh -c 'echo bug > /proc/faulty'      # BUG(): the kernel's "cannot happen"
 *   echo thread > /proc/faulty           # a kernel thread that runs into BUG()
 *   dmesg | tail -20
 *
 * The first two kill the shell that wrote (Segmentation fault), hence the
 * sh -c; the third kills only the thread. As on Linux, the kernel is
 * tainted (D) from then on, and a module that died inside a write of its
 * /proc file cannot be removed: proc_remove() waits for that write to
 * end, which it never will (rmmod hangs; start a new machine). After the
 * thread's death, rmmod works.
 */
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/string.h>
#include <linux/uaccess.h>

struct counter {
	int hits;
};

/* noinline: each bug has a function of its own to be named in the oops. */
static noinline void faulty_null_write(struct counter *counter)
{
	counter->hits++;
}

static noinline void faulty_bug(void)
{
	BUG();
}

static int faulty_thread(void *unused)
{
	faulty_bug();
	return 0;
}

static ssize_t faulty_write(struct file *file, const char __user *buf, size_t count, loff_t *pos)
{
	/* volatile: the compiler must not see the NULL coming and drop the write. */
	struct counter *volatile nothing = NULL;
	char what[16] = "";

	if (copy_from_user(what, buf, min(count, sizeof(what) - 1)))
		return -EFAULT;
	strim(what);
	if (!strcmp(what, "null"))
		faulty_null_write(nothing);
	else if (!strcmp(what, "bug"))
		faulty_bug();
	else if (!strcmp(what, "thread"))
		return PTR_ERR_OR_ZERO(kthread_run(faulty_thread, NULL, "faulty")) ?: count;
	else
		return -EINVAL;
	return count;
}

static const struct proc_ops faulty_ops = {
	.proc_write	= faulty_write,
};

static struct proc_dir_entry *entry;

static int __init faulty_init(void)
{
	entry = proc_create("faulty", 0200, NULL, &faulty_ops);
	return entry ? 0 : -ENOMEM;
}

static void __exit faulty_exit(void)
{
	proc_remove(entry);
}

module_init(faulty_init);
module_exit(faulty_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Bugs on purpose: NULL pointers and BUG()");
