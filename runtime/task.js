// One kernel task on one host thread: instantiate the kernel module over the
// shared memory, enter it (boot or a new task's first run), then run the
// task's user programs until the task dies. Environment-neutral: the
// platform's worker script passes the start data and the two ways out.

import { TaskExit, kernelImports, readCString } from './abi.js';
import { NR_EXIT, NR_EXIT_GROUP, SIGILL, SIGSEGV, UserRestart } from './user-abi.js';

/**
 * What every task of a machine shares.
 * @typedef {object} MachineShared
 * @property {WebAssembly.Module} module  the kernel
 * @property {WebAssembly.Memory} memory  the kernel's memory
 * @property {number} epoch
 * @property {string} cmdline
 * @property {SharedArrayBuffer[]} inputs  input of each terminal, by vterm number (console-input.js)
 * @property {Int32Array} windowSize      the console's [rows, columns], 0 if unknown
 */

/**
 * One task to run.
 * @typedef {object} TaskStart
 * @property {number} task              task_struct address; 0 for the boot thread
 * @property {Uint8Array|null} initrd   boot thread only
 * @property {object|null} user         a clone child's user program: {module, memory, maxBytes, sp}
 * @property {Map<string, object>} modules  programs compiled so far (abi.js CompiledProgram)
 */

const NO_ARGS = [0n, 0n, 0n, 0n, 0n];

/** Start what the task runs in user space; returns only through an exception. */
function runUser(ctx) {
  const next = ctx.next;
  ctx.next = null;
  if (!next) throw new Error('return to user space without a program');
  const { syscall } = ctx.kernel.exports;
  if (next.clone) {
    // A clone child: the parent's program and memory, on its own stack.
    const { module, memory, maxBytes, sp } = next.clone;
    const instance = new WebAssembly.Instance(module, { env: { memory }, linux: { syscall } });
    ctx.user = { module, memory, instance, maxBytes };
    const [fn, arg] = new Uint32Array(memory.buffer, sp, 2);
    instance.exports.__stack_pointer.value = sp;
    const status = instance.exports.__indirect_function_table.get(fn)(arg);
    syscall(NR_EXIT, BigInt(status), ...NO_ARGS);
  } else {
    next.program.instance.exports.__stack_pointer.value = next.sp;
    next.program.instance.exports._start();
    syscall(NR_EXIT_GROUP, ...NO_ARGS, 0n);
  }
  throw new Error('the exit system call returned');
}

/** The signal a native CPU fault would give for this Wasm trap. */
function faultSignal(error) {
  return /out of bounds|misaligned/.test(String(error.message)) ? SIGSEGV : SIGILL;
}

/**
 * This thread's kernel instance, for all the tasks it will run. A task's
 * entry sets the instance's `current` and stack pointer, so one instance
 * serves task after task; making a new one would cost most of a
 * millisecond and memory the engine is slow to give back.
 * @param {MachineShared} machine
 * @param {(message: object) => void} post
 * @param {(vterm: number, bytes: Uint8Array) => void} writeConsole
 */
export function prepareTask(machine, post, writeConsole) {
  const ctx = {
    memory: machine.memory,
    epoch: machine.epoch,
    cmdline: machine.cmdline,
    inputs: machine.inputs,
    windowSize: machine.windowSize,
    initrd: null,
    modules: new Map(),
    post,
    writeConsole,
    kernel: null,
    user: null,
    pending: null,
    image: null,
    next: null,
    kernelTop: 0,
    kernelStacks: [],
  };
  ctx.kernel = new WebAssembly.Instance(machine.module, {
    env: { memory: machine.memory },
    host: kernelImports(ctx),
  });
  return ctx;
}

/**
 * Run a task on this thread's kernel instance until the task ends. Traps
 * are reported, never thrown.
 * @param {ReturnType<typeof prepareTask>} ctx
 * @param {TaskStart} start
 */
export function runTask(ctx, start) {
  const { kernel, post } = ctx;
  Object.assign(ctx, {
    initrd: start.initrd,
    modules: start.modules,
    user: null,
    pending: null,
    next: start.user ? { clone: start.user } : null,
    kernelTop: 0,
    kernelStacks: [],
  });
  try {
    if (start.task === 0) kernel.exports.boot();
    else kernel.exports.task_entry(start.task);
    ctx.kernelTop = kernel.exports.__stack_pointer.value;
    for (;;) {
      try {
        runUser(ctx);
      } catch (error) {
        // The exception left kernel frames behind: back to the top.
        kernel.exports.__stack_pointer.value = ctx.kernelTop;
        ctx.kernelStacks = [];
        if (error instanceof UserRestart) continue;
        if (!(error instanceof WebAssembly.RuntimeError) || !ctx.user) throw error;
        // The program trapped: the task gets SIGILL or SIGSEGV, which
        // normally ends it (and the kernel reports it to the parent).
        kernel.exports.user_fault(faultSignal(error));
        throw new Error(`user program survived a trap: ${error.message}`);
      }
    }
  } catch (error) {
    if (error instanceof TaskExit) {
      // An idle thread must not keep the dead task's program and memory
      // alive until it runs another task.
      Object.assign(ctx, { user: null, pending: null, image: null, next: null, modules: null, initrd: null });
      post({ kind: 'exit', task: start.task });
      return;
    }
    // Naming the task only reads kernel memory: safe even after a trap.
    const name = readCString(ctx.memory, kernel.exports.current_comm());
    post({ kind: 'trap', task: start.task, name, message: String(error && error.stack ? error.stack : error) });
  }
}
