// SPDX-License-Identifier: GPL-2.0-only
/*
 * A character device that keeps what is written to it, until the next
 * write, and gives it back to whoever reads it. Its major number is the
 * kernel's choice (/proc/devices lists it):
 *
 *   insmod chardev.ko
 *   mknod /dev/chardev c $(awk '$2 == "chardev" {print $1}' /proc/devices) 0
 *   echo hello > /dev/chardev; cat /dev/chardev
 *
 * ioctl CHARDEV_CLEAR empties it; CHARDEV_SIZE returns how much it holds.
 */
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/ioctl.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

#define CHARDEV_CLEAR	_IO('c', 1)
#define CHARDEV_SIZE	_IO('c', 2)

static int major;
static DEFINE_MUTEX(lock);
static char held[256];
static size_t held_size;

static ssize_t chardev_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	ssize_t done;

	mutex_lock(&lock);
	done = simple_read_from_buffer(buf, count, pos, held, held_size);
	mutex_unlock(&lock);
	return done;
}

static ssize_t chardev_write(struct file *file, const char __user *buf, size_t count, loff_t *pos)
{
	size_t size = min(count, sizeof(held));

	mutex_lock(&lock);
	if (copy_from_user(held, buf, size)) {
		mutex_unlock(&lock);
		return -EFAULT;
	}
	held_size = size;
	mutex_unlock(&lock);
	return size;
}

static long chardev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	long ret = 0;

	mutex_lock(&lock);
	switch (cmd) {
	case CHARDEV_CLEAR:
		held_size = 0;
		break;
	case CHARDEV_SIZE:
		ret = held_size;
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&lock);
	return ret;
}

static const struct file_operations chardev_fops = {
	.owner = THIS_MODULE,
	.read = chardev_read,
	.write = chardev_write,
	.unlocked_ioctl = chardev_ioctl,
	.llseek = default_llseek,
};

static int __init chardev_init(void)
{
	major = register_chrdev(0, "chardev", &chardev_fops);
	if (major < 0)
		return major;
	pr_info("chardev: major %d\n", major);
	return 0;
}

static void __exit chardev_exit(void)
{
	unregister_chrdev(major, "chardev");
}

module_init(chardev_init);
module_exit(chardev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A character device that gives back what it was given");
