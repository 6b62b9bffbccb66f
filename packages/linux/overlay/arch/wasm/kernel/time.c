// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time from the host: its monotonic clock in nanoseconds as the
 * clocksource and sched_clock, and a one-shot timer that raises IRQ_TIMER.
 */
#include <linux/clockchips.h>
#include <linux/delay.h>
#include <linux/clocksource.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/sched/clock.h>
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
