// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time from the host: its monotonic clock in nanoseconds as the
 * clocksource and sched_clock, a one-shot timer that raises IRQ_TIMER, and
 * its wall clock, which sets the guest's at boot and keeps it in step.
 */
#include <linux/clockchips.h>
#include <linux/delay.h>
#include <linux/clocksource.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/sched/clock.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <asm/host.h>

static u64 wasm_clock_read(struct clocksource *cs)
{
	return (u64)wasm_host_clock_ns();
}

static struct clocksource wasm_clocksource = {
	.name	= "wasm-host",
	.rating	= 300,
	.read	= wasm_clock_read,
	.mask	= CLOCKSOURCE_MASK(64),
	.flags	= CLOCK_SOURCE_IS_CONTINUOUS,
};

unsigned long long notrace sched_clock(void)
{
	return (u64)wasm_host_clock_ns();
}

static int wasm_timer_next_event(unsigned long delta_ns,
				 struct clock_event_device *evt)
{
	wasm_host_timer_set(delta_ns);
	return 0;
}

static struct clock_event_device wasm_clockevent = {
	.name			= "wasm-host",
	.features		= CLOCK_EVT_FEAT_ONESHOT,
	.rating			= 300,
	.set_next_event		= wasm_timer_next_event,
};

static irqreturn_t wasm_timer_interrupt(int irq, void *dev_id)
{
	struct clock_event_device *evt = dev_id;

	evt->event_handler(evt);
	return IRQ_HANDLED;
}

/* Busy waits: spin on the host clock, there is no cycle counter. */
void __delay(unsigned long loops)
{
	u64 end = sched_clock() + loops;

	while (sched_clock() < end)
		cpu_relax();
}

void __ndelay(unsigned long nsecs)
{
	__delay(nsecs);
}

void __udelay(unsigned long usecs)
{
	__delay(usecs * NSEC_PER_USEC);
}

/* xloops is a delay in seconds scaled by 2^32 (asm-generic/delay.h). */
void __const_udelay(unsigned long xloops)
{
	__delay(((u64)xloops * NSEC_PER_SEC) >> 32);
}

static struct timespec64 wasm_realtime(void)
{
	s64 ms = (s64)wasm_host_realtime_ms();

	return ns_to_timespec64(ms * NSEC_PER_MSEC);
}

/* The wall clock at boot, for timekeeping_init(). */
void read_persistent_clock64(struct timespec64 *ts)
{
	*ts = wasm_realtime();
}

/*
 * The host's wall clock moves against its monotonic clock when the host
 * steps its time (NTP) or sleeps (a laptop's suspend, a browser's frozen
 * tab), and so the guest's clock, which runs on the monotonic one, falls
 * behind. Every few seconds of activity compare the two offsets and move
 * the guest's clock by what the host's moved: a time set in the guest
 * (date -s) stays as set. The work is deferrable: it never wakes an idle
 * machine, and runs at the first wakeup after a sleep.
 */
#define RESYNC_PERIOD	(10 * HZ)
#define RESYNC_SLACK_NS	(100 * NSEC_PER_MSEC)

static s64 host_offset_ns;	/* host wall clock minus host monotonic */
static void wasm_resync(struct work_struct *work);
static DECLARE_DEFERRABLE_WORK(wasm_resync_work, wasm_resync);

static s64 wasm_host_offset_ns(void)
{
	return (s64)wasm_host_realtime_ms() * NSEC_PER_MSEC - (s64)wasm_host_clock_ns();
}

static void wasm_resync(struct work_struct *work)
{
	s64 offset = wasm_host_offset_ns();
	s64 moved = offset - host_offset_ns;

	if (moved > RESYNC_SLACK_NS || moved < -RESYNC_SLACK_NS) {
		struct timespec64 now;

		ktime_get_real_ts64(&now);
		now = timespec64_add(now, ns_to_timespec64(moved));
		if (!do_settimeofday64(&now))
			host_offset_ns = offset;
	}
	queue_delayed_work(system_power_efficient_wq, &wasm_resync_work, RESYNC_PERIOD);
}

static int __init wasm_resync_init(void)
{
	host_offset_ns = wasm_host_offset_ns();
	queue_delayed_work(system_power_efficient_wq, &wasm_resync_work, RESYNC_PERIOD);
	return 0;
}
late_initcall(wasm_resync_init);

void __init time_init(void)
{
	int err;

	/* A "loop" of __delay() is a nanosecond: nothing to calibrate. */
	lpj_fine = NSEC_PER_SEC / HZ;

	err = clocksource_register_hz(&wasm_clocksource, NSEC_PER_SEC);
	if (err)
		panic("wasm: cannot register the host clock: %d\n", err);

	err = request_irq(IRQ_TIMER, wasm_timer_interrupt, IRQF_TIMER,
			  "timer", &wasm_clockevent);
	if (err)
		panic("wasm: cannot request the timer interrupt: %d\n", err);

	wasm_clockevent.cpumask = cpumask_of(0);
	wasm_clockevent.irq = IRQ_TIMER;
	/* The clock counts nanoseconds: 1 ns per tick, any delay up to ~4 s. */
	clockevents_config_and_register(&wasm_clockevent, NSEC_PER_SEC,
					1000, ULONG_MAX);
}
