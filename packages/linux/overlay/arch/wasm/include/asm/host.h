/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's whole interface to the host runtime: every function the
 * kernel imports from it. The host's side of this ABI is runtime/abi.js,
 * with task_switch and the other tasking imports in runtime/coroutines.js
 * and runtime/thread.js, and user_call in runtime/glue.js; keep them in step.
 *
 * Imports take and return plain integers and kernel addresses; the host
 * reads and writes the shared kernel memory directly.
 */
#ifndef _ASM_WASM_HOST_H
#define _ASM_WASM_HOST_H

#include <linux/types.h>

#define __host_import(name) \
	__attribute__((import_module("host"), import_name(#name)))
#define __host_export(name) __attribute__((export_name(#name), used))

/* Boot: sizes and contents the host hands over once. */
unsigned int wasm_host_cmdline(char *buf, unsigned int size) __host_import(cmdline);
unsigned int wasm_host_initrd_size(void) __host_import(initrd_size);
void wasm_host_initrd_copy(void *dst) __host_import(initrd_copy);

/* Where the host sets interrupt bits (see asm/irqflags.h). */
void wasm_host_irq_init(unsigned int *pending) __host_import(irq_init);
/*
 * The CPU has nothing to run: return once *pending is non-zero. The host
 * may use the time first (to collect its garbage).
 */
void wasm_host_idle(unsigned int *pending) __host_import(idle);

/*
 * The host's terminals: 0 is the console, 1 the channel of the host's
 * guest agent (drivers/agent.c), 2 the kernel log's. Output is
 * synchronous; input arrives as IRQ_CONSOLE, IRQ_AGENT or IRQ_LOG.
 */
void wasm_host_console_write(unsigned int vtermno, const char *buf, unsigned int len) __host_import(console_write);
unsigned int wasm_host_console_read(unsigned int vtermno, char *buf, unsigned int len) __host_import(console_read);
/* A terminal's window size: rows << 16 | columns, 0 if it has none. */
unsigned int wasm_host_console_size(unsigned int vtermno) __host_import(console_size);

/*
 * Monotonic time in nanoseconds, as a double: exact to 2^53 ns (104 days)
 * and no BigInt on the host side. The host raises IRQ_TIMER once the
 * delay given to timer_set() has passed.
 */
double wasm_host_clock_ns(void) __host_import(clock_ns);
/* The host's wall clock: milliseconds since the epoch, as a double. */
double wasm_host_realtime_ms(void) __host_import(realtime_ms);
void wasm_host_timer_set(double delay_ns) __host_import(timer_set);

/*
 * User memory: the current task's process memory, a Wasm memory of its
 * own. Each returns what uaccess.h promises: bytes not copied, or for the
 * string calls the kernel's usual result (-EFAULT on a bad address).
 */
unsigned long wasm_host_copy_from_user(void *to, const void __user *from, unsigned long n) __host_import(copy_from_user);
unsigned long wasm_host_copy_to_user(void __user *to, const void *from, unsigned long n) __host_import(copy_to_user);
unsigned long wasm_host_clear_user(void __user *to, unsigned long n) __host_import(clear_user);
long wasm_host_strncpy_from_user(char *dst, const char __user *src, long count) __host_import(strncpy_from_user);
long wasm_host_strnlen_user(const char __user *src, long n) __host_import(strnlen_user);

/*
 * Atomic operations on user memory for futexes (asm/futex.h): 0 with the
 * old value in *old, or -EFAULT. op is a FUTEX_OP_* arithmetic operation.
 */
int wasm_host_user_atomic_op(int op, u32 arg, int *old, u32 __user *uaddr) __host_import(user_atomic_op);
int wasm_host_user_cmpxchg(u32 *old, u32 __user *uaddr, u32 expected, u32 new) __host_import(user_cmpxchg);

/*
 * Tasks (arch/wasm/kernel/process.c). coroutines: nonzero if the host runs
 * all tasks on one thread, switching stacks; task_switch then suspends the
 * current task and resumes (or starts) next, returning when a switch comes
 * back to the current task, never if prev_dead. Otherwise each task runs on
 * a host thread of its own: task_spawn starts the thread of a task that
 * never ran (user is nonzero for a clone of a user program, whose program
 * the host was given by user_clone, below) and task_exit leaves the thread
 * of a dead task.
 */
int wasm_host_coroutines(void) __host_import(coroutines);
void wasm_host_task_switch(struct task_struct *next, int prev_dead) __host_import(task_switch);
void wasm_host_task_spawn(struct task_struct *task, int user) __host_import(task_spawn);
void __noreturn wasm_host_task_exit(void) __host_import(task_exit);

/* The host's view of this thread's Wasm call stack, as text. */
unsigned int wasm_host_backtrace(char *buf, unsigned int size) __host_import(backtrace);

/*
 * The trap that made the host call wasm_fault() (traps.c): the engine's
 * message, a newline, then the call stack where it happened, as text.
 */
unsigned int wasm_host_fault_text(char *buf, unsigned int size) __host_import(fault_text);

/*
 * User programs. The host compiles each program once per machine and
 * knows it by the key of its file (device, inode, change time, size).
 * exec_cached: take the program of that key for the current task's exec
 * (-ENOENT if the key is new). Otherwise the file's bytes go over in
 * pieces (exec_begin with the size, exec_chunk) and exec_load compiles
 * and checks them, remembering them under the key. Both return the size
 * of the program's initial memory in Wasm pages, or -ENOEXEC.
 * exec_instantiate: make that memory and an instance in it (0 or
 * -ENOEXEC), once the kernel has counted the memory. exec_commit:
 * past the point of no return, make that memory the task's user memory;
 * returns the program's initial stack pointer. exec_start: the program
 * starts with this stack pointer on the next return to user space.
 * user_grow: make user memory reach at least size bytes; returns its size
 * then (less than size if it cannot grow). user_max: the most it can grow
 * to.
 * user_sp: the program's stack pointer now. user_call: call a signal
 * handler fn(sig, info, uc) in the program, on the stack sp.
 * user_clone: the child shares the caller's program and memory and starts
 * on the stack sp. user_fork: the child gets a copy of the caller's
 * program and memory and goes on where the caller's fork call is; 0 or
 * -errno (-ENOSYS if the program cannot fork). user_forget: the clone or
 * fork child never runs; the host drops what it was given. user_restart: leave the user program that made the
 * system call in progress (exec replaced it); does not return.
 */
int wasm_host_exec_cached(const char *key) __host_import(exec_cached);
void wasm_host_exec_begin(unsigned long size) __host_import(exec_begin);
void wasm_host_exec_chunk(const void *buf, unsigned long len) __host_import(exec_chunk);
int wasm_host_exec_load(const char *key) __host_import(exec_load);
int wasm_host_exec_instantiate(void) __host_import(exec_instantiate);
unsigned long wasm_host_exec_commit(void) __host_import(exec_commit);
void wasm_host_exec_start(unsigned long sp) __host_import(exec_start);
unsigned long wasm_host_user_grow(unsigned long size) __host_import(user_grow);
unsigned long wasm_host_user_sp(void) __host_import(user_sp);
void wasm_host_user_call(unsigned long fn, int sig, void __user *info, void __user *uc,
			 unsigned long sp) __host_import(user_call);
unsigned long wasm_host_user_max(void) __host_import(user_max);
void wasm_host_user_clone(struct task_struct *child, unsigned long sp) __host_import(user_clone);
int wasm_host_user_fork(struct task_struct *child) __host_import(user_fork);
void wasm_host_user_forget(struct task_struct *child) __host_import(user_forget);
void __noreturn wasm_host_user_restart(void) __host_import(user_restart);

/*
 * Device registers (asm/io.h): a read or write of size 1, 2 or 4 bytes at
 * a bus address of a device the host put on the kernel command line
 * (virtio_mmio.device=). A read elsewhere gives all ones, as a bus does.
 */
u32 wasm_host_mmio_read(unsigned long addr, unsigned int size) __host_import(mmio_read);
void wasm_host_mmio_write(unsigned long addr, unsigned int size, u32 value) __host_import(mmio_write);

/*
 * Loadable modules (arch/wasm/kernel/module.c), each known to the host by
 * an id, and named as the kernel names it. module_load: compile the Wasm
 * side module of size bytes at wasm and instantiate it in this thread's
 * kernel instance, its data region the region_size bytes at memory_base
 * (already filled by the loader), its imports of kernel functions and
 * data the count values at imports, in the order the module lists them;
 * then run its data relocations. Returns the first of the kernel table's
 * slots its functions fill, or -ENOEXEC with the reason, a string, in
 * why. module_forget: the module is gone.
 * With a host thread per task, a thread that takes the CPU first lists
 * every loaded module with module_attach (the same arguments, and the
 * table slot it has), then calls modules_attached: its kernel instance
 * then has those modules, at their slots, and no other.
 */
int wasm_host_module_load(unsigned int id, const char *name,
			  const void *wasm, unsigned long size,
			  unsigned long memory_base, unsigned long region_size,
			  const u32 *imports, unsigned int count,
			  char *why, unsigned int why_size) __host_import(module_load);
void wasm_host_module_forget(unsigned int id) __host_import(module_forget);
void wasm_host_module_attach(unsigned int id, const char *name,
			     const void *wasm, unsigned long size,
			     unsigned long memory_base, const u32 *imports, unsigned int count,
			     int table_base) __host_import(module_attach);
void wasm_host_modules_attached(void) __host_import(modules_attached);

/* Machine state the user should see: power off, restart, panic. */
void __noreturn wasm_host_halt(int status, const char *msg) __host_import(halt);

#endif /* _ASM_WASM_HOST_H */
