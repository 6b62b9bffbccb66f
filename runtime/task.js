// A task's life on the host: its kernel entry, then its user programs
// until it exits. The same whether the task is a coroutine (coroutines.js)
// or has a host thread of its own (thread.js); only the way into Wasm
// differs.

import { TaskExit, readCString } from './abi.js';
import { NR_EXIT, NR_EXIT_GROUP, SIGILL, SIGSEGV, UserRestart } from './user-abi.js';

/**
 * Make the kernel instance the task's again: the imports' task, and the
 * kernel's `current` and stack pointer (arch/wasm/kernel/entry.c). Before
 * each piece of the task's life that starts from the host, since other
 * tasks may have run on the instance meanwhile.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 */
function enterTask(ctx, task) {
  ctx.task = task;
  task.kernelTop = ctx.kernel.exports.user_enter(task.id);
  task.kernelStacks = [];
}

/**
 * The user program a task starts on its way back to user space: an exec'd
 * program at its entry, or a clone child's function. Calls go through
 * `call` (plain, or a coroutine's way in); returns through an exception only.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 * @param {(fn: Function, shape: string, ...args: any[]) => any} call
 */
async function runUser(ctx, task, call) {
  enterTask(ctx, task);
  const next = task.next;
  task.next = null;
  if (!next) throw new Error('return to user space without a program');
  const { syscall } = ctx.kernel.exports;
  if (next.clone) {
    // A clone child: the parent's program and memory, on its own stack.
    const { module, memory, maxBytes, sp } = next.clone;
    const instance = new WebAssembly.Instance(module, { env: { memory }, linux: { syscall } });
    task.user = { module, memory, instance, maxBytes };
    ctx.post({ kind: 'program', task: task.id, memory });
    const [fn, arg] = new Uint32Array(memory.buffer, sp, 2);
    instance.exports.__stack_pointer.value = sp;
    const status = await call(instance.exports.__indirect_function_table.get(fn), 'i_i', arg);
    enterTask(ctx, task);
    await call(syscall, 'syscall', NR_EXIT, BigInt(status), 0n, 0n, 0n, 0n, 0n);
  } else {
    next.program.instance.exports.__stack_pointer.value = next.sp;
    await call(next.program.instance.exports._start, 'v');
    enterTask(ctx, task);
    await call(syscall, 'syscall', NR_EXIT_GROUP, 0n, 0n, 0n, 0n, 0n, 0n);
  }
  throw new Error('the exit system call returned');
}

/** The engine's error for a call stack too deep ("Maximum call stack size exceeded"). */
const isStackOverflow = (error) => error instanceof RangeError && /call stack/i.test(error.message);

/** A fault of the user program: a Wasm trap, or a stack overflow. */
const isFault = (error) => error instanceof WebAssembly.RuntimeError || isStackOverflow(error);

/** The signal a native CPU fault would give for this one. */
function faultSignal(error) {
  if (isStackOverflow(error)) return SIGSEGV;
  return /out of bounds|misaligned/.test(String(error.message)) ? SIGSEGV : SIGILL;
}

/**
 * A task's life on the host, from its kernel entry to its exit: the
 * kernel part, then its user programs one after the other (an exec ends
 * one with UserRestart). A program that traps gets SIGILL or SIGSEGV,
 * which normally ends the task (and the kernel reports it to the parent).
 * Never throws: the end is reported to the machine.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 * @param {(fn: Function, shape: string, ...args: any[]) => any} call  how to call into Wasm
 */
export async function liveTask(ctx, task, call) {
  const { kernel, post } = ctx;
  ctx.task = task;
  try {
    if (task.boot) await call(kernel.exports.boot, 'v');
    else await call(kernel.exports.task_entry, 'i', task.id);
    for (;;) {
      try {
        await runUser(ctx, task, call);
      } catch (error) {
        // The exception left kernel frames behind: the next piece starts
        // at the top of the task's kernel stack again (enterTask).
        if (error instanceof UserRestart) continue;
        if (!isFault(error) || !task.user) throw error;
        enterTask(ctx, task);
        await call(kernel.exports.user_fault, 'i', faultSignal(error));
        throw new Error(`user program survived a trap: ${error.message}`);
      }
    }
  } catch (error) {
    // A finished task must not keep its program and memory alive.
    Object.assign(task, { user: null, pending: null, image: null, next: null });
    if (error instanceof TaskExit) {
      post({ kind: 'exit', task: task.id });
      return;
    }
    // Naming the task only reads kernel memory: safe even after a trap.
    const name = readCString(ctx.memory, kernel.exports.current_comm());
    post({ kind: 'trap', task: task.id, name, message: String(error && error.stack ? error.stack : error) });
  }
}
