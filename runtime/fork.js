// fork() for user programs. Wasm cannot copy a call stack, so a program
// that forks was rewritten when it was linked (Binaryen's Asyncify, only
// on the paths to its linux.fork import: src/linuxwasm/forkable.py), and
// fork happens in three steps on the task's host thread:
//
// 1. The program calls linux.fork(buf, size) (musl's _Fork, with every
//    signal blocked). The import starts an unwind into buf: each function
//    on the stack saves its locals there and returns, up to the piece of
//    the task's life that runs the program (task.js), which returns.
// 2. The host has the kernel make the child (clone without CLONE_VM). Its
//    copy_thread() calls user_fork, which copies the memory (which holds
//    buf and every stack frame's memory), the mutable globals (stack and
//    thread pointers) and the piece that ran the program.
// 3. Parent and child each call that piece again, rewinding: every
//    function takes its locals back and calls on, down to the import,
//    which returns the child's pid in the parent (or -errno), 0 in the child.
//
// Programs that never fork are not rewritten and pay nothing.

import { ENOSYS, NR_CLONE, SIGCHLD, WASM_PAGE } from './user-abi.js';

const EFAULT = 14;
const ENOMEM = 12;

/** Where a task's fork stands (TaskState.fork). */
const UNWINDING = 1;
const UNWOUND = 2;
const REWINDING = 3;

/** The piece of a task's life that runs a program at its entry (task.js). */
export const START = Object.freeze({ start: true });

/** What a fork child copies of its parent's instance globals. */
const copiedGlobal = (name) => name === '__stack_pointer' || name.startsWith('fork.global.');

/**
 * The imports of a user program's instance (user-abi.js).
 * @param {import('./abi.js').TaskContext} ctx
 * @param {WebAssembly.Memory} memory
 */
export function programImports(ctx, memory) {
  return { env: { memory }, linux: { syscall: ctx.kernel.exports.syscall, fork: (buf, size) => forkCall(ctx, buf, size) } };
}

/**
 * The linux.fork import: start the unwind, or end the rewind and return
 * the result. Everything in the call is the program's: checked.
 * @param {import('./abi.js').TaskContext} ctx
 */
function forkCall(ctx, buf, size) {
  const task = ctx.task;
  const program = task.user.instance.exports;
  const fork = task.fork;
  if (fork && fork.stage === REWINDING) {
    program.asyncify_stop_rewind();
    task.fork = null;
    return fork.result;
  }
  // A signal handler's frames are below the kernel's, which cannot unwind.
  if (fork || typeof program.asyncify_start_unwind !== 'function' || task.kernelStacks.length) return -ENOSYS;
  buf >>>= 0;
  size >>>= 0;
  if (buf & 3 || size < 16 || buf + size > task.user.memory.buffer.byteLength) return -EFAULT;
  new Int32Array(task.user.memory.buffer, buf, 2).set([buf + 8, buf + size]);
  task.fork = { stage: UNWINDING, buf, result: 0 };
  program.asyncify_start_unwind(buf);
  return 0;
}

/**
 * Run a program's piece (START or a clone child's function) to its end,
 * forking each time it comes back unwound. Yields the pieces; returns
 * what the program's piece returned.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 * @param {{start?: boolean, fn?: number, arg?: number}} entry
 * @param {(ctx: object, task: object) => void} enterTask  task.js's
 */
export function* runProgram(ctx, task, entry, enterTask) {
  const program = task.user.instance.exports;
  const table = program.__indirect_function_table;
  // A clone child's function comes from its stack: the program's word.
  const fn = entry.start ? program._start : entry.fn < table.length ? table.get(entry.fn) : null;
  if (!fn) throw new WebAssembly.RuntimeError(`no function ${entry.fn} in the program's table`);
  const call = { fn, shape: entry.start ? 'v' : 'i_i', args: entry.start ? [] : [entry.arg] };
  task.entry = entry;
  for (;;) {
    const result = yield { ...call, args: [...call.args] };
    if (!task.fork || task.fork.stage !== UNWINDING) return result;
    program.asyncify_stop_unwind();
    task.fork.stage = UNWOUND;
    enterTask(ctx, task);
    const pid = yield { fn: ctx.kernel.exports.syscall, shape: 'syscall', args: [NR_CLONE, SIGCHLD] };
    task.fork.stage = REWINDING;
    task.fork.result = pid;
    program.asyncify_start_rewind(task.fork.buf);
  }
}

/**
 * For the kernel's user_fork: a copy of the current task's program for
 * the child, its memory held once here; or -errno.
 * @param {import('./abi.js').TaskContext} ctx
 */
export function forkedProgram(ctx) {
  const task = ctx.task;
  if (!task.fork || task.fork.stage !== UNWOUND) return -ENOSYS;
  const { module, memory, instance, maxBytes } = task.user;
  let copy;
  try {
    copy = ctx.memories.copy(memory, maxBytes / WASM_PAGE);
  } catch {
    return -ENOMEM; // no address space for another memory
  }
  const globals = Object.entries(instance.exports)
    .filter(([name, value]) => copiedGlobal(name) && value instanceof WebAssembly.Global)
    .map(([name, value]) => [name, value.value]);
  return { module, memory: copy, maxBytes, fork: { globals, buf: task.fork.buf, entry: task.entry } };
}

/**
 * A fork child's first return to user space, in its new instance: its
 * parent's globals, then the rewind of its parent's piece, whose fork
 * call returns 0.
 * @param {import('./abi.js').TaskState} task
 * @param {{globals: [string, number][], buf: number, entry: object}} fork
 */
export function startForkChild(task, fork) {
  const program = task.user.instance.exports;
  for (const [name, value] of fork.globals) program[name].value = value;
  task.fork = { stage: REWINDING, buf: fork.buf, result: 0 };
  program.asyncify_start_rewind(fork.buf);
  return fork.entry;
}
