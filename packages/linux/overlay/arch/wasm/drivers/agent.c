// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent channel, /dev/agent: a byte stream to and from the host, over
 * which the host's guest agent (system/agent.c) takes commands and files
 * and answers them. The host believes what comes out of it, so it belongs
 * to the agent alone: it opens once per boot, which init does for the
 * agent, and never again, for no one (root included, and through
 * /proc/PID/fd too), even after the agent has closed it; and only the
 * process that opened it may read or write it (not one that got the open
 * file another way, as with pidfd_getfd()).
 *
 * It is not a terminal: no line discipline stands between the agent and
 * the host, and no process gets it as a controlling terminal. Output is
 * synchronous (the host takes it before the write returns); input is in
 * the host's ring for the channel, announced with IRQ_AGENT.
 */
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/host.h>
#include <asm/irq.h>

#define AGENT_VTERM	1	/* the channel's number at the host */
#define AGENT_CHUNK	4096

static atomic_t agent_opened = ATOMIC_INIT(0);
static struct pid *agent_owner;		/* the process that opened it */
static DECLARE_WAIT_QUEUE_HEAD(agent_input_wait);

/*
 * Input taken from the host's ring and not read yet, under agent_input_lock
 * (the host's ring is read without sleeping, also from poll and the
 * wait's condition); agent_read_lock keeps reads whole, one at a time.
 */
static DEFINE_SPINLOCK(agent_input_lock);
static DEFINE_MUTEX(agent_read_lock);
static char agent_input[AGENT_CHUNK];
static size_t agent_input_len, agent_input_pos;

/* Whether input is waiting, taking more from the host if none is here. */
static bool agent_has_input(void)
{
	bool ready;

	spin_lock_irq(&agent_input_lock);
	if (agent_input_pos == agent_input_len) {
		agent_input_len = wasm_host_console_read(AGENT_VTERM, agent_input,
							 sizeof(agent_input));
		agent_input_pos = 0;
	}
	ready = agent_input_pos < agent_input_len;
	spin_unlock_irq(&agent_input_lock);
	return ready;
}

static bool agent_is_owner(void)
{
	return task_tgid(current) == agent_owner;
}

static int agent_open(struct inode *inode, struct file *file)
{
	if (atomic_xchg(&agent_opened, 1))
		return -EBUSY;
	agent_owner = get_pid(task_tgid(current));
	return stream_open(inode, file);
}

/* Take up to count bytes of the input that is here into buf; how many. */
static size_t agent_take_input(char *buf, size_t count)
{
	size_t n = 0;

	if (agent_has_input()) {
		spin_lock_irq(&agent_input_lock);
		n = min(count, agent_input_len - agent_input_pos);
		memcpy(buf, agent_input + agent_input_pos, n);
		agent_input_pos += n;
		spin_unlock_irq(&agent_input_lock);
	}
	return n;
}

static ssize_t agent_read(struct file *file, char __user *buf, size_t count,
			  loff_t *ppos)
{
	char *chunk;
	size_t n;
	ssize_t ret = 0;

	if (!agent_is_owner())
		return -EBUSY;
	if (!count)
		return 0;
	count = min_t(size_t, count, AGENT_CHUNK);
	chunk = kmalloc(AGENT_CHUNK, GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;
	if (mutex_lock_interruptible(&agent_read_lock)) {
		kfree(chunk);
		return -ERESTARTSYS;
	}
	while (!(n = agent_take_input(chunk, count))) {
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(agent_input_wait, agent_has_input());
		if (ret)
			goto out;
	}
	ret = copy_to_user(buf, chunk, n) ? -EFAULT : n;
out:
	mutex_unlock(&agent_read_lock);
	kfree(chunk);
	return ret;
}

static ssize_t agent_write(struct file *file, const char __user *buf,
			   size_t count, loff_t *ppos)
{
	char *chunk;
	size_t done = 0;

	if (!agent_is_owner())
		return -EBUSY;
	chunk = kmalloc(AGENT_CHUNK, GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;
	while (done < count) {
		size_t n = min_t(size_t, count - done, AGENT_CHUNK);

		if (copy_from_user(chunk, buf + done, n)) {
			kfree(chunk);
			return done ? done : -EFAULT;
		}
		wasm_host_console_write(AGENT_VTERM, chunk, n);
		done += n;
	}
	kfree(chunk);
	return done;
}

static __poll_t agent_poll(struct file *file, poll_table *wait)
{
	if (!agent_is_owner())
		return EPOLLERR;
	poll_wait(file, &agent_input_wait, wait);
	return EPOLLOUT | EPOLLWRNORM | (agent_has_input() ? EPOLLIN | EPOLLRDNORM : 0);
}

static const struct file_operations agent_fops = {
	.owner		= THIS_MODULE,
	.open		= agent_open,
	.read		= agent_read,
	.write		= agent_write,
	.poll		= agent_poll,
	.llseek		= no_llseek,
};

static struct miscdevice agent_device = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "agent",
	.fops	= &agent_fops,
	.mode	= 0600,
};

static irqreturn_t agent_interrupt(int irq, void *dev_id)
{
	wake_up_interruptible(&agent_input_wait);
	return IRQ_HANDLED;
}

static int __init agent_init(void)
{
	int err = request_irq(IRQ_AGENT, agent_interrupt, 0, "agent", NULL);

	return err ? err : misc_register(&agent_device);
}
device_initcall(agent_init);
