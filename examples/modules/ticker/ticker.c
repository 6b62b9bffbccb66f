// SPDX-License-Identifier: GPL-2.0-only
/*
 * Three ways for a module to do work later: a timer (runs in softirq
 * context, must not sleep), a work item (runs in a kernel worker thread,
 * may sleep) and a kernel thread of its own (sleeps between rounds). Each
 * counts its rounds in a read-only parameter:
 *
 *   insmod ticker.ko; sleep 1; cat /sys/module/ticker/parameters/*; rmmod ticker
 */
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

static int timer_rounds, work_rounds, thread_rounds;
module_param(timer_rounds, int, 0444);
module_param(work_rounds, int, 0444);
module_param(thread_rounds, int, 0444);

static struct timer_list timer;
static struct delayed_work work;
static struct task_struct *thread;

static void ticker_timer(struct timer_list *t)
{
	timer_rounds++;
	mod_timer(&timer, jiffies + msecs_to_jiffies(50));
}

static void ticker_work(struct work_struct *w)
{
	work_rounds++;
	msleep(10);	/* a work item may sleep */
	schedule_delayed_work(&work, msecs_to_jiffies(50));
}

static int ticker_thread(void *data)
{
	while (!kthread_should_stop()) {
		thread_rounds++;
		msleep_interruptible(50);
	}
	return 0;
}

static int __init ticker_init(void)
{
	thread = kthread_run(ticker_thread, NULL, "ticker");
	if (IS_ERR(thread))
		return PTR_ERR(thread);
	timer_setup(&timer, ticker_timer, 0);
	mod_timer(&timer, jiffies + msecs_to_jiffies(50));
	INIT_DELAYED_WORK(&work, ticker_work);
	schedule_delayed_work(&work, msecs_to_jiffies(50));
	return 0;
}

static void __exit ticker_exit(void)
{
	/* Nothing of the module may run once exit returns. */
	kthread_stop(thread);
	del_timer_sync(&timer);
	cancel_delayed_work_sync(&work);
	pr_info("ticker: %d timer, %d work and %d thread rounds\n",
		timer_rounds, work_rounds, thread_rounds);
}

module_init(ticker_init);
module_exit(ticker_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A timer, a work item and a kernel thread");
